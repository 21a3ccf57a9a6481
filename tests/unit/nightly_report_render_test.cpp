// The night's report renderers: the page (report_html), the summary (report_markdown), the
// plots (svg_plot), their escaping (markup_escape) and numbers (report_numbers).
#include <gtest/gtest.h>

#include <regex>

#include "harness/nightly/markup_escape.hpp"
#include "harness/nightly/report_html.hpp"
#include "harness/nightly/report_markdown.hpp"
#include "harness/nightly/report_numbers.hpp"
#include "harness/nightly/report_summary.hpp"
#include "harness/nightly/svg_plot.hpp"
#include "harness/util/strings.hpp"
#include "tests/support/sample_night_report.hpp"

namespace kforge::nightly {
namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t count = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
    ++count;
  return count;
}

TEST(NightReportEscapeTest, HtmlEscapesMarkupQuotesControlsAndBadUtf8) {
  EXPECT_EQ(html_escaped("<a href=\"x\" title='y'>&</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
  EXPECT_EQ(html_escaped("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(html_escaped("a\nb"), "a\\nb");
  EXPECT_EQ(html_escaped("caf\xc3\xa9 \xff"), "caf\xc3\xa9 \\xff");
  EXPECT_EQ(html_escaped("plain text 1.5x"), "plain text 1.5x");
}

TEST(NightReportEscapeTest, MarkdownEscapesInlineConstructsAndHtml) {
  EXPECT_EQ(markdown_escaped("[click](http://e)"), "\\[click\\](http://e)");
  EXPECT_EQ(markdown_escaped("a|b *c* _d_ `e` ~f~ \\"),
            "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\~f\\~ \\\\");
  EXPECT_EQ(markdown_escaped("<img src=x onerror=y>&"), "&lt;img src=x onerror=y&gt;&amp;");
  // A newline becomes a visible "\n", whose backslash Markdown would eat: escaped too.
  EXPECT_EQ(markdown_escaped("two\nlines"), "two\\\\nlines");
  EXPECT_EQ(markdown_escaped("2.5.0 - ok"), "2.5.0 - ok");
}

TEST(NightReportNumbersTest, TimesSpeedupsChangesCountsCostsDurations) {
  EXPECT_EQ(format_microseconds(0.8123), "812 ns");
  EXPECT_EQ(format_microseconds(12.34), "12.3 us");
  EXPECT_EQ(format_microseconds(5.0), "5.00 us");
  EXPECT_EQ(format_microseconds(999.4), "999 us");
  EXPECT_EQ(format_microseconds(1250), "1.25 ms");
  EXPECT_EQ(format_microseconds(2.5e6), "2.50 s");
  EXPECT_EQ(format_microseconds(std::nullopt), "-");
  EXPECT_EQ(format_microseconds(std::numeric_limits<double>::quiet_NaN()), "-");
  EXPECT_EQ(format_speedup(2.4149), "2.41x");
  EXPECT_EQ(format_speedup(0.87), "0.87x");
  EXPECT_EQ(format_speedup(31.24), "31.2x");
  EXPECT_EQ(format_speedup(140.4), "140x");
  EXPECT_EQ(format_speedup(std::nullopt), "-");
  EXPECT_EQ(format_change(10.2, 12.9), "+26.5%");
  EXPECT_EQ(format_change(120, 98.1), "-18.3%");
  EXPECT_EQ(format_change(5, 5), "+0.0%");
  EXPECT_EQ(format_change(0, 5), "-");
  EXPECT_EQ(format_change(std::nullopt, 5), "-");
  EXPECT_EQ(format_count(0), "0");
  EXPECT_EQ(format_count(999), "999");
  EXPECT_EQ(format_count(1000), "1,000");
  EXPECT_EQ(format_count(222551), "222,551");
  EXPECT_EQ(format_count(-1234567), "-1,234,567");
  EXPECT_EQ(format_count(std::numeric_limits<int64_t>::min()), "-9,223,372,036,854,775,808");
  EXPECT_EQ(format_cost(3.87), "$3.87");
  EXPECT_EQ(format_cost(0), "$0.00");
  EXPECT_EQ(format_cost(0.0042), "$0.0042");
  EXPECT_EQ(format_seconds(12.34), "12.3 s");
  EXPECT_EQ(format_seconds(185), "3m 05s");
  EXPECT_EQ(format_seconds(4304.4), "1h 11m");
  EXPECT_EQ(format_seconds(-1), "-");
  EXPECT_EQ(format_night_label("2026-12-03T02-00-04Z"), "2026-12-03 02:00");
  EXPECT_EQ(format_night_label("2026-12-03T02-00-04.250Z-2"), "2026-12-03 02:00 #2");
  EXPECT_EQ(format_night_label("friday"), "friday");
  EXPECT_EQ(format_night_label("2026-12-03T02-00-04Zx"), "2026-12-03T02-00-04Zx");
}

TEST(NightReportSummaryTest, CountsHeadlineAndImprovementOrder) {
  NightReport report = testing::sample_night_report();
  NightCounts counts = count_night(report);
  EXPECT_EQ(counts.regressions, 2u);
  EXPECT_EQ(counts.promotions, 2u);
  EXPECT_EQ(counts.improvements, 1u);
  EXPECT_EQ(counts.failures, 2u);
  EXPECT_EQ(counts.environment_changes, 2u);
  EXPECT_EQ(night_headline(report), "2 regressions, 2 promotions, 1 improvement, 2 failures");
  // Promoted first, the larger gain first among them (matmul 98.1/120 = 0.82 before gelu
  // 6.9/8.1 = 0.85), then the improvement that was not promoted.
  std::vector<Improvement> ordered = improvements_in_order(report);
  ASSERT_EQ(ordered.size(), 3u);
  EXPECT_EQ(ordered[0].task, "builtin/matmul");
  EXPECT_EQ(ordered[1].task, "builtin/gelu");
  EXPECT_EQ(ordered[2].task, "builtin/conv2d");
  EXPECT_EQ(night_headline(NightReport{}), "no regression");
  // A key with no value last night is not a change.
  report.environment = {{"gpu", "", "NVIDIA H100"}, {"torch", "2.4.1", "2.4.1"}};
  EXPECT_EQ(count_night(report).environment_changes, 0u);
}

TEST(SvgPlotTest, DrawsAxesLegendLinesAndAMarkerPerValue) {
  LinePlot plot;
  plot.title = "builtin/matmul";
  plot.x_labels = {"n1", "n2", "n3", "n4"};
  plot.series = {{"vs eager", {1.0, 2.0, 3.0, 4.0}}, {"vs torch.compile", {0.5, 0.7, 0.9, 1.1}}};
  plot.y_suffix = "x";
  plot.reference_y = 1.0;
  plot.reference_label = "1x";
  std::string svg = svg_line_plot(plot);
  EXPECT_EQ(svg.rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"plot\"", 0), 0u) << svg;
  EXPECT_EQ(count_of(svg, "<polyline class=\"line\""), 2u);
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 8u);
  EXPECT_EQ(count_of(svg, "class=\"legend-entry\""), 2u);
  EXPECT_EQ(count_of(svg, "class=\"x-label\""), 4u);
  EXPECT_EQ(count_of(svg, "class=\"axes\""), 1u);
  EXPECT_EQ(count_of(svg, "class=\"reference\""), 1u);
  EXPECT_NE(svg.find(">4x</text>"), std::string::npos) << svg;  // the top tick covers 4
  EXPECT_NE(svg.find(">0x</text>"), std::string::npos) << svg;  // the axis starts at zero
  EXPECT_NE(svg.find("vs torch.compile, n4: 1.1x"), std::string::npos) << svg;  // a tooltip
  EXPECT_EQ(svg.find("no data"), std::string::npos);
}

TEST(SvgPlotTest, MissingValuesBreakTheLineAndKeepTheOtherMarkers) {
  LinePlot plot;
  plot.title = "gaps";
  plot.x_labels = {"a", "b", "c", "d", "e", "f"};
  // Runs: [a b], a gap, [d] alone, a gap (NaN counts as missing), nothing at f.
  plot.series = {{"s", {1.0, 2.0, std::nullopt, 3.0, std::numeric_limits<double>::quiet_NaN()}}};
  std::string svg = svg_line_plot(plot);
  EXPECT_EQ(count_of(svg, "<polyline"), 1u) << svg;  // the lone point d draws no line
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 3u) << svg;
  std::smatch points;
  ASSERT_TRUE(std::regex_search(svg, points, std::regex("points=\"([^\"]*)\"")));
  EXPECT_EQ(strings::split(points[1].str(), ' ').size(), 2u) << points[1];
}

TEST(SvgPlotTest, OnePointIsAMarkerInTheMiddleAndNoValuesSayNoData) {
  LinePlot plot;
  plot.title = "one";
  plot.x_labels = {"2026-12-03"};
  plot.series = {{"s", {2.0}}};
  std::string svg = svg_line_plot(plot);
  EXPECT_EQ(count_of(svg, "<polyline"), 0u);
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 1u);
  // In the middle of the plot area: between the margins of a 360-wide plot (46 .. 342).
  EXPECT_NE(svg.find("cx=\"194.0\""), std::string::npos) << svg;

  plot.series = {{"s", {std::nullopt}}};
  svg = svg_line_plot(plot);
  EXPECT_EQ(count_of(svg, "class=\"marker\""), 0u);
  EXPECT_NE(svg.find("no data"), std::string::npos);
  plot.x_labels.clear();
  plot.series.clear();
  svg = svg_line_plot(plot);
  EXPECT_NE(svg.find("no data"), std::string::npos);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(SvgPlotTest, ManyNightsAndSeriesStayReadable) {
  LinePlot plot;
  plot.title = "a year";
  for (int night = 0; night < 365; ++night) {
    plot.x_labels.push_back("night-of-2026-12-" + std::to_string(night));
  }
  for (int s = 0; s < 9; ++s) {
    PlotSeries series{"series number " + std::to_string(s), {}};
    for (int night = 0; night < 365; ++night)
      series.values.push_back(1.0 + s + night * 0.01);
    plot.series.push_back(series);
  }
  std::string svg = svg_line_plot(plot);
  size_t labels = count_of(svg, "class=\"x-label\"");
  EXPECT_GE(labels, 2u);
  EXPECT_LE(labels, 4u) << "16-character labels in a 300-pixel axis";
  // The last night is labelled; a label cut short keeps the whole of it in a tooltip.
  EXPECT_NE(svg.find(">night-of-2026-1\xe2\x80\xa6<title>night-of-2026-12-364</title>"),
            std::string::npos)
      << svg;
  EXPECT_EQ(count_of(svg, "stroke-dasharray=\"6 3\""), 2u * 2);  // the 8th and 9th, with legend
  EXPECT_EQ(count_of(svg, "class=\"legend-entry\""), 9u);
  // Nine legend entries do not fit in one row: the plot grows to hold them.
  std::smatch height;
  ASSERT_TRUE(std::regex_search(svg, height, std::regex("height=\"([0-9]+)\"")));
  EXPECT_GT(std::stoi(height[1]), 230);
}

TEST(SvgPlotTest, EscapesEveryText) {
  LinePlot plot;
  plot.title = "<script>x</script>";
  plot.x_labels = {"<b>", "\"'"};
  plot.series = {{"</svg>", {1.0, 2.0}}};
  plot.reference_y = 1.0;
  plot.reference_label = "<i>";
  plot.y_suffix = "<u>";
  std::string svg = svg_line_plot(plot);
  for (const char* raw : {"<script>", "<b>", "</svg><", "<i>", "<u>", "\"'"})
    EXPECT_EQ(svg.find(raw), std::string::npos) << raw;
  EXPECT_EQ(count_of(svg, "</svg>"), 1u);
}

// The positions of the page's sections, in the order they are found.
std::vector<std::string> section_ids(const std::string& html) {
  std::vector<std::string> ids;
  std::regex section("<section id=\"([a-z]+)\">");
  for (std::sregex_iterator it(html.begin(), html.end(), section), end; it != end; ++it)
    ids.push_back((*it)[1]);
  return ids;
}

TEST(NightReportHtmlTest, SectionsComeInOrderRegressionsFirst) {
  std::string html = render_night_html(testing::sample_night_report());
  const std::vector<std::string> expected = {"regressions", "improvements", "speedups",    "tuning",
                                             "failures",    "llm",          "environment", "steps"};
  EXPECT_EQ(section_ids(html), expected);
  EXPECT_EQ(night_report_section_ids(), expected);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<title>kforge night 2026-12-03T02-00-04Z: 2 regressions, 2 promotions, 1 "
                      "improvement, 2 failures</title>"),
            std::string::npos);
  EXPECT_NE(html.find("<header class=\"bad\">"), std::string::npos);
}

TEST(NightReportHtmlTest, IsSelfContainedAndShowsTheNumbers) {
  std::string html = render_night_html(testing::sample_night_report());
  EXPECT_NE(html.find("content=\"default-src 'none'; style-src 'unsafe-inline'\""),
            std::string::npos);
  // Nothing to fetch: no script, link, image or frame, no address but the SVG namespace's.
  std::string without_namespace =
      std::regex_replace(html, std::regex("xmlns=\"http://www.w3.org/2000/svg\""), "");
  for (const char* outside : {"<script", "<link", "<img", "<iframe", "http:", "https:", "src="})
    EXPECT_EQ(without_namespace.find(outside), std::string::npos) << outside;
  // One plot per task with history, its nights on the axis as dates and times.
  EXPECT_EQ(count_of(html, "<svg "), 5u);
  EXPECT_NE(html.find(">2026-12-03 02:00<title>2026-12-03 02:00</title>"), std::string::npos);
  // The slower regression: before, after, change, spread.
  for (const char* cell :
       {">10.2 us<", ">12.9 us<", ">+26.5%<", ">400 ns<", ">-18.3%<", ">2.41x<", ">1.12x<",
        ">182,340<", ">222,551<", ">$3.87<", ">560.35.03<", "steps took 1h 11m", ">33m 10s<"})
    EXPECT_NE(html.find(cell), std::string::npos) << cell;
  // The environment's changed rows are marked.
  EXPECT_EQ(count_of(html, "<tr class=\"changed\">"), 2u);
  // Regressions' table before the improvements' table.
  EXPECT_LT(html.find("softmax/online_block"), html.find("matmul/tiled_64"));
}

TEST(NightReportHtmlTest, HostileStringsAreEscaped) {
  std::string html = render_night_html(testing::hostile_night_report());
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_EQ(html.find("<iframe"), std::string::npos);
  EXPECT_EQ(html.find("<b>night"), std::string::npos);
  EXPECT_EQ(html.find("<i>tags"), std::string::npos);
  EXPECT_EQ(count_of(html, "<style>"), 1u);
  EXPECT_EQ(count_of(html, "</svg>"), 5u);
  EXPECT_EQ(html.find('\x1b'), std::string::npos);
  EXPECT_FALSE(strings::first_invalid_utf8(html).has_value());
  EXPECT_NE(html.find("&lt;script&gt;document.title=&#39;owned&#39;&lt;/script&gt;"),
            std::string::npos);
  EXPECT_NE(html.find("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"), std::string::npos);
}

TEST(NightReportHtmlTest, EmptyReportRendersEverySectionWithASentence) {
  NightReport report;
  report.night = "empty";
  std::string html = render_night_html(report);
  EXPECT_EQ(section_ids(html), night_report_section_ids());
  EXPECT_EQ(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("No regression: every shipped kernel re-verified as recorded."),
            std::string::npos);
  EXPECT_NE(html.find("No task has a speedup on record yet."), std::string::npos);
  EXPECT_NE(html.find("Nothing failed."), std::string::npos);
  EXPECT_NE(html.find("<header class=\"good\">"), std::string::npos);
}

TEST(NightReportHtmlTest, NoRegressionButReverifyFailedSaysSo) {
  NightReport report;
  report.night = "n";
  report.outcome = NightOutcome::budget_reached;
  report.steps = {{"reverify", StepStatus::failed, 3, "no GPU"}};
  std::string html = render_night_html(report);
  EXPECT_NE(html.find("No regression found, but re-verification failed: no GPU"),
            std::string::npos);
  EXPECT_NE(html.find("<header class=\"warn\">"), std::string::npos);
}

TEST(NightReportMarkdownTest, ShortSummaryRegressionsFirst) {
  std::string text = render_night_markdown(testing::sample_night_report());
  EXPECT_EQ(text.rfind(
                "## kforge night 2026-12-03T02-00-04Z: 2 regressions, 2 promotions, 1 improvement, "
                "2 failures\n",
                0),
            0u)
      << text;
  EXPECT_NE(text.find("**completed**, exit code 1, steps took 1h 11m, 222,551 LLM tokens ($3.87)"),
            std::string::npos)
      << text;
  size_t regressions = text.find("### Regressions");
  size_t improvements = text.find("### Promotions and improvements");
  size_t failures = text.find("### Failures");
  size_t environment = text.find("### Environment changes");
  ASSERT_NE(regressions, std::string::npos);
  EXPECT_LT(regressions, improvements);
  EXPECT_LT(improvements, failures);
  EXPECT_LT(failures, environment);
  EXPECT_NE(text.find("| softmax/online\\_block | builtin/softmax | slower +26.5% (recorded "
                      "spread 400 ns) | 10.2 us | 12.9 us |"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("verdict correct → incorrect"), std::string::npos);
  EXPECT_NE(text.find("| builtin/matmul | matmul/tiled\\_64 | **promoted** | 120 us | 98.1 us | "
                      "-18.3% | 2.41x | 1.12x |"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("- torch: 2.4.1 → 2.5.0\n"), std::string::npos);
  EXPECT_NE(text.find("Tuning: 3 kernels, 348 evaluations."), std::string::npos);
  EXPECT_LT(std::count(text.begin(), text.end(), '\n'), 40);
}

TEST(NightReportMarkdownTest, EmptyReportIsTheHeadlineAlone) {
  NightReport report;
  report.night = "n1";
  std::string text = render_night_markdown(report);
  EXPECT_EQ(text,
            "## kforge night n1: no regression\n\n**completed**, exit code 0, steps took 0.0 s, "
            "0 LLM tokens ($0.00)\n\nThe whole report: n1.html\n");
}

TEST(NightReportMarkdownTest, HostileStringsAreEscapedAndLongListsCut) {
  NightReport report = testing::hostile_night_report();
  for (int i = 0; i < 12; ++i)
    report.failures.push_back({"optimize", "task " + std::to_string(i), "failed"});
  std::string text = render_night_markdown(report);
  EXPECT_EQ(text.find("<script"), std::string::npos);
  EXPECT_EQ(text.find("<img"), std::string::npos);
  EXPECT_EQ(text.find("<iframe"), std::string::npos);
  EXPECT_EQ(text.find("[click]"), std::string::npos);
  EXPECT_NE(text.find("\\[click\\](http://evil.example)\\|\\*bold\\*\\_x\\_"), std::string::npos)
      << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_FALSE(strings::first_invalid_utf8(text).has_value());
  EXPECT_EQ(count_of(text, "\n- optimize, "), 9u) << text;  // 10 shown, one of them reverify
  EXPECT_NE(text.find("... and 4 more in 2026-12-03T02-00-04Z.html"), std::string::npos) << text;
}

}  // namespace
}  // namespace kforge::nightly
