// The exchange formats of tuning results (harness/tuning/tuning_results.hpp): T4 written and
// read back as a recorded space, Kernel Tuner's cache written from results, both told apart by
// content when a file is read for replay, and the shapes of bad T4 input as one Error each.
#include "harness/tuning/tuning_results.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"

namespace kforge::tuning {
namespace {

// Three points of a two-parameter space: one correct, one that did not compile, one wrong.
TuningResults small_results() {
  TuningResults results;
  results.parameters = {{"BLOCK", {64, 128, 256}}, {"MODE", {"a", "b"}}};
  results.device_name = "gpu";
  results.kernel_name = "k";
  results.problem_size = {4096};
  ResultEntry fast;
  fast.configuration = {{"BLOCK", 128}, {"MODE", "a"}};
  fast.time_ms = 0.5;
  fast.runtimes_ms = {0.5, 0.6};
  fast.compilation_ms = 30;
  fast.timestamp = "2026-12-03T10:00:00.000Z";
  ResultEntry broken;
  broken.configuration = {{"BLOCK", 256}, {"MODE", "b"}};
  broken.invalidity = Invalidity::kCompile;
  ResultEntry wrong;
  wrong.configuration = {{"BLOCK", 64}, {"MODE", "a"}};
  wrong.invalidity = Invalidity::kCorrectness;
  results.results = {fast, broken, wrong};
  return results;
}

std::string error_of(const std::string& text) {
  try {
    recorded_space_from_bytes(text, "file.json");
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(TuningResults, T4WrittenReadsBackAsTheSpaceItHolds) {
  const nlohmann::json document = t4_results_json(small_results());
  EXPECT_EQ(document["schema_version"], "1.0.0");
  ASSERT_EQ(document["results"].size(), 3u);
  EXPECT_EQ(document["results"][0]["invalidity"], "correct");
  EXPECT_EQ(document["results"][0]["measurements"][0]["value"], 0.5);
  EXPECT_EQ(document["results"][0]["times"]["runtimes"], nlohmann::json::array({0.5, 0.6}));
  EXPECT_EQ(document["results"][0]["timestamp"], "2026-12-03T10:00:00.000Z");
  EXPECT_EQ(document["results"][1]["invalidity"], "compile");
  EXPECT_EQ(document["results"][1]["measurements"][0]["value"], "CompilationFailedConfig");
  EXPECT_EQ(document["results"][2]["invalidity"], "correctness");
  EXPECT_EQ(document["results"][2]["correctness"], 0);

  const RecordedSpace space = recorded_space_from_bytes(t4_results_text(small_results()), "t4");
  ASSERT_EQ(space.space.size(), 3u);
  EXPECT_EQ(space.objective, "time");
  // T4 lists no parameter values: those that occur, sorted.
  EXPECT_EQ(space.space.parameters()[0].values, (std::vector<nlohmann::json>{64, 128, 256}));
  size_t timed = 0;
  for (PointId id = 0; id < space.space.size(); ++id) {
    if (space.outcomes[id]) {
      ++timed;
      EXPECT_EQ(*space.outcomes[id], 0.5);
      EXPECT_EQ(space.space.describe(id), (nlohmann::json{{"BLOCK", 128}, {"MODE", "a"}}));
    }
  }
  EXPECT_EQ(timed, 1u);
}

TEST(TuningResults, KernelTunerCacheWrittenFromResultsReadsBack) {
  const std::string text = kernel_tuner_cache_text(small_results());
  EXPECT_EQ(text.substr(text.size() - 4), "}\n}\n");  // `cache` last: a closed cache
  const nlohmann::json cache = nlohmann::json::parse(text);
  EXPECT_EQ(cache["cache"]["256,b"]["time"], "CompilationFailedConfig");
  EXPECT_EQ(cache["cache"]["64,a"]["time"], "RuntimeFailedConfig");
  EXPECT_EQ(cache["cache"]["128,a"]["times"], nlohmann::json::array({0.5, 0.6}));
  EXPECT_EQ(cache["cache"]["128,a"]["compile_time"], 30);
  const RecordedSpace space = recorded_space_from_bytes(text, "cache");
  EXPECT_EQ(space.space.size(), 3u);
  EXPECT_EQ(space.space.parameters()[0].values, (std::vector<nlohmann::json>{64, 128, 256}));
}

TEST(TuningResults, AConfigurationEvaluatedTwiceKeepsItsFirstResult) {
  TuningResults results = small_results();
  ResultEntry again = results.results[1];  // 256,b failed; evaluated again with a time
  again.invalidity = Invalidity::kCorrect;
  again.time_ms = 0.1;
  results.results.push_back(again);
  const RecordedSpace space = recorded_space_from_bytes(t4_results_text(results), "t4");
  EXPECT_EQ(space.space.size(), 3u);
  for (PointId id = 0; id < space.space.size(); ++id) {
    if (space.outcomes[id]) {
      EXPECT_EQ(*space.outcomes[id], 0.5);
    }
  }
}

TEST(TuningResults, BadT4IsOneErrorNamingTheResult) {
  EXPECT_NE(error_of(R"({"results": []})").find("the tuning space is empty"), std::string::npos);
  EXPECT_NE(error_of(R"({"results": [5]})").find("results[0]"), std::string::npos);
  EXPECT_NE(error_of(R"({"results": [{"invalidity": "correct"}]})").find("'configuration'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"results": [{"configuration": {"a": 1}, "invalidity": "fine"}]})")
                .find("unknown invalidity \"fine\""),
            std::string::npos);
  EXPECT_NE(error_of(R"({"results": [{"configuration": {"a": 1}, "invalidity": "correct"},
                                     {"configuration": {"b": 1}, "invalidity": "correct"}]})")
                .find("results[1]"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"results": [{"configuration": {"a": [1]}, "invalidity": "correct"}]})")
                .find("not a number, string or boolean"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"results": [{"configuration": {}, "invalidity": "correct"}]})")
                .find("no parameters"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"results": [{"configuration": {"a": 1}, "invalidity": "correct",
                                      "measurements": 3}]})")
                .find("'measurements'"),
            std::string::npos);
  // Neither format: the cache reader names what it misses.
  EXPECT_NE(error_of(R"({"results": 3})").find("not a Kernel Tuner cache"), std::string::npos);
  EXPECT_NE(error_of("[1, 2").find("does not parse"), std::string::npos);
  // A cache naming a parameter twice (its points could not be written back apart).
  EXPECT_NE(error_of(R"({"tune_params_keys": ["a", "a"], "tune_params": {"a": [1, 2]},
                         "cache": {"1,1": {"a": 1, "time": 1.0}}})")
                .find("a parameter is named twice: 'a'"),
            std::string::npos);
  // A number too large for a double is bad JSON, not an escaping exception.
  EXPECT_NE(error_of("[2e3832]").find("does not parse"), std::string::npos);
}

TEST(TuningResults, ACorrectResultWithoutANumericTimeIsAFailedPoint) {
  const RecordedSpace space = recorded_space_from_bytes(
      R"({"results": [{"configuration": {"a": 1}, "invalidity": "correct",
                       "measurements": [{"name": "time", "value": ""}]},
                      {"configuration": {"a": 2}, "invalidity": "correct",
                       "measurements": [{"name": "time", "value": 2.5}]}]})",
      "t4");
  ASSERT_EQ(space.space.size(), 2u);
  EXPECT_FALSE(space.outcomes[0]);
  EXPECT_EQ(space.outcomes[1], 2.5);
}

}  // namespace
}  // namespace kforge::tuning
