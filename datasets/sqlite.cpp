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

std::string shorten(std::string_view sql) {
  std::string out;
  for (char c : sql)
    out += (c == '\n' || c == '\t') ? ' ' : c;
  return out.size() > 120 ? out.substr(0, 117) + "..." : out;
}

}  // namespace

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db), sql_(sql) {
  int code =
      sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &statement_, nullptr);
  if (code != SQLITE_OK)
    fail(db_, "sqlite3_prepare_v2", code, shorten(sql));
}

Statement::~Statement() {
  sqlite3_finalize(statement_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_), statement_(other.statement_), sql_(std::move(other.sql_)) {
  other.statement_ = nullptr;
}

#define KFORGE_SQL_CHECK(call, name)         \
  do {                                       \
    int code_ = (call);                      \
    if (code_ != SQLITE_OK)                  \
      fail(db_, name, code_, shorten(sql_)); \
  } while (false)

Statement& Statement::bind(int index, int64_t value) {
  KFORGE_SQL_CHECK(sqlite3_bind_int64(statement_, index, value), "sqlite3_bind_int64");
  return *this;
}
Statement& Statement::bind(int index, double value) {
  KFORGE_SQL_CHECK(sqlite3_bind_double(statement_, index, value), "sqlite3_bind_double");
  return *this;
}
Statement& Statement::bind(int index, std::string_view text) {
  KFORGE_SQL_CHECK(sqlite3_bind_text64(statement_, index, text.data(), text.size(),
                                       SQLITE_TRANSIENT, SQLITE_UTF8),
                   "sqlite3_bind_text64");
  return *this;
}
Statement& Statement::bind(int index, std::nullopt_t) {
  KFORGE_SQL_CHECK(sqlite3_bind_null(statement_, index), "sqlite3_bind_null");
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  KFORGE_SQL_CHECK(
      sqlite3_bind_blob64(statement_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT),
      "sqlite3_bind_blob64");
  return *this;
}

bool Statement::step() {
  int code = sqlite3_step(statement_);
  if (code == SQLITE_ROW)
    return true;
  if (code == SQLITE_DONE)
    return false;
  fail(db_, "sqlite3_step", code, shorten(sql_));
}

void Statement::run() {
  while (step()) {
  }
}

void Statement::reset() {
  sqlite3_reset(statement_);
  sqlite3_clear_bindings(statement_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(statement_, column) == SQLITE_NULL;
}
int64_t Statement::integer(int column) const {
  return sqlite3_column_int64(statement_, column);
}
double Statement::real(int column) const {
  return sqlite3_column_double(statement_, column);
}
std::string Statement::text(int column) const {
  const void* data = sqlite3_column_blob(statement_, column);
  int size = sqlite3_column_bytes(statement_, column);
  return data == nullptr ? std::string() : std::string(static_cast<const char*>(data), size);
}
std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column))
    return std::nullopt;
  return text(column);
}
std::optional<int64_t> Statement::optional_integer(int column) const {
  if (is_null(column))
    return std::nullopt;
  return integer(column);
}
std::optional<double> Statement::optional_real(int column) const {
  if (is_null(column))
    return std::nullopt;
  return real(column);
}

Connection::Connection(const std::string& path, bool create) : path_(path) {
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

Connection::~Connection() {
  sqlite3_close_v2(db_);
}

void Connection::execute(std::string_view sql) const {
  std::string text(sql);
  char* message = nullptr;
  int code = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (code != SQLITE_OK) {
    std::string detail = message != nullptr ? message : sqlite3_errstr(code);
    sqlite3_free(message);
    throw Error("sqlite3_exec failed: " + detail, shorten(sql));
  }
}

Transaction::Transaction(Connection& connection) : connection_(connection) {
  connection_.execute("BEGIN IMMEDIATE");
}

Transaction::~Transaction() {
  if (open_)
    sqlite3_exec(connection_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  connection_.execute("COMMIT");
  open_ = false;
}

}  // namespace kforge::sql
