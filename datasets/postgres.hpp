// The PostgreSQL backend of the store's SQL interface (sql.hpp), through libpq. Statements are
// the store's own, in SQLite's spelling, translated by sql_dialect.hpp; values travel as text
// (doubles with 17 significant digits, so they round-trip exactly), blobs as binary.
//
// Connecting: libpq reads the URL and its own environment (PGPASSWORD, PGPASSFILE, PGSERVICE,
// PGSSLMODE, ...), so every libpq parameter (sslmode, sslrootcert, connect_timeout, ...) passes
// through. A password file libpq would read (passfile=, PGPASSFILE or ~/.pgpass) that others
// may read is refused before connecting.
//
// Faults: a server that cannot be reached, or answers that it is starting up or shutting down
// (PQping's result code), is tried again with a growing pause (0.1 s doubling to 2 s) until
// `retry_seconds` have passed, then the open fails with one line naming the last libpq message.
// A connection lost later is opened again the same way; the statement that found it lost is
// run again only when that is safe: outside a transaction, and either a read or refused by the
// server before running (SQLSTATE class 57P: administrator or crash shutdown). Inside a
// transaction, or for a write whose fate is unknown, the statement fails with an Error: what
// was committed before is kept, the transaction's writes are rolled back by the server.
#pragma once

#include <memory>
#include <string>

#include "datasets/sql.hpp"

namespace kforge::sql {

struct PostgresOptions {
  double retry_seconds = 30;
};

std::unique_ptr<ConnectionBackend> open_postgres(const std::string& url,
                                                 const PostgresOptions& options);

}  // namespace kforge::sql
