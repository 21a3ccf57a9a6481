#include "datasets/store.hpp"

#include "datasets/migrations.hpp"
#include "harness/util/error.hpp"

namespace kforge {

namespace fs = std::filesystem;

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

Store::Store(const fs::path& path, bool create) : path_(path), connection_(path.string(), create) {
  try {
    // Reading the schema version is the first read of the file: a file that is not a
    // database, or whose header is damaged, fails here.
    connection_.prepare("SELECT count(*) FROM sqlite_schema").run();
    connection_.execute("PRAGMA foreign_keys = ON");
    auto mode = connection_.prepare("PRAGMA journal_mode = WAL");
    mode.step();
    connection_.execute("PRAGMA synchronous = NORMAL");
  } catch (const Error& failure) {
    throw Error("not a kforge store, or a damaged one: " + failure.message(), path.string());
  }
}

int Store::schema_version() const {
  auto query = connection_.prepare("PRAGMA user_version");
  query.step();
  return static_cast<int>(query.integer(0));
}

int Store::latest_schema_version() {
  return migrations().back().version;
}

void Store::migrate() {
  int current = schema_version();
  int latest = latest_schema_version();
  if (current > latest) {
    throw Error("the store has schema version " + std::to_string(current) +
                    ", newer than this kforge understands (" + std::to_string(latest) +
                    "); use a newer kforge",
                path_.string());
  }
  for (const Migration& migration : migrations()) {
    if (migration.version <= current)
      continue;
    sql::Transaction transaction(connection_);
    try {
      connection_.execute(migration.sql);
      connection_.execute("PRAGMA user_version = " + std::to_string(migration.version));
    } catch (const Error& failure) {
      throw Error("migration to schema version " + std::to_string(migration.version) +
                      " failed: " + failure.message(),
                  path_.string());
    }
    transaction.commit();
  }
}

std::string Store::integrity_check() const {
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
