// kforge profile explain COUNTERS --arch sm_90: the roofline and the diagnosis rules
// (profiler/diagnosis.hpp) on counters taken anywhere: kforge's JSON form or an Nsight Compute
// raw-page CSV export (profiler/counter_file.hpp). Ceilings default to the public datasheet
// peaks of the architecture (profiler/datasheet_peaks.hpp); docs/profiling.md.
#include <algorithm>
#include <optional>

#include "cli/commands.hpp"
#include "harness/util/error.hpp"
#include "profiler/counter_file.hpp"
#include "profiler/datasheet_peaks.hpp"
#include "profiler/diagnosis.hpp"

namespace kforge::cli {
namespace {

struct ExplainArguments {
  std::string file;
  std::string arch;
  std::string dtype = "float32";
  std::optional<double> peak_bandwidth;
  std::optional<double> peak_flops;
  std::optional<double> flops;
  std::optional<double> bytes;
  bool json = false;
};

// The ceilings: the datasheet row of the architecture, each figure overridden by its flag. An
// unknown architecture is an error unless both figures are given.
struct ChosenCeilings {
  Ceilings ceilings;
  std::string gpu;
};

ChosenCeilings choose_ceilings(const ExplainArguments& arguments, DType dtype) {
  ChosenCeilings chosen;
  const DatasheetPeaks* peaks = nullptr;
  if (!arguments.peak_bandwidth || !arguments.peak_flops)
    peaks = &find_datasheet_peaks(arguments.arch);
  else if (auto it =
               std::find_if(datasheet_peaks().begin(), datasheet_peaks().end(),
                            [&](const DatasheetPeaks& row) { return row.arch == arguments.arch; });
           it != datasheet_peaks().end())
    peaks = &*it;
  Ceilings& ceilings = chosen.ceilings;
  std::string sources;
  if (peaks) {
    ceilings.bandwidth_bytes_per_s = peaks->bandwidth_bytes_per_s;
    ceilings.peak_flops_per_s = peaks->peak_flops_for(dtype);
    ceilings.sm_count = peaks->sm_count;
    chosen.gpu = std::string(peaks->gpu);
  }
  if (arguments.peak_bandwidth)
    ceilings.bandwidth_bytes_per_s = *arguments.peak_bandwidth;
  if (arguments.peak_flops)
    ceilings.peak_flops_per_s = *arguments.peak_flops;
  if (peaks && (!arguments.peak_bandwidth || !arguments.peak_flops))
    sources = "public datasheet peaks: " + std::string(peaks->source) + " (" + chosen.gpu + ")";
  if (arguments.peak_bandwidth)
    sources += std::string(sources.empty() ? "" : "; ") + "bandwidth from --peak-bandwidth";
  if (arguments.peak_flops)
    sources += std::string(sources.empty() ? "" : "; ") + "compute from --peak-flops";
  ceilings.source = sources;
  return chosen;
}

void explain(const ExplainArguments& arguments) {
  std::optional<DType> dtype = dtype_from_torch_name(arguments.dtype);
  if (!dtype || !dtype_is_floating(*dtype))
    throw Error(
        "unknown dtype '" + arguments.dtype + "' (allowed: float64, float32, float16, bfloat16)",
        "--dtype");
  ChosenCeilings chosen = choose_ceilings(arguments, *dtype);
  std::vector<CounterSet> kernels = read_counter_file(arguments.file);
  std::vector<Diagnosis> diagnoses;
  for (CounterSet& counters : kernels) {
    if (arguments.flops)
      counters.flops = arguments.flops;
    if (arguments.bytes)
      counters.bytes = arguments.bytes;
    diagnoses.push_back(diagnose(counters, chosen.ceilings));
  }
  const Ceilings& ceilings = chosen.ceilings;
  if (arguments.json) {
    nlohmann::json out = {{"ceilings",
                           {{"arch", arguments.arch},
                            {"gpu", chosen.gpu},
                            {"dtype", arguments.dtype},
                            {"bandwidth_bytes_per_s", ceilings.bandwidth_bytes_per_s},
                            {"peak_flops_per_s", ceilings.peak_flops_per_s},
                            {"sm_count", ceilings.sm_count},
                            {"source", ceilings.source}}},
                          {"kernels", nlohmann::json::array()}};
    for (const Diagnosis& diagnosis : diagnoses)
      out["kernels"].push_back(diagnosis.to_json());
    return Context::print_json(out);
  }
  print("ceilings: %s, %.4g GB/s, %.4g TFLOP/s %s (%s)\n", arguments.arch.c_str(),
        ceilings.bandwidth_bytes_per_s / 1e9, ceilings.peak_flops_per_s / 1e12,
        arguments.dtype.c_str(), ceilings.source.c_str());
  for (const Diagnosis& diagnosis : diagnoses)
    print("\n%s", render_text(diagnosis).c_str());
}

}  // namespace

void add_profile_explain_command(CLI::App& profile, Context& /*context*/) {
  auto arguments = std::make_shared<ExplainArguments>();
  auto* command = profile.add_subcommand(
      "explain",
      "the roofline position and findings for counters taken anywhere: a JSON file "
      "({\"kernel\", \"metrics\": {NCU_METRIC: VALUE}, \"flops\", \"bytes\"}, or an array) or "
      "an `ncu --csv --page raw` export");
  command->add_option("COUNTERS", arguments->file, "the counters file (JSON or ncu raw CSV)")
      ->required();
  command
      ->add_option("--arch", arguments->arch,
                   "the GPU architecture, for its datasheet peaks: sm_80 (A100), sm_90 (H100; "
                   "H200: add --peak-bandwidth 4.8e12), sm_100 (B200)")
      ->required();
  command->add_option("--dtype", arguments->dtype,
                      "the task's dtype, which chooses the compute roof (default float32)");
  command
      ->add_option("--peak-bandwidth", arguments->peak_bandwidth,
                   "DRAM bandwidth roof in bytes/s (e.g. a measured one), over the datasheet's")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--peak-flops", arguments->peak_flops,
                   "compute roof in FLOP/s for the dtype, over the datasheet's")
      ->check(CLI::PositiveNumber);
  command
      ->add_option("--flops", arguments->flops,
                   "the task's FLOPs, for every kernel in the file (over the file's)")
      ->check(CLI::NonNegativeNumber);
  command
      ->add_option("--bytes", arguments->bytes,
                   "the bytes the task must move, for every kernel in the file (over the file's)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--json", arguments->json, "print a JSON object");
  command->callback([arguments] { explain(*arguments); });
}

}  // namespace kforge::cli
