// The evaluation record's one JSON form: a record with every part round-trips, and a malformed
// record, or one of another version, is refused with one line naming the field. Records made by
// the real evaluator (every verdict, through the emulated GPU worker) round-trip in
// run_stage_test.cpp, where that evaluator is set up.
#include "harness/evaluation/evaluation_record.hpp"

#include <gtest/gtest.h>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

using nlohmann::json;

// A record with every part filled, as a correct candidate's would be.
EvaluationRecord full_record() {
  EvaluationRecord record;
  record.verdict = Verdict::kCorrect;
  record.detail = "verified on 2 seeds x 3 shapes and on the timed outputs; median 1.5 us";
  record.evidence.bindings =
      json{{"benchmark", {{"launches", json::array()}, {"scratch_bytes", 0}}}};
  VerificationRecord& verification = record.evidence.verification.emplace();
  verification.seeds = {0, 1};
  verification.shapes = {"benchmark", "small"};
  verification.atol = 1e-4;
  verification.rtol = 1e-4;
  verification.checks.push_back({.seed = 0,
                                 .shape = "benchmark",
                                 .passed = true,
                                 .max_abs_error = 0.0,
                                 .max_rel_error = 0.0,
                                 .mismatch_count = 0,
                                 .evidence = {{"first_mismatches", json::array()}}});
  verification.checks.push_back({.seed = 2024,
                                 .shape = "benchmark",
                                 .passed = false,
                                 .reason = "behaves_differently_when_timed",
                                 .timed = true,
                                 .iteration = 3,
                                 .max_abs_error = 2.5,
                                 .max_rel_error = 1.0,
                                 .mismatch_count = 7,
                                 .evidence = {{"output", "out"}, {"result", "mismatch"}}});
  verification.max_abs_error = 0.0;
  verification.max_rel_error = 0.0;
  verification.mismatch_count = 0;
  record.evidence.floor = FloorRecord{.bytes = 51200,
                                      .bandwidth_bytes_per_s = 3.21e12,
                                      .peak_basis = "no FLOPs counted",
                                      .memory_us = 0.016,
                                      .floor_us = 0.016,
                                      .fraction_of_floor = 0.31,
                                      .memory_margin = 0.1,
                                      .compute_margin = 0.25,
                                      .bytes_counted = "every tensor once",
                                      .flops_counted = "0 FLOPs: bytes-only floor"};
  record.evidence.baselines = BaselinesRecord{.eager_us = 3.0,
                                              .torch_version = "2.4.0",
                                              .gpu = "GPU A",
                                              .shape = "benchmark",
                                              .dtype = "float32",
                                              .cached = true,
                                              .eager_statistics = json{{"median_us", 3.0}},
                                              .compile_error = json("no triton")};
  record.stages = {{"parse", StageStatus::kOk, 0.5, ""},
                   {"verify", StageStatus::kOk, 12.25, "4 checks passed"},
                   {"baseline", StageStatus::kSkipped, 0, "timing.baselines is false"}};
  CompileResult compile;
  compile.status = CompileStatus::kOk;
  compile.nvrtc_version = "13.0";
  compile.arch = "sm_90";
  compile.kernels.push_back({.name = "relu",
                             .registers = 16,
                             .barriers = 0,
                             .shared_bytes = 0,
                             .constant_bytes = 380,
                             .stack_frame_bytes = 0,
                             .spill_store_bytes = 4,
                             .spill_load_bytes = 8,
                             .local_bytes = 12});
  record.compile = compile;
  record.defines = {{"BLOCK", 256}};
  record.arch = "sm_90";
  record.gpu = "GPU A";
  record.timing = TimingRecord{.statistics = {.count = 3, .median_us = 1.5, .cv = 0.01},
                               .span_us = 1.75,
                               .samples = {1.5, 1.25, 1.75},
                               .span_samples = {1.75, 1.5, 2.0},
                               .kernels_per_iteration = 1,
                               .fresh_iteration = 1,
                               .input_sets = 2,
                               .method = "CUPTI activity"};
  record.device_time_us = 1.5;
  record.speedup_eager = 2.0;
  record.environment = {.gpu = "GPU A", .driver = "580.65", .cuda = "13.0", .torch = "2.4.0"};
  record.candidate_id = 4;
  record.evaluation_id = 5;
  return record;
}

// The Error's message from_json gives for `document`, or "" where it reads.
std::string refusal(const json& document) {
  try {
    EvaluationRecord::from_json(document, "record.json");
  } catch (const Error& error) {
    EXPECT_EQ(error.where(), "record.json");
    EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
    return error.message();
  }
  return "";
}

TEST(EvaluationRecord, EveryPartRoundTripsThroughItsJsonText) {
  json written = full_record().to_json();
  EXPECT_EQ(written["version"], kEvaluationRecordVersion);
  EvaluationRecord read = EvaluationRecord::from_json(json::parse(written.dump()));
  EXPECT_EQ(read.to_json(), written);
  // The typed parts, not only the text, came back.
  EXPECT_EQ(read.verdict, Verdict::kCorrect);
  ASSERT_TRUE(read.evidence.verification);
  ASSERT_EQ(read.evidence.verification->checks.size(), 2u);
  const CheckRecord& timed = read.evidence.verification->checks[1];
  EXPECT_TRUE(timed.timed);
  EXPECT_EQ(timed.iteration, 3);
  EXPECT_EQ(timed.reason, "behaves_differently_when_timed");
  EXPECT_EQ(timed.evidence["output"], "out");
  EXPECT_FALSE(read.evidence.verification->checks[0].reason);
  EXPECT_EQ(read.stages[2].status, StageStatus::kSkipped);
  ASSERT_TRUE(read.compile);
  EXPECT_EQ(read.compile->kernels[0].registers, 16);
  EXPECT_EQ(read.compile->kernels[0].spill_load_bytes, 8);
  EXPECT_EQ(read.compile->kernels[0].local_bytes, 12);
  EXPECT_EQ(read.timing->samples, (std::vector<double>{1.5, 1.25, 1.75}));
  EXPECT_EQ(read.evidence.baselines->eager_us, 3.0);
  EXPECT_FALSE(read.evidence.baselines->compile_us);
  EXPECT_EQ(read.speedup_eager, 2.0);
  EXPECT_FALSE(read.speedup_compile);
  EXPECT_EQ(read.environment.driver, "580.65");
}

TEST(EvaluationRecord, ARecordWithoutAGpuHasNoRunParts) {
  EvaluationRecord record;
  record.verdict = Verdict::kCompiled;
  record.reason = "no_gpu";
  record.stages = {{"run", StageStatus::kSkipped, 0, "no GPU visible"}};
  json written = record.to_json();
  for (const char* key : {"gpu", "environment", "timing", "device_time_us", "speedup_eager"})
    EXPECT_FALSE(written.contains(key)) << key;
  EXPECT_EQ(written["evidence"], json::object());
  EXPECT_EQ(EvaluationRecord::from_json(written).to_json(), written);
}

TEST(EvaluationRecord, ARefusedBaselineIsOnlyItsError) {
  BaselinesRecord refused{.error = "torch sees no CUDA device",
                          .kind = ReferenceFailureKind::kNoCuda};
  EXPECT_EQ(refused.to_json(), (json{{"error", "torch sees no CUDA device"}, {"kind", "no_cuda"}}));
  EXPECT_EQ(BaselinesRecord::from_json(refused.to_json(), "").to_json(), refused.to_json());
  try {
    BaselinesRecord::from_json({{"error", "it broke"}, {"kind", "exploded"}}, "evaluation 7");
    FAIL() << "a baseline failure of an unknown kind was read";
  } catch (const Error& error) {
    const std::string text = error.what();
    EXPECT_NE(text.find("'exploded'"), std::string::npos) << text;
    EXPECT_NE(text.find("evidence.baselines.kind"), std::string::npos) << text;
    EXPECT_NE(text.find("evaluation 7"), std::string::npos) << text;
  }
}

TEST(EvaluationRecord, AnotherVersionIsRefused) {
  json document = full_record().to_json();
  document["version"] = kEvaluationRecordVersion + 1;
  EXPECT_EQ(refusal(document),
            "evaluation record: field 'version' is 2; this kforge reads version 1");
  document.erase("version");
  EXPECT_EQ(refusal(document), "evaluation record: field 'version' is missing");
  document["version"] = "1";
  EXPECT_EQ(refusal(document), "evaluation record: field 'version' must be an integer");
}

TEST(EvaluationRecord, MalformedFieldsAreNamedByTheirPath) {
  const json good = full_record().to_json();
  ASSERT_EQ(refusal(good), "");
  auto with = [&](const json::json_pointer& pointer, const json& value) {
    json document = good;
    document[pointer] = value;
    return refusal(document);
  };
  EXPECT_EQ(with(json::json_pointer("/verdict"), "great"),
            "evaluation record: field 'verdict' is 'great', not a verdict");
  EXPECT_EQ(with(json::json_pointer("/evidence/checks/1/seed"), "zero"),
            "evaluation record: field 'evidence.checks[1].seed' must be an integer");
  EXPECT_EQ(with(json::json_pointer("/stages/0/status"), "done"),
            "evaluation record: field 'stages[0].status' is 'done', not ok, failed or skipped");
  EXPECT_EQ(with(json::json_pointer("/timing/samples/2"), "fast"),
            "evaluation record: field 'timing.samples[2]' must be a number");
  EXPECT_EQ(with(json::json_pointer("/compile/kernels/0/registers"), 1.5),
            "evaluation record: field 'compile.kernels[0].registers' must be an integer");
  EXPECT_EQ(with(json::json_pointer("/compile/status"), "fine"),
            "evaluation record: field 'compile.status' is 'fine', not a compile status");
  EXPECT_EQ(with(json::json_pointer("/evidence/floor/bytes"), nullptr),
            "evaluation record: field 'evidence.floor.bytes' must be a number");
  EXPECT_EQ(with(json::json_pointer("/evidence/baselines/cached"), "yes"),
            "evaluation record: field 'evidence.baselines.cached' must be true or false");
  EXPECT_EQ(with(json::json_pointer("/environment/clock_khz"), "fast"),
            "evaluation record: field 'environment.clock_khz' must be an integer");
  EXPECT_EQ(with(json::json_pointer("/defines/BLOCK"), "256"),
            "evaluation record: field 'defines.BLOCK' must be an integer");
  EXPECT_EQ(with(json::json_pointer("/evidence"), json::array()),
            "evaluation record: field 'evidence' must be a JSON object");
  EXPECT_EQ(refusal(json::array()),
            "evaluation record: the evaluation record must be a JSON object");
}

TEST(EvaluationRecord, AMissingFieldIsNamed) {
  json document = full_record().to_json();
  document["evidence"]["checks"][0].erase("passed");
  EXPECT_EQ(refusal(document), "evaluation record: field 'evidence.checks[0].passed' is missing");
  document = full_record().to_json();
  document["timing"].erase("median_us");
  EXPECT_EQ(refusal(document), "evaluation record: field 'timing.median_us' is missing");
  document = full_record().to_json();
  document["compile"]["kernels"][0].erase("spill_store_bytes");
  EXPECT_EQ(refusal(document),
            "evaluation record: field 'compile.kernels[0].spill_store_bytes' is missing");
}

// A key the record does not have is refused, not dropped: a reader of version 1 cannot know
// what it meant. A check's own evidence is the exception: it is open.
TEST(EvaluationRecord, AnUnknownFieldIsRefusedOutsideACheck) {
  json document = full_record().to_json();
  document["verdict_v2"] = "correct";
  EXPECT_EQ(refusal(document),
            "evaluation record: field 'verdict_v2' is not part of an evaluation record version 1");
  document = full_record().to_json();
  document["evidence"]["registers"] = 32;
  EXPECT_EQ(refusal(document),
            "evaluation record: field 'evidence.registers' is not part of an evaluation record "
            "version 1");
  document = full_record().to_json();
  document["evidence"]["checks"][0]["note"] = "kept";
  EvaluationRecord read = EvaluationRecord::from_json(document);
  EXPECT_EQ(read.evidence.verification->checks[0].evidence["note"], "kept");
}

TEST(StageStatus, NamesRoundTrip) {
  for (StageStatus status : {StageStatus::kOk, StageStatus::kFailed, StageStatus::kSkipped})
    EXPECT_EQ(stage_status_from_name(stage_status_name(status)), status);
  EXPECT_FALSE(stage_status_from_name("done"));
}

}  // namespace
}  // namespace kforge
