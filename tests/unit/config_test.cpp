#include "harness/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>

#include "harness/evaluation/run_stage.hpp"
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

// Found by the fuzz target config_toml (docs/fuzzing.md): the "did you mean" hint for an unknown
// key cost its length times every key's, so a 1 MB key took seconds and the target ran at 130
// inputs a second. A long key is reported without a hint, at once.
TEST(Config, AVeryLongUnknownKeyIsReportedAtOnce) {
  testing::TemporaryDirectory dir;
  std::string key(1000000, 'c');
  testing::write_text(dir / "kforge.toml", key + " = 5\n");
  auto started = std::chrono::steady_clock::now();
  try {
    Config::load(dir / "kforge.toml");
    FAIL();
  } catch (const Error& failure) {
    std::string text = failure.what();
    EXPECT_NE(text.find("unknown configuration key 'ccc"), std::string::npos);
    EXPECT_EQ(text.find("did you mean"), std::string::npos);
    EXPECT_NE(text.find("kforge.toml:1"), std::string::npos);
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(), 1.0);
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

TEST(Config, EveryNumberHasARangeThatHoldsItsDefault) {
  Config defaults;
  for (const ConfigKey& key : config_keys()) {
    if (key.type != ConfigType::kInteger && key.type != ConfigType::kReal)
      continue;
    EXPECT_TRUE(std::isfinite(key.minimum) && std::isfinite(key.maximum)) << key.name;
    EXPECT_LE(key.minimum, key.maximum) << key.name;
    // A per-pattern key (llm.models.<pattern>.*) has no value until a file names a pattern; its
    // default comes from the model's family (agents/model_family.cpp).
    if (key.name.find("<pattern>") != std::string_view::npos)
      continue;
    double value = key.type == ConfigType::kInteger
                       ? static_cast<double>(defaults.integer(key.name))
                       : defaults.real(key.name);
    EXPECT_GE(value, key.minimum) << key.name;
    EXPECT_LE(value, key.maximum) << key.name;
  }
}

TEST(Config, NumbersOutsideTheirRangeAreRefusedWhereTheyAreRead) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml", "[compile]\nworkers = 100000\n");
  try {
    Config::load(dir / "kforge.toml");
    FAIL();
  } catch (const Error& failure) {
    EXPECT_EQ(failure.message(), "compile.workers = 100000 is out of range: allowed 0 to 256");
    EXPECT_NE(failure.where().find("kforge.toml:2"), std::string::npos) << failure.where();
  }
  // Wrapping values, zero and negative limits, and the edges.
  for (std::string text : {"[compile]\nmemory_mb = 17592186044417\n", "[compile]\ntimeout_s = 0\n",
                           "[compile]\ntimeout_s = -1\n", "[plan]\nmax_kernels = 0\n",
                           "[timing]\ntarget_spread = nan\n", "[llm]\ntemperature = -0.1\n"}) {
    testing::write_text(dir / "bad.toml", text);
    EXPECT_THROW(Config::load(dir / "bad.toml"), Error) << text;
  }
  testing::write_text(dir / "edge.toml", "[compile]\nworkers = 256\ntimeout_s = 1\n");
  EXPECT_EQ(Config::load(dir / "edge.toml").integer("compile.workers"), 256);
  Config config;
  EXPECT_THROW(config.set("plan.max_kernels", "0"), Error);
  EXPECT_THROW(config.set("compile.memory_mb", "-4096"), Error);
  try {
    config.set("gpu.run_limit_s", "0");
    FAIL();
  } catch (const Error& failure) {
    EXPECT_EQ(failure.where(), "--gpu.run_limit_s");
  }
  config.set("plan.max_kernels", "1");
  EXPECT_EQ(config.integer("plan.max_kernels"), 1);
}

// Defaults come from the options structs the keys set, written as TOML writes them; these are
// the values the table held as text before, so no default moved.
TEST(Config, DefaultsAreTheOptionsStructsOwn) {
  auto default_of = [](std::string_view name) {
    for (const ConfigKey& key : config_keys()) {
      if (key.name == name)
        return key.default_value;
    }
    return std::string("missing");
  };
  EXPECT_EQ(default_of("arch"), "sm_90");
  EXPECT_EQ(default_of("compile.timeout_s"), "60");
  EXPECT_EQ(default_of("compile.memory_mb"), "4096");
  EXPECT_EQ(default_of("compile.max_local_bytes"), "524288");
  EXPECT_EQ(default_of("plan.max_shared_bytes"), "232448");
  EXPECT_EQ(default_of("plan.max_scratch_bytes"), "1073741824");
  EXPECT_EQ(default_of("verify.dtype"), "float32");
  EXPECT_EQ(default_of("timing.target_spread"), "0.02");
  EXPECT_EQ(default_of("timing.time_cap_ms"), "2000");
  EXPECT_EQ(default_of("timing.flush_l2"), "true");
  EXPECT_EQ(default_of("gpu.time_limit_s"), "120");
  EXPECT_EQ(default_of("llm.temperature"), "0.7");
  EXPECT_EQ(default_of("llm.timeout_s"), "600");
  EXPECT_EQ(default_of("llm.samples"), "4");
  EXPECT_EQ(default_of("promote.min_speedup"), "1");
  EXPECT_EQ(default_of("python"), "");
}

// $KFORGE_PYTHON sets `python` under the file and the flags, and says where it came from.
TEST(Config, PythonFromTheEnvironmentUnderTheFileAndFlags) {
  ::setenv(kPythonVariable, "/opt/from-environment/python3", 1);
  Config from_environment;
  EXPECT_EQ(from_environment.string("python"), "/opt/from-environment/python3");
  EXPECT_EQ(from_environment.source("python"), "environment (KFORGE_PYTHON)");
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml", "python = \"/opt/from-file/python3\"\n");
  Config from_file = Config::load(dir / "kforge.toml");
  EXPECT_EQ(from_file.string("python"), "/opt/from-file/python3");
  from_file.set("python", "/opt/from-flag/python3");
  EXPECT_EQ(from_file.string("python"), "/opt/from-flag/python3");
  ::unsetenv(kPythonVariable);
  Config without;
  EXPECT_EQ(without.string("python"), "");
  EXPECT_EQ(without.source("python"), "unset");
}

// profile.profiler: one of the table's choices, read into the run settings; anything else is
// refused where it is read.
TEST(Config, TheProfilerIsCuptiNcuOrAuto) {
  Config defaults;
  EXPECT_EQ(defaults.string("profile.profiler"), "cupti");
  EXPECT_EQ(RunSettings::from_config(defaults).profiler, ProfilerChoice::kCupti);
  EXPECT_EQ(RunSettings::from_config(defaults).ncu, "ncu");
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml", "[profile]\nprofiler = \"ncu\"\nncu = \"/opt/ncu\"\n");
  RunSettings settings = RunSettings::from_config(Config::load(dir / "kforge.toml"));
  EXPECT_EQ(settings.profiler, ProfilerChoice::kNcu);
  EXPECT_EQ(settings.ncu, "/opt/ncu");
  testing::write_text(dir / "bad.toml", "[profile]\nprofiler = \"nsys\"\n");
  try {
    Config::load(dir / "bad.toml");
    FAIL();
  } catch (const Error& failure) {
    EXPECT_NE(failure.message().find("'nsys'"), std::string::npos) << failure.message();
    EXPECT_NE(failure.where().find("bad.toml:2"), std::string::npos) << failure.where();
  }
  Config config;
  config.set("profile.profiler", "auto");
  EXPECT_EQ(RunSettings::from_config(config).profiler, ProfilerChoice::kAuto);
  EXPECT_THROW(config.set("profile.profiler", "bogus"), Error);
}

}  // namespace
}  // namespace kforge
