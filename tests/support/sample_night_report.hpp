// A night's report as the night's engine fills it, for the renderers' and `kforge nightly
// report`'s tests and the screenshot in docs/: two regressions (a kernel slower than its
// recorded spread, one no longer correct), promotions and an improvement, a week of speedups
// with gaps and a task seen once, tuning, two failures, LLM usage and an environment in which
// torch and the driver changed. (Built here while the night's engine lands beside the report;
// its own system test checks the report of a real night.)
#pragma once

#include <string>

#include "harness/nightly/night_report.hpp"

namespace kforge::testing {

inline nightly::NightReport sample_night_report() {
  using namespace nightly;
  NightReport report;
  report.night = "2026-12-03T02-00-04Z";
  report.started_at = "2026-12-03T02:00:04Z";
  report.finished_at = "2026-12-03T03:12:41Z";
  report.outcome = NightOutcome::completed;
  report.steps = {
      {"environment", StepStatus::done, 1.2, "torch 2.4.1 -> 2.5.0, driver 550.54.15 -> 560.35.03"},
      {"baselines", StepStatus::done, 96.0, "torch changed: 24 baselines refreshed"},
      {"reverify", StepStatus::done, 412.5, "38 shipped kernels: 36 as recorded, 2 regressions"},
      {"tune", StepStatus::done, 1800.0, "3 kernels tuned for sm_90"},
      {"optimize", StepStatus::done, 1990.3, "12 tasks, 340 candidates, 1 task failed"},
      {"promote", StepStatus::done, 4.1, "2 promoted"},
      {"report", StepStatus::done, 0.3, ""},
  };
  report.environment = {
      {"gpu", "NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3"},
      {"driver", "550.54.15", "560.35.03"},
      {"cuda", "12.4", "12.4"},
      {"nvrtc", "12.4.131", "12.4.131"},
      {"torch", "2.4.1", "2.5.0"},
      {"kforge", "0.9.0", "0.9.0"},
  };
  report.regressions = {
      {"softmax/online_block", "builtin/softmax", RegressionKind::slower, "correct", "correct",
       10.2, 12.9, 0.4},
      {"layernorm/welford", "builtin/layernorm", RegressionKind::verdict_changed, "correct",
       "incorrect", 18.4, std::nullopt, 0.6},
  };
  report.improvements = {
      {"builtin/conv2d", "candidate 4411", false, 530.0, 501.0, 0.92, 0.81},
      {"builtin/matmul", "matmul/tiled_64", true, 120.0, 98.1, 2.41, 1.12},
      {"builtin/gelu", "gelu/vectorized", true, 8.1, 6.9, 3.2, 1.4},
  };
  // The night engine's ids: the UTC start, a file name.
  const std::string nights[] = {"2026-11-27T02-00-02Z", "2026-11-28T02-00-03Z",
                                "2026-11-29T02-00-02Z", "2026-11-30T02-00-05Z",
                                "2026-12-01T02-00-02Z", "2026-12-02T02-00-03Z",
                                "2026-12-03T02-00-04Z"};
  auto history = [&](const std::string& task, std::vector<std::optional<double>> eager,
                     std::vector<std::optional<double>> compile) {
    TaskHistory entry{task, {}};
    size_t first = 7 - eager.size();
    for (size_t i = 0; i < eager.size(); ++i)
      entry.points.push_back({nights[first + i], eager[i], compile[i]});
    return entry;
  };
  report.history = {
      history("builtin/matmul", {1.9, 2.0, 2.0, 2.1, 2.1, 2.2, 2.41},
              {0.9, 0.95, std::nullopt, 1.0, 1.0, 1.02, 1.12}),
      history("builtin/softmax", {3.1, 3.1, 3.2, 3.2, 3.2, 3.2, 2.5},
              {1.5, 1.5, 1.6, 1.6, 1.6, 1.6, 1.2}),
      history("builtin/gelu", {std::nullopt, 2.6, 2.7, 2.9, 3.2}, {1.1, 1.2, 1.2, 1.3, 1.4}),
      history("builtin/conv2d", {0.92}, {0.81}),
      history("builtin/layernorm", {2.2, 2.2, 2.3, 2.3, 2.3, 2.3, std::nullopt},
              {1.3, 1.3, 1.3, 1.4, 1.4, 1.4, std::nullopt}),
  };
  report.tuning = {
      {"matmul/tiled_64", "sm_90", 240, 120.0, 98.1},
      {"reduce/sum", "sm_90", 96, 40.2, 31.0},
      {"gelu/vectorized", "sm_90", 12, 8.1, std::nullopt},
  };
  report.failures = {
      {"optimize", "builtin/attention",
       "the LLM provider answered 503 three times; the task's optimisation was skipped"},
      {"reverify", "scan/decoupled_lookback", "hung kernel: killed by the 10 s watchdog"},
  };
  report.llm = {182340, 40211, 3.87};
  return report;
}

// The same night with hostile text wherever the store's strings go: markup, a script, an
// attribute break-out, Markdown links, a terminal escape and bytes that are not UTF-8.
inline constexpr const char* kHostileScript = "<script>document.title='owned'</script>";
inline nightly::NightReport hostile_night_report() {
  nightly::NightReport report = sample_night_report();
  report.regressions[0].kernel = kHostileScript;
  report.regressions[1].task = "[click](http://evil.example)|*bold*_x_";
  report.improvements[1].task = "\"><img src=x onerror=alert(1)>";
  report.history[0].task = "</svg><script>alert(1)</script>";
  report.history[1].points[2].night = "<b>night</b>";
  report.failures[0].reason = "\x1b[31mred\x1b[0m and \xff\xfe bytes & <i>tags</i>";
  report.environment[4].after = "2.5.0'\"><iframe src=//evil.example>";
  report.steps[0].detail = "<style>body{display:none}</style>";
  return report;
}

}  // namespace kforge::testing
