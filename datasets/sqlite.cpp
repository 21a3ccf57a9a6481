#include "datasets/sqlite.hpp"

#include "harness/util/error.hpp"

namespace kforge::sql {
namespace {

[[noreturn]] void fail(sqlite3* db, const char* function, int code, std::string_view detail) {
  std::string message = std::string(function) + " failed: " + sqlite3_errstr(code);
  if (db != nullptr && sqlite3_errmsg(db) != nullptr)
    message += ": " + std::string(sqlite3_errmsg(db));
  throw Error(message, std::string(detail));
}

#define KFORGE_SQL_CHECK(call, name)         \
  do {                                       \
    int code_ = (call);                      \
    if (code_ != SQLITE_OK)                  \
      fail(db_, name, code_, shorten(sql_)); \
  } while (false)

class SqliteStatement final : public StatementBackend {
 public:
  SqliteStatement(sqlite3* db, std::string_view sql) : db_(db), sql_(sql) {
    int code =
        sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement_, nullptr);
    if (code != SQLITE_OK)
      fail(db_, "sqlite3_prepare_v2", code, shorten(sql));
  }
  ~SqliteStatement() override { sqlite3_finalize(statement_); }
  SqliteStatement(const SqliteStatement&) = delete;
  SqliteStatement& operator=(const SqliteStatement&) = delete;

  void bind_integer(int index, int64_t value) override {
    KFORGE_SQL_CHECK(sqlite3_bind_int64(statement_, index, value), "sqlite3_bind_int64");
  }
  void bind_real(int index, double value) override {
    KFORGE_SQL_CHECK(sqlite3_bind_double(statement_, index, value), "sqlite3_bind_double");
  }
  // An empty view may have no data pointer, which SQLite would bind as NULL: it is the empty
  // text (or blob), as PostgreSQL binds it; NULL is bind_null's.
  void bind_text(int index, std::string_view text) override {
    KFORGE_SQL_CHECK(sqlite3_bind_text64(statement_, index, text.data() ? text.data() : "",
                                         text.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
                     "sqlite3_bind_text64");
  }
  void bind_blob(int index, std::string_view bytes) override {
    KFORGE_SQL_CHECK(sqlite3_bind_blob64(statement_, index, bytes.data() ? bytes.data() : "",
                                         bytes.size(), SQLITE_TRANSIENT),
                     "sqlite3_bind_blob64");
  }
  void bind_null(int index) override {
    KFORGE_SQL_CHECK(sqlite3_bind_null(statement_, index), "sqlite3_bind_null");
  }

  bool step() override {
    int code = sqlite3_step(statement_);
    if (code == SQLITE_ROW)
      return true;
    if (code == SQLITE_DONE)
      return false;
    fail(db_, "sqlite3_step", code, shorten(sql_));
  }
  void reset() override {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

  int column_count() const override { return sqlite3_column_count(statement_); }
  std::string column_name(int column) const override {
    const char* name = sqlite3_column_name(statement_, column);
    return name == nullptr ? std::string() : std::string(name);
  }
  ColumnKind kind(int column) const override {
    switch (sqlite3_column_type(statement_, column)) {
      case SQLITE_INTEGER:
        return ColumnKind::kInteger;
      case SQLITE_FLOAT:
        return ColumnKind::kReal;
      case SQLITE_TEXT:
        return ColumnKind::kText;
      case SQLITE_BLOB:
        return ColumnKind::kBlob;
      default:
        return ColumnKind::kNull;
    }
  }
  int64_t integer(int column) const override { return sqlite3_column_int64(statement_, column); }
  double real(int column) const override { return sqlite3_column_double(statement_, column); }
  std::string text(int column) const override {
    const void* data = sqlite3_column_blob(statement_, column);
    int size = sqlite3_column_bytes(statement_, column);
    return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* statement_ = nullptr;
  std::string sql_;
};

class SqliteConnection final : public ConnectionBackend {
 public:
  SqliteConnection(const std::string& path, bool create) : path_(path) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    int code = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (code != SQLITE_OK) {
      std::string message = std::string("cannot open database: ") + sqlite3_errstr(code);
      if ((code & 0xff) == SQLITE_CANTOPEN || (code & 0xff) == SQLITE_READONLY ||
          (code & 0xff) == SQLITE_PERM) {
        message += create ? " (it cannot be created here: no permission, or a read-only folder or "
                            "file system; nothing is damaged)"
                          : " (no permission, or a read-only folder or file system; nothing is "
                            "damaged)";
      }
      sqlite3_close(db_);
      db_ = nullptr;
      throw Error(message, path);
    }
    sqlite3_busy_timeout(db_, kBusyTimeoutMs);
    sqlite3_extended_result_codes(db_, 1);
  }
  ~SqliteConnection() override { sqlite3_close_v2(db_); }
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;

  Dialect dialect() const override { return Dialect::kSqlite; }
  const std::string& location() const override { return path_; }
  sqlite3* sqlite_handle() const override { return db_; }

  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    return std::make_unique<SqliteStatement>(db_, sql);
  }
  void execute(std::string_view sql) override {
    std::string text(sql);
    char* message = nullptr;
    int code = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
    if (code != SQLITE_OK) {
      std::string detail = message != nullptr ? message : sqlite3_errstr(code);
      sqlite3_free(message);
      throw Error("sqlite3_exec failed: " + detail, shorten(sql));
    }
  }
  int64_t last_insert_id() override { return sqlite3_last_insert_rowid(db_); }
  int changes() override { return sqlite3_changes(db_); }
  void begin() override { execute("BEGIN IMMEDIATE"); }
  void commit() override { execute("COMMIT"); }
  void rollback() noexcept override { sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr); }

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

}  // namespace

std::unique_ptr<ConnectionBackend> open_sqlite(const std::string& path, bool create) {
  return std::make_unique<SqliteConnection>(path, create);
}

Connection::Connection(const std::string& path, bool create)
    : backend_(open_sqlite(path, create)) {}

}  // namespace kforge::sql
