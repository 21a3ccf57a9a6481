// The tasks table: every version of every task, as rows. A task is never overwritten: a changed
// source is inserted as the next version of the same name; derived facts (signature, check
// shapes, degeneracy) may be filled in later for a version that was recorded without them.
// JSON columns travel as JSON text here; harness/task.hpp gives them their types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

struct TaskRow {
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

// Inserts `row` as the next version of its name (1 for a new name) and sets its id, version and
// creation time. Runs in its own transaction; a source already recorded for the name is an
// Error (the table keeps one version per source).
void insert_task_version(Store& store, TaskRow& row);

// Fills in the derived facts of an existing row (by id): signature, check shapes, degeneracy,
// analysis. The source and version stay as they are. An unknown id is an Error.
void update_task_analysis(Store& store, const TaskRow& row);

std::optional<TaskRow> find_task(const Store& store, int64_t task_id);
std::optional<TaskRow> find_latest_task(const Store& store, const std::string& name);
std::optional<TaskRow> find_task_version(const Store& store, const std::string& name,
                                         int64_t version);
// The version of `name` whose source has this hash, if any.
std::optional<TaskRow> find_task_by_hash(const Store& store, const std::string& name,
                                         const std::string& source_hash);
// The latest version of every task (of one suite when `suite` is given), ordered by name.
std::vector<TaskRow> list_latest_tasks(const Store& store,
                                       const std::optional<std::string>& suite = std::nullopt);
// Every name known, in order, for "did you mean" hints.
std::vector<std::string> list_task_names(const Store& store);

}  // namespace kforge
