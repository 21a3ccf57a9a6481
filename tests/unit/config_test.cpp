#include "harness/config.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TEST(Config, DefaultsFileAndFlagsLayerInThatOrder) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml", "arch = \"sm_80\"\n[compile]\ntimeout_s = 5\n");
  Config config = Config::load(dir / "kforge.toml");
  EXPECT_EQ(config.string("arch"), "sm_80");
  EXPECT_EQ(config.integer("compile.timeout_s"), 5);
  EXPECT_EQ(config.integer("compile.memory_mb"), 4096);
  EXPECT_EQ(config.source("compile.memory_mb"), "default");
  config.set("compile.timeout_s", "9");
  EXPECT_EQ(config.integer("compile.timeout_s"), 9);
  EXPECT_EQ(config.source("compile.timeout_s"), "flag");
}

TEST(Config, UnknownKeyNamesFileLineAndSuggestion) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml", "arch = \"sm_90\"\n[compile]\ntimeout_sec = 5\n");
  try {
    Config::load(dir / "kforge.toml");
    FAIL();
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("compile.timeout_sec"), std::string::npos) << text;
    EXPECT_NE(text.find("did you mean 'compile.timeout_s'"), std::string::npos) << text;
    EXPECT_NE(text.find("kforge.toml:3"), std::string::npos) << text;
  }
}

TEST(Config, WrongTypesAndBadTomlAreErrors) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "a.toml", "[compile]\ntimeout_s = \"soon\"\n");
  EXPECT_THROW(Config::load(dir / "a.toml"), Error);
  testing::write_text(dir / "b.toml", "arch = \n");
  try {
    Config::load(dir / "b.toml");
    FAIL();
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("b.toml:1"), std::string::npos) << failure.what();
  }
  Config config;
  EXPECT_THROW(config.set("compile.timeout_s", "12x"), Error);
  EXPECT_THROW(config.set("no.such.key", "1"), Error);
}

}  // namespace
}  // namespace kforge
