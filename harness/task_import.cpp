#include "harness/task_import.hpp"

#include <algorithm>

#include "datasets/store.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/strings.hpp"
#include "harness/workspace.hpp"

namespace kforge {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kBuiltinFolder = "datasets/suites/builtin/";

Task new_task(const std::string& suite, const std::string& stem, const std::string& source,
              std::optional<std::string> origin) {
  Task task;
  task.suite = suite;
  task.name = task_name(suite, stem);
  task.source = source;
  task.source_hash = sha256_hex(source);
  task.origin_path = std::move(origin);
  TaskHeader header = parse_task_header(source);
  task.description = header.description;
  task.tags = header.tags;
  return task;
}

}  // namespace

std::string_view import_status_name(ImportStatus status) {
  switch (status) {
    case ImportStatus::kImported:
      return "imported";
    case ImportStatus::kUnchanged:
      return "unchanged";
    case ImportStatus::kNewVersion:
      return "new version";
    case ImportStatus::kFailed:
      return "failed";
  }
  return "?";
}

std::string ImportLine::describe() const {
  std::string line = std::string(import_status_name(status)) + " " + name;
  if (status == ImportStatus::kFailed)
    return line + " (" + file + "): " + detail;
  line += " v" + std::to_string(version);
  if (degenerate)
    line += " [degenerate: " + detail + "]";
  return line;
}

std::vector<ImportLine> import_tasks(Store& store, ReferenceRunner& runner, const fs::path& folder,
                                     const std::string& suite,
                                     const std::function<void(const ImportLine&)>& on_line) {
  if (!valid_suite_name(suite)) {
    throw Error("suite name '" + suite + "' is not allowed (letters, digits, '_', '-', '.')",
                "--suite");
  }
  if (suite == kBuiltinSuite)
    throw Error("suite name 'builtin' is reserved for the built-in tasks", "--suite");
  if (!fs::is_directory(folder))
    throw Error("no such folder", folder.string());

  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".py" &&
        entry.path().filename() != "__init__.py")
      paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());

  std::vector<ImportLine> lines(paths.size());
  std::vector<Task> tasks(paths.size());
  std::vector<size_t> to_analyse;
  for (size_t index = 0; index < paths.size(); ++index) {
    ImportLine& line = lines[index];
    line.file = paths[index].string();
    std::string stem = paths[index].stem().string();
    line.name = task_name(suite, stem);
    std::string source;
    try {
      source = files::read(paths[index], 16 << 20);  // a regular file, and no monster
    } catch (const Error& failure) {
      line.detail = failure.message();
      if (on_line)
        on_line(line);
      continue;
    }
    tasks[index] = new_task(suite, stem, source, fs::absolute(paths[index]).string());
    if (auto existing =
            task_records::find_by_hash(store.db(), line.name, tasks[index].source_hash)) {
      line.status = ImportStatus::kUnchanged;
      line.version = existing->version;
      line.degenerate = existing->degenerate;
      line.detail = existing->degenerate_reason.value_or("");
      if (on_line)
        on_line(line);
      continue;
    }
    to_analyse.push_back(index);
  }

  std::vector<TaskSource> sources;
  for (size_t index : to_analyse)
    sources.push_back({tasks[index].name, tasks[index].source, lines[index].file});
  // Store writes happen here, on the calling thread's connection, as each analysis lands.
  runner.analyze(sources, [&](size_t position, const AnalysisOutcome& outcome) {
    size_t index = to_analyse[position];
    ImportLine& line = lines[index];
    if (const auto* failure = std::get_if<ReferenceFailure>(&outcome)) {
      line.status = ImportStatus::kFailed;
      line.detail = failure->describe();
    } else {
      Task& task = tasks[index];
      task.analysis = std::get<TaskAnalysis>(outcome);
      bool had_versions = task_records::latest(store.db(), task.name).has_value();
      TaskRecord record = task.to_record();
      task_records::insert_version(store.db(), record);
      line.status = had_versions ? ImportStatus::kNewVersion : ImportStatus::kImported;
      line.version = record.version;
      line.degenerate = task.analysis->degenerate;
      line.detail = task.analysis->degenerate_reason;
    }
    if (on_line)
      on_line(line);
  });
  return lines;
}

int record_builtin_tasks(Store& store) {
  int inserted = 0;
  for (const std::string& path : embedded::list(kBuiltinFolder)) {
    if (!path.ends_with(".py"))
      continue;
    std::string stem = fs::path(path).stem().string();
    std::string source(*embedded::find(path));
    Task task = new_task(std::string(kBuiltinSuite), stem, source, path);
    if (task_records::find_by_hash(store.db(), task.name, task.source_hash))
      continue;
    TaskRecord record = task.to_record();
    task_records::insert_version(store.db(), record);
    ++inserted;
  }
  return inserted;
}

void ensure_analysed(Store& store, ReferenceRunner& runner, Task& task) {
  if (task.analysis)
    return;
  auto outcomes = runner.analyze({{task.name, task.source, task.origin_path.value_or(task.name)}});
  if (const auto* failure = std::get_if<ReferenceFailure>(&outcomes.front()))
    throw Error("the reference runner cannot analyse it: " + failure->describe(), task.name);
  task.analysis = std::get<TaskAnalysis>(outcomes.front());
  TaskRecord record = task.to_record();
  task_records::update_analysis(store.db(), record);
}

Task load_task(Workspace& workspace, const std::string& name,
               const std::function<void(const std::string&)>& progress) {
  Store& store = workspace.store();
  record_builtin_tasks(store);
  auto record = task_records::latest(store.db(), name);
  if (!record) {
    auto names = task_records::names(store.db());
    throw Error(strings::unknown_name_message("task", name, names));
  }
  Task task = Task::from_record(*record);
  if (!task.analysis) {
    if (progress)
      progress("analysing " + task.name + " with the reference runner");
    ReferenceRunner runner = ReferenceRunner::for_workspace(workspace);
    ensure_analysed(store, runner, task);
  }
  return task;
}

}  // namespace kforge
