// `kforge profile metrics --arch sm_90 [--json]`: the curated metric set (profiler/metric_set.hpp)
// as CUPTI's host API resolves it for the architecture's chip, from the chip name alone (no GPU
// needed), and the replay passes the resolved counters need together.
#include "cli/commands.hpp"
#include "profiler/cupti_profiler_host.hpp"

namespace kforge::cli {

void add_profile_metrics_command(CLI::App& profile, Context&) {
  auto* command = profile.add_subcommand(
      "metrics", "list the metric set, whether the architecture's chip resolves each, and passes");
  auto arch = std::make_shared<std::string>("sm_90");
  auto json = std::make_shared<bool>(false);
  command->add_option("--arch", *arch, "architecture: sm_80, sm_86, sm_89, sm_90, sm_100, sm_120")
      ->capture_default_str();
  command->add_flag("--json", *json, "print one JSON object");
  command->callback([arch, json] {
    MetricSetCheck check = check_metric_set(CuptiProfilerHost::instance(), *arch);
    if (*json) {
      Context::print_json(check.to_json());
      return;
    }
    for (const MetricResolution& metric : check.metrics) {
      std::string state = metric.resolved ? "resolved" : "not resolved: " + metric.error;
      if (metric.source == MetricSource::kLaunch)
        state = "computed by the worker from the launch";
      print("%-72s %-8s %s\n", metric.name.c_str(),
            std::string(metric_source_name(metric.source)).c_str(), state.c_str());
    }
    size_t counters = 0;
    for (const MetricResolution& metric : check.metrics)
      counters += metric.source == MetricSource::kCounter ? 1 : 0;
    print("%zu of %zu counters resolve on %s (%s); together they need %zu passes (CUPTI %s)\n",
          check.resolved_counters(), counters, check.chip.c_str(), check.arch.c_str(), check.passes,
          check.cupti.c_str());
  });
}

}  // namespace kforge::cli
