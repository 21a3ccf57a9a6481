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

}  // namespace kforge
