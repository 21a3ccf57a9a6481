// The kforge store: one SQLite file (WAL, foreign keys on) holding every task, run, candidate,
// LLM exchange, evaluation, profile and promotion. Opening a store brings its schema up to
// this kforge's version through the numbered migrations in migrations.cpp; a store written by
// a newer kforge is refused rather than guessed at.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "datasets/sqlite.hpp"

namespace kforge {

class Store {
 public:
  // Opens the store at `path`, creating it if missing and `create` is true, and migrates it.
  // Throws Error naming the path when the file is not a database, is corrupt, or is newer.
  static std::unique_ptr<Store> open(const std::filesystem::path& path, bool create = true);

  const sql::Connection& db() const { return connection_; }
  const std::filesystem::path& path() const { return path_; }
  int schema_version() const;

  // What an open that failed with this SQLite result code (extended or primary) means, for the
  // user: damaged (NOTADB, CORRUPT) told apart from read-only, permission, full disk and lock.
  static std::string describe_open_failure(int sqlite_code, const std::string& message);

  // The newest schema this kforge knows.
  static int latest_schema_version();

  // Runs SQLite's own integrity check; returns "ok" or the first problems found.
  std::string integrity_check() const;

 private:
  Store(const std::filesystem::path& path, bool create);
  void migrate();
  void enter_wal_mode();

  std::filesystem::path path_;
  sql::Connection connection_;
};

}  // namespace kforge
