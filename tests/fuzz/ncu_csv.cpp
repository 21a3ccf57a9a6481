// An Nsight Compute raw-page CSV export (`ncu --csv --page raw`), read by parse_ncu_raw_csv
// (profiler/ncu_csv.hpp), then every launch diagnosed and rendered as `kforge profile explain`
// does (fuzz::explain_counters); the number and unit readers on the input's first line too.
// Allowed failures: kforge::Error (the file and the line). Anything else is a finding; so is a
// number read as not finite or a unit scale that is not a positive finite factor.
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "harness/util/error.hpp"
#include "profiler/ncu_csv.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  const std::string_view text = fuzz::as_text(data, size);
  const std::string_view first_line = text.substr(0, text.find('\n'));
  if (std::optional<double> number = parse_ncu_number(first_line);
      number && !std::isfinite(*number))
    __builtin_trap();
  if (double scale = ncu_unit_scale(first_line); !(scale > 0) || !std::isfinite(scale))
    __builtin_trap();
  std::vector<CounterSet> launches;
  try {
    launches = parse_ncu_raw_csv(text, "export.csv");
  } catch (const Error& error) {
    (void)error.what();
    return 0;
  }
  if (launches.empty())
    __builtin_trap();  // the reader refuses an export without a launch
  fuzz::explain_counters(launches);
  return 0;
}
