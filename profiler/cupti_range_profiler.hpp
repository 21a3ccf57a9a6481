// Hardware counters per range with CUPTI's range profiler (cupti_range_profiler.h, CUDA 13), in
// user-range, user-replay mode: the caller's code runs once per pass, with one range around each
// launch, until CUPTI has every pass it needs; the host object (cupti_profiler_host.hpp), built
// from the device's chip and counter-availability image, makes the configuration and evaluates
// the collected data into metric values.
//
// Not yet run on a GPU: written against the CUDA 13.0 headers (docs/profiling.md says what is
// and is not checked).
#pragma once

#include <cuda.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace kforge {

class CuptiProfilerHost;

struct RangeProfile {
  std::string chip;
  size_t passes = 0;
  // Per range, in the order the ranges were pushed: metric name → value. A metric whose value
  // is not finite (a ratio over nothing: store sectors per request of a kernel that stores
  // nothing) is left out of its range.
  std::vector<std::map<std::string, double>> ranges;
  std::vector<std::string> unresolved;  // requested metrics the chip does not know
};

class CuptiRangeProfiler {
 public:
  // Opens libcupti (the host API's library) and initialises the profiler; throws Error where the
  // library is missing, CuptiError where CUPTI refuses.
  CuptiRangeProfiler();
  ~CuptiRangeProfiler();
  CuptiRangeProfiler(const CuptiRangeProfiler&) = delete;
  CuptiRangeProfiler& operator=(const CuptiRangeProfiler&) = delete;

  // Profiles `ranges` ranges on `context` (device `device_index`): before each pass
  // `before_pass()`, then `run_range(k)` inside range k for every k. Throws CuptiError naming
  // the call and result where CUPTI refuses (counters_unavailable_reason tells the machine's
  // refusals from failures).
  RangeProfile profile(CUcontext context, int device_index, const std::vector<std::string>& metrics,
                       size_t ranges, const std::function<void()>& before_pass,
                       const std::function<void(size_t)>& run_range);

  struct Api;

 private:
  CuptiProfilerHost& host_;
  std::unique_ptr<Api> api_;
};

}  // namespace kforge
