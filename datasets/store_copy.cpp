#include "datasets/store_copy.hpp"

#include <algorithm>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

// Parents before children, so that every foreign key finds its row (candidates refer to
// earlier candidates, copied in id order). Tables a later migration adds and this list does not
// name are copied after these, in name order.
constexpr std::string_view kTableOrder[] = {
    "tasks",       "runs",      "run_tasks", "llm_exchanges", "candidates",
    "evaluations", "baselines", "profiles",  "promotions",    "device_measurements",
};

std::vector<std::string> tables_of(const Store& store) {
  const bool postgres = store.dialect() == sql::Dialect::kPostgres;
  auto query = store.db().prepare(
      postgres ? "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                 "AND tablename <> 'kforge_schema' ORDER BY tablename"
               : "SELECT name FROM sqlite_schema WHERE type = 'table' "
                 "AND name NOT LIKE 'sqlite_%' ORDER BY name");
  std::vector<std::string> names;
  while (query.step())
    names.push_back(query.text(0));
  std::vector<std::string> ordered;
  for (std::string_view known : kTableOrder) {
    auto found = std::find(names.begin(), names.end(), known);
    if (found != names.end()) {
      ordered.emplace_back(known);
      names.erase(found);
    }
  }
  ordered.insert(ordered.end(), names.begin(), names.end());
  return ordered;
}

int64_t count_rows(const Store& store, const std::string& table) {
  auto query = store.db().prepare("SELECT count(*) FROM " + table);
  query.step();
  return query.integer(0);
}

// Copies one table's rows in the order of its first column; `has_id` tells whether that is id.
int64_t copy_table(const Store& from, Store& to, const std::string& table, bool& has_id) {
  auto read = from.db().prepare("SELECT * FROM " + table + " ORDER BY 1");
  std::optional<sql::Statement> insert;
  int columns = 0;
  int64_t rows = 0;
  while (read.step()) {
    if (!insert) {
      columns = read.column_count();
      has_id = read.column_name(0) == "id";
      std::string names;
      std::string marks;
      for (int column = 0; column < columns; ++column) {
        names += (column ? ", " : "") + read.column_name(column);
        marks += column ? ", ?" : "?";
      }
      insert.emplace(
          to.db().prepare("INSERT INTO " + table + " (" + names + ") VALUES (" + marks + ")"));
    }
    for (int column = 0; column < columns; ++column) {
      switch (read.kind(column)) {
        case sql::ColumnKind::kNull:
          insert->bind(column + 1, std::nullopt);
          break;
        case sql::ColumnKind::kInteger:
          insert->bind(column + 1, read.integer(column));
          break;
        case sql::ColumnKind::kReal:
          insert->bind(column + 1, read.real(column));
          break;
        case sql::ColumnKind::kText:
          insert->bind(column + 1, std::string_view(read.text(column)));
          break;
        case sql::ColumnKind::kBlob:
          insert->bind_blob(column + 1, read.text(column));
          break;
      }
    }
    insert->run();
    insert->reset();
    ++rows;
  }
  return rows;
}

}  // namespace

StoreCopyResult copy_store(const Store& from, Store& to, bool replace) {
  if (from.schema_version() != to.schema_version()) {
    throw Error("the two stores have different schema versions (" +
                    std::to_string(from.schema_version()) + " and " +
                    std::to_string(to.schema_version()) + ")",
                to.location());
  }
  std::vector<std::string> tables = tables_of(from);
  std::vector<std::string> target_tables = tables_of(to);
  for (const std::string& table : tables) {
    if (std::find(target_tables.begin(), target_tables.end(), table) == target_tables.end())
      throw Error("the target store has no table " + table, to.location());
  }
  Store::Transaction transaction(to);
  if (to.dialect() == sql::Dialect::kSqlite)
    to.db().execute("PRAGMA defer_foreign_keys = ON");
  for (const std::string& table : target_tables) {
    if (count_rows(to, table) == 0)
      continue;
    if (!replace) {
      throw Error("the target store is not empty (table " + table +
                      " has rows); --replace deletes them first",
                  to.location());
    }
  }
  if (replace) {
    for (auto table = target_tables.rbegin(); table != target_tables.rend(); ++table)
      to.db().execute("DELETE FROM " + *table);
  }
  StoreCopyResult result;
  std::vector<std::string> with_ids;
  for (const std::string& table : tables) {
    bool has_id = false;
    int64_t rows = copy_table(from, to, table, has_id);
    result.rows.emplace_back(table, rows);
    result.total += rows;
    if (has_id)
      with_ids.push_back(table);
  }
  if (to.dialect() == sql::Dialect::kPostgres) {
    // New rows must get ids after the copied ones (setval of NULL, for a column without a
    // sequence, changes nothing).
    for (const std::string& table : with_ids) {
      to.db()
          .prepare("SELECT setval(pg_get_serial_sequence(?, 'id'), (SELECT max(id) FROM " + table +
                   "))")
          .bind(1, table)
          .run();
    }
  }
  transaction.commit();
  return result;
}

}  // namespace kforge
