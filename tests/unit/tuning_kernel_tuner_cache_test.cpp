// Kernel Tuner's cache format: the recorded pnpoly sub-space (cut from the benchmark hub's
// RTX 3090 file), hand-made caches for the shapes of bad input, and the writer read back.
#include "harness/tuning/kernel_tuner_cache.hpp"

#include <gtest/gtest.h>

#include <functional>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::tuning {
namespace {

using kforge::testing::TemporaryDirectory;

std::filesystem::path recorded_file() {
  return kforge::testing::source_dir() / "tests/system/data/pnpoly_RTX_3090_subspace.json.gz";
}

const char* kSmallCache = R"({
  "device_name": "test", "kernel_name": "k", "problem_size": [4],
  "tune_params_keys": ["block", "mode"],
  "tune_params": {"block": [32, 64, 128], "mode": ["a", "b"]},
  "objective": "time",
  "cache": {
    "32,a": {"block": 32, "mode": "a", "time": 2.5},
    "64,a": {"block": 64, "mode": "a", "time": 1.5},
    "64,b": {"block": 64, "mode": "b", "time": "CompilationFailedConfig"},
    "128,b": {"block": 128, "mode": "b", "time": 3}
  }
})";

std::string error_of(const std::filesystem::path& path) {
  try {
    read_kernel_tuner_cache(path);
  } catch (const Error& error) {
    return error.what();
  }
  return "no error";
}

TEST(KernelTunerCache, ReadsTheRecordedGzipSpace) {
  RecordedSpace recorded = read_kernel_tuner_cache(recorded_file());
  EXPECT_EQ(recorded.space.size(), 1056u);
  ASSERT_EQ(recorded.space.parameters().size(), 4u);
  EXPECT_EQ(recorded.space.parameters()[1].name, "block_size_x");
  size_t failed = 0;
  for (const Outcome& outcome : recorded.outcomes)
    failed += !outcome;
  EXPECT_EQ(failed, 92u);  // the RuntimeFailedConfig entries
  EXPECT_EQ(recorded.header["kernel_name"], "cn_pnpoly");
}

TEST(KernelTunerCache, OnlyPointsPresentAreTheSpaceAndStringTimesAreFailures) {
  TemporaryDirectory directory;
  files::write_atomic(directory / "small.json", kSmallCache);
  RecordedSpace recorded = read_kernel_tuner_cache(directory / "small.json");
  ASSERT_EQ(recorded.space.size(), 4u);
  EXPECT_FALSE(recorded.space.find({0, 1}));  // 32,b is absent: excluded by a restriction
  PointId failed = *recorded.space.find({1, 1});
  EXPECT_FALSE(recorded.outcomes[failed]);
  EXPECT_EQ(recorded.outcomes[*recorded.space.find({1, 0})], 1.5);
}

TEST(KernelTunerCache, WrittenCacheReadsBackWithTheSamePointsAndTimes) {
  TemporaryDirectory directory;
  RecordedSpace recorded = read_kernel_tuner_cache(recorded_file());
  std::vector<PointId> evaluated = {0, 5, 17, 300, 1000};
  for (PointId id = 0; id < recorded.space.size(); ++id)
    if (!recorded.outcomes[id]) {
      evaluated.push_back(id);  // and a failed one
      break;
    }
  files::write_atomic(directory / "out.json", kernel_tuner_cache_text(recorded, evaluated));
  RecordedSpace back = read_kernel_tuner_cache(directory / "out.json");
  ASSERT_EQ(back.space.size(), evaluated.size());
  for (PointId id : evaluated) {
    std::optional<PointId> found = back.space.find(recorded.space.point(id));
    ASSERT_TRUE(found);
    EXPECT_EQ(back.outcomes[*found], recorded.outcomes[id]);
  }
  // Kernel Tuner's keys: the values joined with commas, in the parameter order.
  nlohmann::json document = nlohmann::json::parse(files::read(directory / "out.json"));
  ASSERT_EQ(document["cache"].size(), evaluated.size());
  for (const auto& [key, entry] : document["cache"].items()) {
    std::string expected;
    for (const char* name : {"between_method", "block_size_x", "tile_size", "use_method"})
      expected += (expected.empty() ? "" : ",") + entry[name].dump();
    EXPECT_EQ(key, expected);
  }
}

TEST(KernelTunerCache, BadFilesAreOneErrorNamingTheFileAndKey) {
  TemporaryDirectory directory;
  auto write = [&](const std::string& name, const std::string& text) {
    files::write_atomic(directory / name, text);
    return directory / name;
  };
  nlohmann::json good = nlohmann::json::parse(kSmallCache);
  auto changed = [&](const std::function<void(nlohmann::json&)>& change) {
    nlohmann::json copy = good;
    change(copy);
    return copy.dump();
  };
  EXPECT_NE(error_of(write("a.json", "{not json")).find("does not parse"), std::string::npos);
  EXPECT_NE(error_of(write("b.json", "[1, 2]")).find("not a JSON object"), std::string::npos);
  EXPECT_NE(
      error_of(write("c.json", changed([](auto& d) { d.erase("cache"); }))).find("no 'cache'"),
      std::string::npos);
  EXPECT_NE(
      error_of(write("d.json", changed([](auto& d) { d["cache"] = nlohmann::json::object(); })))
          .find("empty"),
      std::string::npos);
  EXPECT_NE(error_of(write("e.json", changed([](auto& d) { d["cache"]["32,a"]["block"] = 48; })))
                .find("48 of 'block' is not among its tune_params"),
            std::string::npos);
  EXPECT_NE(error_of(write("f.json", changed([](auto& d) { d["cache"]["32,a"]["time"] = true; })))
                .find("neither a number nor a failure"),
            std::string::npos);
  EXPECT_NE(error_of(write("g.json", changed([](auto& d) { d["cache"]["32,a"].erase("mode"); })))
                .find("no value for 'mode'"),
            std::string::npos);
  // A gzip file cut short.
  std::string gzip = files::read(recorded_file());
  std::string cut = error_of(write("h.json.gz", gzip.substr(0, gzip.size() / 2)));
  EXPECT_NE(cut.find("gzip data is damaged"), std::string::npos) << cut;
  EXPECT_NE(cut.find("h.json.gz"), std::string::npos) << cut;
  EXPECT_NE(error_of(directory / "missing.json"), "no error");
}

}  // namespace
}  // namespace kforge::tuning
