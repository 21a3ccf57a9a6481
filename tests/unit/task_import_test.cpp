// The built-in suite reaching the store, and import's refusals (the import itself, with a real
// Python, is covered by tests/system/tasks_test.cpp).
#include "harness/task_import.hpp"

#include <gtest/gtest.h>

#include "datasets/store.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/error.hpp"
#include "harness/util/hash.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

TEST(TaskImport, BuiltinTasksAreRecordedOnceWithHeaders) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  int inserted = record_builtin_tasks(*store);
  EXPECT_GE(inserted, 16);
  EXPECT_EQ(record_builtin_tasks(*store), 0);
  auto tasks = task_records::list_latest(store->db(), std::string("builtin"));
  ASSERT_EQ(static_cast<int>(tasks.size()), inserted);
  for (const TaskRecord& task : tasks) {
    EXPECT_FALSE(task.description.empty()) << task.name;
    EXPECT_FALSE(task.tags.empty()) << task.name;
    EXPECT_EQ(task.source_hash, sha256_hex(task.source));
    EXPECT_FALSE(task.analysed());
  }
  // A built-in whose source changed (a newer kforge) becomes a new version.
  store->db().execute("UPDATE tasks SET source_hash = 'old' WHERE name = 'builtin/relu'");
  EXPECT_EQ(record_builtin_tasks(*store), 1);
  EXPECT_EQ(task_records::latest(store->db(), "builtin/relu")->version, 2);
}

TEST(TaskImport, RefusesReservedAndMalformedSuites) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  ReferenceRunnerOptions options;
  options.python = "/nonexistent";
  options.cache_dir = dir / "cache";
  ReferenceRunner runner(options);
  EXPECT_THROW(import_tasks(*store, runner, dir.path(), "builtin"), Error);
  EXPECT_THROW(import_tasks(*store, runner, dir.path(), "a/b"), Error);
  EXPECT_THROW(import_tasks(*store, runner, dir / "missing", "kb"), Error);
  // An empty folder imports nothing and never needs Python.
  EXPECT_TRUE(import_tasks(*store, runner, dir.path(), "kb").empty());
}

}  // namespace
}  // namespace kforge
