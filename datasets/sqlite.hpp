// The SQLite backend of the store's SQL interface (sql.hpp): a checked layer over SQLite's C
// API. Every failing call becomes an Error naming the SQLite function, its result code and the
// statement.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "datasets/sql.hpp"

namespace kforge::sql {

// How long a connection waits for another's lock before it answers "busy".
inline constexpr int kBusyTimeoutMs = 10000;

// Opens (creating if `create`) the database at `path` with a busy timeout, so that a second
// kforge waits rather than fails.
std::unique_ptr<ConnectionBackend> open_sqlite(const std::string& path, bool create);

}  // namespace kforge::sql
