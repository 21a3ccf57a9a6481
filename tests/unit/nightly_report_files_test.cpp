// The night's report files (report_files): written, listed and read back through real files;
// a missing or malformed file is one error naming it.
#include <gtest/gtest.h>

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
