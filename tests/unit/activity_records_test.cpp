// CUPTI activity records as CUPTI hands them over, built in memory with the CUDA 13
// cupti_activity.h layouts (CUpti_ActivityKernel10, CUpti_ActivityMemcpy6) and fed to the code
// that reads them, without libcupti: complete records come out once, records whose timestamps
// are not set are held back (never a 0 µs interval) until they are set or given up.
#include "profiler/activity_records.hpp"

#include <cupti_activity.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

namespace kforge {
namespace {

// One buffer as CUPTI fills it: records one after another, 8-byte aligned.
class SyntheticBuffer {
 public:
  SyntheticBuffer() : bytes_(static_cast<uint8_t*>(std::aligned_alloc(8, kSize))) {
    std::memset(bytes_, 0, kSize);
  }
  ~SyntheticBuffer() { std::free(bytes_); }  // unless handed over

  CUpti_ActivityKernel10* kernel(uint32_t correlation, uint64_t start, uint64_t end,
                                 CUpti_ActivityKind kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) {
    auto* record = place<CUpti_ActivityKernel10>();
    record->kind = kind;
    record->correlationId = correlation;
    record->start = start;
    record->end = end;
    return record;
  }
  CUpti_ActivityMemcpy6* copy(uint32_t correlation, uint64_t start, uint64_t end, uint64_t bytes) {
    auto* record = place<CUpti_ActivityMemcpy6>();
    record->kind = CUPTI_ACTIVITY_KIND_MEMCPY;
    record->correlationId = correlation;
    record->start = start;
    record->end = end;
    record->bytes = bytes;
    return record;
  }
  void other(CUpti_ActivityKind kind) {
    auto* record = place<CUpti_ActivityAPI>();
    record->kind = kind;
    record->correlationId = 99;
    record->start = 1;
    record->end = 2;
  }

  // Hands the buffer and its records over, as buffer_completed does.
  void hand_to(ActivityRecords& records) {
    records.add(bytes_, std::free, records_);
    bytes_ = nullptr;
  }

 private:
  static constexpr size_t kSize = 1 << 16;
  template <typename Record>
  Record* place() {
    auto* record = reinterpret_cast<Record*>(bytes_ + used_);
    records_.push_back(record);
    used_ += (sizeof(Record) + 7) / 8 * 8;
    return record;
  }
  uint8_t* bytes_;
  size_t used_ = 0;
  std::vector<const void*> records_;
};

TEST(ActivityRecords, ReadsKernelAndCopyRecordsInTheCuda13Layout) {
  SyntheticBuffer buffer;
  auto* kernel = buffer.kernel(7, 1000, 4500);
  auto* copy = buffer.copy(8, 5000, 9000, 1 << 20);
  auto read_kernel = read_activity_record(kernel);
  ASSERT_TRUE(read_kernel);
  EXPECT_EQ(read_kernel->kind, ActivityRecordKind::kKernel);
  EXPECT_EQ(read_kernel->interval.correlation_id, 7u);
  EXPECT_EQ(read_kernel->interval.start_ns, 1000u);
  EXPECT_EQ(read_kernel->interval.end_ns, 4500u);
  auto read_copy = read_activity_record(copy);
  ASSERT_TRUE(read_copy);
  EXPECT_EQ(read_copy->kind, ActivityRecordKind::kCopy);
  EXPECT_EQ(read_copy->interval.correlation_id, 8u);
  EXPECT_EQ(read_copy->interval.bytes, uint64_t{1} << 20);
  // The older KERNEL kind shares the layout's leading fields.
  EXPECT_TRUE(read_activity_record(buffer.kernel(9, 1, 2, CUPTI_ACTIVITY_KIND_KERNEL)));
  EXPECT_FALSE(read_activity_record(nullptr));
}

TEST(ActivityRecords, HandsOverCompleteRecordsOnceAndIgnoresOtherKinds) {
  ActivityRecords records;
  SyntheticBuffer buffer;
  buffer.kernel(1, 100, 200);
  buffer.other(CUPTI_ACTIVITY_KIND_DRIVER);
  buffer.copy(2, 300, 700, 64);
  buffer.kernel(3, 800, 1000);
  buffer.hand_to(records);
  std::vector<ActivityInterval> kernels, copies;
  records.take_complete(kernels, copies);
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[0].correlation_id, 1u);
  EXPECT_EQ(kernels[1].end_ns - kernels[1].start_ns, 200u);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(copies[0].bytes, 64u);
  EXPECT_EQ(records.incomplete(), 0u);
  kernels.clear();
  copies.clear();
  records.take_complete(kernels, copies);  // nothing twice
  EXPECT_TRUE(kernels.empty());
  EXPECT_TRUE(copies.empty());
}

TEST(ActivityRecords, RecordsWithoutTimestampsAreHeldBackNotCountedAsZero) {
  ActivityRecords records;
  SyntheticBuffer buffer;
  buffer.kernel(1, 100, 200);
  CUpti_ActivityKernel10* no_start = buffer.kernel(2, 0, 0);       // not yet timed
  CUpti_ActivityKernel10* no_end = buffer.kernel(3, 300, 0);       // started, not ended
  CUpti_ActivityKernel10* backwards = buffer.kernel(4, 500, 400);  // end before start
  CUpti_ActivityMemcpy6* copy = buffer.copy(5, 0, 0, 16);
  buffer.hand_to(records);
  std::vector<ActivityInterval> kernels, copies;
  records.take_complete(kernels, copies);
  ASSERT_EQ(kernels.size(), 1u);
  EXPECT_EQ(kernels[0].correlation_id, 1u);
  EXPECT_TRUE(copies.empty());
  EXPECT_EQ(records.incomplete(), 4u);

  // Their timestamps arrive: the next take hands them over, each once.
  no_start->start = 1000;
  no_start->end = 1250;
  no_end->end = 350;
  copy->start = 10;
  copy->end = 20;
  kernels.clear();
  records.take_complete(kernels, copies);
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[0].correlation_id, 2u);
  EXPECT_EQ(kernels[0].end_ns - kernels[0].start_ns, 250u);
  EXPECT_EQ(kernels[1].correlation_id, 3u);
  ASSERT_EQ(copies.size(), 1u);
  EXPECT_EQ(records.incomplete(), 1u);  // the backwards one
  (void)backwards;

  // Given up at the end: counted, never handed over.
  EXPECT_EQ(records.drop_incomplete(), 1u);
  kernels.clear();
  records.take_complete(kernels, copies);
  EXPECT_TRUE(kernels.empty());
  EXPECT_EQ(records.incomplete(), 0u);
}

TEST(ActivityRecords, RecordsFromSeveralBuffersKeepTheirOrderOfCompletion) {
  ActivityRecords records;
  SyntheticBuffer first, second;
  CUpti_ActivityKernel10* late = first.kernel(1, 0, 0);
  second.kernel(2, 10, 20);
  first.hand_to(records);
  second.hand_to(records);
  std::vector<ActivityInterval> kernels, copies;
  records.take_complete(kernels, copies);
  ASSERT_EQ(kernels.size(), 1u);
  EXPECT_EQ(kernels[0].correlation_id, 2u);
  late->start = 5;
  late->end = 9;
  records.take_complete(kernels, copies);
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[1].correlation_id, 1u);
}

}  // namespace
}  // namespace kforge
