// `kforge promote` and `kforge library` through the real binary on a real store. No GPU can
// produce `correct` evaluations here, so each test first evaluates a real candidate (relu_ok.cu,
// verdict `compiled`, its task analysed by the real reference runner), then inserts candidates
// and GPU evaluations built on that evaluation's typed record (its parse, compile and bind parts,
// with checks per seed and shape, timing, floor and baselines added) and written by the
// evaluator's row writer (harness/evaluation/stored_evaluation.hpp), and runs `kforge promote`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "datasets/records.hpp"
#include "datasets/sqlite.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

struct Timing {
  double median_us = 10;
  double p10_us = 9.5;
  double p90_us = 10.5;
};

class PromoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ProcessResult eval =
        kforge({"eval", (testing::source_dir() / "tests/system/data/eval/relu_ok.cu").string(),
                "--task", "builtin/relu", "--arch", "sm_90", "--json"});
    ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
    compiled_candidate_ = nlohmann::json::parse(eval.standard_output)["candidate_id"];
    store_ = Store::open(dir_ / "kforge.db", false);
    template_ = *find_candidate(*store_, compiled_candidate_);
    compiled_ = stored_evaluations_of(*store_, template_).at(0);
  }

  ProcessResult kforge(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), {"--python", "/usr/bin/python3"});
    return run_kforge(arguments, dir_.path());
  }

  // A new candidate of builtin/relu: the same kernel with a distinguishing comment.
  int64_t candidate() {
    CandidateRow row = template_;
    row.source += "\n// variant " + std::to_string(++candidates_) + "\n";
    row.source_hash = "hash-" + std::to_string(candidates_);
    row.origin = "llm";
    return insert_candidate(*store_, row);
  }

  // An evaluation as the run stage leaves it on a GPU: the compiled candidate's record (parse,
  // compile and bind as the real evaluator recorded them) with the GPU stages' parts filled in,
  // written through the evaluator's own row writer.
  int64_t evaluate(int64_t candidate, const std::string& verdict, double speedup_eager,
                   Timing timing = {}, int64_t harness_version = kHarnessVersion,
                   bool all_checks_pass = true) {
    EvaluationRecord record = compiled_.record;
    record.candidate_id = candidate;
    record.verdict = *verdict_from_name(verdict);
    record.reason = verdict == "correct"      ? ""
                    : verdict == "suspicious" ? "faster_than_floor"
                                              : "mismatch";
    record.detail = "all checks passed";
    VerificationRecord& verification = record.evidence.verification.emplace();
    verification.seeds = {0, 1, 2};
    verification.shapes = {"benchmark", "small", "odd"};
    verification.atol = 1e-5;
    verification.rtol = 1e-5;
    for (int seed : {0, 1, 2})
      for (const char* shape : {"benchmark", "small", "odd"}) {
        const bool passed = all_checks_pass || seed != 1 || std::string(shape) != "odd";
        verification.checks.push_back(
            {.seed = seed,
             .shape = shape,
             .passed = passed,
             .reason = passed ? std::nullopt : std::optional<std::string>("mismatch"),
             .max_abs_error = 0.0,
             .max_rel_error = 0.0,
             .mismatch_count = 0,
             .evidence = {{"first_mismatches", nlohmann::json::array()}}});
      }
    verification.max_abs_error = 0.0;
    verification.max_rel_error = 0.0;
    verification.mismatch_count = 0;
    record.evidence.floor = FloorRecord{.bytes = 134217728,
                                        .flops = 16777216,
                                        .floor_us = 40.0,
                                        .fraction_of_floor = 40.0 / timing.median_us};
    record.evidence.baselines =
        BaselinesRecord{.eager_us = timing.median_us * speedup_eager,
                        .compile_us = timing.median_us * speedup_eager * 0.9,
                        .torch_version = "2.5.1",
                        .gpu = "NVIDIA H100 80GB HBM3",
                        .shape = "benchmark",
                        .dtype = "float32"};
    record.arch = "sm_90";
    record.gpu = "NVIDIA H100 80GB HBM3";
    record.timing = TimingRecord{.statistics = {.count = 3,
                                                .median_us = timing.median_us,
                                                .min_us = timing.p10_us - 0.1,
                                                .max_us = timing.p90_us,
                                                .mean_us = timing.median_us,
                                                .p10_us = timing.p10_us,
                                                .p90_us = timing.p90_us,
                                                .cv = 0.01},
                                 .span_us = timing.median_us,
                                 .samples = {timing.p10_us, timing.median_us, timing.p90_us},
                                 .span_samples = {timing.median_us},
                                 .kernels_per_iteration = 1,
                                 .fresh_iteration = 3,
                                 .input_sets = 2,
                                 .method = "CUPTI activity"};
    record.device_time_us = timing.median_us;
    record.speedup_eager = speedup_eager;
    record.speedup_compile = speedup_eager * 0.9;
    record.environment = {.gpu = "NVIDIA H100 80GB HBM3",
                          .gpu_arch = "sm_90",
                          .driver = "570.86",
                          .cuda = "13.0",
                          .torch = "2.5.1",
                          .reference_device = "cuda"};
    EvaluationRow row = evaluation_row(record, std::nullopt, compiled_.build);
    row.harness_version = harness_version;
    return insert_evaluation(*store_, row);
  }

  nlohmann::json promote(const std::vector<std::string>& extra, int expected_exit) {
    std::vector<std::string> arguments = {"promote", "--library", (dir_ / "lib").string(),
                                          "--json"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    ProcessResult result = kforge(arguments);
    EXPECT_EQ(result.exit_code, expected_exit) << result.standard_output << result.standard_error;
    if (result.standard_output.empty())
      return nlohmann::json::object();
    return nlohmann::json::parse(result.standard_output)["decisions"];
  }

  std::string refused_rule(int64_t candidate, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> arguments = {std::to_string(candidate)};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    const nlohmann::json decisions = promote(arguments, 1);
    if (decisions.size() != 1)
      return "?";
    EXPECT_EQ(decisions[0]["decision"], "refused");
    return decisions[0]["rule"];
  }

  int64_t count(const std::string& sql) {
    auto query = store_->db().prepare(sql);
    return query.step() ? query.integer(0) : -1;
  }

  testing::TemporaryDirectory dir_;
  std::unique_ptr<Store> store_;
  CandidateRow template_;
  StoredEvaluation compiled_;
  int64_t compiled_candidate_ = 0;
  int candidates_ = 0;
};

TEST_F(PromoteTest, EachRuleRefusesAndIsRecorded) {
  // Only compiled (no GPU ran it): not correct.
  EXPECT_EQ(refused_rule(compiled_candidate_), "correct");

  const int64_t suspicious = candidate();
  evaluate(suspicious, "suspicious", 30.0);
  evaluate(suspicious, "correct", 3.0);  // a later correct verdict does not wash it
  EXPECT_EQ(refused_rule(suspicious), "never_suspicious");

  const int64_t old_harness = candidate();
  evaluate(old_harness, "correct", 3.0, {}, kHarnessVersion - 1);
  EXPECT_EQ(refused_rule(old_harness), "current_harness");

  const int64_t now_incorrect = candidate();
  evaluate(now_incorrect, "correct", 3.0);
  evaluate(now_incorrect, "incorrect", 3.0);  // the latest evaluation is what counts
  EXPECT_EQ(refused_rule(now_incorrect), "correct");

  const int64_t failed_check = candidate();
  evaluate(failed_check, "correct", 3.0, {}, kHarnessVersion, false);
  EXPECT_EQ(refused_rule(failed_check), "every_seed_and_shape");

  const int64_t slow = candidate();
  evaluate(slow, "correct", 0.8);
  EXPECT_EQ(refused_rule(slow), "speedup_threshold");
  // The threshold is a flag and a config key.
  const int64_t fair = candidate();
  evaluate(fair, "correct", 1.5);
  EXPECT_EQ(refused_rule(fair, {"--min-speedup", "2"}), "speedup_threshold");
  testing::write_text(dir_ / "kforge.toml", "[promote]\nmin_speedup = 1.6\n");
  EXPECT_EQ(refused_rule(fair), "speedup_threshold");

  EXPECT_FALSE(fs::exists(dir_ / "lib" / "relu"));
  EXPECT_EQ(count("SELECT COUNT(*) FROM promotions WHERE decision = 'refused'"), 8);
  EXPECT_EQ(count("SELECT COUNT(*) FROM promotions WHERE decision = 'promoted'"), 0);
  EXPECT_EQ(count("SELECT COUNT(*) FROM promotions WHERE reason LIKE 'never_suspicious: %'"), 1);

  ProcessResult unknown = kforge({"promote", "999", "--library", (dir_ / "lib").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.standard_error.find("no candidate with id 999"), std::string::npos);
  ProcessResult neither = kforge({"promote"});
  EXPECT_EQ(neither.exit_code, 2) << neither.standard_error;
}

TEST_F(PromoteTest, PromotesWritesTheLibraryAndNeedsToBeatTheShippedSpread) {
  const int64_t first = candidate();
  evaluate(first, "correct", 2.0, {10.0, 9.5, 10.5});
  nlohmann::json decisions = promote({std::to_string(first)}, 0);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["decision"], "promoted");
  const fs::path folder = dir_ / "lib" / "relu" / ("candidate_" + std::to_string(first));
  EXPECT_EQ(decisions[0]["library_path"], folder.string());
  ASSERT_TRUE(fs::exists(folder / "kernel.cu"));
  EXPECT_EQ(files::read(folder / "kernel.cu"), find_candidate(*store_, first)->source);
  const nlohmann::json manifest = nlohmann::json::parse(files::read(folder / "manifest.json"));
  EXPECT_EQ(manifest["task"]["name"], "builtin/relu");
  EXPECT_EQ(manifest["task"]["signature"]["inputs"][0]["name"], "x");
  EXPECT_EQ(manifest["architectures"], nlohmann::json::array({"sm_90"}));
  EXPECT_EQ(manifest["verified"][0]["speedup_eager"], 2.0);
  EXPECT_EQ(manifest["verified"][0]["gpu"], "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(manifest["verified"][0]["timing"]["p90_us"], 10.5);
  EXPECT_EQ(manifest["tolerance"]["atol"], 1e-5);
  EXPECT_EQ(manifest["provenance"]["candidate_id"], first);
  EXPECT_EQ(manifest["provenance"]["origin"], "llm");
  EXPECT_EQ(manifest["parameters"]["relu"][0]["pointer"], true);
  const std::string readme = files::read(dir_ / "lib" / "README.md");
  EXPECT_NE(
      readme.find("| relu | candidate_" + std::to_string(first) +
                  " | builtin/relu | sm_90 | NVIDIA H100 80GB HBM3 | 2.00x | 1.80x | 10.00 |"),
      std::string::npos)
      << readme;

  // Faster at the median but within the shipped variant's spread: refused.
  const int64_t close = candidate();
  evaluate(close, "correct", 2.1, {9.6, 9.2, 10.0});
  EXPECT_EQ(refused_rule(close), "beats_shipped");
  // Promoting the shipped variant again changes nothing.
  EXPECT_EQ(refused_rule(first), "beats_shipped");

  // Clearly faster: promoted, and the old variant no longer claims sm_90.
  const int64_t fast = candidate();
  evaluate(fast, "correct", 4.0, {5.0, 4.8, 5.2});
  decisions = promote({std::to_string(fast), "--variant", "vectorized"}, 0);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["superseded"], "candidate_" + std::to_string(first));
  const nlohmann::json old = nlohmann::json::parse(files::read(folder / "manifest.json"));
  EXPECT_TRUE(old["architectures"].empty());
  EXPECT_EQ(old["superseded"][0]["by"], "vectorized");
  EXPECT_EQ(count("SELECT COUNT(*) FROM promotions WHERE decision = 'promoted'"), 2);

  // The library commands see it.
  ProcessResult list = kforge({"library", "list", "--library", (dir_ / "lib").string(), "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.standard_error;
  const nlohmann::json kernels = nlohmann::json::parse(list.standard_output)["kernels"];
  ASSERT_EQ(kernels.size(), 2u);
  EXPECT_EQ(kernels[1]["name"], "relu/vectorized");
  EXPECT_EQ(kernels[1]["verified"][0]["speedup_eager"], 4.0);
  ProcessResult show =
      kforge({"library", "show", "relu/vectorized", "--library", (dir_ / "lib").string()});
  ASSERT_EQ(show.exit_code, 0) << show.standard_error;
  EXPECT_NE(show.standard_output.find("sm_90 NVIDIA H100 80GB HBM3 4.000x eager"),
            std::string::npos)
      << show.standard_output;
  ProcessResult verify = kforge(
      {"library", "verify", "relu/vectorized", "--library", (dir_ / "lib").string(), "--json"});
  ASSERT_EQ(verify.exit_code, 0) << verify.standard_output << verify.standard_error;
  const nlohmann::json verified = nlohmann::json::parse(verify.standard_output);
  EXPECT_EQ(verified["kernels"][0]["verdict"], "compiled");
  EXPECT_TRUE(verified["kernels"][0]["nothing_ran"].get<bool>());
  EXPECT_TRUE(verified["passed"].get<bool>());

  // A manifest that no longer matches its kernel fails verify, naming the problem.
  testing::write_text(dir_ / "lib/relu/vectorized/kernel.cu",
                      files::read(dir_ / "lib/relu/vectorized/kernel.cu") + "// edited\n");
  ProcessResult tampered =
      kforge({"library", "verify", "relu/vectorized", "--library", (dir_ / "lib").string()});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_NE(tampered.standard_output.find("kernel.source_hash"), std::string::npos)
      << tampered.standard_output;
}

TEST_F(PromoteTest, BestPromotesTheFastestCorrectCandidate) {
  const int64_t good = candidate();
  evaluate(good, "correct", 3.0);
  const int64_t best = candidate();
  evaluate(best, "correct", 6.0, {5.0, 4.9, 5.1});
  const int64_t was_fastest = candidate();
  evaluate(was_fastest, "correct", 9.0);
  evaluate(was_fastest, "incorrect", 9.0);  // its latest evaluation is not correct
  const nlohmann::json decisions = promote({"--best", "--task", "builtin/relu"}, 0);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0]["candidate_id"], best);
  EXPECT_EQ(decisions[0]["decision"], "promoted");

  ProcessResult none = kforge(
      {"promote", "--best", "--task", "builtin/softmax", "--library", (dir_ / "lib").string()});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.standard_error.find("no candidate has a correct evaluation"), std::string::npos)
      << none.standard_error;
}

}  // namespace
}  // namespace kforge
