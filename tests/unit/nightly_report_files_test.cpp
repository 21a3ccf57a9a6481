// The night's report files (report_files): written, listed and read back through real files;
// a missing or malformed file is one error naming it.
#include <gtest/gtest.h>

#include "harness/nightly/nightly.hpp"
#include "harness/nightly/report_files.hpp"
#include "harness/nightly/report_html.hpp"
#include "harness/nightly/report_markdown.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_text.hpp"
#include "tests/support/sample_night_report.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::nightly {
namespace {

namespace fs = std::filesystem;

// The one-line message of the Error `action` throws; fails the test when it throws none.
template <typename Action>
std::string error_of(Action action) {
  try {
    action();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(NightReportFilesTest, WritesThreeFilesListsAndReadsBackEqual) {
  testing::TemporaryDirectory directory;
  const fs::path folder = directory / "reports/nested";  // made when missing
  NightReport report = testing::hostile_night_report();
  NightReportFiles written = write_night_report(report, folder);
  EXPECT_EQ(written.json, folder / "2026-12-03T02-00-04Z.json");
  EXPECT_EQ(written.html, folder / "2026-12-03T02-00-04Z.html");
  EXPECT_EQ(written.markdown, folder / "2026-12-03T02-00-04Z.md");
  EXPECT_EQ(files::read(written.html), render_night_html(report));
  EXPECT_EQ(files::read(written.markdown), render_night_markdown(report));

  NightReport earlier = testing::sample_night_report();
  earlier.night = "2026-12-02T02-00-03Z";
  write_night_report(earlier, folder);
  EXPECT_EQ(list_night_reports(folder),
            (std::vector<std::string>{"2026-12-02T02-00-03Z", "2026-12-03T02-00-04Z"}));

  // Equal, but for the bytes that are not UTF-8: the JSON document holds U+FFFD in their place
  // (json_text), as every document kforge writes.
  NightReport read = read_night_report(folder, "2026-12-03T02-00-04Z");
  EXPECT_EQ(json_text(to_json(read)), json_text(to_json(report)));
  EXPECT_NE(read.failures[0].reason.find("and \xef\xbf\xbd\xef\xbf\xbd bytes"), std::string::npos);
  EXPECT_EQ(read.regressions[0].kernel, testing::kHostileScript);
  // Only the files a write leaves: three per night, no temporary ones.
  size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(folder))
    ++count;
  EXPECT_EQ(count, 6u);
}

TEST(NightReportFilesTest, ListingSkipsWhatIsNotAReportAndAMissingFolderIsEmpty) {
  testing::TemporaryDirectory directory;
  EXPECT_TRUE(list_night_reports(directory / "absent").empty());
  write_night_report(testing::sample_night_report(), directory.path());
  testing::write_text(directory / "notes.txt", "x");
  testing::write_text(directory / ".hidden.json", "{}");
  testing::write_text(directory / "only-a-page.html", "<p>");
  fs::create_directories(directory / "folder.json");
  EXPECT_EQ(list_night_reports(directory.path()),
            (std::vector<std::string>{"2026-12-03T02-00-04Z"}));
}

TEST(NightReportFilesTest, MissingAndMalformedFilesAreOneLineErrorsNamingTheFile) {
  testing::TemporaryDirectory directory;
  const fs::path missing = directory / "nope.json";
  EXPECT_EQ(error_of([&] { read_night_report(directory.path(), "nope"); }),
            "no report of night 'nope' (" + missing.string() + ")");

  testing::write_text(directory / "cut.json", "{\"version\": 1, \"night\": ");
  EXPECT_EQ(error_of([&] { read_night_report(directory.path(), "cut"); }),
            "not a JSON document (" + (directory / "cut.json").string() + ")");

  nlohmann::json document = to_json(testing::sample_night_report());
  document.erase("regressions");
  testing::write_text(directory / "field.json", document.dump());
  std::string message = error_of([&] { read_night_report(directory.path(), "field"); });
  EXPECT_NE(message.find("regressions"), std::string::npos) << message;
  EXPECT_NE(message.find((directory / "field.json").string()), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;

  document = to_json(testing::sample_night_report());
  document["outcome"] = "exploded";
  testing::write_text(directory / "name.json", document.dump());
  message = error_of([&] { read_night_report(directory.path(), "name"); });
  EXPECT_NE(message.find("exploded"), std::string::npos) << message;
  EXPECT_NE(message.find((directory / "name.json").string()), std::string::npos) << message;
}

// A report's outcome and step statuses are spelled by the store's tables (night_records.hpp):
// each reads back from its name, "running" is no outcome, and unknown text names itself.
TEST(NightReportNamesTest, OutcomesAndStepStatusesAreTheStoresNames) {
  for (NightOutcome outcome : {NightOutcome::completed, NightOutcome::budget_reached,
                               NightOutcome::interrupted, NightOutcome::failed}) {
    EXPECT_EQ(night_outcome_name(outcome), night_status_name(night_status_of(outcome)));
    EXPECT_EQ(night_outcome_from_name(night_outcome_name(outcome), "here"), outcome);
    EXPECT_EQ(night_outcome_of(night_status_of(outcome)), outcome);
  }
  EXPECT_EQ(std::string(night_outcome_name(NightOutcome::budget_reached)), "budget_reached");
  for (StepStatus status :
       {StepStatus::done, StepStatus::skipped, StepStatus::failed, StepStatus::stopped}) {
    EXPECT_EQ(step_status_name(status), night_step_status_name(night_step_status_of(status)));
    EXPECT_EQ(step_status_from_name(step_status_name(status), "here"), status);
  }
  EXPECT_EQ(std::string(step_status_name(StepStatus::done)), "done");
  EXPECT_FALSE(night_outcome_of(NightStatus::kRunning));
  EXPECT_FALSE(step_status_of(NightStepStatus::kRunning));
  EXPECT_EQ(error_of([] { night_outcome_from_name("running", "report.json"); }),
            "unknown night outcome 'running' (one of: completed, budget_reached, interrupted, "
            "failed) (report.json)");
  EXPECT_EQ(error_of([] { night_outcome_from_name("great", "report.json"); }),
            "unknown night outcome 'great' (one of: completed, budget_reached, interrupted, "
            "failed) (report.json)");
  EXPECT_EQ(error_of([] { step_status_from_name("running", "steps[0]"); }),
            "unknown step status 'running' (one of: done, skipped, failed, stopped) (steps[0])");
}

// What `kforge nightly --join` prints as a node's end, read back from its name.
TEST(NightReportNamesTest, JoinStatusesRoundTripThroughTheirNames) {
  const std::pair<JoinStatus, const char*> statuses[] = {{JoinStatus::kDone, "done"},
                                                         {JoinStatus::kStopped, "stopped"},
                                                         {JoinStatus::kEnded, "ended"}};
  for (const auto& [status, name] : statuses) {
    EXPECT_EQ(join_status_name(status), name);
    EXPECT_EQ(join_status_named(name), status) << name;
  }
  EXPECT_FALSE(join_status_named("running"));
  EXPECT_FALSE(join_status_named(""));
}

TEST(NightReportFilesTest, ANightIdMustBeAFileName) {
  testing::TemporaryDirectory directory;
  for (const char* night : {"", "../up", "a/b", ".hidden", ".."}) {
    NightReport report;
    report.night = night;
    std::string message = error_of([&] { write_night_report(report, directory.path()); });
    EXPECT_NE(message.find("a night's id must be a file name"), std::string::npos) << message;
    message = error_of([&] { read_night_report(directory.path(), night); });
    EXPECT_NE(message.find("a night's id must be a file name"), std::string::npos) << message;
  }
  EXPECT_TRUE(fs::is_empty(directory.path()));
}

}  // namespace
}  // namespace kforge::nightly
