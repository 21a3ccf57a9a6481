#include "datasets/store_schema.hpp"

#include <filesystem>

#include "datasets/postgres.hpp"
#include "harness/util/store_url.hpp"

namespace kforge {

int schema_version_of(const sql::Connection& connection) {
  if (connection.dialect() == sql::Dialect::kPostgres) {
    // A scan of the catalog under this statement's snapshot (to_regclass would answer from a
    // cache that may still hold "no such table" after another node created it).
    auto exists = connection.prepare(
        "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
        "AND tablename = 'kforge_schema'");
    exists.step();
    if (exists.integer(0) == 0)
      return 0;
    auto version = connection.prepare("SELECT max(version) FROM kforge_schema");
    version.step();
    return static_cast<int>(version.optional_integer(0).value_or(0));
  }
  auto query = connection.prepare("PRAGMA user_version");
  query.step();
  return static_cast<int>(query.integer(0));
}

int stored_schema_version(const std::string& location, double retry_seconds) {
  if (store_url::is_postgres(location)) {
    sql::Connection connection(sql::open_postgres(location, {.retry_seconds = retry_seconds}));
    return schema_version_of(connection);
  }
  if (!std::filesystem::exists(location))
    return 0;
  sql::Connection connection(location, /*create=*/false);
  return schema_version_of(connection);
}

}  // namespace kforge
