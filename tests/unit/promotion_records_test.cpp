// Promotion decisions and the best-candidate query through promotion_records, on a real store
// file. The harness version is the caller's: the store only compares it.
#include "datasets/promotion_records.hpp"

#include <gtest/gtest.h>

#include "datasets/records.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

// Each test runs on a SQLite file and on PostgreSQL (tests/support/store_backends.hpp).
class PromotionRecords : public testing::OnEachBackend {
 protected:
  void SetUp() override {
    OnEachBackend::SetUp();
    if (!IsSkipped())
      store_ = open_store();
  }

  int64_t add_task(const std::string& name) {
    TaskRow task{.name = name, .suite = "kb", .source = "s", .source_hash = "h"};
    insert_task_version(*store_, task);
    return task.id;
  }

  int64_t add_candidate(int64_t task_id) {
    return insert_candidate(
        *store_, {.task_id = task_id, .origin = "human", .source = "s", .source_hash = "h"});
  }

  int64_t evaluate(int64_t candidate_id, const std::string& verdict,
                   std::optional<double> speedup_eager, int64_t harness_version = 7) {
    return insert_evaluation(*store_, {.candidate_id = candidate_id,
                                       .verdict = verdict,
                                       .speedup_eager = speedup_eager,
                                       .harness_version = harness_version});
  }

  std::unique_ptr<Store> store_;
};
KFORGE_ON_EACH_BACKEND(PromotionRecords);

TEST_P(PromotionRecords, DecisionsAreRecordedPerCandidate) {
  int64_t task = add_task("kb/a");
  int64_t candidate = add_candidate(task);
  int64_t evaluation = evaluate(candidate, "correct", 2.0);
  insert_promotion(*store_, {.candidate_id = candidate,
                             .task_id = task,
                             .decision = "refused",
                             .reason = "correct: never evaluated"});
  int64_t promoted = insert_promotion(*store_, {.candidate_id = candidate,
                                                .evaluation_id = evaluation,
                                                .task_id = task,
                                                .arch = "sm_90",
                                                .library_path = "kernels/a/fast",
                                                .decision = "promoted",
                                                .reason = "speedup over eager 2.00 on sm_90"});
  std::vector<PromotionRow> rows = promotions_of(*store_, candidate);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].decision, "refused");
  EXPECT_FALSE(rows[0].evaluation_id);
  EXPECT_FALSE(rows[0].arch);
  EXPECT_FALSE(rows[0].library_path);
  EXPECT_EQ(rows[1].id, promoted);
  EXPECT_EQ(rows[1].evaluation_id, evaluation);
  EXPECT_EQ(rows[1].arch, "sm_90");
  EXPECT_EQ(rows[1].library_path, "kernels/a/fast");
  EXPECT_FALSE(rows[1].created_at.empty());
  EXPECT_TRUE(promotions_of(*store_, candidate + 1).empty());
  EXPECT_THROW(
      insert_promotion(
          *store_,
          {.candidate_id = candidate, .task_id = task, .decision = "maybe", .reason = "r"}),
      Error);
}

TEST_P(PromotionRecords, BestCandidatePerTaskUnderTheGivenHarnessVersion) {
  int64_t a = add_task("kb/a");
  int64_t b = add_task("kb/b");
  int64_t c = add_task("kb/c");
  int64_t slow = add_candidate(a);
  evaluate(slow, "correct", 1.5);
  int64_t fast = add_candidate(a);
  evaluate(fast, "correct", 3.0);
  int64_t tied = add_candidate(a);
  evaluate(tied, "correct", 3.0);
  int64_t stale = add_candidate(a);  // fastest, but judged under another harness
  evaluate(stale, "correct", 9.0, 6);
  int64_t regressed = add_candidate(a);  // its latest evaluation is what counts
  evaluate(regressed, "correct", 8.0);
  evaluate(regressed, "incorrect", std::nullopt);
  int64_t only_b = add_candidate(b);
  evaluate(only_b, "correct", 1.1);
  evaluate(add_candidate(c), "compiled", std::nullopt);

  EXPECT_EQ(list_best_candidates(*store_, 7, std::nullopt), (std::vector<int64_t>{fast, only_b}));
  EXPECT_EQ(list_best_candidates(*store_, 7, std::string("kb/b")), (std::vector<int64_t>{only_b}));
  EXPECT_TRUE(list_best_candidates(*store_, 7, std::string("kb/c")).empty());
  EXPECT_EQ(list_best_candidates(*store_, 6, std::nullopt), (std::vector<int64_t>{stale}));
  EXPECT_TRUE(list_best_candidates(*store_, 8, std::nullopt).empty());
}

}  // namespace
}  // namespace kforge
