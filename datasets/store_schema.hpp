// The schema version a store holds, read without opening it as a Store (which migrates an older
// one): for a node joining a shared run (`optimize --join`), which must not change the schema
// under nodes of an older kforge that work in it.
#pragma once

#include <string>

#include "datasets/sql.hpp"

namespace kforge {

// The version on `connection`: SQLite's user_version, or the row of kforge_schema on PostgreSQL;
// 0 for an empty store.
int schema_version_of(const sql::Connection& connection);

// The version of the store at `location` (a SQLite path or a postgresql:// URL); 0 where there is
// no store yet. Throws Error where it cannot be read.
int stored_schema_version(const std::string& location, double retry_seconds);

}  // namespace kforge
