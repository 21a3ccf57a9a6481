// The store's one SQL interface: a connection, prepared statements, transactions, over one of
// two backends (sqlite.cpp: SQLite's C API; postgres.cpp: PostgreSQL through libpq). Every
// statement of the store is written once, in SQLite's spelling with `?` placeholders; the
// PostgreSQL backend translates the few things that differ (sql_dialect.hpp). Every failing
// call becomes an Error naming the backend's function, its message and the statement.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace kforge::sql {

enum class Dialect { kSqlite, kPostgres };

// What a result column holds in the current row.
enum class ColumnKind { kNull, kInteger, kReal, kText, kBlob };

// One backend's prepared statement. Parameters and columns are as in Statement.
class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void bind_integer(int index, int64_t value) = 0;
  virtual void bind_real(int index, double value) = 0;
  virtual void bind_text(int index, std::string_view text) = 0;
  virtual void bind_blob(int index, std::string_view bytes) = 0;
  virtual void bind_null(int index) = 0;
  virtual bool step() = 0;
  virtual void reset() = 0;
  virtual int column_count() const = 0;
  virtual std::string column_name(int column) const = 0;
  virtual ColumnKind kind(int column) const = 0;
  virtual int64_t integer(int column) const = 0;
  virtual double real(int column) const = 0;
  virtual std::string text(int column) const = 0;  // the bytes of a text or blob; "" for NULL
};

// One backend's connection.
class ConnectionBackend {
 public:
  virtual ~ConnectionBackend() = default;
  virtual Dialect dialect() const = 0;
  // Where the store is, for messages: a file's path, or a URL with any password removed.
  virtual const std::string& location() const = 0;
  virtual std::unique_ptr<StatementBackend> prepare(std::string_view sql) = 0;
  virtual void execute(std::string_view sql) = 0;
  virtual int64_t last_insert_id() = 0;
  virtual int changes() = 0;
  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() noexcept = 0;
  virtual sqlite3* sqlite_handle() const { return nullptr; }
};

class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> backend) : backend_(std::move(backend)) {}

  // Parameters are 1-based, as in SQLite. Each returns *this so binds can be chained.
  Statement& bind(int index, int64_t value) {
    backend_->bind_integer(index, value);
    return *this;
  }
  Statement& bind(int index, double value) {
    backend_->bind_real(index, value);
    return *this;
  }
  Statement& bind(int index, std::string_view text) {
    backend_->bind_text(index, text);
    return *this;
  }
  Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Statement& bind(int index, std::nullopt_t) {
    backend_->bind_null(index);
    return *this;
  }
  Statement& bind_blob(int index, std::string_view bytes) {
    backend_->bind_blob(index, bytes);
    return *this;
  }
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, std::nullopt);
  }

  // Advances; true while a row is available.
  bool step() { return backend_->step(); }
  // Runs a statement that returns no rows (or whose rows are ignored).
  void run() {
    while (step()) {
    }
  }
  void reset() { backend_->reset(); }

  int column_count() const { return backend_->column_count(); }
  std::string column_name(int column) const { return backend_->column_name(column); }
  ColumnKind kind(int column) const { return backend_->kind(column); }
  bool is_null(int column) const { return kind(column) == ColumnKind::kNull; }
  int64_t integer(int column) const { return backend_->integer(column); }
  double real(int column) const { return backend_->real(column); }
  std::string text(int column) const { return backend_->text(column); }  // "" for NULL
  std::optional<std::string> optional_text(int column) const;
  std::optional<int64_t> optional_integer(int column) const;
  std::optional<double> optional_real(int column) const;

 private:
  std::unique_ptr<StatementBackend> backend_;
};

class Connection {
 public:
  // Opens (creating if `create`) the SQLite database at `path` with foreign keys on, WAL
  // journaling and a busy timeout so that a second kforge waits rather than fails (sqlite.cpp).
  Connection(const std::string& path, bool create);
  explicit Connection(std::unique_ptr<ConnectionBackend> backend) : backend_(std::move(backend)) {}

  Dialect dialect() const { return backend_->dialect(); }
  const std::string& location() const { return backend_->location(); }
  // The SQLite handle, or nullptr on PostgreSQL.
  sqlite3* handle() const { return backend_->sqlite_handle(); }
  const std::string& path() const { return backend_->location(); }
  Statement prepare(std::string_view sql) const { return Statement(backend_->prepare(sql)); }
  // Runs one or more statements that return nothing.
  void execute(std::string_view sql) const { backend_->execute(sql); }
  int64_t last_insert_id() const { return backend_->last_insert_id(); }
  int changes() const { return backend_->changes(); }
  ConnectionBackend& backend() const { return *backend_; }

 private:
  std::unique_ptr<ConnectionBackend> backend_;
};

// Opens a write transaction on construction (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN);
// commit() makes it durable; destruction without commit rolls back (and never throws).
class Transaction {
 public:
  explicit Transaction(Connection& connection) : connection_(connection) {
    connection_.backend().begin();
  }
  ~Transaction() {
    if (open_)
      connection_.backend().rollback();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    connection_.backend().commit();
    open_ = false;
  }

 private:
  Connection& connection_;
  bool open_ = true;
};

// The statement's text for an error message: one line, at most 120 characters.
std::string shorten(std::string_view sql);

}  // namespace kforge::sql
