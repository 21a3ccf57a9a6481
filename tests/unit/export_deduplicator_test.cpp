#include "datasets/export/deduplicator.hpp"

#include <gtest/gtest.h>

#include "tests/support/export_store.hpp"

namespace kforge::dataset {
namespace {

using testing::relu_candidate;

TEST(ExportDeduplicator, ExactDuplicatesIgnoreCommentsAndWhitespace) {
  Deduplicator dedup(DedupMode::kExact, {});
  std::string source = relu_candidate("out[i] = x[i] > 0.f ? x[i] : 0.f;");
  EXPECT_EQ(dedup.offer("task1", source), DedupOutcome::kKept);
  EXPECT_EQ(dedup.offer("task1", source + "\n// a trailing comment\n\n"),
            DedupOutcome::kExactDuplicate);
  EXPECT_EQ(dedup.offer("task1", relu_candidate("out[i] = fmaxf(x[i], 0.f);")),
            DedupOutcome::kKept);
  // Another scope (another task) starts afresh.
  EXPECT_EQ(dedup.offer("task2", source), DedupOutcome::kKept);
  EXPECT_EQ(dedup.exact_duplicates(), 1);
}

TEST(ExportDeduplicator, NearDuplicatesAreCaughtAndDifferentKernelsKept) {
  Deduplicator dedup(DedupMode::kNear, {});
  std::string body;
  for (int i = 0; i < 30; ++i)
    body += "float v" + std::to_string(i) + " = x[i] * " + std::to_string(i) + ".f; ";
  std::string original = relu_candidate(body + "out[i] = v3;");
  std::string tweaked = relu_candidate(body + "out[i] = v4;");  // one token differs
  std::string different = relu_candidate(
      "float acc = 0.f; for (int k = 0; k < 64; ++k) { acc += __shfl_down_sync(0xffffffff, "
      "x[k], 16); } out[blockIdx.y] = tanhf(acc) + sqrtf(fabsf(acc));");
  EXPECT_EQ(dedup.offer("t", original), DedupOutcome::kKept);
  EXPECT_EQ(dedup.offer("t", tweaked), DedupOutcome::kNearDuplicate);
  EXPECT_EQ(dedup.offer("t", different), DedupOutcome::kKept);
  EXPECT_EQ(dedup.near_duplicates(), 1);
  EXPECT_GE(Deduplicator::estimated_similarity(dedup.signature(original), dedup.signature(tweaked)),
            0.85);
  EXPECT_LT(
      Deduplicator::estimated_similarity(dedup.signature(original), dedup.signature(different)),
      0.5);
}

TEST(ExportDeduplicator, ModeNoneKeepsEverything) {
  Deduplicator dedup(DedupMode::kNone, {});
  EXPECT_EQ(dedup.offer("t", "a"), DedupOutcome::kKept);
  EXPECT_EQ(dedup.offer("t", "a"), DedupOutcome::kKept);
}

}  // namespace
}  // namespace kforge::dataset
