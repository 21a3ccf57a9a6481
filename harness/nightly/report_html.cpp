#include "harness/nightly/report_html.hpp"

#include <cmath>
#include <vector>

#include "harness/nightly/markup_escape.hpp"
#include "harness/nightly/report_numbers.hpp"
#include "harness/nightly/report_summary.hpp"
#include "harness/nightly/svg_plot.hpp"

namespace kforge::nightly {
namespace {

// Nothing is loaded and nothing runs: the page's styles are inline, its plots inline SVG.
constexpr const char* kContentPolicy = "default-src 'none'; style-src 'unsafe-inline'";

constexpr const char* kStyle = R"(
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f;
       margin: 0 auto; max-width: 1180px; padding: 0 20px 40px; }
header { margin: 16px 0 8px; padding: 14px 18px; border-radius: 8px; border-left: 8px solid; }
header.bad { background: #fdecea; border-color: #c62828; }
header.good { background: #e8f5e9; border-color: #2e7d32; }
header.warn { background: #fff8e1; border-color: #f9a825; }
header h1 { margin: 0; font-size: 22px; }
header .headline { font-size: 18px; font-weight: 600; margin: 4px 0; }
header .meta { color: #555; margin: 0; }
.figures { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0 4px; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 6px 14px; min-width: 96px; }
.figure b { display: block; font-size: 22px; font-variant-numeric: tabular-nums; }
.figure.bad b { color: #c62828; }
.figure.good b { color: #2e7d32; }
nav { margin: 8px 0 0; color: #555; }
nav a { color: #0b57d0; margin-right: 12px; text-decoration: none; }
h2 { font-size: 17px; margin: 26px 0 8px; padding-bottom: 3px; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th { text-align: left; font-weight: 600; background: #f3f3f3; }
th, td { padding: 4px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { font-family: ui-monospace, Menlo, Consolas, monospace; word-break: break-all; }
tr.changed td { background: #fff8e1; }
.slower, .worse { color: #c62828; font-weight: 600; }
.faster, .better { color: #2e7d32; font-weight: 600; }
.badge { display: inline-block; padding: 0 6px; border-radius: 4px; font-size: 12px;
         font-weight: 600; background: #e3e3e3; }
.badge.promoted { background: #2e7d32; color: #fff; }
.badge.bad { background: #c62828; color: #fff; }
.none { color: #555; font-style: italic; }
.plots { display: flex; flex-wrap: wrap; gap: 12px; }
.plots svg { border: 1px solid #e4e4e4; border-radius: 6px; background: #fff; }
footer { margin-top: 30px; color: #777; font-size: 12px; }
)";

std::string escaped(const std::string& text) {
  return html_escaped(text);
}

// One table row of cells already in HTML.
std::string row(const std::vector<std::string>& cells, const char* row_class = "") {
  std::string html = *row_class ? std::string("<tr class=\"") + row_class + "\">" : "<tr>";
  for (const std::string& cell : cells)
    html += cell;
  return html + "</tr>\n";
}
std::string text_cell(const std::string& text) {
  return "<td>" + escaped(text) + "</td>";
}
std::string name_cell(const std::string& text) {
  return "<td class=\"name\">" + escaped(text) + "</td>";
}
std::string number_cell(const std::string& text, const std::string& css_class = "") {
  return "<td class=\"num" + (css_class.empty() ? "" : " " + css_class) + "\">" + escaped(text) +
         "</td>";
}
// A table head: a column name starting with '#' is a number column (right-aligned).
std::string table_head(const std::vector<std::string>& columns) {
  std::string html = "<table>\n<thead><tr>";
  for (const std::string& column : columns)
    html += column[0] == '#' ? "<th class=\"num\">" + escaped(column.substr(1)) + "</th>"
                             : "<th>" + escaped(column) + "</th>";
  return html + "</tr></thead>\n<tbody>\n";
}
constexpr const char* kTableEnd = "</tbody></table>\n";

std::string heading(const std::string& title) {
  return "<h2>" + escaped(title) + "</h2>\n";
}
std::string none(const std::string& sentence) {
  return "<p class=\"none\">" + escaped(sentence) + "</p>\n";
}

// "slower" or "faster" for a change in time from `before` to `after`, for its colour.
std::string change_class(std::optional<double> before, std::optional<double> after) {
  if (!before || !after || *before == *after)
    return "";
  return *after > *before ? "slower" : "faster";
}

const NightStep* step_named(const NightReport& report, const std::string& name) {
  for (const NightStep& step : report.steps)
    if (step.name == name)
      return &step;
  return nullptr;
}

std::string header(const NightReport& report) {
  NightCounts counts = count_night(report);
  const char* tone = counts.regressions > 0 || report.outcome == NightOutcome::failed ? "bad"
                     : report.outcome == NightOutcome::completed                      ? "good"
                                                                                      : "warn";
  std::string html = std::string("<header class=\"") + tone + "\">\n";
  html += "<h1>kforge night " + escaped(report.night) + "</h1>\n";
  html += "<p class=\"headline\">" + escaped(night_headline(report)) + "</p>\n";
  std::string meta = std::string("outcome: ") + night_outcome_name(report.outcome) +
                     " · exit code " + std::to_string(night_exit_code(report)) + " · started " +
                     (report.started_at.empty() ? kMissing : report.started_at) + " · finished " +
                     (report.finished_at.empty() ? "not yet" : report.finished_at) +
                     " · steps took " + format_seconds(night_seconds(report));
  html += "<p class=\"meta\">" + escaped(meta) + "</p>\n</header>\n";

  auto figure = [](const std::string& value, const char* label, const char* figure_class) {
    return std::string("<div class=\"figure ") + figure_class + "\"><b>" + escaped(value) + "</b>" +
           label + "</div>";
  };
  html += "<div class=\"figures\">";
  html += figure(std::to_string(counts.regressions), "regressions",
                 counts.regressions > 0 ? "bad" : "good");
  html +=
      figure(std::to_string(counts.promotions), "promoted", counts.promotions > 0 ? "good" : "");
  html += figure(std::to_string(counts.improvements), "improved", "");
  html += figure(std::to_string(counts.failures), "failures", counts.failures > 0 ? "bad" : "");
  html += figure(format_count(report.llm.prompt_tokens + report.llm.completion_tokens),
                 "LLM tokens", "");
  html += figure(format_cost(report.llm.cost_usd), "LLM cost", "");
  html += figure(std::to_string(counts.environment_changes), "environment changes", "");
  return html + "</div>\n";
}

std::string regressions_section(const NightReport& report) {
  std::string html = heading("Regressions (" + std::to_string(report.regressions.size()) + ")");
  if (report.regressions.empty()) {
    const NightStep* reverify = step_named(report, "reverify");
    if (reverify && reverify->status != StepStatus::done)
      return html + none(std::string("No regression found, but re-verification ") +
                         step_status_name(reverify->status) + ": " + reverify->detail);
    return html + none("No regression: every shipped kernel re-verified as recorded.");
  }
  html += table_head({"Kernel", "Task", "What", "Verdict", "#Median before", "#Median after",
                      "#Change", "#Recorded spread"});
  for (const Regression& regression : report.regressions) {
    std::string what = regression.kind == RegressionKind::verdict_changed
                           ? "<span class=\"badge bad\">verdict changed</span>"
                           : "<span class=\"badge bad\">slower</span>";
    std::string verdict = regression.verdict_before == regression.verdict_after
                              ? escaped(regression.verdict_after)
                              : escaped(regression.verdict_before) + " → " +
                                    "<span class=\"worse\">" + escaped(regression.verdict_after) +
                                    "</span>";
    html += row({name_cell(regression.kernel), name_cell(regression.task), "<td>" + what + "</td>",
                 "<td>" + verdict + "</td>",
                 number_cell(format_microseconds(regression.median_us_before)),
                 number_cell(format_microseconds(regression.median_us_after)),
                 number_cell(format_change(regression.median_us_before, regression.median_us_after),
                             change_class(regression.median_us_before, regression.median_us_after)),
                 number_cell(format_microseconds(regression.spread_us))});
  }
  return html + kTableEnd;
}

std::string improvements_section(const NightReport& report) {
  NightCounts counts = count_night(report);
  std::string html = heading("Promotions and improvements (" + std::to_string(counts.promotions) +
                             " promoted, " + std::to_string(counts.improvements) + " improved)");
  if (report.improvements.empty())
    return html + none("No task got faster tonight.");
  html += table_head({"Task", "Kernel", "", "#Before", "#After", "#Change", "#Speedup vs eager",
                      "#vs torch.compile"});
  for (const Improvement& improvement : improvements_in_order(report)) {
    std::string badge = improvement.promoted ? "<span class=\"badge promoted\">promoted</span>"
                                             : "<span class=\"badge\">improved</span>";
    html +=
        row({name_cell(improvement.task), name_cell(improvement.kernel), "<td>" + badge + "</td>",
             number_cell(format_microseconds(improvement.median_us_before)),
             number_cell(format_microseconds(improvement.median_us_after)),
             number_cell(format_change(improvement.median_us_before, improvement.median_us_after),
                         change_class(improvement.median_us_before, improvement.median_us_after)),
             number_cell(format_speedup(improvement.speedup_eager)),
             number_cell(format_speedup(improvement.speedup_compile))});
  }
  return html + kTableEnd;
}

std::string speedups_section(const NightReport& report) {
  std::string html = heading("Best speedup across nights");
  if (report.history.empty())
    return html + none("No task has a speedup on record yet.");
  html +=
      "<p>Each task's best verified kernel against PyTorch eager and torch.compile, "
      "one point per night (above the dashed line: faster than the baseline).</p>\n"
      "<div class=\"plots\">\n";
  for (const TaskHistory& history : report.history) {
    LinePlot plot;
    plot.title = history.task;
    plot.y_suffix = "x";
    plot.reference_y = 1.0;
    plot.reference_label = "1x";
    PlotSeries eager{"vs eager", {}}, compile{"vs torch.compile", {}};
    for (const SpeedupPoint& point : history.points) {
      plot.x_labels.push_back(format_night_label(point.night));
      eager.values.push_back(point.speedup_eager);
      compile.values.push_back(point.speedup_compile);
    }
    plot.series = {eager, compile};
    html += svg_line_plot(plot) + "\n";
  }
  return html + "</div>\n";
}

std::string tuning_section(const NightReport& report) {
  std::string html = heading("Tuning progress");
  if (report.tuning.empty())
    return html + none("No kernel was tuned tonight.");
  html += table_head({"Kernel", "Architecture", "#Evaluations", "#Default", "#Best", "#Change"});
  for (const TuningProgress& tuning : report.tuning)
    html += row({name_cell(tuning.kernel), text_cell(tuning.arch),
                 number_cell(format_count(tuning.evaluations)),
                 number_cell(format_microseconds(tuning.default_us)),
                 number_cell(format_microseconds(tuning.best_us)),
                 number_cell(format_change(tuning.default_us, tuning.best_us),
                             change_class(tuning.default_us, tuning.best_us))});
  return html + kTableEnd;
}

std::string failures_section(const NightReport& report) {
  std::string html = heading("Failures (" + std::to_string(report.failures.size()) + ")");
  if (report.failures.empty())
    return html + none("Nothing failed.");
  html += table_head({"Step", "Subject", "Reason"});
  for (const NightFailure& failure : report.failures)
    html += row({text_cell(failure.step), name_cell(failure.subject), text_cell(failure.reason)});
  return html + kTableEnd;
}

std::string llm_section(const NightReport& report) {
  std::string html = heading("LLM tokens and cost");
  html += table_head({"#Prompt tokens", "#Completion tokens", "#Total tokens", "#Cost"});
  html += row({number_cell(format_count(report.llm.prompt_tokens)),
               number_cell(format_count(report.llm.completion_tokens)),
               number_cell(format_count(report.llm.prompt_tokens + report.llm.completion_tokens)),
               number_cell(format_cost(report.llm.cost_usd))});
  return html + kTableEnd;
}

std::string environment_section(const NightReport& report) {
  size_t changed = changed_environment(report).size();
  std::string html =
      heading("Environment (" + counted(changed, "change", "changes") + " since last night)");
  if (report.environment.empty())
    return html + none("No environment was recorded.");
  html += table_head({"", "Last night", "Tonight", ""});
  for (const EnvironmentChange& entry : report.environment) {
    bool is_change = !entry.before.empty() && entry.before != entry.after;
    html += row({text_cell(entry.key), name_cell(entry.before.empty() ? kMissing : entry.before),
                 name_cell(entry.after),
                 is_change ? "<td><span class=\"badge bad\">changed</span></td>" : "<td></td>"},
                is_change ? "changed" : "");
  }
  return html + kTableEnd;
}

std::string steps_section(const NightReport& report) {
  std::string html = heading("The night's steps");
  if (report.steps.empty())
    return html + none("No step ran.");
  html += table_head({"Step", "Status", "#Time", "Detail"});
  for (const NightStep& step : report.steps) {
    bool bad = step.status == StepStatus::failed || step.status == StepStatus::stopped;
    html += row({text_cell(step.name),
                 std::string("<td><span class=\"badge") + (bad ? " bad" : "") + "\">" +
                     step_status_name(step.status) + "</span></td>",
                 number_cell(format_seconds(step.seconds)), text_cell(step.detail)});
  }
  return html + kTableEnd;
}

// The page's sections in the order it shows them: its id (the link target), its name in the
// header's links, and what renders its heading and content.
struct Section {
  const char* id;
  const char* link;
  std::string (*render)(const NightReport& report);
};
constexpr Section kSections[] = {
    {"regressions", "Regressions", regressions_section},
    {"improvements", "Improvements", improvements_section},
    {"speedups", "Speedups", speedups_section},
    {"tuning", "Tuning", tuning_section},
    {"failures", "Failures", failures_section},
    {"llm", "LLM", llm_section},
    {"environment", "Environment", environment_section},
    {"steps", "Steps", steps_section},
};

}  // namespace

std::vector<std::string> night_report_section_ids() {
  std::vector<std::string> ids;
  for (const Section& section : kSections)
    ids.push_back(section.id);
  return ids;
}

std::string render_night_html(const NightReport& report) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += std::string("<meta http-equiv=\"Content-Security-Policy\" content=\"") + kContentPolicy +
          "\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += "<title>kforge night " + escaped(report.night) + ": " + escaped(night_headline(report)) +
          "</title>\n";
  html += std::string("<style>") + kStyle + "</style>\n</head>\n<body>\n";
  html += header(report);
  html += "<nav>";
  for (const Section& section : kSections)
    html += std::string("<a href=\"#") + section.id + "\">" + section.link + "</a>";
  html += "</nav>\n";
  for (const Section& section : kSections)
    html += std::string("<section id=\"") + section.id + "\">\n" + section.render(report) +
            "</section>\n";
  html += "<footer>Written by kforge nightly; the same content as " + escaped(report.night) +
          ".json (report version " + std::to_string(kNightReportVersion) + ").</footer>\n";
  return html + "</body>\n</html>\n";
}

}  // namespace kforge::nightly
