// Only datasets/ issues SQL. Every C++ source of kforge outside datasets/ (and tests/, which
// build stores by hand) is scanned for what issuing SQL takes: SQLite's C API, kforge's sql::
// layer and its header, the store's connection (`.db()`), and an SQL statement opening a string
// literal. A hit names the file and line; the fix is a typed function in datasets/ (see the
// naming pattern in datasets/store.hpp), so that a second store backend is a second
// implementation of datasets/, not a hunt through the code.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

bool is_cpp_source(const fs::path& path) {
  const std::string extension = path.extension().string();
  return extension == ".cpp" || extension == ".hpp" || extension == ".h" || extension == ".cc";
}

// Folders of the repository that may issue SQL (the store itself, and the tests), and folders
// that are not sources (build trees, hidden folders such as .git).
bool skipped_folder(const fs::path& relative) {
  const std::string first = relative.begin()->string();
  return first == "datasets" || first == "tests" || first.starts_with("build") ||
         first.starts_with(".");
}

// "path:line: text" for every line of a C++ source under `root` (outside the skipped folders)
// that issues SQL, in path order.
std::vector<std::string> sql_outside_the_store(const fs::path& root) {
  static const std::regex kIssuesSql(
      R"(\bsqlite3|\bsql::|datasets/sqlite\.hpp|\.db\(\)|)"
      R"("\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|PRAGMA|BEGIN|COMMIT|ROLLBACK|WITH)\s)");
  std::vector<fs::path> sources;
  for (auto entry = fs::recursive_directory_iterator(root); entry != fs::end(entry); ++entry) {
    const fs::path relative = fs::relative(entry->path(), root);
    if (entry->is_directory() && skipped_folder(relative)) {
      entry.disable_recursion_pending();
      continue;
    }
    if (entry->is_regular_file() && is_cpp_source(entry->path()) && !skipped_folder(relative))
      sources.push_back(relative);
  }
  std::sort(sources.begin(), sources.end());
  std::vector<std::string> hits;
  for (const fs::path& source : sources) {
    std::ifstream in(root / source);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (std::regex_search(line, kIssuesSql))
        hits.push_back(source.string() + ":" + std::to_string(number) + ": " + line);
    }
  }
  return hits;
}

TEST(StoreBoundary, NothingOutsideDatasetsIssuesSql) {
  const fs::path root = KFORGE_SOURCE_DIR;
  ASSERT_TRUE(fs::is_directory(root / "datasets")) << root;
  std::vector<std::string> hits = sql_outside_the_store(root);
  std::string listed;
  for (const std::string& hit : hits)
    listed += "\n  " + hit;
  EXPECT_TRUE(hits.empty()) << "SQL outside datasets/ (move it behind a function there):" << listed;
}

TEST(StoreBoundary, TheScanFindsSqlAndOnlySql) {
  testing::TemporaryDirectory dir;
  fs::create_directories(dir / "harness" / "optimize");
  fs::create_directories(dir / "cli");
  fs::create_directories(dir / "datasets");
  fs::create_directories(dir / "tests" / "unit");
  fs::create_directories(dir / "build" / "harness");
  const std::string sql_calls =
      "void f(Store& store) {\n"
      "  auto query = store.db().prepare(\"SELECT id FROM runs\");\n"
      "}\n";
  files::write_atomic(dir / "harness" / "optimize" / "loop.cpp", "// nothing here\n" + sql_calls);
  files::write_atomic(dir / "cli" / "command_x.cpp",
                      "#include <sqlite3.h>\n"
                      "sql::Transaction transaction(connection);\n"
                      "auto text = std::string(\"INSERT INTO runs (kind) VALUES ('eval')\");\n"
                      "// not SQL: a method named prepare, and words in prose\n"
                      "auto prepared = evaluator_.prepare(task, request);\n"
                      "print(\"select a task; update the store\");\n");
  files::write_atomic(dir / "cli" / "notes.md", sql_calls);  // not a C++ source
  files::write_atomic(dir / "datasets" / "run_records.cpp", sql_calls);
  files::write_atomic(dir / "tests" / "unit" / "store_test.cpp", sql_calls);
  files::write_atomic(dir / "build" / "harness" / "generated.cpp", sql_calls);

  std::vector<std::string> hits = sql_outside_the_store(dir.path());
  ASSERT_EQ(hits.size(), 4u) << ::testing::PrintToString(hits);
  EXPECT_EQ(hits[0], "cli/command_x.cpp:1: #include <sqlite3.h>");
  EXPECT_EQ(hits[1], "cli/command_x.cpp:2: sql::Transaction transaction(connection);");
  EXPECT_TRUE(hits[2].starts_with("cli/command_x.cpp:3: ")) << hits[2];
  EXPECT_EQ(hits[3],
            "harness/optimize/loop.cpp:3:   auto query = store.db().prepare(\"SELECT id "
            "FROM runs\");");
}

}  // namespace
}  // namespace kforge
