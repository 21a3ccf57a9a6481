// The tasks table through task_records, on a real store file.
#include "datasets/task_records.hpp"

#include <gtest/gtest.h>

#include "datasets/store.hpp"
#include "harness/util/error.hpp"
#include "tests/support/store_backends.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TaskRow record(const std::string& name, const std::string& suite, const std::string& hash) {
  TaskRow task;
  task.name = name;
  task.suite = suite;
  task.source = "source " + hash;
  task.source_hash = hash;
  task.tags = {"a", "b"};
  task.description = "d";
  return task;
}

// Each test runs on a SQLite file and on PostgreSQL (tests/support/store_backends.hpp).
class TaskRecords : public testing::OnEachBackend {};
KFORGE_ON_EACH_BACKEND(TaskRecords);

TEST_P(TaskRecords, VersionsAreAppendedNeverOverwritten) {
  auto store = open_store();
  TaskRow first = record("kb/relu", "kb", "h1");
  insert_task_version(*store, first);
  EXPECT_EQ(first.version, 1);
  TaskRow second = record("kb/relu", "kb", "h2");
  insert_task_version(*store, second);
  EXPECT_EQ(second.version, 2);
  auto latest = find_latest_task(*store, "kb/relu");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->source_hash, "h2");
  EXPECT_EQ(latest->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(find_task(*store, first.id)->source_hash, "h1");
  EXPECT_EQ(find_task(*store, second.id)->version, 2);
  EXPECT_FALSE(find_task(*store, second.id + 1));
  auto old = find_task_version(*store, "kb/relu", 1);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->source, "source h1");
  EXPECT_EQ(find_task_by_hash(*store, "kb/relu", "h1")->version, 1);
  EXPECT_FALSE(find_task_by_hash(*store, "kb/relu", "h3"));
  // The same source twice under one name is refused by the schema.
  TaskRow again = record("kb/relu", "kb", "h1");
  EXPECT_THROW(insert_task_version(*store, again), Error);
}

TEST_P(TaskRecords, ListsLatestPerNameAndBySuite) {
  auto store = open_store();
  for (auto [name, suite, hash] : {std::tuple{"kb/b", "kb", "1"}, std::tuple{"kb/a", "kb", "2"},
                                   std::tuple{"kb/a", "kb", "3"}, std::tuple{"x/c", "x", "4"}}) {
    TaskRow task = record(name, suite, hash);
    insert_task_version(*store, task);
  }
  auto all = list_latest_tasks(*store);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "kb/a");
  EXPECT_EQ(all[0].version, 2);
  EXPECT_EQ(list_latest_tasks(*store, std::string("x")).size(), 1u);
  EXPECT_TRUE(list_latest_tasks(*store, std::string("none")).empty());
}

TEST_P(TaskRecords, UpdateAnalysisFillsDerivedFactsOnly) {
  auto store = open_store();
  TaskRow task = record("builtin/relu", "builtin", "h");
  insert_task_version(*store, task);
  EXPECT_FALSE(find_latest_task(*store, "builtin/relu")->analysed());
  task.signature_json = R"({"inputs": [], "outputs": []})";
  task.degenerate = true;
  task.degenerate_reason = "zero";
  update_task_analysis(*store, task);
  auto back = find_latest_task(*store, "builtin/relu");
  EXPECT_TRUE(back->analysed());
  EXPECT_TRUE(back->degenerate);
  EXPECT_EQ(back->version, 1);
  task.id = 999;
  EXPECT_THROW(update_task_analysis(*store, task), Error);
}

}  // namespace
}  // namespace kforge
