// A counters file handed to `kforge profile explain FILE` (profiler/counter_file.hpp): read as
// the command reads it, from a path (here an in-memory file), JSON or an Nsight Compute raw-page
// CSV by its first character; then every kernel's counters diagnosed and rendered as the command
// does (fuzz::explain_counters).
// Allowed failures: kforge::Error (file and where). Anything else is a finding; so is a JSON
// counter set with a value that is not a finite number (the reader documents that it refuses
// them).
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "harness/util/error.hpp"
#include "profiler/counter_file.hpp"
#include "tests/fuzz/fuzz_support.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kforge;
  static fuzz::MemoryFile file("counters");
  const std::string_view text = fuzz::as_text(data, size);
  file.write(text);
  std::vector<CounterSet> sets;
  try {
    sets = read_counter_file(file.path());
  } catch (const Error& error) {
    (void)error.what();
    return 0;
  }
  if (sets.empty())
    __builtin_trap();  // the reader refuses a file without a kernel
  std::string_view body = text.substr(text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0);
  body.remove_prefix(std::min(body.size(), body.find_first_not_of(" \t\r\n\f\v")));
  const bool json = !body.empty() && (body.front() == '{' || body.front() == '[');
  for (const CounterSet& counters : sets) {
    for (const auto& [name, value] : counters.metrics) {
      if (json && !std::isfinite(value))
        __builtin_trap();
    }
  }
  fuzz::explain_counters(sets);
  return 0;
}
