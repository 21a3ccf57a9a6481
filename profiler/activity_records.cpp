#include "profiler/activity_records.hpp"

#include <cupti_activity.h>

#include <cstddef>
#include <cstring>

namespace kforge {
namespace {

// Reads a field by copy: a record in a buffer is only byte-aligned as far as C++ knows, and
// CUPTI may still be writing a held-back record's timestamps.
template <typename T>
T load_at(const void* record, size_t offset) {
  T value;
  std::memcpy(&value, static_cast<const unsigned char*>(record) + offset, sizeof value);
  return value;
}

}  // namespace

std::optional<ActivityRecord> read_activity_record(const void* record) {
  if (!record)
    return std::nullopt;
  CUpti_ActivityKind kind;
  std::memcpy(&kind, record, sizeof kind);
  // The fields read here keep their offsets across the record versions: later versions append.
  if (kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL || kind == CUPTI_ACTIVITY_KIND_KERNEL) {
    using Kernel = CUpti_ActivityKernel10;
    return ActivityRecord{ActivityRecordKind::kKernel,
                          {load_at<uint32_t>(record, offsetof(Kernel, correlationId)),
                           load_at<uint64_t>(record, offsetof(Kernel, start)),
                           load_at<uint64_t>(record, offsetof(Kernel, end)), 0}};
  }
  if (kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
    using Copy = CUpti_ActivityMemcpy6;
    return ActivityRecord{ActivityRecordKind::kCopy,
                          {load_at<uint32_t>(record, offsetof(Copy, correlationId)),
                           load_at<uint64_t>(record, offsetof(Copy, start)),
                           load_at<uint64_t>(record, offsetof(Copy, end)),
                           load_at<uint64_t>(record, offsetof(Copy, bytes))}};
  }
  return std::nullopt;
}

void ActivityRecords::add(uint8_t* buffer, void (*release)(void*),
                          const std::vector<const void*>& records) {
  std::shared_ptr<uint8_t> owned(buffer, release);
  std::lock_guard lock(mutex_);
  for (const void* record : records) {
    auto parsed = read_activity_record(record);
    if (!parsed)
      continue;
    if (!parsed->interval.complete()) {
      pending_.push_back({owned, record});
      continue;
    }
    (parsed->kind == ActivityRecordKind::kKernel ? kernels_ : copies_).push_back(parsed->interval);
  }
}

void ActivityRecords::take_complete(std::vector<ActivityInterval>& kernels,
                                    std::vector<ActivityInterval>& copies) {
  std::lock_guard lock(mutex_);
  std::vector<Pending> still;
  for (Pending& pending : pending_) {
    auto parsed = read_activity_record(pending.record);
    if (parsed && parsed->interval.complete())
      (parsed->kind == ActivityRecordKind::kKernel ? kernels_ : copies_)
          .push_back(parsed->interval);
    else
      still.push_back(std::move(pending));
  }
  pending_ = std::move(still);
  kernels.insert(kernels.end(), kernels_.begin(), kernels_.end());
  copies.insert(copies.end(), copies_.begin(), copies_.end());
  kernels_.clear();
  copies_.clear();
}

size_t ActivityRecords::drop_incomplete() {
  std::lock_guard lock(mutex_);
  size_t dropped = pending_.size();
  pending_.clear();
  return dropped;
}

size_t ActivityRecords::incomplete() const {
  std::lock_guard lock(mutex_);
  return pending_.size();
}

}  // namespace kforge
