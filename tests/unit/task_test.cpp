// Task headers, records and the runner's analysis replies.
#include "harness/task.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

nlohmann::json small_reply() {
  nlohmann::json signature = {
      {"inputs", {{{"name", "x"}, {"kind", "tensor"}, {"dtype", "float32"}, {"shape", {64, 64}}}}},
      {"parameters", nlohmann::json::array()},
      {"outputs", {{{"name", "out"}, {"dtype", "float32"}, {"shape", {64, 64}}}}},
      {"output_structure", "tensor"}};
  nlohmann::json check = signature;
  check["inputs"][0]["shape"] = {7, 64};
  check["outputs"][0]["shape"] = {7, 64};
  return {
      {"ok", true},
      {"benchmark",
       {{"constants", {{"rows", 64}, {"cols", 64}}}, {"signature", signature}, {"method", "meta"}}},
      {"check_shapes",
       {{{"name", "odd"},
         {"constants", {{"rows", 7}, {"cols", 64}}},
         {"scaled", {{"rows", {64, 7}}}},
         {"signature", check}}}},
      {"check_note", ""},
      {"degenerate", true},
      {"degenerate_reason", "the output is (near) zero"},
      {"torch_version", "1.13"}};
}

TEST(TaskHeader, ReadsDescriptionAndTags) {
  TaskHeader header = parse_task_header(
      "# description: softmax over rows\n# tags: softmax,  reduction ,\nimport torch\n");
  EXPECT_EQ(header.description, "softmax over rows");
  EXPECT_EQ(header.tags, (std::vector<std::string>{"softmax", "reduction"}));
}

TEST(TaskHeader, FallsBackToModelDocstring) {
  TaskHeader header = parse_task_header(
      "import torch\nclass Model(nn.Module):\n    \"\"\"\n    Simple ReLU model.\n    More.\n"
      "    \"\"\"\n");
  EXPECT_EQ(header.description, "Simple ReLU model.");
  EXPECT_TRUE(header.tags.empty());
}

TEST(TaskAnalysis, ParsesReplyAndRoundTripsThroughRecord) {
  TaskAnalysis analysis = TaskAnalysis::from_reply(small_reply(), "t");
  ASSERT_EQ(analysis.check_shapes.size(), 1u);
  EXPECT_EQ(analysis.check_shapes[0].scaled.at("rows"), (std::pair<int64_t, int64_t>{64, 7}));
  EXPECT_EQ(analysis.benchmark.inputs[0].shape, (std::vector<int64_t>{64, 64}));
  Task task;
  task.name = "s/t";
  task.suite = "s";
  task.analysis = analysis;
  TaskRow record = task.to_record();
  EXPECT_TRUE(record.degenerate);
  EXPECT_EQ(record.degenerate_reason.value_or(""), "the output is (near) zero");
  Task back = Task::from_record(record);
  ASSERT_TRUE(back.analysis);
  EXPECT_EQ(back.analysis->constants.at("rows"), 64);
  EXPECT_EQ(back.analysis->check_shapes[0].signature.outputs[0].shape,
            (std::vector<int64_t>{7, 64}));
  EXPECT_EQ(back.analysis->benchmark_method, "meta");
  EXPECT_TRUE(back.degenerate());
}

TEST(TaskAnalysis, MalformedReplyNamesTheField) {
  nlohmann::json reply = small_reply();
  reply["check_shapes"][0]["scaled"]["rows"] = 7;
  try {
    TaskAnalysis::from_reply(reply, "kb/x");
    FAIL() << "accepted a malformed scaled entry";
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("scaled constant 'rows'"), std::string::npos)
        << failure.what();
    EXPECT_NE(std::string(failure.what()).find("kb/x"), std::string::npos);
  }
  reply = small_reply();
  reply.erase("benchmark");
  EXPECT_THROW(TaskAnalysis::from_reply(reply, "kb/x"), Error);
}

TEST(TaskNames, SuiteNamesAreChecked) {
  EXPECT_TRUE(valid_suite_name("kb-level1.v2_x"));
  EXPECT_FALSE(valid_suite_name(""));
  EXPECT_FALSE(valid_suite_name("a/b"));
  EXPECT_FALSE(valid_suite_name(".."));
  EXPECT_EQ(task_name("kb", "19_ReLU"), "kb/19_ReLU");
}

}  // namespace
}  // namespace kforge
