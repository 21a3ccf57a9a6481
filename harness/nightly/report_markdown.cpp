#include "harness/nightly/report_markdown.hpp"

#include <vector>

#include "harness/nightly/markup_escape.hpp"
#include "harness/nightly/report_numbers.hpp"
#include "harness/nightly/report_summary.hpp"

namespace kforge::nightly {
namespace {

std::string md(const std::string& text) {
  return markdown_escaped(text);
}

std::string table_row(const std::vector<std::string>& cells) {
  std::string line = "|";
  for (const std::string& cell : cells)
    line += " " + cell + " |";
  return line + "\n";
}

// "... and 3 more (NIGHT.html)" after a list cut at kSummaryRows.
std::string more(size_t total, const NightReport& report) {
  if (total <= kSummaryRows)
    return "";
  return "\n... and " + std::to_string(total - kSummaryRows) + " more in " + md(report.night) +
         ".html\n";
}

std::string regression_what(const Regression& regression) {
  if (regression.kind == RegressionKind::verdict_changed)
    return "verdict " + md(regression.verdict_before) + " → " + md(regression.verdict_after);
  std::string what =
      "slower " + format_change(regression.median_us_before, regression.median_us_after);
  if (regression.spread_us)
    what += " (recorded spread " + format_microseconds(regression.spread_us) + ")";
  return what;
}

}  // namespace

std::string render_night_markdown(const NightReport& report) {
  std::string text = "## kforge night " + md(report.night) + ": " + night_headline(report) + "\n\n";
  text += std::string("**") + night_outcome_name(report.outcome) + "**, exit code " +
          std::to_string(night_exit_code(report)) + ", steps took " +
          format_seconds(night_seconds(report)) + ", " +
          format_count(report.llm.prompt_tokens + report.llm.completion_tokens) + " LLM tokens (" +
          format_cost(report.llm.cost_usd) + ")\n";

  if (!report.regressions.empty()) {
    text += "\n### Regressions\n\n";
    text += table_row({"Kernel", "Task", "What", "Before", "After"});
    text += table_row({"---", "---", "---", "---:", "---:"});
    for (size_t i = 0; i < report.regressions.size() && i < kSummaryRows; ++i) {
      const Regression& regression = report.regressions[i];
      text += table_row({md(regression.kernel), md(regression.task), regression_what(regression),
                         format_microseconds(regression.median_us_before),
                         format_microseconds(regression.median_us_after)});
    }
    text += more(report.regressions.size(), report);
  }

  if (!report.improvements.empty()) {
    text += "\n### Promotions and improvements\n\n";
    text += table_row(
        {"Task", "Kernel", "", "Before", "After", "Change", "vs eager", "vs torch.compile"});
    text += table_row({"---", "---", "---", "---:", "---:", "---:", "---:", "---:"});
    std::vector<Improvement> ordered = improvements_in_order(report);
    for (size_t i = 0; i < ordered.size() && i < kSummaryRows; ++i) {
      const Improvement& improvement = ordered[i];
      text += table_row({md(improvement.task), md(improvement.kernel),
                         improvement.promoted ? "**promoted**" : "improved",
                         format_microseconds(improvement.median_us_before),
                         format_microseconds(improvement.median_us_after),
                         format_change(improvement.median_us_before, improvement.median_us_after),
                         format_speedup(improvement.speedup_eager),
                         format_speedup(improvement.speedup_compile)});
    }
    text += more(ordered.size(), report);
  }

  if (!report.failures.empty()) {
    text += "\n### Failures\n\n";
    for (size_t i = 0; i < report.failures.size() && i < kSummaryRows; ++i) {
      const NightFailure& failure = report.failures[i];
      text +=
          "- " + md(failure.step) + ", " + md(failure.subject) + ": " + md(failure.reason) + "\n";
    }
    text += more(report.failures.size(), report);
  }

  std::vector<EnvironmentChange> changed = changed_environment(report);
  if (!changed.empty()) {
    text += "\n### Environment changes\n\n";
    for (const EnvironmentChange& entry : changed)
      text += "- " + md(entry.key) + ": " + md(entry.before) + " → " + md(entry.after) + "\n";
  }

  if (!report.tuning.empty()) {
    int64_t evaluations = 0;
    for (const TuningProgress& tuning : report.tuning)
      evaluations += tuning.evaluations;
    text += "\nTuning: " + counted(report.tuning.size(), "kernel", "kernels") + ", " +
            format_count(evaluations) + " evaluations.\n";
  }
  text += "\nThe whole report: " + md(report.night) + ".html\n";
  return text;
}

}  // namespace kforge::nightly
