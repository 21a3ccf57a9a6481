#include "harness/task_import.hpp"

#include <algorithm>
#include <cctype>

#include "datasets/store.hpp"
#include "datasets/task_records.hpp"
#include "harness/util/embedded.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/strings.hpp"
#include "harness/workspace.hpp"
#include "sandbox/source_policy.hpp"

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

// The encoding named by a PEP 263 coding declaration in the first two lines, lower-cased with
// '_' as '-', and where its name starts and ends in `bytes`; nullopt when there is none.
struct CodingDeclaration {
  std::string encoding;
  size_t begin = 0;
  size_t end = 0;
};
std::optional<CodingDeclaration> coding_declaration(std::string_view bytes) {
  size_t line_start = 0;
  for (int line = 0; line < 2 && line_start < bytes.size(); ++line) {
    size_t line_end = bytes.find('\n', line_start);
    if (line_end == std::string_view::npos)
      line_end = bytes.size();
    std::string_view text = bytes.substr(line_start, line_end - line_start);
    size_t first = text.find_first_not_of(" \t\f");
    if (first != std::string_view::npos && text[first] == '#') {
      size_t at = text.find("coding", first);
      if (at != std::string_view::npos && at + 6 < text.size() &&
          (text[at + 6] == ':' || text[at + 6] == '=')) {
        size_t name = at + 7;
        while (name < text.size() && (text[name] == ' ' || text[name] == '\t'))
          ++name;
        size_t name_end = name;
        while (name_end < text.size() &&
               (std::isalnum(static_cast<unsigned char>(text[name_end])) || text[name_end] == '-' ||
                text[name_end] == '_' || text[name_end] == '.'))
          ++name_end;
        if (name_end > name) {
          CodingDeclaration found;
          for (char c : text.substr(name, name_end - name))
            found.encoding += c == '_' ? '-' : static_cast<char>(std::tolower(c));
          found.begin = line_start + name;
          found.end = line_start + name_end;
          return found;
        }
      }
    } else if (first != std::string_view::npos) {
      break;  // Python looks at the second line only when the first is a comment or blank
    }
    line_start = line_end + 1;
  }
  return std::nullopt;
}

bool is_latin1_name(const std::string& encoding) {
  for (std::string_view name : {"latin-1", "latin1", "iso-8859-1", "iso8859-1", "iso-latin-1", "l1",
                                "cp819", "8859", "latin"}) {
    if (encoding == name || encoding.starts_with(std::string(name) + "-"))
      return true;
  }
  return false;
}

bool is_utf8_name(const std::string& encoding) {
  return encoding == "utf-8" || encoding == "utf8" || encoding.starts_with("utf-8-") ||
         encoding == "ascii" || encoding == "us-ascii";
}

}  // namespace

TaskText task_text_from_bytes(std::string_view bytes) {
  TaskText result;
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (bytes.starts_with(kByteOrderMark))
    bytes.remove_prefix(kByteOrderMark.size());
  auto declaration = coding_declaration(bytes);
  if (declaration && is_latin1_name(declaration->encoding)) {
    // Every byte is the code point of the same value.
    std::string text(bytes.substr(0, declaration->begin));
    text += "utf-8";
    for (unsigned char byte : bytes.substr(declaration->end)) {
      if (byte == 0) {
        result.error = "the file holds a NUL byte, which Python refuses in source code";
        return result;
      }
      if (byte < 0x80) {
        text.push_back(static_cast<char>(byte));
      } else {
        text.push_back(static_cast<char>(0xC0 | (byte >> 6)));
        text.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
      }
    }
    result.text = std::move(text);
    return result;
  }
  if (declaration && !is_utf8_name(declaration->encoding)) {
    result.error = "the file declares the encoding '" + declaration->encoding +
                   "'; kforge reads task files in UTF-8 or Latin-1: save it as UTF-8";
    return result;
  }
  if (auto invalid = first_invalid_utf8(bytes)) {
    result.error = "the file is not UTF-8 text (byte offset " + std::to_string(*invalid) +
                   ") and declares no other encoding: save it as UTF-8, or declare "
                   "'# -*- coding: latin-1 -*-' on its first line";
    return result;
  }
  result.text = std::string(bytes);
  return result;
}

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
      TaskText text = task_text_from_bytes(files::read(paths[index], 16 << 20));
      if (!text.error.empty())
        throw Error(text.error);
      source = std::move(text.text);
    } catch (const Error& failure) {
      line.detail = failure.message();
      if (on_line)
        on_line(line);
      continue;
    }
    tasks[index] = new_task(suite, stem, source, fs::absolute(paths[index]).string());
    if (auto existing = find_task_by_hash(store, line.name, tasks[index].source_hash)) {
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
      bool had_versions = find_latest_task(store, task.name).has_value();
      TaskRow record = task.to_record();
      insert_task_version(store, record);
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
    if (find_task_by_hash(store, task.name, task.source_hash))
      continue;
    TaskRow record = task.to_record();
    try {
      insert_task_version(store, record);
    } catch (const Error&) {
      // Another kforge opening the same new workspace recorded it between the look and the
      // insert (the insert then breaks UNIQUE (name, source_hash)): that is the same outcome.
      if (find_task_by_hash(store, task.name, task.source_hash))
        continue;
      throw;
    }
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
  TaskRow record = task.to_record();
  update_task_analysis(store, record);
}

Task load_task(Workspace& workspace, const std::string& name,
               const std::function<void(const std::string&)>& progress) {
  Store& store = workspace.store();
  record_builtin_tasks(store);
  auto record = find_latest_task(store, name);
  if (!record) {
    auto names = list_task_names(store);
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
