// The kforge store: every task, run, candidate, LLM exchange, evaluation, profile and
// promotion, in one SQLite file (WAL, foreign keys on; the default) or one PostgreSQL database
// (a postgresql:// URL; postgres.hpp), through the one SQL interface of sql.hpp. Opening a
// store brings its schema up to this kforge's version through the numbered migrations in
// migrations.cpp, the same on both; a store written by a newer kforge is refused rather than
// guessed at. The schema version is SQLite's user_version, or the one row of kforge_schema on
// PostgreSQL.
//
// The store's interface is this class and the record headers beside it, one per group of
// tables: run_records.hpp (runs and their per-task checkpoints), records.hpp (candidates and
// evaluations), task_records.hpp, exchange_records.hpp, measurement_records.hpp,
// promotion_records.hpp; datasets/export/ reads for the exports. Only datasets/ issues SQL
// (tests/unit/store_boundary_test.cpp fails the build's tests otherwise), so a second backend
// is a second implementation of these headers. Their names follow one pattern:
//   <Table>Row                      one row, its columns as C++ values (JSON columns as JSON)
//   insert_<row>(Store&, ...)       appends a row, returns its id
//   store_<row>(Store&, ...)        inserts, or replaces the row with the same key
//   update_/finish_/reopen_<row>    changes named columns of an existing row
//   find_<row>(const Store&, ...)   one row by its key, or nullopt
//   list_<rows>(const Store&, ...)  many rows, in the order the header states
//   <rows>_of(const Store&, key)    the rows that belong to one parent row, oldest first
// Writers take Store&, readers const Store&; several writes are made atomic together with a
// Store::Transaction.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "datasets/sqlite.hpp"

namespace kforge {

struct StoreOptions {
  bool create = true;
  // PostgreSQL: how long to keep trying to reach the server (postgres.hpp), in seconds.
  double retry_seconds = 30;
};

class Store {
 public:
  // Opens the SQLite store at `path`, creating it if missing and `create` is true, and
  // migrates it. Throws Error naming the path when the file is not a database, is corrupt, or
  // is newer.
  static std::unique_ptr<Store> open(const std::filesystem::path& path, bool create = true);
  // Opens the store at `location`: a postgresql:// (or postgres://) URL, or a SQLite path.
  static std::unique_ptr<Store> open_location(const std::string& location,
                                              const StoreOptions& options);

  // The SQLite connection, for the implementation in datasets/ (and tests that build stores
  // by hand); nothing else of kforge uses it.
  sql::Connection& db() { return connection_; }
  const sql::Connection& db() const { return connection_; }
  // The SQLite file, or the PostgreSQL URL without its password: for messages.
  const std::filesystem::path& path() const { return path_; }
  const std::string& location() const { return connection_.location(); }
  sql::Dialect dialect() const { return connection_.dialect(); }
  // Who writes through this store, as stored with runs and evaluations: "<host>:<pid>".
  const std::string& node() const { return node_; }
  int schema_version() const;

  // What an open that failed with this SQLite result code (extended or primary) means, for the
  // user: damaged (NOTADB, CORRUPT) told apart from read-only, permission, full disk and lock.
  static std::string describe_open_failure(int sqlite_code, const std::string& message);

  // The newest schema this kforge knows.
  static int latest_schema_version();

  // Runs SQLite's own integrity check; returns "ok" or the first problems found. PostgreSQL
  // keeps its own integrity: "ok" once the server answers.
  std::string integrity_check() const;

  // Writes made through the store while a Transaction is open are kept together: commit()
  // makes them durable, and a transaction destroyed without commit() undoes them. A record
  // function called inside joins it, except the two that open their own (insert_task_version,
  // update_task_analysis), which must be called outside one.
  //
  // A transaction of a store under a write fence (FencedWrites) runs the fence first, inside
  // it; a fence that throws refuses the transaction's writes, none of which are made.
  class Transaction {
   public:
    explicit Transaction(Store& store) : transaction_(store.connection_) {
      if (store.fence_)
        store.fence_(store);  // a throw here rolls transaction_ back
    }
    void commit() { transaction_.commit(); }

   private:
    sql::Transaction transaction_;
  };

  // A check of whether this connection may still write: the lease a task's writes depend on
  // (harness/optimize/lease_holder.hpp), so that a node whose lease another node took over after
  // it stalled stores nothing more of that task. It runs inside the transaction it guards, and
  // throws to refuse it.
  using WriteFence = std::function<void(Store&)>;
  // While it lives, every Transaction of `store` runs `fence` first. Writes meant to be fenced
  // are made inside a Transaction; one fence at a time.
  class FencedWrites {
   public:
    FencedWrites(Store& store, WriteFence fence) : store_(store) {
      store_.fence_ = std::move(fence);
    }
    ~FencedWrites() { store_.fence_ = nullptr; }
    FencedWrites(const FencedWrites&) = delete;
    FencedWrites& operator=(const FencedWrites&) = delete;

   private:
    Store& store_;
  };

 private:
  Store(const std::filesystem::path& path, bool create);
  Store(const std::string& url, const StoreOptions& options);
  void migrate();
  void migrate_postgres();
  void enter_wal_mode();

  std::filesystem::path path_;
  sql::Connection connection_;
  std::string node_;
  WriteFence fence_;
};

}  // namespace kforge
