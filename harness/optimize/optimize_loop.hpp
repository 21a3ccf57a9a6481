// The optimize loop: for one task, ask an agent for candidates, evaluate each, tell the agent
// what became of it, and keep everything in the store as it happens.
//
//   llm     a Strategy (agents/strategy.hpp) asks; each Ask goes to the Provider on its own
//           thread (the provider bounds how many are in flight: llm.concurrency) while the loop
//           thread stores the answers that are in, evaluates their candidates (the compile runs
//           in the CompilePool's sandboxed workers) and tells the strategy. The exchange row is
//           written as soon as an answer arrives; the candidate and its evaluation in one
//           transaction after; the strategy's state goes into run_tasks.state after every tell.
//   replay  a fixed list of sources (files, seed kernels, stored candidates), evaluated in
//           order; run_tasks.state counts how far it got.
//
// Resume: a run_tasks.state written by an earlier process is continued. The strategy is
// restored; an ask whose exchange is already stored is told from the store (its candidate is
// evaluated first if the process died in between), and only the others are sent again (the
// provider's response cache answers those it had finished). Nothing stored is redone.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "agents/provider.hpp"
#include "agents/strategy.hpp"
#include "datasets/run_records.hpp"
#include "harness/task.hpp"
#include "harness/verdict.hpp"

namespace kforge {

class Evaluator;
struct EvaluationRequest;
class Store;

// One source for the replay agent.
struct ReplayItem {
  std::string source;
  std::string file_name;             // for messages and the display
  std::string origin;                // "replay" or "seed"
  std::optional<int64_t> parent_id;  // the stored candidate re-evaluated, if any
};

// The engineer's starting point for the LLM agent (`kforge optimize TASK --from FILE.cu --hint
// TEXT`): the candidate is evaluated and stored first (origin human), and every conversation
// starts from it and its result, as a refine step would; the hint is the instruction that goes
// with it (or ends the first prompt when there is no candidate).
struct LlmStart {
  std::optional<ReplayItem> candidate;
  std::string hint;

  bool empty() const { return !candidate && hint.empty(); }
};

// Where one task of a run stands: what the live display and the summary show.
struct TaskProgress {
  std::string task;
  int64_t attempts = 0;
  std::map<std::string, int64_t> verdicts;  // verdict or agent outcome name -> count
  std::optional<int64_t> best_candidate_id;
  std::optional<Verdict> best_verdict;
  std::optional<double> best_speedup;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  double cost_usd = 0;
  double elapsed_s = 0;
  double time_limit_s = 0;     // 0: none
  std::string last;            // the latest attempt, one short phrase
  int64_t in_flight = 0;       // LLM requests waiting for their answer
  int64_t streamed_chars = 0;  // answer text received so far by those requests
};

struct TaskOutcome {
  TaskProgress progress;
  // kCompleted, kFailed, or kInterrupted (the stop flag was set); kRunning only for a replay
  // task of which other nodes still evaluate candidate slots (replay_outcome).
  RunStatus status = RunStatus::kCompleted;
  std::string stop_reason;
  std::string error;  // why it failed (a fatal LLM error), one line

  nlohmann::json to_json() const;
  // What to_json wrote; nothing for a document that is not one.
  static std::optional<TaskOutcome> from_json(const nlohmann::json& json);
};

using ProgressCallback = std::function<void(const TaskProgress&)>;

// A replay item's stored candidate and its judgement.
struct ReplayedCandidate {
  int64_t candidate_id = 0;
  Verdict verdict = Verdict::kCompileError;
  nlohmann::json evidence;  // as an agent is told it
  std::optional<double> speedup;
  std::string file_name;
};
// Counts a replayed candidate into a task's progress (attempts, verdicts, the best so far by
// `best_score`, the last attempt).
void count_replayed(TaskProgress& progress, double& best_score, const ReplayedCandidate& replayed);

class OptimizeLoop {
 public:
  // `stop`, when given, is watched: once set (Ctrl-C), no more candidates are asked for, LLM
  // requests in flight are cancelled (not stored, so a resume sends them again), candidates
  // already compiling are evaluated and stored, and the task ends as "interrupted".
  OptimizeLoop(Store& store, Evaluator& evaluator, int64_t run_id, ProgressCallback on_progress,
               const std::atomic<bool>* stop = nullptr);

  // Runs (or continues, when run_tasks holds a state for this task) the LLM agent on `task`.
  // `strategy` is used only when there is no stored state to restore. A `engineer` candidate is
  // evaluated once (a resumed run finds it in the state) and is the parent of the first turn's
  // candidates.
  TaskOutcome run_llm(const Task& task, agents::Provider& provider,
                      const agents::StrategySettings& strategy,
                      std::shared_ptr<const agents::PromptBuilder> prompts,
                      const LlmStart& engineer = {});

  // Evaluates `items`, skipping those a previous process of this run already stored: started in
  // order, a few at a time, and each stored as its GPU stages end.
  TaskOutcome run_replay(const Task& task, const std::vector<ReplayItem>& items);

  // One candidate slot of a replay run (`kforge optimize --agent replay`, whose nodes and lanes
  // share the run by candidate slot: datasets/slot_lease_records.hpp): item `index` of `items`
  // is evaluated and stored, unless the run already stored it (a node died between storing it
  // and releasing its slot); then the task's checkpoint counts what the run stored of it, every
  // node's candidates. Returns the item's candidate and judgement, or nullopt when the stop flag
  // was set before the item was evaluated: nothing was stored.
  std::optional<ReplayedCandidate> replay_slot(const Task& task,
                                               const std::vector<ReplayItem>& items, size_t index);
  // Where a replay task of the run stands, from the store (every node's candidates of it):
  // completed once every item is stored, running before.
  TaskOutcome replay_outcome(const Task& task, const std::vector<ReplayItem>& items) const;

 private:
  Store& store_;
  Evaluator& evaluator_;
  int64_t run_id_;
  ProgressCallback on_progress_;
  const std::atomic<bool>* stop_ = nullptr;

  bool stop_requested() const { return stop_ != nullptr && stop_->load(); }
  // What evaluating replay item `index` asks for: its candidate is iteration `index` of the run.
  EvaluationRequest replay_request(const ReplayItem& item, size_t index) const;
};

// run_tasks rows: the per-task checkpoint of a run.
std::optional<nlohmann::json> load_task_state(const Store& store, int64_t run_id, int64_t task_id);
void save_task_state(Store& store, int64_t run_id, int64_t task_id, const nlohmann::json& state,
                     RunStatus status);
// A replay task's checkpoint: `done` of its `items` stored.
void save_replay_state(Store& store, int64_t run_id, int64_t task_id, size_t done, size_t items,
                       RunStatus status);

// Every .cu file under `path` (or `path` itself), sorted by path, read. Throws Error for a
// path that does not exist or a folder without any .cu file.
std::vector<ReplayItem> replay_files(const std::filesystem::path& path, const std::string& origin);
// Stored candidates, in the order given, as replay items whose parent is the stored one.
// Throws Error naming an id that is not in the store.
std::vector<ReplayItem> replay_candidates(const Store& store, const std::vector<int64_t>& ids);
// The name of the task a candidate was written for.
std::string task_name_of_candidate(const Store& store, int64_t candidate_id);

// The folder of seed kernels for built-in tasks in the source tree this kforge was built from
// (kernels/seeds/). The CLI replaces it with $KFORGE_SEEDS_DIR where that is set.
std::filesystem::path built_in_seeds_folder();

}  // namespace kforge
