// The real kforge binary: help, version, usage errors and exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/subprocess.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

using testing::run_kforge;

TEST(CliBasics, HelpListsCommandsAndExitsZero) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"--help"}, dir.path());
  EXPECT_EQ(result.exit_code, 0);
  EXPECT_NE(result.standard_output.find("version"), std::string::npos);
}

TEST(CliBasics, UnknownCommandIsAUsageError) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"frobnicate"}, dir.path());
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.standard_error.find("kforge: usage error"), std::string::npos)
      << result.standard_error;
}

TEST(CliBasics, VersionJsonIsOneObject) {
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"version", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  auto document = nlohmann::json::parse(result.standard_output);
  EXPECT_TRUE(document.contains("schema_version"));
}

// The commit is stamped at every build, not when CMake last configured: a binary built after a
// commit names that commit (it named the one CMake had seen, sessions of commits before).
TEST(CliBasics, VersionNamesTheCommitTheBinaryWasBuiltFrom) {
  ProcessResult head = run_process(
      {.program = "git",
       .arguments = {"-C", testing::source_dir().string(), "rev-parse", "--short=12", "HEAD"}});
  std::string commit = head.exit_code == 0 ? head.standard_output : "unknown";
  if (!commit.empty() && commit.back() == '\n')
    commit.pop_back();
  testing::TemporaryDirectory dir;
  ProcessResult result = run_kforge({"version", "--json"}, dir.path());
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_EQ(nlohmann::json::parse(result.standard_output)["commit"], commit)
      << "built before the last commit? rebuild, then run the tests";
  ProcessResult flag = run_kforge({"--version"}, dir.path());
  EXPECT_NE(flag.standard_output.find("(" + commit + ")"), std::string::npos)
      << flag.standard_output;
}

TEST(CliBasics, BadConfigFileIsOneLineError) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml", "archh = \"sm_90\"\n");
  ProcessResult result = run_kforge({"config", "show"}, dir.path());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.standard_error.find("kforge: error: unknown configuration key 'archh'"),
            std::string::npos)
      << result.standard_error;
  EXPECT_NE(result.standard_error.find("did you mean 'arch'"), std::string::npos);
}

}  // namespace
}  // namespace kforge
