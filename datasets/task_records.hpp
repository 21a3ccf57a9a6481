// The tasks table: every version of every task, as rows. A task is never overwritten: a changed
// source is inserted as the next version of the same name; derived facts (signature, check
// shapes, degeneracy) may be filled in later for a version that was recorded without them.
// JSON columns travel as JSON text here; harness/task.hpp gives them their types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/sqlite.hpp"

namespace kforge {

struct TaskRecord {
  int64_t id = 0;
  std::string name;  // "builtin/softmax", "kb1/19_ReLU"
  std::string suite;
  int64_t version = 0;
  std::string source;
  std::string source_hash;
  std::optional<std::string> origin_path;
  std::string description;
  std::vector<std::string> tags;
  std::optional<std::string> signature_json;     // NULL until analysed
  std::optional<std::string> check_shapes_json;  // NULL until analysed
  bool degenerate = false;
  std::optional<std::string> degenerate_reason;
  std::string analysis_json = "{}";
  std::string created_at;

  bool analysed() const { return signature_json.has_value(); }
};

namespace task_records {

// Inserts `record` as the next version of its name (1 for a new name) and sets its id and
// version. Runs in its own transaction.
void insert_version(const sql::Connection& db, TaskRecord& record);

// Fills in the derived facts of an existing row (by id): signature, check shapes, degeneracy,
// analysis. The source and version stay as they are.
void update_analysis(const sql::Connection& db, const TaskRecord& record);

std::optional<TaskRecord> latest(const sql::Connection& db, const std::string& name);
std::optional<TaskRecord> find_version(const sql::Connection& db, const std::string& name,
                                       int64_t version);
// The version of `name` whose source has this hash, if any.
std::optional<TaskRecord> find_by_hash(const sql::Connection& db, const std::string& name,
                                       const std::string& source_hash);
// The latest version of every task (of one suite when `suite` is given), ordered by name.
std::vector<TaskRecord> list_latest(const sql::Connection& db,
                                    const std::optional<std::string>& suite = std::nullopt);
// Every name known, for "did you mean" hints.
std::vector<std::string> names(const sql::Connection& db);

}  // namespace task_records
}  // namespace kforge
