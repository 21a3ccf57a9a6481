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

TEST(TaskImport, TaskTextIsUtf8AsPythonReadsIt) {
  // UTF-8 (and ASCII) is kept byte for byte; a byte-order mark is dropped.
  EXPECT_EQ(task_text_from_bytes("x = 'caf\xC3\xA9'\n").text, "x = 'caf\xC3\xA9'\n");
  EXPECT_EQ(task_text_from_bytes("\xEF\xBB\xBFx = 1\n").text, "x = 1\n");
  EXPECT_EQ(task_text_from_bytes("# coding: utf-8\nx = 1\n").text, "# coding: utf-8\nx = 1\n");
  // Latin-1, declared on the first or the second line, becomes UTF-8 and says so.
  TaskText latin = task_text_from_bytes("# -*- coding: latin-1 -*-\nx = 'caf\xE9'\n");
  EXPECT_TRUE(latin.error.empty()) << latin.error;
  EXPECT_EQ(latin.text, "# -*- coding: utf-8 -*-\nx = 'caf\xC3\xA9'\n");
  TaskText second =
      task_text_from_bytes("#!/usr/bin/env python\n# vim: set fileencoding=iso-8859-1 :\n\xFF\n");
  EXPECT_EQ(second.text, "#!/usr/bin/env python\n# vim: set fileencoding=utf-8 :\n\xC3\xBF\n");
  // A declaration after code, as Python, is not a declaration.
  EXPECT_FALSE(task_text_from_bytes("x = 1\n# coding: latin-1\n\xE9\n").error.empty());
  // Not UTF-8, and no declaration: refused with the offset.
  TaskText bytes = task_text_from_bytes("x = 1\n# caf\xE9\n");
  EXPECT_TRUE(bytes.text.empty());
  EXPECT_NE(bytes.error.find("not UTF-8 text (byte offset 11)"), std::string::npos) << bytes.error;
  // Another encoding: refused by name.
  TaskText other = task_text_from_bytes("# coding: cp1252\n# \x93\n");
  EXPECT_NE(other.error.find("'cp1252'"), std::string::npos) << other.error;
  // NUL bytes are refused however the file is declared.
  EXPECT_FALSE(task_text_from_bytes(std::string("x = 1\0\n", 7)).error.empty());
  EXPECT_FALSE(task_text_from_bytes(std::string("# coding: latin-1\nx\0\n", 21)).error.empty());
}

TEST(TaskImport, BuiltinTasksAreRecordedOnceWithHeaders) {
  testing::TemporaryDirectory dir;
  auto store = Store::open(dir / "kforge.db");
  int inserted = record_builtin_tasks(*store);
  EXPECT_GE(inserted, 16);
  EXPECT_EQ(record_builtin_tasks(*store), 0);
  auto tasks = list_latest_tasks(*store, std::string("builtin"));
  ASSERT_EQ(static_cast<int>(tasks.size()), inserted);
  for (const TaskRow& task : tasks) {
    EXPECT_FALSE(task.description.empty()) << task.name;
    EXPECT_FALSE(task.tags.empty()) << task.name;
    EXPECT_EQ(task.source_hash, sha256_hex(task.source));
    EXPECT_FALSE(task.analysed());
  }
  // A built-in whose source changed (a newer kforge) becomes a new version.
  store->db().execute("UPDATE tasks SET source_hash = 'old' WHERE name = 'builtin/relu'");
  EXPECT_EQ(record_builtin_tasks(*store), 1);
  EXPECT_EQ(find_latest_task(*store, "builtin/relu")->version, 2);
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
