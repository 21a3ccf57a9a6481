// `kforge nightly report` through the real binary, on report files written by the real writer
// (write_night_report) from a night built in tests/support/sample_night_report.hpp, and the
// page in a real browser: headless Chromium loads it and a probe measures its plots.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "harness/nightly/report_files.hpp"
#include "harness/nightly/report_html.hpp"
#include "harness/nightly/report_markdown.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"
#include "tests/support/sample_night_report.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

// Two nights in the workspace's default report folder: a quiet one, then the sample night.
struct TwoNights {
  testing::TemporaryDirectory workspace;
  fs::path folder = workspace / "nightly";
  nightly::NightReport quiet = [] {
    nightly::NightReport report;
    report.night = "2026-12-02T02-00-03Z";
    report.started_at = "2026-12-02T02:00:03Z";
    report.finished_at = "2026-12-02T02:40:00Z";
    report.improvements = {{"builtin/relu", "relu/vectorized", true, 5.0, 4.0, 1.9, 1.1}};
    return report;
  }();
  nightly::NightReport sample = testing::sample_night_report();
  TwoNights() {
    nightly::write_night_report(sample, folder);
    nightly::write_night_report(quiet, folder);
  }
};

// The lines of `text` that are not empty.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& line : strings::split(text, '\n'))
    if (!line.empty())
      lines.push_back(line);
  return lines;
}

TEST(NightlyReportCommandTest, ListsTheNightsNewestLastWithOutcomeAndCounts) {
  TwoNights nights;
  ProcessResult listing = run_kforge({"nightly", "report"}, nights.workspace.path());
  ASSERT_EQ(listing.exit_code, 0) << listing.standard_error;
  std::vector<std::string> lines = lines_of(listing.standard_output);
  ASSERT_EQ(lines.size(), 3u) << listing.standard_output;
  EXPECT_TRUE(std::regex_search(lines[0], std::regex("^night +outcome +regressions"))) << lines[0];
  EXPECT_TRUE(
      std::regex_search(lines[1], std::regex("^2026-12-02T02-00-03Z +completed +0 +1 +0 +0 ")))
      << lines[1];
  EXPECT_TRUE(
      std::regex_search(lines[2], std::regex("^2026-12-03T02-00-04Z +completed +2 +2 +1 +2 ")))
      << lines[2];

  ProcessResult json = run_kforge({"nightly", "report", "--json"}, nights.workspace.path());
  ASSERT_EQ(json.exit_code, 0) << json.standard_error;
  nlohmann::json document = nlohmann::json::parse(json.standard_output);
  EXPECT_EQ(fs::path(document["folder"].get<std::string>()), nights.folder);
  ASSERT_EQ(document["nights"].size(), 2u);
  EXPECT_EQ(document["nights"][1]["night"], "2026-12-03T02-00-04Z");
  EXPECT_EQ(document["nights"][1]["outcome"], "completed");
  EXPECT_EQ(document["nights"][1]["regressions"], 2);
  EXPECT_EQ(document["nights"][1]["exit_code"], 1);
  EXPECT_EQ(document["nights"][0]["exit_code"], 0);
}

TEST(NightlyReportCommandTest, ShowsANightsSummaryDocumentAndPage) {
  TwoNights nights;
  ProcessResult summary =
      run_kforge({"nightly", "report", "2026-12-03T02-00-04Z"}, nights.workspace.path());
  ASSERT_EQ(summary.exit_code, 0) << summary.standard_error;
  EXPECT_EQ(summary.standard_output, nightly::render_night_markdown(nights.sample));
  EXPECT_EQ(summary.standard_output, files::read(nights.folder / "2026-12-03T02-00-04Z.md"));

  ProcessResult json =
      run_kforge({"nightly", "report", "2026-12-03T02-00-04Z", "--json"}, nights.workspace.path());
  ASSERT_EQ(json.exit_code, 0) << json.standard_error;
  EXPECT_EQ(nlohmann::json::parse(json.standard_output), nightly::to_json(nights.sample));

  ProcessResult page =
      run_kforge({"nightly", "report", "2026-12-02T02-00-03Z", "--html"}, nights.workspace.path());
  ASSERT_EQ(page.exit_code, 0) << page.standard_error;
  EXPECT_EQ(page.standard_output, (nights.folder / "2026-12-02T02-00-03Z.html").string() + "\n");
}

TEST(NightlyReportCommandTest, DirPointsAtAnotherFolderAndAnEmptyOneSaysSo) {
  TwoNights nights;
  testing::TemporaryDirectory elsewhere;
  ProcessResult listing =
      run_kforge({"nightly", "report", "--dir", nights.folder.string()}, elsewhere.path());
  ASSERT_EQ(listing.exit_code, 0) << listing.standard_error;
  EXPECT_EQ(lines_of(listing.standard_output).size(), 3u) << listing.standard_output;

  ProcessResult empty = run_kforge({"nightly", "report"}, elsewhere.path());
  ASSERT_EQ(empty.exit_code, 0) << empty.standard_error;
  EXPECT_EQ(empty.standard_output,
            "no night reports in " + (elsewhere / "nightly").string() + "\n");
  EXPECT_TRUE(fs::is_empty(elsewhere.path()));  // reading creates nothing
}

TEST(NightlyReportCommandTest, BadNightsAreOneLineErrorsNamingTheFile) {
  TwoNights nights;
  const fs::path workspace = nights.workspace.path();
  ProcessResult missing = run_kforge({"nightly", "report", "2026-01-01"}, workspace);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.standard_error, "kforge: error: no report of night '2026-01-01' (" +
                                        (nights.folder / "2026-01-01.json").string() + ")\n");

  testing::write_text(nights.folder / "2026-12-04.json", "{\"version\": 1,");
  ProcessResult malformed = run_kforge({"nightly", "report", "2026-12-04", "--json"}, workspace);
  EXPECT_EQ(malformed.exit_code, 1);
  EXPECT_EQ(malformed.standard_error, "kforge: error: not a JSON document (" +
                                          (nights.folder / "2026-12-04.json").string() + ")\n");
  EXPECT_EQ(malformed.standard_output, "");

  // The listing still lists the others, and says which file it could not read.
  ProcessResult listing = run_kforge({"nightly", "report"}, workspace);
  ASSERT_EQ(listing.exit_code, 0) << listing.standard_error;
  std::vector<std::string> lines = lines_of(listing.standard_output);
  ASSERT_EQ(lines.size(), 4u) << listing.standard_output;
  EXPECT_TRUE(std::regex_search(lines[3], std::regex("^2026-12-04 +unreadable +not a JSON "
                                                     "document \\(.*2026-12-04\\.json\\)$")))
      << lines[3];

  fs::remove(nights.folder / "2026-12-02T02-00-03Z.html");
  ProcessResult no_page =
      run_kforge({"nightly", "report", "2026-12-02T02-00-03Z", "--html"}, workspace);
  EXPECT_EQ(no_page.exit_code, 1);
  EXPECT_EQ(no_page.standard_error, "kforge: error: night '2026-12-02T02-00-03Z' has no page (" +
                                        (nights.folder / "2026-12-02T02-00-03Z.html").string() +
                                        ")\n");

  ProcessResult escape = run_kforge({"nightly", "report", "../x"}, workspace);
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_NE(escape.standard_error.find("a night's id must be a file name"), std::string::npos)
      << escape.standard_error;

  ProcessResult both =
      run_kforge({"nightly", "report", "2026-12-03T02-00-04Z", "--json", "--html"}, workspace);
  EXPECT_NE(both.exit_code, 0);
  EXPECT_NE(both.standard_error.find("excludes"), std::string::npos) << both.standard_error;
}

// The headless Chromium of Debian's `chromium` package, if installed.
std::optional<fs::path> chromium() {
  return find_on_path("chromium");
}

// Runs Chromium headless on `page` with `extra` arguments; its profile in `profile`.
ProcessResult run_chromium(const fs::path& program, const fs::path& profile, const fs::path& page,
                           std::vector<std::string> extra) {
  ProcessSpec spec;
  spec.program = program;
  // The page is kforge's own; the sandbox, which cannot start as root or in most containers, has
  // nothing to guard here.
  spec.arguments = {"--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--disable-extensions",
                    "--user-data-dir=" + profile.string(),
                    "--enable-logging=stderr",
                    "--v=0",
                    "--window-size=1280,2400"};
  spec.arguments.insert(spec.arguments.end(), extra.begin(), extra.end());
  spec.arguments.push_back("file://" + page.string());
  spec.own_process_group = true;
  spec.time_limit = std::chrono::seconds(90);
  spec.max_output_bytes = 8 << 20;
  return run_process(spec);
}

// Runs in the page under test, before its content: records what the browser refused or could
// not run, and after the load measures every plot (its box, each line's length, each marker's
// box and whether it lies inside its plot) into <pre id="kforge-probe">, as JSON of numbers and
// ids only so that nothing in it needs unescaping.
constexpr const char* kProbe = R"(<script>
var kforgeProbe = {violations: [], errors: []};
document.addEventListener('securitypolicyviolation', function (e) {
  kforgeProbe.violations.push(e.violatedDirective); });
window.addEventListener('error', function () { kforgeProbe.errors.push(1); }, true);
window.addEventListener('load', function () {
  var plots = [];
  document.querySelectorAll('svg.plot').forEach(function (svg) {
    var box = svg.getBoundingClientRect();
    var lines = [], markers = [];
    svg.querySelectorAll('polyline.line').forEach(function (line) {
      lines.push(line.getTotalLength()); });
    svg.querySelectorAll('.marker').forEach(function (marker) {
      var own = marker.getBoundingClientRect();
      var inside = own.left >= box.left && own.right <= box.right && own.top >= box.top &&
                   own.bottom <= box.bottom;
      markers.push({width: own.width, height: own.height, inside: inside}); });
    plots.push({width: box.width, height: box.height, lines: lines, markers: markers,
                axes: svg.querySelectorAll('.axes').length,
                legend: svg.querySelectorAll('.legend-entry').length});
  });
  var out = document.createElement('pre');
  out.id = 'kforge-probe';
  out.textContent = JSON.stringify({plots: plots, violations: kforgeProbe.violations,
    errors: kforgeProbe.errors.length, resources: performance.getEntriesByType('resource').length,
    scripts: document.scripts.length, title_owned: document.title === 'owned',
    sections: Array.prototype.map.call(document.querySelectorAll('section'),
                                       function (s) { return s.id; })});
  document.body.appendChild(out);
});
</script>
)";

TEST(NightlyReportBrowserTest, ThePageLoadsWithoutErrorsAndItsPlotsAreDrawn) {
  std::optional<fs::path> program = chromium();
  if (!program)
    GTEST_SKIP() << "chromium is not installed (Debian: apt-get install chromium; "
                    "scripts/install-deps.sh installs it)";
  testing::TemporaryDirectory directory;
  // The hostile night: its strings must stay text in a real browser too.
  nightly::NightReport report = testing::hostile_night_report();
  nightly::NightReportFiles files = nightly::write_night_report(report, directory / "reports");

  // The page as written, with the probe added and the page's policy opened to inline scripts
  // (the probe): everything else about it is what a reader's browser gets.
  std::string page = files::read(files.html);
  const std::string policy = "default-src 'none';";
  size_t at = page.find(policy);
  ASSERT_NE(at, std::string::npos);
  page.replace(at, policy.size(), policy + " script-src 'unsafe-inline';");
  at = page.find("<head>\n");
  ASSERT_NE(at, std::string::npos);
  page.insert(at + 7, kProbe);
  const fs::path probed = directory / "probed.html";
  testing::write_text(probed, page);

  ProcessResult run = run_chromium(*program, directory / "profile", probed, {"--dump-dom"});
  ASSERT_TRUE(run.succeeded()) << run.describe_end() << "\n" << run.standard_error;
  // Nothing the page did reached the console: no refused load, no script error.
  for (const std::string& line : strings::split(run.standard_error, '\n'))
    EXPECT_EQ(line.find("CONSOLE"), std::string::npos) << line;

  std::smatch found;
  ASSERT_TRUE(std::regex_search(run.standard_output, found,
                                std::regex("<pre id=\"kforge-probe\">([^<]*)</pre>")))
      << run.standard_output.substr(0, 2000);
  nlohmann::json probe = nlohmann::json::parse(found[1].str());
  EXPECT_EQ(probe["violations"], nlohmann::json::array()) << probe.dump();
  EXPECT_EQ(probe["errors"], 0);
  EXPECT_EQ(probe["resources"], 0) << "the page fetched something";
  EXPECT_EQ(probe["scripts"], 1) << "a hostile string became a script";
  EXPECT_EQ(probe["title_owned"], false);
  EXPECT_EQ(probe["sections"], nlohmann::json(nightly::night_report_section_ids()));

  // One plot per task with history, each laid out with its axes and legend, every line of
  // non-zero length and every marker drawn inside its plot; as many markers as values.
  ASSERT_EQ(probe["plots"].size(), report.history.size()) << probe.dump();
  for (size_t i = 0; i < report.history.size(); ++i) {
    const nlohmann::json& plot = probe["plots"][i];
    SCOPED_TRACE(report.history[i].task);
    EXPECT_GT(plot["width"].get<double>(), 100);
    EXPECT_GT(plot["height"].get<double>(), 100);
    EXPECT_EQ(plot["axes"], 1);
    EXPECT_EQ(plot["legend"], 2);
    size_t values = 0;
    for (const nightly::SpeedupPoint& point : report.history[i].points)
      values += (point.speedup_eager ? 1 : 0) + (point.speedup_compile ? 1 : 0);
    EXPECT_EQ(plot["markers"].size(), values);
    for (const nlohmann::json& marker : plot["markers"]) {
      EXPECT_GT(marker["width"].get<double>(), 0) << marker.dump();
      EXPECT_GT(marker["height"].get<double>(), 0) << marker.dump();
      EXPECT_TRUE(marker["inside"].get<bool>()) << marker.dump();
    }
    for (const nlohmann::json& length : plot["lines"])
      EXPECT_GT(length.get<double>(), 10);
  }
  // The week of builtin/matmul with one gap in torch.compile: one eager line, two compile runs.
  EXPECT_EQ(probe["plots"][0]["lines"].size(), 3u);
  // builtin/conv2d, seen on one night: its markers, no line.
  EXPECT_EQ(probe["plots"][3]["lines"].size(), 0u);

  // KFORGE_NIGHTLY_SCREENSHOT=PATH: a screenshot of the sample night's page goes to PATH
  // (docs/nightly-report.png is made so), a second Chromium start only when asked.
  if (const char* screenshot = std::getenv("KFORGE_NIGHTLY_SCREENSHOT");
      screenshot && *screenshot) {
    nightly::NightReportFiles sample =
        nightly::write_night_report(testing::sample_night_report(), directory / "sample");
    ProcessResult shot =
        run_chromium(*program, directory / "profile", sample.html,
                     {"--screenshot=" + fs::absolute(screenshot).string(), "--hide-scrollbars"});
    ASSERT_TRUE(shot.succeeded()) << shot.describe_end() << "\n" << shot.standard_error;
    EXPECT_TRUE(fs::exists(screenshot));
  }
}

}  // namespace
}  // namespace kforge
