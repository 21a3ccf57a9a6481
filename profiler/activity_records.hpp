// CUPTI activity records turned into timing intervals, apart from libcupti so that the rules can
// be tested on records built in memory. CuptiActivity (cupti_activity.hpp) walks each buffer
// CUPTI hands over and gives its records to an ActivityRecords.
//
// The rules: a kernel record (CUPTI_ACTIVITY_KIND_KERNEL / CONCURRENT_KERNEL, read as the CUDA 13
// CUpti_ActivityKernel10 layout) or a memory-copy record (MEMCPY, CUpti_ActivityMemcpy6) is
// complete when both timestamps are set and the end is after the start. A complete record is
// handed over once. An incomplete one (start or end 0, or end not after start: what a forced
// flush delivers for work that has not finished or whose timestamps were not collected) is
// never handed over as a 0 µs interval: it is kept, with the buffer it lives in, and read again
// at every take_complete(), until drop_incomplete() gives it up. Records of other kinds are
// ignored.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace kforge {

struct ActivityInterval {
  uint32_t correlation_id = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;  // memory copies only

  bool complete() const { return start_ns != 0 && end_ns != 0 && end_ns > start_ns; }
};

enum class ActivityRecordKind { kKernel, kCopy };

struct ActivityRecord {
  ActivityRecordKind kind = ActivityRecordKind::kKernel;
  ActivityInterval interval;
};

// Reads one record (a `CUpti_Activity*` from cuptiActivityGetNextRecord); nothing for kinds
// other than kernels and memory copies.
std::optional<ActivityRecord> read_activity_record(const void* record);

// Records delivered by CUPTI, complete ones ready to take and incomplete ones held back. Safe to
// use from CUPTI's delivering thread and the caller's at once.
class ActivityRecords {
 public:
  // One buffer from CUPTI, owned from now on (released with `release` once none of its records
  // is pending), and the records CUPTI found in it (pointers into it).
  void add(uint8_t* buffer, void (*release)(void*), const std::vector<const void*>& records);
  // Moves every complete record, delivered or held back earlier, into the lists.
  void take_complete(std::vector<ActivityInterval>& kernels, std::vector<ActivityInterval>& copies);
  // Gives up the records still incomplete (after a final forced flush); returns how many.
  size_t drop_incomplete();
  size_t incomplete() const;

 private:
  struct Pending {
    std::shared_ptr<uint8_t> buffer;
    const void* record = nullptr;
  };
  mutable std::mutex mutex_;
  std::vector<ActivityInterval> kernels_, copies_;
  std::vector<Pending> pending_;
};

}  // namespace kforge
