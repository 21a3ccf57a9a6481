// kforge tasks list | show NAME | import DIR --suite NAME
#include <cstdio>

#include "cli/commands.hpp"
#include "datasets/task_records.hpp"
#include "harness/reference_runner.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::vector<std::string> parts;
  for (int64_t extent : shape)
    parts.push_back(std::to_string(extent));
  return "[" + strings::join(parts, ", ") + "]";
}

void print_signature(const Signature& signature, const char* indent) {
  auto group = [&](const char* title, const std::vector<TensorSpec>& specs) {
    for (const TensorSpec& spec : specs) {
      std::string type(dtype_torch_name(spec.dtype));
      std::string detail = spec.kind == ArgumentKind::kTensor
                               ? shape_text(spec.shape)
                               : "scalar = " + (spec.scalar ? std::to_string(*spec.scalar) : "?");
      print("%s%-10s %-24s %-9s %s\n", indent, title, spec.name.c_str(), type.c_str(),
            detail.c_str());
    }
  };
  group("input", signature.inputs);
  group("parameter", signature.parameters);
  group("output", signature.outputs);
}

std::string constants_text(const SizeConstants& constants) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : constants)
    parts.push_back(name + "=" + std::to_string(value));
  return strings::join(parts, " ");
}

void print_task(const Task& task) {
  print("%s (version %lld, suite %s)\n", task.name.c_str(), static_cast<long long>(task.version),
        task.suite.c_str());
  print("  description: %s\n", task.description.c_str());
  print("  tags: %s\n", strings::join(task.tags, ", ").c_str());
  print("  source: %s (sha256 %s)\n", task.origin_path.value_or("-").c_str(),
        task.source_hash.substr(0, 16).c_str());
  const TaskAnalysis& analysis = *task.analysis;
  if (analysis.degenerate)
    print("  DEGENERATE: %s\n", analysis.degenerate_reason.c_str());
  print("benchmark shape: %s (signature from a %s run)\n",
        constants_text(analysis.constants).c_str(),
        analysis.benchmark_method == "meta" ? "meta-device" : "real");
  print_signature(analysis.benchmark, "  ");
  if (analysis.check_shapes.empty())
    print("check shapes: none, checked at the benchmark shape only\n");
  for (const CheckShape& shape : analysis.check_shapes) {
    std::vector<std::string> scaled;
    for (const auto& [name, values] : shape.scaled) {
      scaled.push_back(name + " " + std::to_string(values.first) + " -> " +
                       std::to_string(values.second));
    }
    print("check shape '%s': %s\n", shape.name.c_str(), strings::join(scaled, ", ").c_str());
    print_signature(shape.signature, "  ");
  }
  if (!analysis.check_note.empty())
    print("note: %s\n", analysis.check_note.c_str());
  print("---- source ----\n%s", task.source.c_str());
  if (!task.source.empty() && task.source.back() != '\n')
    print("\n");
}

}  // namespace

void add_tasks_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("tasks", "list, show and import tasks");
  command->require_subcommand(1);

  struct Options {
    bool json = false;
    std::string suite;
    std::string name;
    std::string folder;
  };
  auto options = std::make_shared<Options>();

  auto* list = command->add_subcommand("list", "list tasks (the latest version of each)");
  list->add_option("--suite", options->suite, "only tasks of this suite");
  list->add_flag("--json", options->json, "print a JSON array");
  list->callback([options, &context] {
    Store& store = context.workspace().store();
    record_builtin_tasks(store);
    std::optional<std::string> suite;
    if (!options->suite.empty())
      suite = options->suite;
    auto records = list_latest_tasks(store, suite);
    nlohmann::json rows = nlohmann::json::array();
    for (const TaskRow& record : records)
      rows.push_back(Task::from_record(record).to_json(false));
    if (options->json)
      return Context::print_json(rows);
    for (const auto& row : rows) {
      std::string flag = row["degenerate"].is_null()     ? "-"
                         : row["degenerate"].get<bool>() ? "DEGENERATE"
                                                         : "ok";
      print("%-40s v%-3lld %-10s %s [%s]\n", row["name"].get<std::string>().c_str(),
            static_cast<long long>(row["version"].get<int64_t>()), flag.c_str(),
            row["description"].get<std::string>().c_str(),
            strings::join(row["tags"].get<std::vector<std::string>>(), ", ").c_str());
    }
    if (rows.empty() && suite)
      std::fprintf(stderr, "no tasks in suite '%s'\n", suite->c_str());
  });

  auto* show = command->add_subcommand("show", "show a task: signature, shapes, source");
  show->add_option("name", options->name, "task name, e.g. builtin/softmax")->required();
  show->add_flag("--json", options->json, "print a JSON object");
  show->callback([options, &context] {
    Task task = load_task(context.workspace(), options->name,
                          [&context](const std::string& line) { context.progress(line); });
    if (options->json)
      return Context::print_json(task.to_json(true));
    print_task(task);
  });

  auto* import =
      command->add_subcommand("import", "import every KernelBench-format problem in DIR");
  import->add_option("dir", options->folder, "folder of task files (*.py)")->required();
  import->add_option("--suite", options->suite, "suite name; tasks are named SUITE/<file stem>")
      ->required();
  import->add_flag("--json", options->json, "print a JSON array, one object per file");
  import->callback([options, &context] {
    Workspace& workspace = context.workspace();
  Store& store = workspace.store();
  ReferenceRunner runner = ReferenceRunner::for_workspace(workspace);
  size_t done = 0;
  auto lines =
      import_tasks(store, runner, options->folder, options->suite, [&](const ImportLine& line) {
        ++done;
        context.progress("[" + std::to_string(done) + "] " + line.describe());
      });
  size_t failed = 0;
  nlohmann::json rows = nlohmann::json::array();
  for (const ImportLine& line : lines) {
    failed += line.status == ImportStatus::kFailed ? 1 : 0;
    nlohmann::json row = {{"file", line.file},
                          {"name", line.name},
                          {"status", import_status_name(line.status)},
                          {"degenerate", line.degenerate}};
    if (line.status != ImportStatus::kFailed)
      row["version"] = line.version;
    if (!line.detail.empty())
      row[line.status == ImportStatus::kFailed ? "error" : "degenerate_reason"] = line.detail;
    rows.push_back(row);
  }
  if (options->json) {
    Context::print_json(rows);
  } else {
    for (const ImportLine& line : lines)
      print("%s\n", line.describe().c_str());
    print("%zu files: %zu failed\n", lines.size(), failed);
  }
  if (failed > 0)
    throw CLI::RuntimeError(kExitError);
});
}  // namespace kforge::cli

}  // namespace kforge::cli
