// LLM exchanges through exchange_records, on a real store file.
#include "datasets/exchange_records.hpp"

#include <gtest/gtest.h>

#include "datasets/records.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

ExchangeRow exchange(int64_t run_id, int64_t task_id, const std::string& ask_id) {
  return {.run_id = run_id,
          .task_id = task_id,
          .provider = "openai",
          .model = "m",
          .sample_index = 1,
          .request = {{"ask_id", ask_id}, {"body", {{"messages", nlohmann::json::array()}}}},
          .response = "```cuda\n```",
          .status = "ok",
          .prompt_tokens = 10,
          .completion_tokens = 20,
          .latency_ms = 300,
          .cost_usd = 0.25,
          .cache_hit = true};
}

// Each test runs on a SQLite file and on PostgreSQL (tests/support/store_backends.hpp).
class ExchangeRecords : public testing::OnEachBackend {};
KFORGE_ON_EACH_BACKEND(ExchangeRecords);

TEST_P(ExchangeRecords, InsertFindAndListPerRunAndTask) {
  auto store = open_store();
  TaskRow task{.name = "kb/a", .suite = "kb", .source = "s", .source_hash = "h"};
  insert_task_version(*store, task);
  int64_t run = insert_run(*store, {.kind = "optimize"});
  int64_t other_run = insert_run(*store, {.kind = "optimize"});

  int64_t first = insert_exchange(*store, exchange(run, task.id, "ask-1"));
  ExchangeRow failed = exchange(run, task.id, "ask-2");
  failed.status = "rate_limited";
  failed.error = "429";
  failed.response.reset();
  failed.cost_usd.reset();
  failed.cache_hit = false;
  int64_t second = insert_exchange(*store, failed);
  insert_exchange(*store, exchange(other_run, task.id, "ask-1"));

  std::optional<ExchangeRow> found = find_exchange(*store, first);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->ask_id(), "ask-1");
  EXPECT_EQ(found->provider, "openai");
  EXPECT_EQ(found->sample_index, 1);
  EXPECT_EQ(found->response, "```cuda\n```");
  EXPECT_EQ(found->completion_tokens, 20);
  EXPECT_EQ(found->cost_usd, 0.25);
  EXPECT_TRUE(found->cache_hit);
  EXPECT_FALSE(found->created_at.empty());
  EXPECT_FALSE(find_exchange(*store, 99));

  std::vector<ExchangeRow> rows = exchanges_of(*store, run, task.id);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].id, first);
  EXPECT_EQ(rows[1].id, second);
  EXPECT_EQ(rows[1].status, "rate_limited");
  EXPECT_EQ(rows[1].error, "429");
  EXPECT_FALSE(rows[1].response);
  EXPECT_FALSE(rows[1].cost_usd);
  EXPECT_FALSE(rows[1].cache_hit);
  EXPECT_TRUE(exchanges_of(*store, run, task.id + 1).empty());

  // The candidate an exchange produced: the first one stored for it.
  EXPECT_FALSE(candidate_of_exchange(*store, first));
  CandidateRow candidate{.task_id = task.id,
                         .run_id = run,
                         .llm_exchange_id = first,
                         .origin = "llm",
                         .source = "s",
                         .source_hash = "h"};
  int64_t candidate_id = insert_candidate(*store, candidate);
  insert_candidate(*store, candidate);
  EXPECT_EQ(candidate_of_exchange(*store, first), candidate_id);
  EXPECT_FALSE(candidate_of_exchange(*store, second));
}

TEST_P(ExchangeRecords, NeedsNoRunButRefusesAnUnknownOne) {
  auto store = open_store();
  ExchangeRow row = exchange(0, 0, "ask");
  row.run_id.reset();
  row.task_id.reset();
  EXPECT_GT(insert_exchange(*store, row), 0);  // an exchange outside a run is allowed
  row.run_id = 42;                             // but not one naming a run that does not exist
  EXPECT_THROW(insert_exchange(*store, row), Error);
}

}  // namespace
}  // namespace kforge
