// The tuner: a search strategy (harness/tuning/) driven against the one evaluator
// (harness/evaluation/), so that every point of a candidate's define space is parsed, checked
// against the constraints, compiled by NVRTC in the sandbox, bound, and on a GPU verified and
// timed exactly as `kforge eval` would, and stored as an ordinary candidate and evaluation
// (origin `tune`, linked to the tuning run, the strategy named on the run). Only `correct`
// points count as found; every other verdict is told to the strategy as a failed point. A point
// over a launch limit is refused by the evaluator before its compile (check_plan_limits). The
// strategy's own time per point (ask and tell) is measured and kept with the point.
//
// Never twice: before a point is evaluated the store is asked for an evaluation of the same
// task, source, define values, architecture, GPU and harness version (any run's), and that is
// used instead. Resume: the strategy's state and the points so far are the run's checkpoint
// (run_tasks), written after every point, so a run killed at any moment (kill -9) continues with
// `resume`: the strategy is restored by replaying its results, and a point evaluated but not yet
// checkpointed is found in the store by the cache.
//
// Shared runs: every point is handed out through a lease in the store
// (datasets/point_lease_records.hpp), so that other kforge processes can `join` a running run
// and evaluate its points beside it (docs/scale-out.md). The strategy lives only in the
// checkpoint: each step (asking a point, telling a result) restores it from there under the
// run's lock, in one short transaction, and writes it back; a point is asked of a copy told every
// point in flight as failed, so that no two nodes evaluate one point. A node that dies loses only
// the point it was evaluating: its lease expires and another node evaluates it (or finds its
// evaluation in the store). With one node the points and their order are what they always were.
//
// The LLM's start (TuneRequest::llm_start, `kforge tune --llm-start N`): before the run exists,
// an LLM is shown the kernel, its define space and the task (agents/tuning_start.hpp) and
// proposes up to N points; each is checked against the space (tuning/proposed_points.hpp), a
// point that is not in it dropped with the reason. The run row, the LLM exchange and a first
// checkpoint holding the accepted points are then written in one transaction, so the model is
// asked once per run whatever happens after (resume and join read its points from the
// checkpoint). The accepted points are evaluated before the strategy asks any, each told to it
// as a start point (tuning::Strategy::tell_start), and stored as every point is (origin `tune`),
// their candidates linked to the exchange (candidates.llm_exchange_id) and marked in the
// checkpoint and report (TunedPoint::origin). A failed request or an answer without a list of
// points is noted, and the strategy starts alone.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/run_records.hpp"
#include "harness/task.hpp"
#include "harness/tuning/proposed_points.hpp"
#include "harness/verdict.hpp"

namespace kforge {
class EvaluationService;
class Store;
namespace agents {
class Provider;
class PromptLibrary;
}  // namespace agents
}  // namespace kforge

namespace kforge::autotune {

struct TuneRequest {
  std::string task;  // the task's name
  std::string source;
  std::string file_name = "candidate.cu";  // for messages and the run's request
  std::string strategy = "auto";           // a name of tuning::strategies()
  uint64_t seed = 0;
  // Budgets; the first reached ends the run. Points count whether evaluated or from the cache.
  size_t max_evals = 0;    // 0: from `fraction`, else min(space, kDefaultMaxEvals)
  double fraction = 0;     // of the (materialised) space; 0: not set
  double max_seconds = 0;  // wall time of this invocation; 0: none
  // The most valid points the strategies search; a larger space is searched on a uniform
  // sample of this many (tuning::ConstrainedSpace::materialise).
  size_t space_limit = 20000;
  // Points an LLM proposes, evaluated before the strategy asks any; 0: none. The LLM is asked
  // for at most the budget's worth.
  size_t llm_start = 0;
  // Points the caller gives (`kforge tune --start`, the MCP tune tool's `start`): define values,
  // a define left out taking its default. Evaluated first, in this order, before the LLM's and
  // the strategy's, and told to the strategy as start points. Each must be in the space searched
  // and none twice, and there may be no more than the budget: otherwise an Error before anything
  // is stored, naming the point and why.
  std::vector<std::map<std::string, int64_t>> start;

  nlohmann::json to_json() const;
  static TuneRequest from_json(const nlohmann::json& json);
};

inline constexpr size_t kDefaultMaxEvals = 100;

// Who chose a point: the strategy, the LLM's start of the run, or the caller's
// (TuneRequest::start).
enum class PointOrigin { kStrategy, kLlm, kGiven };
std::string_view point_origin_name(PointOrigin origin);  // "strategy", "llm", "given"

struct TunedPoint {
  size_t step = 0;  // 0, 1, ... in the order the strategy asked
  std::map<std::string, int64_t> defines;
  Verdict verdict = Verdict::kCompiled;
  std::string reason;
  std::optional<double> time_us;  // correct points only: the median device time
  std::optional<double> speedup_eager;
  int64_t candidate_id = 0;
  int64_t evaluation_id = 0;
  bool cached = false;  // taken from an earlier evaluation in the store
  // The strategy's own time for this point, its ask and its tell (not the evaluation); 0 in a
  // checkpoint written before it was recorded.
  double strategy_ms = 0;
  PointOrigin origin = PointOrigin::kStrategy;

  nlohmann::json to_json() const;
  static TunedPoint from_json(const nlohmann::json& json);
};

// What came of asking the LLM for a run's first points; kept in the run's checkpoint.
struct LlmStart {
  enum class Outcome {
    kProposed,  // the answer held a list of points (some may have been dropped)
    kNoPoints,  // the answer held no list of points
    kFailed,    // the request failed (its status in `note`)
  };
  size_t asked = 0;  // points the LLM was asked for
  Outcome outcome = Outcome::kFailed;
  std::string note;  // one line: what happened
  std::optional<int64_t> exchange_id;
  std::vector<size_t> points;  // the accepted points (ids of the searched space), in its order
  std::vector<std::map<std::string, int64_t>> defines;  // the accepted points' define values
  std::vector<tuning::DroppedPoint> dropped;

  nlohmann::json to_json() const;
  static LlmStart from_json(const nlohmann::json& json);
};
std::string_view llm_start_outcome_name(LlmStart::Outcome outcome);

struct TuneReport {
  int64_t run_id = 0;
  TuneRequest request;
  std::string arch, gpu;
  uint64_t product_size = 0;  // points of the define product, before constraints
  size_t space_size = 0;      // valid points the strategy searched
  bool sampled = false;       // the space was a sample of a larger one
  size_t budget = 0;
  std::vector<TunedPoint> points;
  std::optional<LlmStart> llm_start;  // where the request asked for one
  // The run's status: kCompleted once its budget (of points or time) is told, or its space
  // exhausted; kFailed or kInterrupted as another node or process ended it.
  RunStatus status = RunStatus::kRunning;
  bool exhausted = false;  // completed with every point of its space told before the budget
  double seconds = 0;      // of this invocation

  // The correct points, fastest first.
  std::vector<const TunedPoint*> ranked() const;
  size_t evaluated() const;  // points not from the cache
  nlohmann::json to_json() const;
};

// Called after every point, for a progress display.
using TuneProgress = std::function<void(const TuneReport& so_far, const TunedPoint& latest)>;

// How this node holds the points it evaluates: the lease time (store.lease_s), and another
// connection to the same store for the heartbeat that renews the lease every third of it (none:
// no heartbeat, for a run no other node joins, or points quicker than the lease).
struct TuneSharing {
  double lease_seconds = 30;
  std::function<std::unique_ptr<Store>()> open_store;
  // Told of what other nodes did (a point taken over from a node whose lease expired).
  std::function<void(const std::string&)> notice;
};

// The LLM that proposes a new run's first points (TuneRequest::llm_start), the prompt templates
// it is asked with (the built-in ones when none), and where the one-line notes of its start go:
// each dropped point with its reason, a failed request.
struct TuneLlm {
  agents::Provider* provider = nullptr;
  const agents::PromptLibrary* prompts = nullptr;
  std::function<void(const std::string&)> notice;
};

// A new tuning run of `request` on `task` (loaded and analysed, named request.task). A candidate
// that does not parse, a space with no valid point, an unknown strategy, a service that runs
// nothing (no GPU and no emulated worker: no point could be timed) or an LLM start without a
// provider is an Error before anything is stored.
TuneReport tune(Store& store, EvaluationService& service, const Task& task,
                const TuneRequest& request, const TuneProgress& progress = {},
                const TuneSharing& sharing = {}, const TuneLlm& llm = {});

// The request of tuning run `run_id`, for loading its task before `resume`; an Error when it is
// not a tuning run.
TuneRequest tune_request_of_run(const Store& store, int64_t run_id);

// The points tuning run `run_id` has told, in the order they were asked, from its checkpoint
// (none before its first point); an Error when it is not a tuning run or the checkpoint is
// malformed.
std::vector<TunedPoint> tuned_points_of_run(const Store& store, int64_t run_id);

// Continues tuning run `run_id` where its checkpoint stopped, with its own request and budget
// (points already told count towards it).
TuneReport resume(Store& store, EvaluationService& service, const Task& task, int64_t run_id,
                  const TuneProgress& progress = {}, const TuneSharing& sharing = {});

// Works on running tuning run `run_id` beside the nodes already on it (`kforge tune --join`),
// until its budget is told or its space exhausted; the report is the run's, every node's points.
// The caller checks that the run is a running tuning run.
TuneReport join(Store& store, EvaluationService& service, const Task& task, int64_t run_id,
                const TuneProgress& progress = {}, const TuneSharing& sharing = {});

}  // namespace kforge::autotune
