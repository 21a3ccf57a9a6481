// The tasks table through task_records, on a real store file.
#include "datasets/task_records.hpp"

#include <gtest/gtest.h>

#include "datasets/store.hpp"
#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TaskRecord record(const std::string& name, const std::string& suite, const std::string& hash) {
  TaskRecord task;
  task.name = name;
  task.suite = suite;
  task.source = "source " + hash;
  task.source_hash = hash;
  task.tags = {"a", "b"};
  task.description = "d";
  return task;
}

TEST(TaskRecords, VersionsAreAppendedNeverOverwritten) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  TaskRecord first = record("kb/relu", "kb", "h1");
  task_records::insert_version(store->db(), first);
  EXPECT_EQ(first.version, 1);
  TaskRecord second = record("kb/relu", "kb", "h2");
  task_records::insert_version(store->db(), second);
  EXPECT_EQ(second.version, 2);
  auto latest = task_records::latest(store->db(), "kb/relu");
  ASSERT_TRUE(latest);
  EXPECT_EQ(latest->source_hash, "h2");
  EXPECT_EQ(latest->tags, (std::vector<std::string>{"a", "b"}));
  auto old = task_records::find_version(store->db(), "kb/relu", 1);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->source, "source h1");
  EXPECT_EQ(task_records::find_by_hash(store->db(), "kb/relu", "h1")->version, 1);
  EXPECT_FALSE(task_records::find_by_hash(store->db(), "kb/relu", "h3"));
  // The same source twice under one name is refused by the schema.
  TaskRecord again = record("kb/relu", "kb", "h1");
  EXPECT_THROW(task_records::insert_version(store->db(), again), Error);
}

TEST(TaskRecords, ListsLatestPerNameAndBySuite) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  for (auto [name, suite, hash] : {std::tuple{"kb/b", "kb", "1"}, std::tuple{"kb/a", "kb", "2"},
                                   std::tuple{"kb/a", "kb", "3"}, std::tuple{"x/c", "x", "4"}}) {
    TaskRecord task = record(name, suite, hash);
    task_records::insert_version(store->db(), task);
  }
  auto all = task_records::list_latest(store->db());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].name, "kb/a");
  EXPECT_EQ(all[0].version, 2);
  EXPECT_EQ(task_records::list_latest(store->db(), std::string("x")).size(), 1u);
  EXPECT_TRUE(task_records::list_latest(store->db(), std::string("none")).empty());
}

TEST(TaskRecords, UpdateAnalysisFillsDerivedFactsOnly) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  TaskRecord task = record("builtin/relu", "builtin", "h");
  task_records::insert_version(store->db(), task);
  EXPECT_FALSE(task_records::latest(store->db(), "builtin/relu")->analysed());
  task.signature_json = R"({"inputs": [], "outputs": []})";
  task.degenerate = true;
  task.degenerate_reason = "zero";
  task_records::update_analysis(store->db(), task);
  auto back = task_records::latest(store->db(), "builtin/relu");
  EXPECT_TRUE(back->analysed());
  EXPECT_TRUE(back->degenerate);
  EXPECT_EQ(back->version, 1);
  task.id = 999;
  EXPECT_THROW(task_records::update_analysis(store->db(), task), Error);
}

}  // namespace
}  // namespace kforge
