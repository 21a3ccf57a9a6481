// A recorded tuning space handed to `kforge tune --replay FILE` (harness/tuning/): Kernel Tuner's
// cache format or T4 results, gzip'd or not, read from its bytes as the command reads the file
// (recorded_space_from_bytes), then what replay and the exports do with it: every point
// described and its neighbours listed, the space written back in both formats, and the T4 text
// read again.
// Allowed failures: kforge::Error (the file and the key). Anything else is a finding; so is a
// space of no point, or a T4 round trip that changes the number of points or of points with a
// time (the reader and the writer must agree).
#include <cstdint>
#include <string>
#include <vector>

#include "harness/tuning/tuning_results.hpp"
#include "harness/util/error.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  using namespace kforge::tuning;
  const std::string bytes(fuzz::as_text(data, size));
  try {
    const RecordedSpace recorded = recorded_space_from_bytes(bytes, "fuzz");
    const size_t points = recorded.space.size();
    if (points == 0 || recorded.outcomes.size() != points)
      __builtin_trap();
    std::vector<PointId> all;
    size_t timed = 0;
    for (PointId id = 0; id < points; ++id) {
      all.push_back(id);
      timed += recorded.outcomes[id].has_value();
      (void)recorded.space.describe(id);
      if (id < 64)
        (void)recorded.space.neighbours(id);
    }
    const TuningResults results = tuning_results_of(recorded, all);
    (void)kernel_tuner_cache_text(results);
    const RecordedSpace again = recorded_space_from_bytes(t4_results_text(results), "round trip");
    size_t timed_again = 0;
    for (const Outcome& outcome : again.outcomes)
      timed_again += outcome.has_value();
    if (again.space.size() != points || timed_again != timed)
      __builtin_trap();
  } catch (const Error& error) {
    (void)error.what();
  }
  return 0;
}
