#include "datasets/store.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <unistd.h>

#include "datasets/migrations.hpp"
#include "datasets/postgres.hpp"
#include "datasets/sql_dialect.hpp"
#include "datasets/store_schema.hpp"
#include "harness/util/error.hpp"
#include "harness/util/store_url.hpp"

namespace kforge {

namespace fs = std::filesystem;

namespace {

std::string this_node() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0)
    host[0] = '\0';
  return std::string(host[0] != '\0' ? host : "unknown") + ":" + std::to_string(getpid());
}

// The PostgreSQL store's own functions and its schema-version table, created before the first
// migration: the schema's CHECKs call json_valid() as on SQLite.
constexpr std::string_view kPostgresFoundation = R"sql(
CREATE OR REPLACE FUNCTION json_valid(document text) RETURNS boolean
  LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  PERFORM document::json;
  RETURN true;
EXCEPTION WHEN others THEN
  RETURN false;
END $$;
CREATE TABLE IF NOT EXISTS kforge_schema (version INTEGER NOT NULL);
)sql";

// Any constant: the advisory lock that makes the nodes opening a new store migrate it once.
constexpr int64_t kMigrationLock = 0x6b666f726765;  // "kforge"

// Throws Error when `current` is newer than this kforge's schema.
void refuse_newer(int current, const std::string& location) {
  int latest = migrations().back().version;
  if (current > latest) {
    throw Error("the store has schema version " + std::to_string(current) +
                    ", newer than this kforge understands (" + std::to_string(latest) +
                    "); use a newer kforge (on a shared store: the version the other nodes run)",
                location);
  }
}

}  // namespace

std::unique_ptr<Store> Store::open_location(const std::string& location,
                                            const StoreOptions& options) {
  if (!store_url::is_postgres(location))
    return open(fs::path(location), options.create);
  std::unique_ptr<Store> store(new Store(location, options));
  store->migrate_postgres();
  return store;
}

Store::Store(const std::string& url, const StoreOptions& options)
    : path_(store_url::without_password(url)),
      connection_(sql::open_postgres(url, {.retry_seconds = options.retry_seconds})),
      node_(this_node()) {}

std::unique_ptr<Store> Store::open(const fs::path& path, bool create) {
  if (!create && !fs::exists(path))
    throw Error("no store at this path", path.string());
  if (path.has_parent_path() && !fs::exists(path.parent_path())) {
    throw Error("the store's folder does not exist", path.parent_path().string());
  }
  std::unique_ptr<Store> store(new Store(path, create));
  store->migrate();
  return store;
}

Store::Store(const fs::path& path, bool create)
    : path_(path), connection_(path.string(), create), node_(this_node()) {
  try {
    // Reading the schema version is the first read of the file: a file that is not a
    // database, or whose header is damaged, fails here.
    connection_.prepare("SELECT count(*) FROM sqlite_schema").run();
    connection_.execute("PRAGMA foreign_keys = ON");
    enter_wal_mode();
    connection_.execute("PRAGMA synchronous = NORMAL");
  } catch (const Error& failure) {
    throw Error(
        describe_open_failure(sqlite3_extended_errcode(connection_.handle()), failure.message()),
        path.string());
  }
}

void Store::enter_wal_mode() {
  // Switching a new store to WAL takes an exclusive lock, and SQLite answers "busy" at once,
  // without its busy handler, while another connection reads: eight kforge processes opening
  // a new store together meet this. So the switch is retried here for as long as the busy
  // timeout would have waited; the first connection's switch serves all the others.
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + std::chrono::milliseconds(sql::kBusyTimeoutMs);
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    try {
      auto mode = connection_.prepare("PRAGMA journal_mode = WAL");
      mode.step();
      return;
    } catch (const Error&) {
      int code = sqlite3_extended_errcode(connection_.handle()) & 0xff;
      if ((code != SQLITE_BUSY && code != SQLITE_LOCKED) || Clock::now() >= deadline)
        throw;
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

std::string Store::describe_open_failure(int sqlite_code, const std::string& message) {
  // Told apart by SQLite's result code, never its message: only a file SQLite finds is not a
  // database (or is corrupt) is called damaged; a store that cannot be written or opened is
  // healthy as far as kforge can tell, and must not be deleted for it.
  switch (sqlite_code & 0xff) {
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return "not a kforge store, or a damaged one: " + message;
    case SQLITE_READONLY:
      return "the store is read-only here (a read-only file, folder or file system, or no "
             "write permission); kforge must write to it, and the store itself is not damaged: " +
             message;
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return "the store cannot be opened for writing (no permission, or a read-only folder "
             "where SQLite cannot create its -wal and -shm files); the store itself is not "
             "damaged: " +
             message;
    case SQLITE_FULL:
      return "the disk holding the store is full: " + message;
    case SQLITE_IOERR:
      return "reading or writing the store failed with an I/O error: " + message;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return "the store is locked by another process for longer than the busy timeout: " + message;
    default:
      return "cannot open the store: " + message;
  }
}

int Store::schema_version() const {
  return schema_version_of(connection_);
}

int Store::latest_schema_version() {
  return migrations().back().version;
}

void Store::migrate() {
  int latest = latest_schema_version();
  int current = schema_version();
  refuse_newer(current, location());
  if (current == latest)
    return;
  // Several kforge processes may open a new store at once: the version is read again inside
  // one write transaction (BEGIN IMMEDIATE, which waits for the others through the busy
  // timeout), so exactly one of them migrates and the others find the work done.
  // A migration may rebuild a table that others reference (SQLite's way to change a
  // constraint), which only works with foreign keys off; they are checked before the commit
  // instead, and turned back on whatever happens. The pragma has no effect inside a
  // transaction, so it comes first.
  connection_.execute("PRAGMA foreign_keys = OFF");
  struct ForeignKeysBackOn {
    sql::Connection& connection;
    ~ForeignKeysBackOn() {
      try {
        connection.execute("PRAGMA foreign_keys = ON");
      } catch (const Error&) {
        // Never thrown from a destructor; the next statement on a broken connection fails.
      }
    }
  } foreign_keys_back_on{connection_};
  std::optional<sql::Transaction> transaction;
  try {
    transaction.emplace(connection_);
  } catch (const Error& failure) {
    throw Error(
        describe_open_failure(sqlite3_extended_errcode(connection_.handle()), failure.message()),
        path_.string());
  }
  current = schema_version();
  refuse_newer(current, location());
  for (const Migration& migration : migrations()) {
    if (migration.version <= current)
      continue;
    try {
      connection_.execute(migration.sql);
      connection_.execute("PRAGMA user_version = " + std::to_string(migration.version));
    } catch (const Error& failure) {
      throw Error("migration to schema version " + std::to_string(migration.version) +
                      " failed: " + failure.message(),
                  path_.string());
    }
  }
  auto violations = connection_.prepare("PRAGMA foreign_key_check");
  if (violations.step()) {
    throw Error("migration to schema version " + std::to_string(latest) + " left a row of table " +
                    violations.text(0) + " pointing at a row that does not exist",
                path_.string());
  }
  transaction->commit();
}

void Store::migrate_postgres() {
  int latest = latest_schema_version();
  int current = schema_version();
  refuse_newer(current, location());
  if (current == latest)
    return;
  // As on SQLite: one transaction, which PostgreSQL makes hold the schema changes too, and the
  // version read again under a lock that every node opening the store takes.
  sql::Transaction transaction(connection_);
  connection_.prepare("SELECT pg_advisory_xact_lock(?)").bind(1, kMigrationLock).run();
  current = schema_version();
  refuse_newer(current, location());
  if (current == latest)
    return;
  connection_.execute(kPostgresFoundation);
  for (const Migration& migration : migrations()) {
    if (migration.version <= current)
      continue;
    try {
      connection_.execute(sql::postgres_schema(
          migration.postgres_sql.empty() ? migration.sql : migration.postgres_sql));
      connection_.execute("DELETE FROM kforge_schema");
      connection_.prepare("INSERT INTO kforge_schema (version) VALUES (?)")
          .bind(1, int64_t{migration.version})
          .run();
    } catch (const Error& failure) {
      throw Error("migration to schema version " + std::to_string(migration.version) +
                      " failed: " + failure.message(),
                  location());
    }
  }
  transaction.commit();
}

std::string Store::integrity_check() const {
  if (dialect() == sql::Dialect::kPostgres) {
    connection_.prepare("SELECT 1").run();
    return "ok";
  }
  auto check = connection_.prepare("PRAGMA integrity_check");
  std::string result;
  while (check.step()) {
    if (!result.empty())
      result += "; ";
    result += check.text(0);
  }
  return result;
}

}  // namespace kforge
