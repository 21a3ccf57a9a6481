#include "datasets/task_records.hpp"

#include <nlohmann/json.hpp>

#include "harness/util/error.hpp"
#include "harness/util/json_text.hpp"

namespace kforge {
namespace {

constexpr std::string_view kColumns =
    "id, name, suite, version, source, source_hash, origin_path, description, tags, signature, "
    "check_shapes, degenerate, degenerate_reason, analysis, created_at";

TaskRow read_row(const sql::Statement& row) {
  TaskRow record;
  record.id = row.integer(0);
  record.name = row.text(1);
  record.suite = row.text(2);
  record.version = row.integer(3);
  record.source = row.text(4);
  record.source_hash = row.text(5);
  record.origin_path = row.optional_text(6);
  record.description = row.text(7);
  auto tags = nlohmann::json::parse(row.text(8), nullptr, false);
  if (tags.is_array()) {
    for (const auto& tag : tags) {
      if (tag.is_string())
        record.tags.push_back(tag.get<std::string>());
    }
  }
  record.signature_json = row.optional_text(9);
  record.check_shapes_json = row.optional_text(10);
  record.degenerate = row.integer(11) != 0;
  record.degenerate_reason = row.optional_text(12);
  record.analysis_json = row.text(13);
  record.created_at = row.text(14);
  return record;
}

std::optional<TaskRow> first(sql::Statement& query) {
  if (!query.step())
    return std::nullopt;
  return read_row(query);
}

}  // namespace

void insert_task_version(Store& store, TaskRow& record) {
  sql::Connection& db = store.db();
  sql::Transaction transaction(db);
  auto next = db.prepare("SELECT coalesce(max(version), 0) + 1 FROM tasks WHERE name = ?");
  next.bind(1, record.name);
  next.step();
  record.version = next.integer(0);
  auto insert = db.prepare(
      "INSERT INTO tasks (name, suite, version, source, source_hash, origin_path, description, "
      "tags, signature, check_shapes, degenerate, degenerate_reason, analysis) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, record.name)
      .bind(2, record.suite)
      .bind(3, record.version)
      .bind(4, record.source)
      .bind(5, record.source_hash)
      .bind(6, record.origin_path)
      .bind(7, record.description)
      .bind(8, json_text(nlohmann::json(record.tags)))
      .bind(9, record.signature_json)
      .bind(10, record.check_shapes_json)
      .bind(11, int64_t{record.degenerate ? 1 : 0})
      .bind(12, record.degenerate_reason)
      .bind(13, record.analysis_json);
  insert.run();
  record.id = db.last_insert_id();
  auto created = db.prepare("SELECT created_at FROM tasks WHERE id = ?");
  created.bind(1, record.id);
  created.step();
  record.created_at = created.text(0);
  transaction.commit();
}

void update_task_analysis(Store& store, const TaskRow& record) {
  sql::Connection& db = store.db();
  sql::Transaction transaction(db);
  auto update = db.prepare(
      "UPDATE tasks SET signature = ?, check_shapes = ?, degenerate = ?, degenerate_reason = ?, "
      "analysis = ? WHERE id = ?");
  update.bind(1, record.signature_json)
      .bind(2, record.check_shapes_json)
      .bind(3, int64_t{record.degenerate ? 1 : 0})
      .bind(4, record.degenerate_reason)
      .bind(5, record.analysis_json)
      .bind(6, record.id);
  update.run();
  if (db.changes() != 1)
    throw Error("no task row with id " + std::to_string(record.id), record.name);
  transaction.commit();
}

std::optional<TaskRow> find_task(const Store& store, int64_t task_id) {
  auto query = store.db().prepare("SELECT " + std::string(kColumns) + " FROM tasks WHERE id = ?");
  query.bind(1, task_id);
  return first(query);
}

std::optional<TaskRow> find_latest_task(const Store& store, const std::string& name) {
  auto query = store.db().prepare("SELECT " + std::string(kColumns) +
                                  " FROM tasks WHERE name = ? ORDER BY version DESC LIMIT 1");
  query.bind(1, name);
  return first(query);
}

std::optional<TaskRow> find_task_version(const Store& store, const std::string& name,
                                         int64_t version) {
  auto query = store.db().prepare("SELECT " + std::string(kColumns) +
                                  " FROM tasks WHERE name = ? AND version = ?");
  query.bind(1, name).bind(2, version);
  return first(query);
}

std::optional<TaskRow> find_task_by_hash(const Store& store, const std::string& name,
                                         const std::string& source_hash) {
  auto query = store.db().prepare("SELECT " + std::string(kColumns) +
                                  " FROM tasks WHERE name = ? AND source_hash = ?");
  query.bind(1, name).bind(2, source_hash);
  return first(query);
}

std::vector<TaskRow> list_latest_tasks(const Store& store,
                                       const std::optional<std::string>& suite) {
  std::string sql = "SELECT " + std::string(kColumns) +
                    " FROM tasks AS t WHERE version = (SELECT max(version) FROM tasks "
                    "WHERE name = t.name)";
  if (suite)
    sql += " AND suite = ?";
  sql += " ORDER BY name";
  auto query = store.db().prepare(sql);
  if (suite)
    query.bind(1, *suite);
  std::vector<TaskRow> records;
  while (query.step())
    records.push_back(read_row(query));
  return records;
}

std::vector<std::string> list_task_names(const Store& store) {
  auto query = store.db().prepare("SELECT DISTINCT name FROM tasks ORDER BY name");
  std::vector<std::string> result;
  while (query.step())
    result.push_back(query.text(0));
  return result;
}

}  // namespace kforge
