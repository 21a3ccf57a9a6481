// The real kforge binary on a PostgreSQL store (a server this test binary starts itself:
// tests/support/postgres_server.hpp): --db with a URL and store.url in kforge.toml, `kforge db
// copy` both ways with byte-identical exports, a password that never shows (stdout, stderr, the
// store), passwords refused where others could read them, an unreachable server's one-line error
// after the stated retry time, and a store from a newer kforge refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>

#include "datasets/postgres.hpp"
#include "harness/util/files.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

class PostgresStore : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = testing::PostgresServer::shared(&why_not);
    if (server_ == nullptr)
      GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
    url_ = server_->create_database();
  }

  ProcessResult kforge(std::vector<std::string> arguments, int time_limit = 300) {
    ProcessResult result = run_kforge(arguments, workspace_.path(), {}, time_limit);
    // The password is never shown, whatever the command did.
    EXPECT_EQ(result.standard_output.find(server_->password()), std::string::npos);
    EXPECT_EQ(result.standard_error.find(server_->password()), std::string::npos);
    return result;
  }

  // Every text of every row of the PostgreSQL store, for looking for the password in it.
  std::string everything_stored() {
    sql::Connection db(sql::open_postgres(url_, {.retry_seconds = 10}));
    std::string text;
    auto tables = db.prepare(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1");
    std::vector<std::string> names;
    while (tables.step())
      names.push_back(tables.text(0));
    for (const std::string& table : names) {
      auto rows = db.prepare("SELECT * FROM " + table);
      while (rows.step()) {
        for (int column = 0; column < rows.column_count(); ++column)
          text += rows.text(column) + "\n";
      }
    }
    return text;
  }

  std::vector<std::string> eval_arguments(const std::string& db) {
    return {"--db",     db,
            "--python", "/usr/bin/python3",
            "eval",     (testing::source_dir() / "tests/system/data/eval/relu_ok.cu").string(),
            "--task",   "builtin/relu",
            "--json"};
  }

  testing::PostgresServer* server_ = nullptr;
  std::string url_;
  testing::TemporaryDirectory workspace_;
};

std::map<std::string, std::string> files_of(const fs::path& folder) {
  std::map<std::string, std::string> contents;
  for (const auto& entry : fs::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file())
      contents[fs::relative(entry.path(), folder).string()] = files::read(entry.path());
  }
  return contents;
}

TEST_F(PostgresStore, EvalExportAndCopyBothWays) {
  ProcessResult eval = kforge(eval_arguments(url_));
  ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
  EXPECT_EQ(nlohmann::json::parse(eval.standard_output)["verdict"], "compiled");
  ProcessResult runs = kforge({"--db", url_, "runs", "--json"});
  ASSERT_EQ(runs.exit_code, 0) << runs.standard_error;
  EXPECT_EQ(nlohmann::json::parse(runs.standard_output)["runs"].size(), 1u) << runs.standard_output;

  // PostgreSQL -> SQLite -> PostgreSQL; the archive export (every column) is the same from all.
  ProcessResult out = kforge({"db", "copy", url_, "copy.db", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.standard_error;
  nlohmann::json copied = nlohmann::json::parse(out.standard_output);
  EXPECT_GE(copied["rows"].get<int>(), 4);
  EXPECT_EQ(copied["tables"]["evaluations"], 1);
  std::string second = server_->create_database();
  ProcessResult back = kforge({"db", "copy", "copy.db", second});
  ASSERT_EQ(back.exit_code, 0) << back.standard_error;
  EXPECT_NE(back.standard_output.find("copied"), std::string::npos);

  for (const auto& [db, folder] : std::vector<std::pair<std::string, std::string>>{
           {url_, "from-postgres"}, {"copy.db", "from-sqlite"}, {second, "from-second"}}) {
    ProcessResult exported = kforge({"--db", db, "dataset", "export", "--format", "archive",
                                     "--verdict", "compiled", "--out", folder});
    ASSERT_EQ(exported.exit_code, 0) << exported.standard_error;
  }
  auto expected = files_of(workspace_.path() / "from-postgres");
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(files_of(workspace_.path() / "from-sqlite"), expected);
  EXPECT_EQ(files_of(workspace_.path() / "from-second"), expected);

  // A target that holds rows is refused, with one line, unless --replace.
  ProcessResult refused = kforge({"db", "copy", url_, "copy.db"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.standard_error.find("kforge: error: the target store is not empty"),
            std::string::npos)
      << refused.standard_error;
  ProcessResult replaced = kforge({"db", "copy", url_, "copy.db", "--replace"});
  EXPECT_EQ(replaced.exit_code, 0) << replaced.standard_error;

  // The run and the evaluation say which node wrote them.
  sql::Connection db(sql::open_postgres(url_, {.retry_seconds = 10}));
  auto nodes =
      db.prepare("SELECT r.node, e.node FROM runs r JOIN evaluations e ON e.run_id = r.id");
  ASSERT_TRUE(nodes.step());
  EXPECT_NE(nodes.text(0).find(':'), std::string::npos);
  EXPECT_EQ(nodes.text(0), nodes.text(1));
  EXPECT_EQ(everything_stored().find(server_->password()), std::string::npos);
}

TEST_F(PostgresStore, APasswordIsTakenOnlyFromWhereOthersCannotReadIt) {
  std::string with_password = url_ + "&password=" + server_->password();
  // On the command line: refused, and the message does not repeat it.
  ProcessResult command_line = kforge({"--db", with_password, "runs"});
  EXPECT_NE(command_line.exit_code, 0);
  EXPECT_NE(command_line.standard_error.find("kforge: error: a password in the store URL on the "
                                             "command line is refused"),
            std::string::npos)
      << command_line.standard_error;
  EXPECT_NE(command_line.standard_error.find("password=***"), std::string::npos);

  // In a kforge.toml others may read: refused.
  fs::path config = workspace_.path() / "kforge.toml";
  testing::write_text(config, "[store]\nurl = \"" + with_password + "\"\n");
  ::chmod(config.c_str(), 0644);
  ProcessResult readable = kforge({"runs"});
  EXPECT_NE(readable.exit_code, 0);
  EXPECT_NE(readable.standard_error.find("store.url holds a password but others may read"),
            std::string::npos)
      << readable.standard_error;

  // In a kforge.toml only its owner reads: used (with PGPASSWORD gone, it is what logs in), and
  // the run's stored configuration shows it masked.
  ::chmod(config.c_str(), 0600);
  ProcessSpec spec;
  spec.program = testing::kforge_binary();
  std::vector<std::string> arguments = eval_arguments(url_);
  spec.arguments.assign(arguments.begin() + 2, arguments.end());  // no --db: store.url
  spec.working_directory = workspace_.path();
  spec.environment_overrides = {{"PGPASSWORD", ""}};
  ProcessResult eval = run_process(spec);
  ASSERT_EQ(eval.exit_code, 0) << eval.standard_error;
  EXPECT_EQ(eval.standard_error.find(server_->password()), std::string::npos);
  EXPECT_EQ(eval.standard_output.find(server_->password()), std::string::npos);
  std::string stored = everything_stored();
  EXPECT_EQ(stored.find(server_->password()), std::string::npos);
  EXPECT_NE(stored.find("password=***"), std::string::npos);
}

TEST_F(PostgresStore, AnUnreachableServerIsAOneLineErrorAfterTheRetryLimit) {
  testing::TemporaryDirectory nowhere;
  testing::write_text(workspace_.path() / "kforge.toml", "[store]\nretry_s = 2\n");
  auto started = std::chrono::steady_clock::now();
  ProcessResult result = kforge(
      {"--db", "postgresql:///kforge?host=" + nowhere.path().string() + "&user=kforge", "runs"});
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_NE(result.exit_code, 0);
  EXPECT_EQ(result.standard_error.rfind("kforge: error: the PostgreSQL server did not answer: "
                                        "gave up after ",
                                        0),
            0u)
      << result.standard_error;
  EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1)
      << result.standard_error;
  EXPECT_GE(waited, 1.5);
  EXPECT_LT(waited, 6);
}

TEST_F(PostgresStore, AStoreFromANewerKforgeIsRefused) {
  ProcessResult first = kforge({"--db", url_, "runs"});
  ASSERT_EQ(first.exit_code, 0) << first.standard_error;
  {
    sql::Connection db(sql::open_postgres(url_, {.retry_seconds = 10}));
    db.execute("UPDATE kforge_schema SET version = version + 1");
  }
  ProcessResult refused = kforge({"--db", url_, "runs"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.standard_error.find("newer than this kforge understands"), std::string::npos)
      << refused.standard_error;
  ProcessResult copy = kforge({"db", "copy", url_, "copy.db"});
  EXPECT_NE(copy.exit_code, 0);
}

}  // namespace
}  // namespace kforge
