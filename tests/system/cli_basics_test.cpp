// The real kforge binary: help, version, usage errors and exit codes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

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
