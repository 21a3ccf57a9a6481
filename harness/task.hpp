// A task: a PyTorch program in the KernelBench problem format (docs/design.md, task), with
// what the reference runner derived from it: the signature at the benchmark shape (the
// program's own size constants), check shapes (the size constants scaled down, at least one
// off multiples of 32 where the program allows), and whether its output is degenerate.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/task_records.hpp"
#include "harness/signature.hpp"

namespace kforge {

using SizeConstants = std::map<std::string, int64_t>;

struct CheckShape {
  std::string name;         // "small", "odd"
  SizeConstants constants;  // every integer constant of the program at this shape
  std::map<std::string, std::pair<int64_t, int64_t>> scaled;  // constant: (benchmark, here)
  Signature signature;
};

// What the reference runner's `analyze` says about a program.
struct TaskAnalysis {
  SizeConstants constants;       // the benchmark shape
  std::string benchmark_method;  // "meta" (shapes only, no compute) or "run"
  Signature benchmark;
  std::vector<CheckShape> check_shapes;  // empty: checked at the benchmark shape only
  std::string check_note;                // why there are fewer check shapes, if so
  bool degenerate = false;
  std::string degenerate_reason;
  std::string torch_version;

  // Parses the runner's reply; throws Error naming `where` and the field for a malformed one.
  static TaskAnalysis from_reply(const nlohmann::json& reply, const std::string& where);
};

// The comment header of a task file: `# description: ...` and `# tags: a, b`. KernelBench
// files have none; their description falls back to the first line of Model's docstring.
struct TaskHeader {
  std::string description;
  std::vector<std::string> tags;
};
TaskHeader parse_task_header(const std::string& source);

struct Task {
  int64_t id = 0;
  std::string name;
  std::string suite;
  int64_t version = 0;
  std::string source;
  std::string source_hash;
  std::optional<std::string> origin_path;
  std::string description;
  std::vector<std::string> tags;
  std::optional<TaskAnalysis> analysis;  // nullopt until the reference runner has seen it

  bool degenerate() const { return analysis && analysis->degenerate; }

  static Task from_record(const TaskRow& record);
  // The row for the store (analysis included when present).
  TaskRow to_record() const;
  // For `kforge tasks show --json` (and list, without the source and shapes).
  nlohmann::json to_json(bool full) const;
};

// "builtin/softmax" -> suite "builtin". Suite names: letters, digits, '_', '-', '.'.
bool valid_suite_name(const std::string& suite);
std::string task_name(const std::string& suite, const std::string& stem);

}  // namespace kforge
