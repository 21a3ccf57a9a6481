#include "harness/nightly/nightly_config.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::nightly {
namespace {

TEST(NightlyConfig, DefaultsCoverTheLibraryAndNoTask) {
  const NightlyConfig night = NightlyConfig::from(Config(), "/work");
  EXPECT_TRUE(night.options.library);
  EXPECT_TRUE(night.task_patterns.empty());
  EXPECT_FALSE(night.tune());
  EXPECT_FALSE(night.llm());
  EXPECT_TRUE(night.promote());
  EXPECT_EQ(night.library_root, std::filesystem::path("/work/kernels"));
  EXPECT_EQ(night.report_dir, std::filesystem::path("/work/nightly"));
}

TEST(NightlyConfig, ReadsTheSectionFromAnOverlaidFile) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "nightly.toml",
                      "[nightly]\ntasks = \"builtin/relu, kb1/*\"\nagents = \"both\"\n"
                      "wall_time_s = 3600\nmax_cost_usd = 2.5\npromote = \"none\"\n"
                      "report_dir = \"/srv/reports\"\non_regression = \"true\"\n");
  Config config;
  config.set("nightly.max_evaluations", "5");
  overlay_config_file(config, dir / "nightly.toml");
  const NightlyConfig night = NightlyConfig::from(config, "/work");
  EXPECT_EQ(night.task_patterns, (std::vector<std::string>{"builtin/relu", "kb1/*"}));
  EXPECT_TRUE(night.tune());
  EXPECT_TRUE(night.llm());
  EXPECT_FALSE(night.promote());
  EXPECT_EQ(night.options.wall_time_s, 3600);
  EXPECT_EQ(night.options.max_evaluations, 5);  // a key the file does not set stays
  EXPECT_DOUBLE_EQ(night.options.max_cost_usd, 2.5);
  EXPECT_EQ(night.report_dir, std::filesystem::path("/srv/reports"));
  EXPECT_EQ(night.options.on_regression, "true");
}

TEST(NightlyConfig, RefusesUnknownNamesAndKeysNamingTheAllowedOnes) {
  Config config;
  config.set("nightly.agents", "sometimes");
  try {
    NightlyConfig::from(config, "/work");
    FAIL() << "accepted agents = sometimes";
  } catch (const Error& failure) {
    EXPECT_EQ(std::string(failure.what()),
              "nightly.agents = 'sometimes' is not one of: tune, llm, both, none (flag)");
  }
  Config promote;
  promote.set("nightly.promote", "always");
  EXPECT_THROW(NightlyConfig::from(promote, "/work"), Error);

  testing::TemporaryDirectory dir;
  testing::write_text(dir / "bad.toml", "[nightly]\nwall_hours = 3\n");
  Config file;
  try {
    overlay_config_file(file, dir / "bad.toml");
    FAIL() << "accepted nightly.wall_hours";
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("nightly.wall_time_s"), std::string::npos)
        << failure.what();
  }
  EXPECT_THROW(Config().set("nightly.wall_time_s", "-1"), Error);
  testing::write_text(dir / "name.toml", "[nightly]\npromote = \"always\"\n");
  try {
    overlay_config_file(file, dir / "name.toml");
    FAIL() << "accepted promote = always";
  } catch (const Error& failure) {
    EXPECT_EQ(std::string(failure.what()),
              "nightly.promote = 'always' is not one of: rules, none (" +
                  (dir / "name.toml").string() + ")");
  }
}

TEST(NightlyConfig, GlobsMatchTaskNamesInOrderOnce) {
  const std::vector<std::string> names = {"builtin/relu", "builtin/softmax", "kb1/19_ReLU"};
  EXPECT_EQ(matching_names({"builtin/*"}, names),
            (std::vector<std::string>{"builtin/relu", "builtin/softmax"}));
  EXPECT_EQ(matching_names({"kb1/19_ReLU", "*relu*"}, names),
            (std::vector<std::string>{"builtin/relu", "kb1/19_ReLU"}));
  EXPECT_TRUE(matching_names({"nothing/*"}, names).empty());
}

}  // namespace
}  // namespace kforge::nightly
