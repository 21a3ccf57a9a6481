// fuzz::explain_counters (fuzz_support.hpp), in a file of its own so that only the targets of
// counters files link the diagnosis.
#include <vector>

#include "harness/util/json_text.hpp"
#include "profiler/datasheet_peaks.hpp"
#include "profiler/diagnosis.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace kforge::fuzz {

void explain_counters(const std::vector<CounterSet>& sets) {
  static const std::vector<Ceilings> ceilings = [] {
    const DatasheetPeaks& h100 = find_datasheet_peaks("sm_90");
    std::vector<Ceilings> all;
    for (DType dtype : {DType::kF32, DType::kF16})
      all.push_back({h100.bandwidth_bytes_per_s, h100.peak_flops_for(dtype), h100.sm_count,
                     std::string(h100.source)});
    all.push_back({});
    return all;
  }();
  std::vector<Diagnosis> diagnoses;
  for (const Ceilings& roofs : ceilings) {
    for (const CounterSet& counters : sets) {
      Diagnosis diagnosis = diagnose(counters, roofs);
      (void)render_text(diagnosis);
      (void)json_text(diagnosis.to_json(), 2);
      diagnoses.push_back(std::move(diagnosis));
    }
  }
  (void)render_for_prompt(diagnoses);
}

}  // namespace kforge::fuzz
