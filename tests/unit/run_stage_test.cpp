// The evaluator's run stage (verify, time, baseline) with real parts everywhere but the GPU:
// a real store, real NVRTC compiles through the compile pool, real references from torch on the
// CPU, and the real GpuWorkerClient talking the real protocol to
// tests/support/emulated_gpu_worker.py, which executes each candidate by its kernel's name from
// a table of behaviours (honest, unwritten, racy, caches while timed, faults, hangs, ...). Every
// verdict and its evidence come from the parent's real code path.
#include "harness/evaluation/run_stage.hpp"

#include <gtest/gtest.h>

#include "datasets/measurement_records.hpp"
#include "datasets/profile_records.hpp"
#include "datasets/records.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/ncu_profile.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/reference_runner.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/verification/compare.hpp"
#include "harness/workspace.hpp"
#include "profiler/metric_set.hpp"
#include "sandbox/compile_pool.hpp"
#include "sandbox/gpu_worker_client.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

using testing::emulated_candidate;
using testing::kTinyReluTask;

class RunStageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TemporaryDirectory();
    workspace_ = new Workspace(WorkspaceOptions{.root = directory_->path()});
    workspace_->config().set("python", "/usr/bin/python3");
    fs::path suite = directory_->path() / "suite";
    fs::create_directories(suite);
    testing::write_text(suite / "tiny_relu.py", kTinyReluTask);
    reference_ = new ReferenceRunner(ReferenceRunner::for_workspace(*workspace_));
    auto lines = import_tasks(workspace_->store(), *reference_, suite, "tiny");
    ASSERT_EQ(lines.size(), 1u);
    ASSERT_EQ(lines[0].status, ImportStatus::kImported) << lines[0].detail;
    task_ = new Task(load_task(*workspace_, "tiny/tiny_relu"));
    ASSERT_GE(task_->analysis->check_shapes.size(), 1u);

    CompilePoolOptions pool_options;
    pool_options.workers = 1;
    pool_options.cache_dir = workspace_->cache_dir("compile");
    pool_options.worker_program = testing::kforge_binary();
    pool_ = new CompilePool(pool_options);

    GpuWorkerOptions gpu_options;
    gpu_options.job_dir = workspace_->cache_dir("gpu");
    gpu_options.worker_program = "/usr/bin/python3";
    gpu_options.worker_arguments = {
        (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string()};
    gpu_options.run_limit = std::chrono::seconds(20);
    gpu_options.time_limit = std::chrono::seconds(60);
    gpu_ = new GpuWorkerClient(gpu_options);
  }
  static void TearDownTestSuite() {
    delete gpu_;
    delete pool_;
    delete task_;
    delete reference_;
    delete workspace_;
    delete directory_;
  }

  static EvaluatorOptions options() {
    EvaluatorOptions options;
    options.gpu = gpu_;
    options.reference = reference_;
    options.run.seeds = 2;
    options.run.input_sets = 2;
    options.run.timing.warmup = 1;
    options.run.timing.min_samples = 6;
    options.run.timing.max_samples = 6;
    return options;
  }

  static EvaluationOutcome evaluate(const std::string& kernel,
                                    EvaluatorOptions evaluator_options = options()) {
    Evaluator evaluator(workspace_->store(), *pool_, evaluator_options);
    return evaluator.evaluate(*task_,
                              {.source = emulated_candidate(kernel), .file_name = kernel + ".cu"});
  }

  // The record's evidence and timing in their JSON form, as the store and reports hold them.
  static nlohmann::json evidence_of(const EvaluationOutcome& outcome) {
    return outcome.evidence.to_json();
  }
  static nlohmann::json timing_of(const EvaluationOutcome& outcome) {
    return outcome.timing ? outcome.timing->to_json() : nlohmann::json();
  }

  static nlohmann::json failing_check(const EvaluationOutcome& outcome) {
    const nlohmann::json evidence = evidence_of(outcome);
    for (const auto& check : evidence["checks"]) {
      if (!check["passed"].get<bool>())
        return check;
    }
    return nullptr;
  }

  static std::vector<std::string> stage_statuses(const EvaluationOutcome& outcome) {
    std::vector<std::string> statuses;
    for (const StageRecord& stage : outcome.stages)
      statuses.push_back(stage.name + ":" + std::string(stage_status_name(stage.status)));
    return statuses;
  }

  static testing::TemporaryDirectory* directory_;
  static Workspace* workspace_;
  static ReferenceRunner* reference_;
  static Task* task_;
  static CompilePool* pool_;
  static GpuWorkerClient* gpu_;
};

testing::TemporaryDirectory* RunStageTest::directory_ = nullptr;
Workspace* RunStageTest::workspace_ = nullptr;
ReferenceRunner* RunStageTest::reference_ = nullptr;
Task* RunStageTest::task_ = nullptr;
CompilePool* RunStageTest::pool_ = nullptr;
GpuWorkerClient* RunStageTest::gpu_ = nullptr;

TEST_F(RunStageTest, UnwrittenOutputIsIncorrectAtTheFirstCheck) {
  EvaluationOutcome outcome = evaluate("unwritten");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "unwritten_output");
  ASSERT_EQ(evidence_of(outcome)["checks"].size(), 1u);  // stopped at the first failing check
  nlohmann::json check = evidence_of(outcome)["checks"][0];
  EXPECT_EQ(check["seed"], 0);
  EXPECT_EQ(check["shape"], "benchmark");
  EXPECT_EQ(check["mismatch_count"], 64 * 100);
  EXPECT_FALSE(check["first_mismatches"].empty());
  EXPECT_EQ(stage_statuses(outcome),
            (std::vector<std::string>{"parse:ok", "compile:ok", "bind:ok", "verify:failed",
                                      "time:skipped", "baseline:skipped", "profile:skipped"}));
  EXPECT_FALSE(outcome.timing);
  auto rows = evaluations_of(workspace_->store(), outcome.candidate_id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "incorrect");
  EXPECT_EQ(rows[0].gpu, "kforge emulated GPU (tests only)");
  EXPECT_EQ(rows[0].evidence["checks"][0]["reason"], "unwritten_output");
}

TEST_F(RunStageTest, HalfWrittenOutputCountsTheUnwrittenHalf) {
  EvaluationOutcome outcome = evaluate("half_written");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "unwritten_output");
  EXPECT_EQ(failing_check(outcome)["mismatch_count"], 64 * 100 / 2);
  EXPECT_EQ(failing_check(outcome)["first_mismatches"][0]["index"], (std::vector<int64_t>{32, 0}));
}

TEST_F(RunStageTest, WrongValuesAreAMismatchWithFirstIndices) {
  EvaluationOutcome outcome = evaluate("copy");  // copies x where ReLU was asked
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "mismatch");
  nlohmann::json check = failing_check(outcome);
  EXPECT_GT(check["mismatch_count"].get<int64_t>(), 1000);
  EXPECT_GT(evidence_of(outcome)["max_abs_error"].get<double>(), 0.5);
  EXPECT_LT(check["first_mismatches"][0]["actual"].get<double>(), 0);
  EXPECT_EQ(check["first_mismatches"][0]["expected"].get<double>(), 0);
}

TEST_F(RunStageTest, ModifiedInputIsIncorrectEvenWithRightOutputs) {
  EvaluationOutcome outcome = evaluate("modify_input");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "inputs_modified");
  EXPECT_EQ(failing_check(outcome)["modified_input"], "x");
  EXPECT_EQ(failing_check(outcome)["modified_elements"], 1);
}

TEST_F(RunStageTest, RepeatsThatDisagreeAreNonDeterministic) {
  EvaluationOutcome outcome = evaluate("racy");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "non_deterministic");
  nlohmann::json check = failing_check(outcome);
  EXPECT_TRUE(check["repeats"]["first_passed"].get<bool>());
  EXPECT_FALSE(check["repeats"]["second_passed"].get<bool>());
}

// The worker uploads inputs once: a change in the first repeat makes the second compute from
// the changed input. That is the modification, not a race.
TEST_F(RunStageTest, InputModifiedInTheFirstRepeatOnlyIsInputsModified) {
  EvaluationOutcome outcome = evaluate("modify_input_first_repeat");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "inputs_modified") << outcome.detail;
  EXPECT_EQ(failing_check(outcome)["modified_input"], "x");
}

// An output left holding the poison in one repeat only is a kernel reading its own output
// (fmaxf over an unwritten output passes under the NaN poison, not under the finite one).
TEST_F(RunStageTest, OutputUnwrittenInOneRepeatIsUnwrittenOutput) {
  EvaluationOutcome outcome = evaluate("unwritten_second_repeat");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "unwritten_output") << outcome.detail;
  nlohmann::json check = failing_check(outcome);
  EXPECT_TRUE(check["repeats"]["first_passed"].get<bool>());
  EXPECT_FALSE(check["repeats"]["second_passed"].get<bool>());
  EXPECT_NE(outcome.detail.find("in the second repeat only"), std::string::npos);
}

// float32 checks carry the grounding of their tolerance: PyTorch's own float32 error against
// the float64 reference (0 for a ReLU, which is exact) and the allowance from it.
TEST_F(RunStageTest, Float32ChecksRecordTheirGrounding) {
  EvaluationOutcome outcome = evaluate("relu");
  ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
  const nlohmann::json grounding = evidence_of(outcome)["checks"][0]["float32_grounding"];
  EXPECT_EQ(grounding["multiple"], kFloat32ErrorMultiple);
  EXPECT_EQ(grounding["out"]["torch_float32_error"], 0.0);
  EXPECT_EQ(grounding["out"]["allowance"], 0.0);
}

// Scalar inputs differ per verification seed (seed 0 keeps the task's own), so a kernel with
// the task's alpha compiled in fails, while an honest one, bound again to each seed's alpha,
// passes everywhere, timing included (timed sets keep the task's own scalars).
TEST_F(RunStageTest, HardCodedScalarFailsWhereTheSeedsScalarDiffers) {
  fs::path suite = directory_->path() / "scalar_suite";
  fs::create_directories(suite);
  testing::write_text(suite / "tiny_scaled_add.py", R"py(import torch
import torch.nn as nn

rows = 16
cols = 40


class Model(nn.Module):
    def forward(self, a, b, alpha):
        return a + alpha * b


def get_inputs():
    return [torch.randn(rows, cols), torch.randn(rows, cols), 0.75]


def get_init_inputs():
    return []
)py");
  auto lines = import_tasks(workspace_->store(), *reference_, suite, "scalar");
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].status, ImportStatus::kImported) << lines[0].detail;
  Task task = load_task(*workspace_, "scalar/tiny_scaled_add");
  auto candidate = [](const std::string& name) {
    return "/* kforge:launch\n{\"kernels\": [{\"name\": \"" + name +
           "\", \"grid\": [\"ceil_div(a.numel, 128)\"], \"block\": [\"128\"], "
           "\"shared_bytes\": \"0\", \"args\": [\"a\", \"b\", \"alpha\", \"out\", "
           "\"a.numel\"]}]}\n*/\n"
           "extern \"C\" __global__ void " +
           name +
           "(const float* a, const float* b, float alpha, float* out, long long n) {\n"
           "  long long i = (long long)blockIdx.x * 128 + threadIdx.x;\n"
           "  if (i < n) out[i] = a[i] + alpha * b[i];\n}\n";
  };
  Evaluator evaluator(workspace_->store(), *pool_, options());
  EvaluationOutcome honest =
      evaluator.evaluate(task, {.source = candidate("scaled_add"), .file_name = "scaled_add.cu"});
  ASSERT_EQ(honest.verdict, Verdict::kCorrect) << honest.detail;
  double factor = 0;
  const nlohmann::json evidence = evidence_of(honest);
  for (const auto& check : evidence["checks"]) {
    if (check["seed"] == 1)
      factor = check["scalar_factor"].get<double>();
    else
      EXPECT_FALSE(check.contains("scalar_factor")) << check.dump();
  }
  EXPECT_TRUE((factor >= 0.5 && factor <= 0.9) || (factor >= 1.1 && factor <= 1.5)) << factor;

  EvaluationOutcome hardcoded = evaluator.evaluate(
      task, {.source = candidate("hardcoded_alpha"), .file_name = "hardcoded_alpha.cu"});
  EXPECT_EQ(hardcoded.verdict, Verdict::kIncorrect);
  EXPECT_EQ(hardcoded.reason, "mismatch") << hardcoded.detail;
  nlohmann::json check = failing_check(hardcoded);
  EXPECT_EQ(check["seed"], 1);
  EXPECT_EQ(check["shape"], "benchmark");
}

TEST_F(RunStageTest, RightOnlyAtTheBenchmarkShapeIsWrongOnCheckShape) {
  EvaluationOutcome outcome = evaluate("large_only");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "wrong_on_check_shape");
  ASSERT_EQ(evidence_of(outcome)["checks"].size(), 2u);
  EXPECT_TRUE(evidence_of(outcome)["checks"][0]["passed"].get<bool>());
  EXPECT_EQ(evidence_of(outcome)["checks"][1]["seed"], 0);
  EXPECT_NE(evidence_of(outcome)["checks"][1]["shape"], "benchmark");
  EXPECT_EQ(evidence_of(outcome)["checks"][1]["result"], "unwritten_output");
}

TEST_F(RunStageTest, HonestKernelIsCorrectWithTimingFloorAndNoClaimedSpeedup) {
  EvaluationOutcome outcome = evaluate("relu");
  ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
  EXPECT_EQ(stage_statuses(outcome),
            (std::vector<std::string>{"parse:ok", "compile:ok", "bind:ok", "verify:ok", "time:ok",
                                      "baseline:skipped", "profile:ok"}));
  // 2 seeds x every shape, plus the timed iteration on fresh inputs.
  size_t shapes = 1 + task_->analysis->check_shapes.size();
  ASSERT_EQ(evidence_of(outcome)["checks"].size(), 2 * shapes + 1);
  EXPECT_EQ(evidence_of(outcome)["seeds"], (std::vector<int>{0, 1}));
  EXPECT_EQ(evidence_of(outcome)["checks"].back()["timed"], true);
  EXPECT_EQ(evidence_of(outcome)["checks"].back()["seed"], kFreshSeed);
  EXPECT_EQ(evidence_of(outcome)["atol"], 1e-4);

  ASSERT_TRUE(outcome.timing);
  EXPECT_EQ(timing_of(outcome)["samples"].size(), 6u);
  EXPECT_EQ(timing_of(outcome)["kernels_per_iteration"], 1);
  ASSERT_TRUE(outcome.device_time_us);
  EXPECT_DOUBLE_EQ(*outcome.device_time_us, timing_of(outcome)["median_us"].get<double>());
  // The emulated kernel moves its bytes at a third of the copy bandwidth the worker reports;
  // the floor takes the highest bandwidth, the read-only kernel's (7% above the copy).
  const nlohmann::json floor = evidence_of(outcome)["floor"];
  EXPECT_EQ(floor["bytes"], 2 * 64 * 100 * 4);
  EXPECT_EQ(floor["flops"], 0);  // torch 1.13 counts no FLOPs: a bytes-only floor
  EXPECT_NE(floor["flops_counted"].get<std::string>().find("bytes-only"), std::string::npos);
  EXPECT_DOUBLE_EQ(floor["bandwidth_bytes_per_s"].get<double>(), 3.0e12 * 1.07);
  EXPECT_NEAR(floor["fraction_of_floor"].get<double>(), 1.0 / (3.0 * 1.07), 0.01);
  EXPECT_TRUE(floor["peak_flops_per_s"].is_null());

  // torch here sees no CUDA: no baseline, so no speedup is claimed.
  EXPECT_NE(evidence_of(outcome)["baselines"]["error"].get<std::string>().find("no CUDA"),
            std::string::npos)
      << evidence_of(outcome)["baselines"].dump();
  EXPECT_FALSE(outcome.speedup_eager);

  auto rows = evaluations_of(workspace_->store(), outcome.candidate_id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].verdict, "correct");
  ASSERT_TRUE(rows[0].timing);
  for (const char* field :
       {"median_us", "min_us", "mean_us", "p10_us", "p90_us", "cv", "span_us", "samples"})
    EXPECT_TRUE(rows[0].timing->contains(field)) << field;
  EXPECT_EQ(rows[0].device_time_us, outcome.device_time_us);
  EXPECT_EQ(rows[0].environment["driver"], "emulated");
  EXPECT_EQ(rows[0].environment["torch"], reference_->python().torch_version);
  // The device's figures are cached for the next candidate.
  auto measured =
      find_device_measurements(workspace_->store(), "kforge emulated GPU (tests only)", "emulated");
  EXPECT_EQ(measured.size(), 9u);
  EXPECT_DOUBLE_EQ(measured["copy_bandwidth_bytes_per_s"].value, 3.0e12);
  EXPECT_DOUBLE_EQ(measured["read_bandwidth_bytes_per_s"].value, 3.0e12 * 1.07);
  EXPECT_DOUBLE_EQ(measured["tensor_full_rate"].value, 1.0);
}

TEST_F(RunStageTest, DeviceRowsFromBeforeTheKernelBandwidthsAreMeasuredAgain) {
  const std::string gpu = "kforge emulated GPU (tests only)";
  workspace_->store().db().execute("DELETE FROM device_measurements");
  // The three rows an older kforge stored, with a copy bandwidth so low that the honest ReLU
  // would be "faster than physics" if they were used.
  for (const char* name :
       {"copy_bandwidth_bytes_per_s", "peak_fp32_flops_per_s", "peak_fp16_tensor_flops_per_s"})
    store_device_measurement(workspace_->store(), gpu, "emulated", name, {1.0e6, {}, ""});
  EvaluationOutcome outcome = evaluate("relu");
  EXPECT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
  auto measured = find_device_measurements(workspace_->store(), gpu, "emulated");
  EXPECT_EQ(measured.size(), 9u);
  EXPECT_DOUBLE_EQ(measured["copy_bandwidth_bytes_per_s"].value, 3.0e12);
  EXPECT_DOUBLE_EQ(measured["kernel_copy_bandwidth_bytes_per_s"].value, 3.0e12 * 0.98);
}

TEST_F(RunStageTest, AWriteJustPastAnOutputIsOutOfBoundsWrite) {
  EvaluationOutcome outcome = evaluate("relu_writes_past_end");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "out_of_bounds_write");
  nlohmann::json check = failing_check(outcome);
  ASSERT_TRUE(check.contains("guard_violations")) << check.dump();
  EXPECT_EQ(check["guard_violations"][0]["tensor"], "out");
  EXPECT_EQ(check["guard_violations"][0]["side"], "after");
  EXPECT_EQ(check["guard_violations"][0]["offset"], 0);
  EXPECT_EQ(check["guard_violations"][0]["kernel"], "relu_writes_past_end");
  EXPECT_NE(outcome.detail.find("past its end"), std::string::npos) << outcome.detail;
  EXPECT_EQ(stage_statuses(outcome)[3], "verify:failed");
}

TEST_F(RunStageTest, AWriteOutOfBoundsWhileTimedIsOutOfBoundsWrite) {
  EvaluationOutcome outcome = evaluate("timed_out_of_bounds");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "out_of_bounds_write");
  EXPECT_EQ(stage_statuses(outcome)[3], "verify:ok");
  EXPECT_EQ(stage_statuses(outcome)[4], "time:failed");
  EXPECT_EQ(evidence_of(outcome)["timing_guard_violations"][0]["side"], "before");
  EXPECT_NE(outcome.detail.find("before its start"), std::string::npos) << outcome.detail;
  EXPECT_FALSE(outcome.speedup_eager);
}

TEST_F(RunStageTest, FmaxOverAnUnwrittenOutputFailsUnderTheFinitePoison) {
  // Right under the NaN poison of the first repeat (fmaxf ignores NaN), left as the large
  // finite poison of the second.
  EvaluationOutcome outcome = evaluate("fmax_unwritten");
  EXPECT_EQ(outcome.verdict, Verdict::kIncorrect);
  EXPECT_EQ(outcome.reason, "unwritten_output");
  nlohmann::json check = failing_check(outcome);
  EXPECT_TRUE(check["repeats"]["first_passed"].get<bool>()) << check.dump();
  EXPECT_FALSE(check["repeats"]["second_passed"].get<bool>());
  EXPECT_EQ(check["repeats"]["poison_bytes"], (std::vector<int>{0xFF, 0x7B}));
}

TEST_F(RunStageTest, CachingWhileTimedIsSuspicious) {
  EvaluationOutcome outcome = evaluate("timed_cache");
  EXPECT_EQ(outcome.verdict, Verdict::kSuspicious);
  EXPECT_EQ(outcome.reason, "behaves_differently_when_timed");
  EXPECT_EQ(stage_statuses(outcome)[3], "verify:ok");
  EXPECT_EQ(stage_statuses(outcome)[4], "time:failed");
  nlohmann::json check = evidence_of(outcome)["checks"].back();
  EXPECT_TRUE(check["timed"].get<bool>());
  EXPECT_FALSE(check["passed"].get<bool>());
  EXPECT_FALSE(outcome.speedup_eager);
}

TEST_F(RunStageTest, FasterThanThePhysicalFloorIsSuspicious) {
  EvaluationOutcome outcome = evaluate("too_fast");
  EXPECT_EQ(outcome.verdict, Verdict::kSuspicious);
  EXPECT_EQ(outcome.reason, "faster_than_physical_floor");
  EXPECT_GT(evidence_of(outcome)["floor"]["fraction_of_floor"].get<double>(), 100);
  ASSERT_TRUE(outcome.timing);  // the samples are kept as evidence
  auto rows = evaluations_of(workspace_->store(), outcome.candidate_id);
  EXPECT_EQ(rows[0].verdict, "suspicious");
  EXPECT_FALSE(rows[0].speedup_eager);
}

// The GPU check runs candidates whose verdict comes before timing concurrently, because such a
// candidate is never timed and never reaches the baseline (torch eager and torch.compile timed
// on the same GPU). An honest kernel, for contrast, does reach it (here: no CUDA in torch).
TEST_F(RunStageTest, AVerdictDecidedBeforeOrWhileTimingTimesNoBaseline) {
  for (const char* kernel : {"unwritten", "timed_cache", "too_fast"}) {
    EvaluationOutcome outcome = evaluate(kernel);
    ASSERT_NE(outcome.verdict, Verdict::kCorrect) << kernel;
    std::vector<std::string> statuses = stage_statuses(outcome);
    EXPECT_EQ(statuses[statuses.size() - 2], "baseline:skipped") << kernel;
    EXPECT_EQ(statuses.back(), "profile:skipped") << kernel;
    EXPECT_EQ(outcome.stages.back().detail, "an earlier stage failed") << kernel;
    EXPECT_FALSE(outcome.profile) << kernel << ": profiled though not correct";
    EXPECT_FALSE(evidence_of(outcome).contains("baselines"))
        << kernel << ": a baseline was asked for";
  }
  EvaluationOutcome honest = evaluate("relu");
  ASSERT_EQ(honest.verdict, Verdict::kCorrect);
  EXPECT_TRUE(evidence_of(honest).contains("baselines"));
}

// The profile stage: counters per launch from the worker, stored in `profiles` with the
// evaluation; where counters are unavailable the evaluation is unchanged and the profile says why.
TEST_F(RunStageTest, CorrectCandidateIsProfiledAndItsCountersStored) {
  EvaluationOutcome outcome = evaluate("relu");
  ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
  ASSERT_TRUE(outcome.profile);
  EXPECT_EQ(outcome.profile->status, ProfileStatus::kCollected);
  EXPECT_EQ(outcome.profile->passes, 12);
  ASSERT_EQ(outcome.profile->kernels.size(), 1u);
  const KernelCounters& kernel = outcome.profile->kernels[0];
  EXPECT_EQ(kernel.kernel, "relu");
  // Every metric of the set, by its Nsight Compute name: the counters the parent asked for and
  // the launch metrics the worker computes.
  for (const MetricSpec& metric : metric_set())
    EXPECT_TRUE(kernel.metrics.count(std::string(metric.name))) << metric.name;
  // The emulated worker reads every input byte once at the benchmark shape (64 x 100 float32).
  EXPECT_DOUBLE_EQ(kernel.metrics.at("dram__bytes_read.sum"), 64 * 100 * 4);

  auto evaluations = evaluations_of(workspace_->store(), outcome.candidate_id);
  ASSERT_EQ(evaluations.size(), 1u);
  auto rows = profiles_of(workspace_->store(), evaluations[0].id);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].status, ProfileStatus::kCollected);
  EXPECT_EQ(rows[0].reason, std::nullopt);
  EXPECT_EQ(rows[0].chip, "GH100");
  EXPECT_EQ(rows[0].passes, 12);
  EXPECT_GT(rows[0].overhead_ms, 0);
  ASSERT_EQ(rows[0].kernels.size(), 1u);
  EXPECT_EQ(rows[0].kernels[0]["kernel"], "relu");
  EXPECT_DOUBLE_EQ(rows[0].kernels[0]["metrics"]["dram__bytes_read.sum"].get<double>(),
                   64 * 100 * 4);
  EXPECT_EQ(rows[0].kernels[0]["metrics"].size(), kernel.metrics.size());
}

TEST_F(RunStageTest, CountersUnavailableLeaveTheVerdictAndTimingAndSayWhy) {
  for (auto [kernel, reason] : {std::pair{"relu_counters_denied", "insufficient_privileges"},
                                std::pair{"relu_counters_missing", "library_missing"}}) {
    EvaluationOutcome outcome = evaluate(kernel);
    ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << kernel << ": " << outcome.detail;
    EXPECT_TRUE(outcome.timing) << kernel;
    EXPECT_TRUE(outcome.device_time_us) << kernel;
    ASSERT_TRUE(outcome.profile) << kernel;
    EXPECT_EQ(outcome.profile->status, ProfileStatus::kUnavailable) << kernel;
    EXPECT_EQ(outcome.profile->reason_name(), reason) << kernel;
    EXPECT_TRUE(outcome.profile->kernels.empty()) << kernel;
    EXPECT_EQ(stage_statuses(outcome).back(), "profile:skipped") << kernel;
    EXPECT_NE(outcome.stages.back().detail.find(reason), std::string::npos)
        << outcome.stages.back().detail;
    auto evaluations = evaluations_of(workspace_->store(), outcome.candidate_id);
    ASSERT_EQ(evaluations.size(), 1u);
    EXPECT_EQ(evaluations[0].verdict, "correct");
    auto rows = profiles_of(workspace_->store(), evaluations[0].id);
    ASSERT_EQ(rows.size(), 1u) << kernel;
    EXPECT_EQ(rows[0].status, ProfileStatus::kUnavailable);
    EXPECT_EQ(rows[0].reason, profile_unavailable_reason_named(reason));
    EXPECT_FALSE(rows[0].detail.empty());
    EXPECT_TRUE(rows[0].kernels.empty());
  }
}

// A stored profile read back with its evaluation and diagnosed (harness/evaluation/
// profile_report.hpp): what `kforge show`, the MCP server and the optimize loop's feedback use.
TEST_F(RunStageTest, AStoredProfileReadsBackAndIsDiagnosedAgainstTheMeasuredBandwidth) {
  EvaluationOutcome outcome = evaluate("relu");
  ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
  std::optional<CandidateRow> candidate = find_candidate(workspace_->store(), outcome.candidate_id);
  ASSERT_TRUE(candidate);
  std::vector<StoredEvaluation> stored = stored_evaluations_of(workspace_->store(), *candidate);
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_TRUE(stored[0].record.profile);
  EXPECT_EQ(stored[0].record.profile->to_json(), outcome.profile->to_json());

  ProfileReport report = profile_report(stored[0].record, DType::kF32);
  ASSERT_TRUE(report.collected());
  EXPECT_EQ(report.arch, "sm_90");
  ASSERT_TRUE(report.ceilings);
  // The bandwidth roof is the one the floor measured through the worker, not a datasheet's.
  EXPECT_DOUBLE_EQ(report.ceilings->bandwidth_bytes_per_s,
                   outcome.evidence.floor->bandwidth_bytes_per_s);
  EXPECT_EQ(report.ceilings->sm_count, 132);  // the sm_90 datasheet row
  ASSERT_EQ(report.diagnoses.size(), 1u);
  const Diagnosis& relu = report.diagnoses[0];
  EXPECT_EQ(relu.kernel, "relu");
  // One launch: the task's bytes (every tensor once) stand for the kernel's.
  EXPECT_EQ(relu.roofline.bytes_basis, "task");
  EXPECT_DOUBLE_EQ(relu.roofline.bytes, 2 * 64 * 100 * 4);
  ASSERT_TRUE(relu.roofline.bandwidth_fraction);
  bool small_grid = false;
  for (const Finding& finding : relu.findings)
    small_grid = small_grid || finding.kind == FindingKind::kLatencyBoundSmallGrid;
  EXPECT_TRUE(small_grid) << relu.to_json().dump(1);

  EXPECT_EQ(ProfileReport::from_json(report.to_json(), "report").to_json(), report.to_json());
  nlohmann::json other_version = report.to_json();
  other_version["version"] = 2;
  EXPECT_THROW(ProfileReport::from_json(other_version, "report"), Error);

  std::string text = render_profile_text(report);
  EXPECT_NE(text.find("profile: cupti on GH100, 12 passes"), std::string::npos) << text;
  EXPECT_NE(text.find("dram %"), std::string::npos) << text;
  EXPECT_NE(text.find("roofline: "), std::string::npos) << text;
  EXPECT_NE(text.find("latency_bound_small_grid"), std::string::npos) << text;
  std::string prompt = profile_for_prompt(report);
  EXPECT_NE(prompt.find("- relu: "), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("latency_bound_small_grid"), std::string::npos) << prompt;
}

TEST_F(RunStageTest, AnUnavailableStoredProfileSaysWhyAndGivesThePromptNothing) {
  EvaluationOutcome outcome = evaluate("relu_counters_denied");
  std::optional<CandidateRow> candidate = find_candidate(workspace_->store(), outcome.candidate_id);
  ASSERT_TRUE(candidate);
  std::vector<StoredEvaluation> stored = stored_evaluations_of(workspace_->store(), *candidate);
  ASSERT_EQ(stored.size(), 1u);
  ASSERT_TRUE(stored[0].record.profile);
  ProfileReport report = profile_report(stored[0].record, DType::kF32);
  EXPECT_FALSE(report.collected());
  EXPECT_FALSE(report.ceilings);
  EXPECT_TRUE(report.diagnoses.empty());
  EXPECT_EQ(report.to_json()["reason"], "insufficient_privileges");
  std::string text = render_profile_text(report);
  EXPECT_EQ(text.rfind("profile: unavailable: insufficient_privileges (", 0), 0u) << text;
  EXPECT_EQ(profile_for_prompt(report), "");
  // Where the stage did not run, there is no profile to read.
  EvaluatorOptions off = options();
  off.run.profile = false;
  EvaluationOutcome unprofiled = evaluate("relu", off);
  candidate = find_candidate(workspace_->store(), unprofiled.candidate_id);
  ASSERT_TRUE(candidate);
  EXPECT_FALSE(stored_evaluations_of(workspace_->store(), *candidate)[0].record.profile);
}

TEST_F(RunStageTest, ProfilingCanBeTurnedOffAndWidenedBeyondCorrect) {
  EvaluatorOptions off = options();
  off.run.profile = false;
  EvaluationOutcome unprofiled = evaluate("relu", off);
  ASSERT_EQ(unprofiled.verdict, Verdict::kCorrect);
  EXPECT_FALSE(unprofiled.profile);
  EXPECT_EQ(stage_statuses(unprofiled).back(), "profile:skipped");
  EXPECT_EQ(unprofiled.stages.back().detail, "profile.enabled is false");
  auto evaluations = evaluations_of(workspace_->store(), unprofiled.candidate_id);
  ASSERT_EQ(evaluations.size(), 1u);
  EXPECT_TRUE(profiles_of(workspace_->store(), evaluations[0].id).empty());

  // An incorrect candidate's kernels ran: profiled only where asked.
  EvaluationOutcome by_default = evaluate("half_written");
  ASSERT_EQ(by_default.verdict, Verdict::kIncorrect);
  EXPECT_FALSE(by_default.profile);
  EvaluatorOptions wide = options();
  wide.run.profile_only_correct = false;
  EvaluationOutcome widened = evaluate("half_written", wide);
  ASSERT_EQ(widened.verdict, Verdict::kIncorrect);
  ASSERT_TRUE(widened.profile);
  EXPECT_EQ(widened.profile->status, ProfileStatus::kCollected);
  EXPECT_EQ(stage_statuses(widened).back(), "profile:ok");
  // A fault is not profiled even then: its kernels did not run to completion.
  EvaluationOutcome fault = evaluate("launch_refused", wide);
  ASSERT_EQ(fault.verdict, Verdict::kLaunchError);
  EXPECT_FALSE(fault.profile);
}

TEST_F(RunStageTest, FaultIsRuntimeErrorAndTheNextCandidateFindsAFreshWorker) {
  int replaced = gpu_->workers_replaced();
  EvaluationOutcome outcome = evaluate("illegal_address");
  EXPECT_EQ(outcome.verdict, Verdict::kRuntimeError);
  EXPECT_EQ(outcome.reason, "CUDA_ERROR_ILLEGAL_ADDRESS");
  EXPECT_EQ(failing_check(outcome)["failure"]["context_lost"], true);
  EXPECT_GT(gpu_->workers_replaced(), replaced);
  EXPECT_EQ(evaluate("relu").verdict, Verdict::kCorrect);
}

TEST_F(RunStageTest, RefusedLaunchIsLaunchError) {
  EvaluationOutcome outcome = evaluate("launch_refused");
  EXPECT_EQ(outcome.verdict, Verdict::kLaunchError);
  EXPECT_NE(outcome.detail.find("CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES"), std::string::npos);
}

TEST_F(RunStageTest, HangIsATimeoutAndTheWorkerIsReplaced) {
  GpuWorkerOptions gpu_options;
  gpu_options.job_dir = workspace_->cache_dir("gpu-hang");
  gpu_options.worker_program = "/usr/bin/python3";
  gpu_options.worker_arguments = {
      (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string()};
  gpu_options.run_limit = std::chrono::seconds(3);
  GpuWorkerClient gpu(gpu_options);
  EvaluatorOptions evaluator_options = options();
  evaluator_options.gpu = &gpu;
  EvaluationOutcome outcome = evaluate("hang", evaluator_options);
  EXPECT_EQ(outcome.verdict, Verdict::kTimeout);
  EXPECT_EQ(outcome.reason, "timeout");
  EXPECT_EQ(evaluate("relu", evaluator_options).verdict, Verdict::kCorrect);
}

TEST_F(RunStageTest, WithoutAWorkerNothingRunsAndNothingIsClaimed) {
  EvaluationOutcome outcome = evaluate("relu", EvaluatorOptions{});
  EXPECT_EQ(outcome.verdict, Verdict::kCompiled);
  EXPECT_EQ(outcome.stages.back().name, "run");
  EXPECT_EQ(outcome.stages.back().status, StageStatus::kSkipped);
  EXPECT_FALSE(outcome.timing);
  EXPECT_TRUE(outcome.gpu.empty());
}

TEST_F(RunStageTest, BaselineRunnerRefusesWithoutCuda) {
  auto outcome = reference_->baseline({.task = {task_->name, task_->source, "tiny_relu.py"}});
  ASSERT_TRUE(std::holds_alternative<ReferenceFailure>(outcome));
  EXPECT_EQ(std::get<ReferenceFailure>(outcome).kind, ReferenceFailureKind::kNoCuda);
  EXPECT_NE(std::get<ReferenceFailure>(outcome).message.find("sees no CUDA device"),
            std::string::npos);
}

TEST_F(RunStageTest, BaselinesComeFromTheStoreByTaskShapeDtypeGpuAndTorch) {
  RunSettings settings;
  std::string torch = reference_->python().torch_version;
  BaselineRow row{.key = {task_->id, "benchmark", "float32", "GPU A", torch},
                  .eager_us = 20.0,
                  .compile_us = 8.0,
                  .detail = {{"eager", {{"statistics", {{"median_us", 20.0}}}}}}};
  store_baseline(workspace_->store(), row);
  BaselinesRecord found =
      baseline_for(workspace_->store(), *reference_, *task_, "GPU A", 0, settings);
  EXPECT_TRUE(found.cached);
  EXPECT_EQ(found.eager_us, 20.0);
  EXPECT_EQ(found.compile_us, 8.0);
  EXPECT_EQ(found.torch_version, torch);
  // Another GPU is another key: the runner is asked, refuses here, and nothing is stored.
  BaselinesRecord other =
      baseline_for(workspace_->store(), *reference_, *task_, "GPU B", 0, settings);
  EXPECT_TRUE(other.error);
  EXPECT_FALSE(
      find_baseline(workspace_->store(), {task_->id, "benchmark", "float32", "GPU B", torch}));
  // Another torch version or dtype is another key too.
  EXPECT_FALSE(
      find_baseline(workspace_->store(), {task_->id, "benchmark", "float32", "GPU A", "0.0"}));
  EXPECT_FALSE(
      find_baseline(workspace_->store(), {task_->id, "benchmark", "float16", "GPU A", torch}));
  // Storing the same key again replaces the row.
  row.eager_us = 30.0;
  store_baseline(workspace_->store(), row);
  EXPECT_EQ(find_baseline(workspace_->store(), row.key)->eager_us, 30.0);
}

// The record the evaluator returns is the record its JSON form reads back as, for every verdict
// the run stage decides and without a GPU; and the store's columns hold the same parts.
TEST_F(RunStageTest, TheRecordRoundTripsThroughItsJsonForEveryVerdict) {
  std::vector<EvaluationOutcome> outcomes;
  for (const char* kernel :
       {"relu", "unwritten", "racy", "modify_input", "fmax_unwritten", "timed_cache", "too_fast",
        "illegal_address", "relu_writes_past_end", "timed_out_of_bounds"})
    outcomes.push_back(evaluate(kernel));
  outcomes.push_back(evaluate("relu", EvaluatorOptions{}));
  for (const EvaluationOutcome& outcome : outcomes) {
    const std::string verdict = std::string(verdict_name(outcome.verdict)) + " " + outcome.reason;
    nlohmann::json written = outcome.to_json();
    EXPECT_EQ(written["version"], kEvaluationRecordVersion);
    EvaluationRecord read = EvaluationRecord::from_json(nlohmann::json::parse(written.dump()));
    EXPECT_EQ(read.to_json(), written) << verdict;
    EXPECT_EQ(read.verdict, outcome.verdict);
    EXPECT_EQ(read.timing.has_value(), outcome.timing.has_value()) << verdict;

    auto rows = evaluations_of(workspace_->store(), outcome.candidate_id);
    ASSERT_EQ(rows.size(), 1u);
    nlohmann::json stored_evidence = rows[0].evidence;
    EXPECT_EQ(stored_evidence["detail"], outcome.detail);
    stored_evidence.erase("detail");
    EXPECT_EQ(stored_evidence, written["evidence"]) << verdict;
    EXPECT_EQ(rows[0].stages, written["stages"]) << verdict;
    EXPECT_EQ(rows[0].compile, written["compile"]) << verdict;
    EXPECT_EQ(rows[0].timing.value_or(nullptr), written.value("timing", nlohmann::json()))
        << verdict;
  }
  EXPECT_EQ(outcomes.front().verdict, Verdict::kCorrect);
  EXPECT_EQ(outcomes.back().verdict, Verdict::kCompiled);
}

// The passes one by one, on a prepared candidate, as RunStage::run calls them.
class RunStagePassesTest : public RunStageTest {
 protected:
  void prepare_candidate(const std::string& kernel) {
    Evaluator evaluator(workspace_->store(), *pool_, options());
    prepared_ = evaluator.prepare(
        *task_, {.source = emulated_candidate(kernel), .file_name = kernel + ".cu"});
    ASSERT_TRUE(prepared_.runnable) << prepared_.outcome.detail;
    request_ = {.task = task_,
                .candidate = &*prepared_.candidate,
                .ptx = prepared_.ptx,
                .cubin = prepared_.outcome.compile->cubin_path,
                .defines = prepared_.outcome.defines,
                .limits = Limits{}.for_arch("sm_90"),
                .shapes = prepared_.shapes,
                .footprints = prepared_.footprints};
  }
  static TimingRecord timing_with_median(double median_us) {
    return {.statistics = {.count = 1, .median_us = median_us}, .samples = {median_us}};
  }

  PreparedCandidate prepared_;
  RunStageRequest request_;
};

TEST_F(RunStagePassesTest, StartNamesTheGpuSeedsShapesAndTolerance) {
  prepare_candidate("relu");
  RunStage stage(workspace_->store(), *gpu_, *reference_, options().run);
  RunProgress progress = stage.start(request_);
  EXPECT_EQ(progress.result.gpu, "kforge emulated GPU (tests only)");
  EXPECT_EQ(progress.result.environment.driver, "emulated");
  EXPECT_EQ(progress.reference_device, "cpu");
  ASSERT_TRUE(progress.result.evidence.verification);
  EXPECT_EQ(progress.result.evidence.verification->seeds, (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(progress.result.evidence.verification->shapes.size(), request_.shapes.size());
  EXPECT_EQ(progress.result.evidence.verification->atol, 1e-4);
  EXPECT_TRUE(progress.result.evidence.verification->checks.empty());
}

TEST_F(RunStagePassesTest, VerifyChecksEverySeedAtEveryShape) {
  prepare_candidate("relu");
  RunStage stage(workspace_->store(), *gpu_, *reference_, options().run);
  RunProgress progress = stage.start(request_);
  EXPECT_FALSE(stage.verify(request_, progress));
  const VerificationRecord& verification = *progress.result.evidence.verification;
  ASSERT_EQ(verification.checks.size(), 2 * request_.shapes.size());
  for (const CheckRecord& check : verification.checks) {
    EXPECT_TRUE(check.passed) << check.to_json().dump();
    EXPECT_FALSE(check.reason);
    EXPECT_EQ(check.mismatch_count, 0);
  }
  EXPECT_EQ(verification.checks[1].shape, request_.shapes[1].name);
  EXPECT_EQ(verification.checks.back().seed, 1);
  EXPECT_EQ(verification.max_abs_error, 0.0);
  EXPECT_FALSE(progress.result.timing);  // verify times nothing
}

TEST_F(RunStagePassesTest, VerifyStopsAtTheFirstFailingCheck) {
  prepare_candidate("unwritten");
  RunStage stage(workspace_->store(), *gpu_, *reference_, options().run);
  RunProgress progress = stage.start(request_);
  std::optional<RunFailure> failure = stage.verify(request_, progress);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->verdict, Verdict::kIncorrect);
  EXPECT_EQ(failure->reason, "unwritten_output");
  const VerificationRecord& verification = *progress.result.evidence.verification;
  ASSERT_EQ(verification.checks.size(), 1u);
  EXPECT_EQ(verification.checks[0].reason, "unwritten_output");
  EXPECT_EQ(progress.mismatch_count, 64 * 100);
}

TEST_F(RunStagePassesTest, TimeKeepsEverySampleAndChecksTheTimedOutputs) {
  prepare_candidate("relu");
  RunStage stage(workspace_->store(), *gpu_, *reference_, options().run);
  RunProgress progress = stage.start(request_);
  EXPECT_FALSE(stage.time(request_, progress));
  ASSERT_TRUE(progress.result.timing);
  const TimingRecord& timing = *progress.result.timing;
  EXPECT_EQ(timing.samples.size(), 6u);
  EXPECT_EQ(timing.statistics.count, 6);
  EXPECT_EQ(timing.kernels_per_iteration, 1);
  EXPECT_EQ(progress.result.device_time_us, timing.statistics.median_us);
  const CheckRecord& fresh = progress.result.evidence.verification->checks.back();
  EXPECT_TRUE(fresh.timed);
  EXPECT_TRUE(fresh.passed);
  EXPECT_EQ(fresh.seed, kFreshSeed);
  EXPECT_FALSE(progress.result.evidence.floor);  // the floor is its own pass
}

TEST_F(RunStagePassesTest, TimeFindsAKernelThatCachesWhileTimed) {
  prepare_candidate("timed_cache");
  RunStage stage(workspace_->store(), *gpu_, *reference_, options().run);
  RunProgress progress = stage.start(request_);
  std::optional<RunFailure> failure = stage.time(request_, progress);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->verdict, Verdict::kSuspicious);
  EXPECT_EQ(failure->reason, "behaves_differently_when_timed");
  EXPECT_EQ(progress.result.evidence.verification->checks.back().reason,
            "behaves_differently_when_timed");
}

TEST_F(RunStagePassesTest, FloorJudgesTheTimedMedian) {
  prepare_candidate("relu");
  RunStage stage(workspace_->store(), *gpu_, *reference_, options().run);
  RunProgress progress = stage.start(request_);
  EXPECT_THROW(stage.floor(request_, progress), Error);  // no time pass yet
  // 51,200 bytes at the emulated 3.21 TB/s take 0.016 us: 1 us is plausible, 1 ns is not.
  progress.result.timing = timing_with_median(1.0);
  EXPECT_FALSE(stage.floor(request_, progress));
  ASSERT_TRUE(progress.result.evidence.floor);
  EXPECT_EQ(progress.result.evidence.floor->bytes, 2 * 64 * 100 * 4);
  EXPECT_NEAR(progress.result.evidence.floor->fraction_of_floor, 51200 / 3.21e12 * 1e6, 1e-4);
  progress.result.timing = timing_with_median(0.001);
  std::optional<RunFailure> failure = stage.floor(request_, progress);
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->reason, "faster_than_physical_floor");
  EXPECT_TRUE(progress.result.evidence.floor->memory_violated);
}

TEST_F(RunStagePassesTest, BaselineGivesSpeedupsFromTheStoredBaselines) {
  prepare_candidate("relu");
  RunSettings settings = options().run;
  settings.dtype = "float16";  // a key of its own, so that no other test finds this row
  store_baseline(workspace_->store(),
                 {.key = {task_->id, "benchmark", "float16", "kforge emulated GPU (tests only)",
                          reference_->python().torch_version},
                  .eager_us = 20.0,
                  .compile_us = 5.0});
  RunStage stage(workspace_->store(), *gpu_, *reference_, settings);
  RunProgress progress = stage.start(request_);
  EXPECT_THROW(stage.baseline(request_, progress), Error);  // no time pass yet
  progress.result.timing = timing_with_median(10.0);
  StageRecord record = stage.baseline(request_, progress);
  EXPECT_EQ(record.status, StageStatus::kOk);
  EXPECT_EQ(record.detail, "from the store");
  EXPECT_DOUBLE_EQ(*progress.result.speedup_eager, 2.0);
  EXPECT_DOUBLE_EQ(*progress.result.speedup_compile, 0.5);
  EXPECT_TRUE(progress.result.evidence.baselines->cached);

  settings.baselines = false;
  RunStage without(workspace_->store(), *gpu_, *reference_, settings);
  RunProgress skipped = without.start(request_);
  StageRecord off = without.baseline(request_, skipped);
  EXPECT_EQ(off.status, StageStatus::kSkipped);
  EXPECT_EQ(off.detail, "timing.baselines is false");
  EXPECT_FALSE(skipped.result.evidence.baselines);
}

TEST(RunStageSpeedup, IsBaselineOverCandidateWhereBothArePositive) {
  EXPECT_DOUBLE_EQ(*speedup(20.0, 10.0), 2.0);
  EXPECT_DOUBLE_EQ(*speedup(5.0, 10.0), 0.5);
  EXPECT_FALSE(speedup(std::nullopt, 10.0));
  EXPECT_FALSE(speedup(20.0, 0.0));
  EXPECT_FALSE(speedup(0.0, 10.0));
}

// Every failure kind, as a real misbehaving worker process reports it (or as the client makes of
// its misbehaviour), becomes its verdict and reason; bad_request is kforge's fault and throws.
TEST(RunStageWorkerFailures, EveryKindFromARealWorkerGetsItsVerdict) {
  testing::TemporaryDirectory directory;
  GpuWorkerOptions options;
  options.job_dir = directory.path();
  options.run_limit = std::chrono::milliseconds(1500);
  options.worker_program = "/usr/bin/python3";
  options.worker_arguments = {
      (testing::source_dir() / "tests/support/misbehaving_gpu_worker.py").string()};
  GpuWorkerClient client(options);
  auto failure_of = [&](const std::string& fault) {
    RunRequest request;
    request.plan = {{"launches", nlohmann::json::array()}, {"test_fault", fault}};
    request.out_dir = client.new_job_directory();
    auto reply = client.run(request);
    EXPECT_TRUE(std::holds_alternative<WorkerFailure>(reply)) << fault;
    return std::holds_alternative<WorkerFailure>(reply) ? std::get<WorkerFailure>(reply)
                                                        : WorkerFailure{};
  };
  struct Expected {
    std::string fault;
    WorkerFailureKind kind;
    Verdict verdict;
    std::string reason;
  };
  const std::vector<Expected> table = {
      {"launch_error", WorkerFailureKind::kLaunchError, Verdict::kLaunchError, "launch_error"},
      {"out_of_memory", WorkerFailureKind::kOutOfMemory, Verdict::kLaunchError, "out_of_memory"},
      {"context_lost", WorkerFailureKind::kRuntimeError, Verdict::kRuntimeError,
       "CUDA_ERROR_ILLEGAL_ADDRESS"},
      {"crash", WorkerFailureKind::kWorkerCrashed, Verdict::kRuntimeError, "worker_crashed"},
      {"garbage", WorkerFailureKind::kWorkerCrashed, Verdict::kRuntimeError, "worker_crashed"},
      {"unknown_kind", WorkerFailureKind::kWorkerCrashed, Verdict::kRuntimeError, "worker_crashed"},
      {"hang", WorkerFailureKind::kTimeout, Verdict::kTimeout, "timeout"},
  };
  for (const Expected& expected : table) {
    WorkerFailure failure = failure_of(expected.fault);
    EXPECT_EQ(failure.kind, expected.kind) << expected.fault;
    RunFailure verdict = worker_failure_verdict(failure, "check 1");
    EXPECT_EQ(verdict.verdict, expected.verdict) << expected.fault;
    EXPECT_EQ(verdict.reason, expected.reason) << expected.fault;
    EXPECT_EQ(verdict.detail.rfind("check 1: ", 0), 0u) << verdict.detail;
  }
  WorkerFailure bad_request = failure_of("bad_request");
  EXPECT_EQ(bad_request.kind, WorkerFailureKind::kBadRequest);
  try {
    worker_failure_verdict(bad_request, "check 1");
    FAIL() << "a bad request became a verdict";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()),
              "the GPU worker could not do what kforge asked (bad_request): cannot read the "
              "cubin /nonexistent/candidate.cubin (check 1)");
  }
}

TEST(RunStageSettings, ComeFromTheConfiguration) {
  Config config;
  RunSettings defaults = RunSettings::from_config(config);
  EXPECT_EQ(defaults.seeds, 3);
  EXPECT_EQ(defaults.timing.min_samples, 20);
  EXPECT_TRUE(defaults.baselines);
  EXPECT_TRUE(defaults.profile);
  EXPECT_TRUE(defaults.profile_only_correct);
  config.set("verify.seeds", "5");
  config.set("timing.target_spread", "0.01");
  config.set("timing.baselines", "false");
  config.set("profile.enabled", "false");
  config.set("profile.only_correct", "false");
  RunSettings settings = RunSettings::from_config(config);
  EXPECT_EQ(settings.seeds, 5);
  EXPECT_DOUBLE_EQ(settings.timing.target_spread, 0.01);
  EXPECT_FALSE(settings.baselines);
  EXPECT_FALSE(settings.profile);
  EXPECT_FALSE(settings.profile_only_correct);
}

// The ncu route (harness/evaluation/ncu_profile.hpp): Nsight Compute's CLI, here
// tests/support/ncu_stand_in.py, around a one-shot emulated worker. Where it works, the same
// counters as CUPTI's route; where it cannot, the evaluation unchanged and the profile says why.
class NcuRouteTest : public RunStageTest {
 protected:
  static EvaluatorOptions through(ProfilerChoice profiler, std::string ncu = stand_in()) {
    EvaluatorOptions evaluator = options();
    evaluator.run.profiler = profiler;
    evaluator.run.ncu = std::move(ncu);
    return evaluator;
  }
  static std::string stand_in() {
    return (testing::source_dir() / "tests/support/ncu_stand_in.py").string();
  }
  // The evaluation of `kernel` is correct and timed, and its profile unavailable for `reason`.
  static void expect_unavailable(const std::string& kernel, const EvaluatorOptions& evaluator,
                                 const std::string& reason, const std::string& detail) {
    EvaluationOutcome outcome = evaluate(kernel, evaluator);
    ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
    EXPECT_TRUE(outcome.device_time_us);
    ASSERT_TRUE(outcome.profile);
    EXPECT_EQ(outcome.profile->status, ProfileStatus::kUnavailable);
    EXPECT_EQ(outcome.profile->profiler, "ncu");
    EXPECT_EQ(outcome.profile->reason_name(), reason) << outcome.profile->detail;
    EXPECT_NE(outcome.profile->detail.find(detail), std::string::npos) << outcome.profile->detail;
    EXPECT_EQ(outcome.profile->detail.find('\n'), std::string::npos) << outcome.profile->detail;
    EXPECT_EQ(stage_statuses(outcome).back(), "profile:skipped");
    auto evaluations = evaluations_of(workspace_->store(), outcome.candidate_id);
    ASSERT_EQ(evaluations.size(), 1u);
    EXPECT_EQ(evaluations[0].verdict, "correct");
    auto rows = profiles_of(workspace_->store(), evaluations[0].id);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].status, ProfileStatus::kUnavailable);
    EXPECT_EQ(rows[0].reason, profile_unavailable_reason_named(reason));
  }
};

TEST_F(NcuRouteTest, NcuGivesTheCountersCuptiGivesForTheSameLaunches) {
  EvaluationOutcome cupti = evaluate("relu");
  EvaluationOutcome ncu = evaluate("relu", through(ProfilerChoice::kNcu));
  ASSERT_EQ(ncu.verdict, Verdict::kCorrect) << ncu.detail;
  ASSERT_TRUE(cupti.profile && ncu.profile);
  ASSERT_EQ(ncu.profile->status, ProfileStatus::kCollected)
      << ncu.profile->reason_name() << ": " << ncu.profile->detail;
  EXPECT_EQ(cupti.profile->profiler, "cupti");
  EXPECT_EQ(ncu.profile->profiler, "ncu");
  EXPECT_EQ(ncu.profile->chip, "GH100");  // the emulated device is an sm_90
  EXPECT_EQ(ncu.profile->passes, 12);     // the stand-in's report: 35 metrics, 3 a pass
  EXPECT_GT(ncu.profile->overhead_ms, 0);
  EXPECT_EQ(stage_statuses(ncu).back(), "profile:ok");
  EXPECT_NE(ncu.stages.back().detail.find("ncu: 1 kernels"), std::string::npos)
      << ncu.stages.back().detail;
  ASSERT_EQ(ncu.profile->kernels.size(), cupti.profile->kernels.size());
  for (size_t k = 0; k < ncu.profile->kernels.size(); ++k) {
    const KernelCounters& through_ncu = ncu.profile->kernels[k];
    const KernelCounters& through_cupti = cupti.profile->kernels[k];
    EXPECT_EQ(through_ncu.launch, through_cupti.launch);
    EXPECT_EQ(through_ncu.kernel, through_cupti.kernel);
    // Every metric of the set, counters and launch metrics, with CUPTI's value: ncu printed
    // them in base units with thousands separators, 15 significant digits.
    ASSERT_EQ(through_ncu.metrics.size(), through_cupti.metrics.size());
    for (const auto& [name, value] : through_cupti.metrics) {
      ASSERT_TRUE(through_ncu.metrics.count(name)) << name;
      EXPECT_NEAR(through_ncu.metrics.at(name), value, 1e-9 * std::max(1.0, std::abs(value)))
          << name;
    }
  }
  // Stored and read back as the same typed profile, diagnosed the same way.
  auto stored = [](const EvaluationOutcome& outcome) {
    std::optional<CandidateRow> candidate =
        find_candidate(workspace_->store(), outcome.candidate_id);
    std::vector<StoredEvaluation> evaluations =
        stored_evaluations_of(workspace_->store(), *candidate);
    return profile_report(evaluations.at(0).record, DType::kF32);
  };
  ProfileReport from_ncu = stored(ncu);
  ProfileReport from_cupti = stored(cupti);
  ASSERT_TRUE(from_ncu.collected());
  ASSERT_EQ(from_ncu.diagnoses.size(), from_cupti.diagnoses.size());
  for (size_t k = 0; k < from_ncu.diagnoses.size(); ++k) {
    EXPECT_EQ(from_ncu.diagnoses[k].roofline.bound, from_cupti.diagnoses[k].roofline.bound);
    ASSERT_EQ(from_ncu.diagnoses[k].findings.size(), from_cupti.diagnoses[k].findings.size());
    for (size_t f = 0; f < from_ncu.diagnoses[k].findings.size(); ++f)
      EXPECT_EQ(from_ncu.diagnoses[k].findings[f].kind, from_cupti.diagnoses[k].findings[f].kind);
  }
}

TEST_F(NcuRouteTest, AutoTurnsToNcuWhereCuptiIsRefused) {
  // No libcupti in the worker: auto asks ncu, which brings its own.
  EvaluationOutcome outcome = evaluate("relu_counters_missing", through(ProfilerChoice::kAuto));
  ASSERT_EQ(outcome.verdict, Verdict::kCorrect) << outcome.detail;
  ASSERT_TRUE(outcome.profile);
  EXPECT_EQ(outcome.profile->status, ProfileStatus::kCollected) << outcome.profile->detail;
  EXPECT_EQ(outcome.profile->profiler, "ncu");
  // Where CUPTI works, auto keeps it.
  EvaluationOutcome honest = evaluate("relu", through(ProfilerChoice::kAuto));
  ASSERT_TRUE(honest.profile);
  EXPECT_EQ(honest.profile->profiler, "cupti");
  // Both refused: ncu's reason, with CUPTI's beside it.
  expect_unavailable("relu_counters_missing", through(ProfilerChoice::kAuto, "/no/such/ncu"),
                     "ncu_missing", "cupti: library_missing");
}

TEST_F(NcuRouteTest, NcuMissingIsAnUnavailableProfile) {
  expect_unavailable("relu", through(ProfilerChoice::kNcu, "/no/such/ncu"), "ncu_missing",
                     "/no/such/ncu");
  expect_unavailable("relu", through(ProfilerChoice::kNcu, "kforge-no-such-ncu"), "ncu_missing",
                     "'kforge-no-such-ncu' is not on PATH");
}

TEST_F(NcuRouteTest, NcusPermissionErrorIsInsufficientPrivileges) {
  // The emulated device refuses this kernel's counters to CUPTI and to ncu alike.
  expect_unavailable("relu_counters_denied", through(ProfilerChoice::kNcu),
                     "insufficient_privileges", "ERR_NVGPUCTRPERM");
}

TEST_F(NcuRouteTest, AnUnreadableCsvOrAFailedNcuIsAProfilerError) {
  ::setenv("KFORGE_NCU_STAND_IN_FAULT", "garbage", 1);
  expect_unavailable("relu", through(ProfilerChoice::kNcu), "profiler_error",
                     "ncu's CSV cannot be read");
  ::setenv("KFORGE_NCU_STAND_IN_FAULT", "failed", 1);
  expect_unavailable("relu", through(ProfilerChoice::kNcu), "profiler_error",
                     "ncu ended with exit code 1: Failed to profile \"relu\"");
  ::unsetenv("KFORGE_NCU_STAND_IN_FAULT");
}

TEST_F(NcuRouteTest, AWorkerThatFaultsUnderNcuIsAWorkerFailure) {
  // A worker under ncu that ends without its reply (here: its input set is missing) is the
  // worker's failure, not ncu's.
  NcuProfileRun run{.ncu = stand_in(),
                    .worker_program = "/usr/bin/python3",
                    .worker_arguments =
                        {(testing::source_dir() / "tests/support/emulated_gpu_worker.py").string()},
                    .job = directory_->path() / "ncu-missing-tensors"};
  ProfileRequest request{
      .cubin = "/no/such.cubin",
      .plan = {{"launches", {{{"kernel", "relu"}, {"grid", {1, 1, 1}}, {"block", {32, 1, 1}}}}}},
      .tensors = directory_->path() / "no-such-tensors.safetensors",
      .metrics = {"gpu__time_duration.sum"},
      .out_dir = directory_->path() / "ncu-missing-tensors"};
  ProfileReply reply = profile_with_ncu(run, request);
  EXPECT_EQ(reply.status, ProfileStatus::kUnavailable);
  EXPECT_EQ(reply.reason, ProfileUnavailableReason::kWorkerFailure) << reply.detail;
  EXPECT_NE(reply.detail.find("under ncu"), std::string::npos) << reply.detail;
}

}  // namespace
}  // namespace kforge
