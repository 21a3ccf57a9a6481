// One night of `kforge nightly`: named steps in a fixed order, each a row of night_steps with its
// status, seconds, one line of detail and its checkpoint.
//
//   environment  GPU, driver, CUDA, NVRTC, torch and kforge versions, and what changed since the
//                last finished night
//   baselines    where torch or the driver changed: this GPU's cached PyTorch baselines dropped,
//                so the evaluations below time them again and their speedups are recomputed
//                (before reverify, so that tonight's speedups stand on fresh baselines)
//   reverify     every shipped kernel of the workspace library evaluated on this GPU through the
//                evaluation service; a verdict change, or a median slower than the recorded one
//                by more than the recorded spread, is a regression. Recorded: the manifest's
//                `verified` entry for this GPU, else the last night that measured the kernel here
//   tune         library kernels not yet tuned for this architecture (harness/autotune/)
//   optimize     each covered task through the optimize loop: the search (replay of the task's
//                seed kernels), then the LLM where nightly.agents says so, within the budgets
//   promote      the best candidate of each covered task, under every promotion rule
//   report       the NightReport, stored with the night and written by write_night_report
//
// Robustness: a step that throws costs that step (a failure in the report) and the night goes
// on; inside reverify and optimize, a kernel or task that fails costs only itself. A night that
// was killed (its row still `running`) is continued by the next nightly: steps already done,
// skipped or failed are not run again, and reverify and optimize continue from their
// checkpoints (kernels done, tasks done; the optimize loop's own run_tasks checkpoint inside a
// task). The budgets (wall time, evaluations, LLM tokens and cost) and SIGINT/SIGTERM stop the
// night cleanly: work in hand is finished and stored, the remaining steps are `stopped`.
// The caller holds the store's NightLock.
//
// Several nodes, one night (`kforge nightly --join NIGHT`): the optimize step's tasks are claimed
// through the store's leases (datasets/lease_records.hpp) on the step's search run, as `kforge
// optimize --join` claims a run's tasks, so that other kforge processes (another GPU machine on
// a PostgreSQL store, another process here) take their share. The night's owner runs every step,
// holds the NightLock and writes the report; a joining node takes no lock, waits for the owner's
// optimize step to lease its tasks, works on tasks until none is open and returns. Each node adds
// the tasks it finished to the step's checkpoint in its own transaction, and is recorded there as
// a node of the night (`nodes`). A node killed with kill -9 loses only the task it held: its
// lease expires (store.lease_s) and another node, the owner included, takes the task over from
// the optimize loop's checkpoint.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agents/provider.hpp"
#include "datasets/night_records.hpp"
#include "harness/nightly/night_report.hpp"
#include "harness/nightly/nightly_config.hpp"

namespace kforge {
class Workspace;
}

namespace kforge::nightly {

struct NightSettings {
  NightlyConfig config;
  std::string join;  // the night a joining node works on (`--join NIGHT`); "" for the owner
  std::vector<std::string> gpu_worker_command;  // in place of `kforge worker gpu` (tests)
  std::filesystem::path seeds_folder;           // <folder>/<task stem>/*.cu: the search's seeds
  // The LLM provider for nightly.agents llm or both (the CLI makes it: it reads the API key).
  std::function<std::unique_ptr<agents::Provider>()> make_provider;
  std::function<void(const std::string&)> progress;
  const std::atomic<bool>* stop = nullptr;  // set by SIGINT/SIGTERM
};

// Where a night's time went, for the overhead benchmark (bench/nightly_overhead.sh).
struct NightTiming {
  double wall_s = 0;
  double evaluation_s = 0;  // inside the evaluation service and the optimize loop
  double startup_s = 0;     // starting the evaluation service (workers)
};

// How a joining node's work ended: kDone, no task of the step is open; kStopped, a budget or a
// signal stopped this node; kEnded, the night or its optimize step ended before every task was
// done. Named "done", "stopped", "ended" in `kforge nightly --join`'s output.
enum class JoinStatus { kDone, kStopped, kEnded };
std::string_view join_status_name(JoinStatus status);
std::optional<JoinStatus> join_status_named(std::string_view name);  // nullopt for other text

// What a joining node did.
struct JoinOutcome {
  std::string night;
  std::string node;                // this process, "<host>:<pid>"
  std::vector<std::string> tasks;  // the tasks this node finished
  JoinStatus status = JoinStatus::kEnded;
  std::string detail;
};

// The night `name` for a node to join. Throws Error for an unknown night, one that has finished,
// or one no process works on (interrupted: its next `kforge nightly` continues it).
NightRow night_to_join(const Store& store, const std::string& name);
// Sets on `config` the night's effective configuration (its nightly.*, llm.*, verify.*,
// timing.*, profile.* and promote.* keys, arch and store.lease_s), so that every node of a night
// works and judges alike.
void adopt_night_config(Config& config, const NightRow& night);

class Night {
 public:
  Night(Workspace& workspace, NightSettings settings);
  ~Night();
  Night(const Night&) = delete;
  Night& operator=(const Night&) = delete;

  // Runs (or continues) the night and returns its report; the report files are written and
  // the on-regression command has run. Throws Error only when the store cannot be used.
  NightReport run();
  // Joins the night settings.join names (night_to_join) and works on its optimize step's tasks
  // beside the owner and the other nodes; writes no report. Throws Error only when the store
  // cannot be used.
  JoinOutcome join();

  const NightTiming& timing() const { return timing_; }
  // The report files' folder and the JSON file of the last run().
  const std::filesystem::path& report_json() const { return report_json_; }

 private:
  struct Implementation;
  std::unique_ptr<Implementation> implementation_;
  NightTiming timing_;
  std::filesystem::path report_json_;
};

}  // namespace kforge::nightly
