// Device-side timing through the CUPTI activity API, opened at run time (like libcuda and NVRTC),
// so kforge starts without CUPTI and names it when it is missing.
//
// How it times: kernel records (CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) and memory-copy records
// (CUPTI_ACTIVITY_KIND_MEMCPY) carry the GPU's own start and end timestamps; a driver-API
// callback on cuLaunchKernel and cuMemcpyDtoD(Async) tells the caller the correlation id of the
// launch it just made, so it can pick exactly its own records out of the stream (memsets, such
// as an L2 flush, produce no kernel or copy records and are never counted). Records are
// delivered in buffers CUPTI asks for and hands back; collect() flushes (forced only when asked:
// a forced flush hands over unfinished records, which activity_records.hpp holds back until
// their timestamps are set, never counting them as 0 µs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "profiler/activity_records.hpp"

namespace kforge {

class CuptiActivity {
 public:
  // Opens libcupti (KFORGE_CUDA_LIB_DIRS, the linker's search, the toolkit); throws Error naming
  // what was tried. One per process: CUPTI has one set of activity callbacks.
  static CuptiActivity& instance();

  std::string version() const;  // "13.0 (CUPTI API 130000)"-like, from cuptiGetVersion

  // Starts recording kernel and copy activity, and the correlation ids of launches and copies
  // (the callback subscription first, so that no launch is recorded without its id); call with
  // a current CUDA context. stop() disables both; records already made stay.
  void start();
  void stop();
  // The correlation id of the last cuLaunchKernel or cuMemcpyDtoD(Async) made by any thread
  // since start().
  uint32_t last_correlation_id() const;
  // Flushes CUPTI's buffers and moves every record completed so far into the two lists. Inside
  // a timing loop `force` must be false (CUPTI then hands over only finished buffers); once at
  // the end, true; `drop_incomplete` then gives up what is still unfinished.
  void collect(std::vector<ActivityInterval>& kernels, std::vector<ActivityInterval>& copies,
               bool force);
  // Records held back for want of timestamps; drop_incomplete() gives them up (returns how many).
  size_t incomplete_records() const;
  size_t drop_incomplete();
  // Records CUPTI had to drop for want of buffer space since start (0 when unknown).
  size_t dropped_records() const;

  ~CuptiActivity();
  CuptiActivity(const CuptiActivity&) = delete;
  CuptiActivity& operator=(const CuptiActivity&) = delete;

 private:
  CuptiActivity();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kforge
