// The store's schema history. Each migration moves the schema from version N-1 to N and is
// never edited once released: a change to the schema is a new migration at the end.
#pragma once

#include <span>
#include <string_view>

namespace kforge {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
  // What PostgreSQL runs instead, where SQLite's text cannot be translated (sql::postgres_schema)
  // into an equivalent: empty for most migrations.
  std::string_view postgres_sql = {};
};

std::span<const Migration> migrations();

}  // namespace kforge
