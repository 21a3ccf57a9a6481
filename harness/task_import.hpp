// Bringing tasks into the store. `import_tasks` reads every KernelBench-format problem in a
// folder as suite NAME (tasks NAME/<file stem>), analyses the new and changed ones with the
// reference runner in parallel, and records each as a new version; an unchanged file is left
// alone, so importing twice is idempotent. The built-in suite (embedded in the binary) reaches
// the store the same way, as suite `builtin`: `record_builtin_tasks` inserts a version for each
// built-in whose source is new (cheap: no Python), and `ensure_analysed` fills in a task's
// signature and check shapes the first time they are needed.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "harness/reference_runner.hpp"
#include "harness/task.hpp"

namespace kforge {

class Store;
class Workspace;

enum class ImportStatus { kImported, kUnchanged, kNewVersion, kFailed };
std::string_view import_status_name(ImportStatus status);  // "imported", "unchanged", ...

struct ImportLine {
  std::string file;  // as found in the folder
  std::string name;  // suite/stem
  ImportStatus status = ImportStatus::kFailed;
  int64_t version = 0;
  std::string detail;  // why it failed; or the degenerate reason
  bool degenerate = false;

  // "imported kb/19_ReLU v1", "failed kb/bad: syntax error ..." : one report line.
  std::string describe() const;
};

inline constexpr std::string_view kBuiltinSuite = "builtin";

// A task file's bytes as the UTF-8 text kforge stores, read as Python reads them: UTF-8 by
// default (a UTF-8 byte-order mark dropped), or the encoding its coding declaration (PEP 263,
// first two lines) names. Latin-1 files are decoded to UTF-8 and their declaration rewritten to
// say utf-8, so the stored text is what Python saw; ASCII and UTF-8 files are kept as they are.
// `error` says, in one line, why a file cannot be read (not UTF-8, or declared in an encoding
// kforge does not decode); then `text` is empty.
struct TaskText {
  std::string text;
  std::string error;
};
TaskText task_text_from_bytes(std::string_view bytes);

// Throws Error for a folder that does not exist or a suite name that is not allowed; a file
// that cannot be imported is a kFailed line, not an Error. `on_line` sees each line as it is
// known (in completion order); the returned lines are in file order.
std::vector<ImportLine> import_tasks(Store& store, ReferenceRunner& runner,
                                     const std::filesystem::path& folder, const std::string& suite,
                                     const std::function<void(const ImportLine&)>& on_line = {});

// Inserts a version of every built-in task whose source the store does not hold yet. Returns
// how many were inserted.
int record_builtin_tasks(Store& store);

// Analyses `task` (in the store too) if it has not been analysed yet. Throws Error with the
// traceback's tail if the reference fails.
void ensure_analysed(Store& store, ReferenceRunner& runner, Task& task);

// The latest version of the task called `name` in the workspace's store (built-ins recorded
// first), analysed: the reference runner runs only the first time. `progress` hears about that
// run. Throws Error, with the nearest known name, for an unknown task.
Task load_task(Workspace& workspace, const std::string& name,
               const std::function<void(const std::string&)>& progress = {});

}  // namespace kforge
