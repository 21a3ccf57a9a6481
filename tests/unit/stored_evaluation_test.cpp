// Stored evaluations read back into the typed record: rows written by the real evaluator (NVRTC
// compiles; verify, time and baseline against tests/support/emulated_gpu_worker.py) read back as
// the record the evaluator returned, with the record version the store keeps; a row of a record
// version this kforge does not know, or without one, is refused naming the evaluation; and a store
// of the schema before the record version existed is migrated in place, its rows read as version 1.
#include "harness/evaluation/stored_evaluation.hpp"

#include <gtest/gtest.h>

#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/evaluated_store.hpp"

namespace kforge {
namespace {

using nlohmann::json;
using testing::EvaluateOn;

class StoredEvaluationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TemporaryDirectory();
    built_ = new testing::EvaluatedStore(directory_->path() / "workspace");
    built_->import("kb1", {{"tiny_relu", testing::kTinyReluTask}});
    built_->cache_baseline(kRelu, testing::kEmulatedGpu, 0.128, 0.064);
    outcomes_ = new std::vector<EvaluationOutcome>();
    auto evaluate = [&](const std::string& kernel, const std::string& body, EvaluateOn where) {
      EvaluationRequest request{.source = testing::relu_candidate_named(kernel, body)};
      outcomes_->push_back(built_->evaluate(kRelu, request, where));
    };
    evaluate("relu", "out[i] = fmaxf(x[i], 0.f);", EvaluateOn::kEmulatedGpu);
    evaluate("unwritten", "out[i] = x[i];", EvaluateOn::kEmulatedGpu);
    evaluate("relu", "out[i] = ;", EvaluateOn::kEmulatedGpu);
    evaluate("relu", "out[i] = x[i] > 0.f ? x[i] : 0.f;", EvaluateOn::kNoGpu);
  }
  static void TearDownTestSuite() {
    delete outcomes_;
    delete built_;
    delete directory_;
  }

  void SetUp() override {
    built_->copy_to(dir_ / "kforge.db");
    store_ = Store::open(dir_ / "kforge.db");
  }

  CandidateRow candidate(int64_t id) const { return *find_candidate(*store_, id); }

  // The Error's message and where reading the evaluations of `candidate_id` gives, or "".
  std::string refusal(int64_t candidate_id) {
    try {
      stored_evaluations_of(*store_, candidate(candidate_id));
    } catch (const Error& error) {
      EXPECT_EQ(std::string(error.what()).find('\n'), std::string::npos) << error.what();
      return error.message() + " | " + error.where();
    }
    return "";
  }

  static constexpr const char* kRelu = "kb1/tiny_relu";
  static testing::TemporaryDirectory* directory_;
  static testing::EvaluatedStore* built_;
  static std::vector<EvaluationOutcome>* outcomes_;

  testing::TemporaryDirectory dir_;
  std::unique_ptr<Store> store_;
};

testing::TemporaryDirectory* StoredEvaluationTest::directory_ = nullptr;
testing::EvaluatedStore* StoredEvaluationTest::built_ = nullptr;
std::vector<EvaluationOutcome>* StoredEvaluationTest::outcomes_ = nullptr;

TEST_F(StoredEvaluationTest, EveryVerdictReadsBackAsTheRecordTheEvaluatorReturned) {
  std::set<std::string> verdicts;
  for (const EvaluationOutcome& outcome : *outcomes_) {
    verdicts.insert(std::string(verdict_name(outcome.verdict)));
    const CandidateRow row = candidate(outcome.candidate_id);
    std::vector<EvaluationRow> rows = evaluations_of(*store_, outcome.candidate_id);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].record_version, kEvaluationRecordVersion);
    std::vector<StoredEvaluation> stored = stored_evaluations_of(*store_, row);
    ASSERT_EQ(stored.size(), 1u);
    EXPECT_EQ(stored[0].record.to_json(), outcome.to_json()) << outcome.to_json().dump(1);
    EXPECT_EQ(stored[0].record.plan, outcome.plan);
    EXPECT_EQ(stored[0].harness_version, rows[0].harness_version);
    EXPECT_EQ(stored[0].created_at, rows[0].created_at);
    // The writer gives the row back from the record: the columns round-trip.
    EXPECT_EQ(stored[0].versions_json(), rows[0].environment);
    EvaluationRow again = evaluation_row(stored[0].record, rows[0].run_id, stored[0].build);
    EXPECT_EQ(again.evidence, rows[0].evidence);
    EXPECT_EQ(again.stages, rows[0].stages);
    EXPECT_EQ(again.compile, rows[0].compile);
    EXPECT_EQ(again.timing, rows[0].timing);
    EXPECT_EQ(again.environment, rows[0].environment);
  }
  EXPECT_EQ(verdicts, (std::set<std::string>{"correct", "incorrect", "compile_error", "compiled"}));
}

TEST_F(StoredEvaluationTest, ARecordVersionThisKforgeDoesNotKnowIsRefused) {
  const EvaluationOutcome& correct = outcomes_->front();
  store_->db().execute("UPDATE evaluations SET record_version = 2 WHERE id = " +
                       std::to_string(correct.evaluation_id));
  EXPECT_EQ(refusal(correct.candidate_id),
            "the evaluation holds an evaluation record of version 2, and this kforge reads "
            "version 1 only: use a newer kforge | evaluation " +
                std::to_string(correct.evaluation_id) + " (candidate " +
                std::to_string(correct.candidate_id) + ")");
  // The other rows still read.
  EXPECT_EQ(refusal(outcomes_->back().candidate_id), "");
}

TEST_F(StoredEvaluationTest, ARowWithoutARecordVersionIsADamagedRow) {
  const EvaluationOutcome& compiled = outcomes_->back();
  store_->db().execute("UPDATE evaluations SET record_version = NULL WHERE id = " +
                       std::to_string(compiled.evaluation_id));
  EXPECT_NE(refusal(compiled.candidate_id).find("no record version (a damaged row)"),
            std::string::npos);
}

TEST_F(StoredEvaluationTest, AMalformedPartIsNamedByItsField) {
  const EvaluationOutcome& correct = outcomes_->front();
  store_->db().execute(
      "UPDATE evaluations SET timing = json_set(timing, '$.p90_us', 'slow') "
      "WHERE id = " +
      std::to_string(correct.evaluation_id));
  EXPECT_NE(refusal(correct.candidate_id).find("field 'timing.p90_us' must be a number"),
            std::string::npos);
  store_->db().execute("UPDATE evaluations SET environment = json_remove(environment, '$.commit')");
  EXPECT_NE(refusal(outcomes_->back().candidate_id)
                .find("field 'environment.commit' is missing or not a string"),
            std::string::npos);
}

TEST_F(StoredEvaluationTest, AStoreOfTheSchemaBeforeRecordVersionsIsMigratedInPlace) {
  // The store as schema version 2 left it: the same rows, without what versions 3 to 10 added
  // (the record_version column, rows in the counters' profiles table, the node columns, the
  // nights, the leases, the point and slot leases); version 2's profiles table was never written
  // to.
  store_->db().execute("ALTER TABLE evaluations DROP COLUMN record_version");
  store_->db().execute("ALTER TABLE evaluations DROP COLUMN node");
  store_->db().execute("ALTER TABLE runs DROP COLUMN node");
  store_->db().execute("DELETE FROM profiles");
  store_->db().execute("DROP TABLE night_steps");
  store_->db().execute("DROP TABLE nights");
  store_->db().execute("DROP TABLE leases");
  store_->db().execute("DROP TABLE point_leases");
  store_->db().execute("DROP TABLE slot_leases");
  store_->db().execute("PRAGMA user_version = 2");
  store_.reset();
  store_ = Store::open(dir_ / "kforge.db");
  EXPECT_EQ(store_->schema_version(), Store::latest_schema_version());
  for (const EvaluationOutcome& outcome : *outcomes_) {
    std::vector<EvaluationRow> rows = evaluations_of(*store_, outcome.candidate_id);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].record_version, 1);
    std::vector<StoredEvaluation> stored =
        stored_evaluations_of(*store_, candidate(outcome.candidate_id));
    ASSERT_EQ(stored.size(), 1u);
    EvaluationOutcome expected = outcome;
    expected.profile.reset();  // its counters were not kept by version 2
    EXPECT_EQ(stored[0].record.to_json(), expected.to_json());
  }
}

}  // namespace
}  // namespace kforge
