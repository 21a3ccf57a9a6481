#include "harness/autotune/tuner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "agents/provider.hpp"
#include "agents/tuning_start.hpp"
#include "datasets/exchange_records.hpp"
#include "datasets/point_lease_records.hpp"
#include "datasets/records.hpp"
#include "datasets/run_records.hpp"
#include "datasets/tuning_records.hpp"
#include "harness/autotune/define_space.hpp"
#include "harness/candidate/candidate_file.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/harness_version.hpp"
#include "harness/tuning/proposed_points.hpp"
#include "harness/tuning/strategy.hpp"
#include "harness/util/error.hpp"
#include "harness/util/hash.hpp"

namespace kforge::autotune {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kCheckpointVersion = 1;

std::string defines_key(const std::map<std::string, int64_t>& defines) {
  return nlohmann::json(defines).dump();
}

// The points a run's checkpoint holds; an Error naming the run for another version or a
// malformed one.
std::vector<TunedPoint> checkpoint_points(const nlohmann::json& state, int64_t run_id) {
  try {
    if (state.at("version").get<int>() != kCheckpointVersion)
      throw Error("a tuning checkpoint of another version", "run " + std::to_string(run_id));
    std::vector<TunedPoint> points;
    for (const nlohmann::json& point : state.at("points"))
      points.push_back(TunedPoint::from_json(point));
    return points;
  } catch (const nlohmann::json::exception& error) {
    throw Error(std::string("malformed tuning checkpoint: ") + error.what(),
                "run " + std::to_string(run_id));
  }
}

// Renews one point's lease every third of the lease time while the point is evaluated, through
// a store connection of its own (the evaluating thread's is busy). A renewal that finds the lease
// gone stops it: the tell step then finds the point taken over.
class PointHeartbeat {
 public:
  PointHeartbeat(Store* store, int64_t run_id, int64_t point, std::string node,
                 double lease_seconds)
      : store_(store),
        run_id_(run_id),
        point_(point),
        node_(std::move(node)),
        lease_seconds_(lease_seconds) {
    if (store_ != nullptr)
      thread_ = std::thread([this] { beat(); });
  }
  ~PointHeartbeat() {
    {
      std::lock_guard lock(mutex_);
      finished_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable())
      thread_.join();
  }
  PointHeartbeat(const PointHeartbeat&) = delete;
  PointHeartbeat& operator=(const PointHeartbeat&) = delete;

 private:
  void beat() {
    const auto every = std::chrono::duration<double>(lease_seconds_ / 3);
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, every, [this] { return finished_; })) {
      try {
        if (!renew_point_lease(*store_, run_id_, point_, node_, lease_seconds_))
          return;
      } catch (const Error&) {
        // The store did not answer within its retry limit: the next beat tries again.
      }
    }
  }

  Store* store_;
  int64_t run_id_, point_;
  std::string node_;
  double lease_seconds_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::thread thread_;
};

// Everything one node works with on one run: the space, the cache, the report so far. The
// strategy is not kept here between steps: the run's checkpoint in the store holds it.
class TuningRun {
 public:
  TuningRun(Store& store, EvaluationService& service, const Task& task, TuneRequest request,
            TuneSharing sharing)
      : store_(store), service_(service), task_(task), sharing_(std::move(sharing)) {
    report_.request = std::move(request);
    if (!service_.runs())
      throw Error("nothing runs candidates here (" + service_.options().no_run_reason +
                      "), so no point could be timed; tuning needs a GPU",
                  "kforge tune");
    auto parsed = parse_candidate(report_.request.source, report_.request.file_name);
    if (!parsed.ok())
      throw Error(parsed.error().message(), report_.request.file_name);
    candidate_ = std::move(parsed).value();
    declared_ = std::make_unique<tuning::ConstrainedSpace>(define_space(*candidate_, task_));
    report_.product_size = declared_->product_size();
    space_ = std::make_unique<tuning::TuningSpace>(
        declared_->materialise(report_.request.space_limit, report_.request.seed));
    report_.space_size = space_->size();
    report_.sampled = report_.space_size < report_.product_size &&
                      report_.space_size == report_.request.space_limit;
    report_.budget = budget();
    given_ = given_points();
    report_.gpu = service_.gpu_name().value_or("");
    try {
      report_.arch = choose_compile_arch(candidate_->plan, service_.arch());
    } catch (const PlanError&) {
      report_.arch = service_.arch();  // every point gets its arch_mismatch verdict
    }
    // Checked before a run row exists: the strategy's name.
    tuning::make_strategy(report_.request.strategy, *space_,
                          {report_.request.seed, report_.budget});
  }

  // A new run. With an LLM start the model is asked first, before the run exists; the run, the
  // exchange and the checkpoint holding the accepted points are then written together.
  void start(const TuneLlm& llm) {
    RunRow run{.kind = "tune",
               .request = report_.request.to_json(),
               .agent = "tune",
               .strategy = report_.request.strategy,
               .gpu = report_.gpu};
    // A node that joins must be of the same schema (the point leases).
    run.request["schema_version"] = Store::latest_schema_version();
    std::optional<agents::TuningStartProposal> proposal;
    if (report_.request.llm_start > 0) {
      if (llm.provider == nullptr)
        throw Error("an LLM start needs an LLM provider (the [llm] keys of kforge.toml)",
                    "--llm-start");
      run.model = llm.provider->settings().model;
      proposal = agents::propose_tuning_start(
          *llm.provider,
          agents::tuning_start_conversation(
              llm.prompts != nullptr ? *llm.prompts : agents::PromptLibrary::load(), llm_ask()));
    }
    Store::Transaction transaction(store_);
    report_.run_id = insert_run(store_, run);
    if (proposal) {
      LlmStart start = checked_llm_start(*proposal);
      start.exchange_id = insert_exchange(store_, exchange_row(*llm.provider, *proposal));
      llm_start_ = std::move(start);
      report_.llm_start = llm_start_;
      checkpoint(*tuning::make_strategy(report_.request.strategy, *space_,
                                        {report_.request.seed, report_.budget}));
    }
    transaction.commit();
    if (llm_start_ && llm.notice)
      tell_llm_start(llm.notice);
  }

  // A run nobody works on any more: the points its nodes held are free at once.
  void restore(int64_t run_id) {
    report_.run_id = run_id;
    free_point_leases(store_, run_id);
    reopen_run(store_, run_id);
    read_llm_start();
  }

  void join(int64_t run_id) {
    report_.run_id = run_id;
    read_llm_start();
  }

  TuneReport run(const TuneProgress& progress) {
    const auto started = Clock::now();
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - started).count(); };
    report_.status = RunStatus::kCompleted;
    const double pause = std::clamp(sharing_.lease_seconds / 10, 0.1, 1.0);
    std::optional<tuning::PointId> held;
    try {
      for (;;) {
        report_.seconds = elapsed();
        const bool out_of_time =
            report_.request.max_seconds > 0 && elapsed() >= report_.request.max_seconds;
        Step step = next_step(out_of_time);
        if (step.kind == Step::kDone)
          break;
        if (step.kind == Step::kWait) {
          std::this_thread::sleep_for(std::chrono::duration<double>(pause));
          continue;
        }
        held = step.point;
        TunedPoint point;
        {
          PointHeartbeat heartbeat(heartbeat_store(), report_.run_id,
                                   static_cast<int64_t>(step.point), store_.node(),
                                   sharing_.lease_seconds);
          point = evaluate(step.point, step.iteration);
        }
        point.strategy_ms = step.ask_ms;
        const bool told = tell(step.point, point);
        held.reset();
        report_.seconds = elapsed();
        if (told && progress)
          progress(report_, report_.points.back());
      }
    } catch (const Error& failure) {
      // A broken tool gives its point back to the other nodes; the run ends as failed when no
      // other node is working on it (its checkpoint still lets it resume).
      give_up(held, failure);
      throw;
    }
    report_.seconds = elapsed();
    return report_;
  }

 private:
  struct Step {
    enum Kind { kEvaluate, kWait, kDone } kind = kDone;
    tuning::PointId point = 0;
    size_t iteration = 0;  // the point's place in the run, for its candidate
    double ask_ms = 0;     // the strategy's time to propose it
  };

  // ---- the caller's start -------------------------------------------------------------------

  // TuneRequest::start as points of the space, each define left out at its default; the same
  // for a new, resumed or joined run (the space is materialised the same way each time).
  std::vector<tuning::PointId> given_points() const {
    const std::vector<std::map<std::string, int64_t>>& start = report_.request.start;
    if (start.size() > report_.budget)
      throw Error(std::to_string(start.size()) + " start points, but a budget of " +
                      std::to_string(report_.budget) +
                      " points: give fewer, or a larger --max-evals",
                  "--start");
    nlohmann::json proposed = nlohmann::json::array();
    for (const std::map<std::string, int64_t>& given : start) {
      nlohmann::json point = given;
      for (const DefineSpec& define : candidate_->plan.defines)
        if (!point.contains(define.name))
          point[define.name] = define.default_value;
      proposed.push_back(point);
    }
    tuning::CheckedProposal checked =
        tuning::check_proposed_points(*declared_, *space_, proposed, start.size(), "define");
    if (!checked.dropped.empty()) {
      const tuning::DroppedPoint& dropped = checked.dropped.front();
      throw Error(dropped.reason,
                  "start point " + std::to_string(dropped.index + 1) + " " + dropped.point);
    }
    return checked.accepted;
  }

  bool given(tuning::PointId id) const {
    return std::find(given_.begin(), given_.end(), id) != given_.end();
  }

  // ---- the LLM's start ----------------------------------------------------------------------

  // What the model is shown: the task, the GPU, the kernel and its space.
  agents::TuningStartAsk llm_ask() const {
    agents::TuningStartAsk ask;
    ask.task = {.name = task_.name,
                .source = task_.source,
                .signature = task_.analysis ? task_.analysis->benchmark.to_json()
                                            : nlohmann::json::object()};
    ask.gpu.architecture = report_.arch;
    ask.gpu.name =
        report_.gpu.empty() ? "an NVIDIA GPU of architecture " + report_.arch : report_.gpu;
    if (!service_.gpus().empty()) {
      const GpuInfo& gpu = service_.gpus().front();
      ask.gpu.sm_count = gpu.sm_count;
      ask.gpu.shared_memory_per_block_bytes = gpu.shared_memory_per_block_optin;
      // Bus width (bits) x memory clock (kHz) x 2 (double data rate), in GB/s.
      ask.gpu.memory_bandwidth_gb_s =
          2.0 * gpu.memory_clock_khz * 1e3 * (gpu.memory_bus_width_bits / 8.0) / 1e9;
    }
    ask.file_name = report_.request.file_name;
    ask.source = report_.request.source;
    for (const DefineSpec& define : candidate_->plan.defines)
      ask.defines.push_back({define.name, define.default_value, define.values});
    for (const Expression& constraint : candidate_->plan.constraints)
      ask.constraints.push_back(constraint.text());
    ask.declared_points = report_.product_size;
    ask.valid_points = report_.space_size;
    ask.sampled = report_.sampled;
    ask.count = llm_points_asked();
    return ask;
  }

  // The points the LLM is asked for: no more than the budget or the space.
  size_t llm_points_asked() const {
    return std::min({report_.request.llm_start, report_.budget, report_.space_size});
  }

  // The answer's points checked against the space.
  LlmStart checked_llm_start(const agents::TuningStartProposal& proposal) const {
    LlmStart start;
    start.asked = llm_points_asked();
    if (!proposal.response.ok()) {
      start.outcome = LlmStart::Outcome::kFailed;
      start.note = proposal.failure;
      return start;
    }
    if (!proposal.points) {
      start.outcome = LlmStart::Outcome::kNoPoints;
      start.note = proposal.failure;
      return start;
    }
    tuning::CheckedProposal checked =
        tuning::check_proposed_points(*declared_, *space_, *proposal.points, start.asked, "define");
    start.outcome = LlmStart::Outcome::kProposed;
    for (tuning::PointId id : checked.accepted) {
      start.points.push_back(id);
      start.defines.push_back(define_values(*space_, id));
    }
    start.dropped = std::move(checked.dropped);
    const size_t proposed = proposal.points->size();
    start.note = "the model proposed " + std::to_string(proposed) + " point" +
                 (proposed == 1 ? "" : "s") + ", " + std::to_string(start.points.size()) +
                 " in the space";
    return start;
  }

  ExchangeRow exchange_row(const agents::Provider& provider,
                           const agents::TuningStartProposal& proposal) const {
    const agents::LlmResponse& response = proposal.response;
    ExchangeRow row;
    row.run_id = report_.run_id;
    row.task_id = task_.id;
    row.provider = std::string(provider.name());
    row.model = provider.settings().model;
    row.request =
        response.request_json.is_object() ? response.request_json : nlohmann::json::object();
    row.request["ask_id"] = "tune-llm-start";
    if (response.ok())
      row.response = response.text;
    row.status = !response.ok()    ? std::string(agents::llm_status_name(response.status))
                 : proposal.points ? "ok"
                                   : "no_candidate";
    if (!proposal.failure.empty())
      row.error = proposal.failure;
    row.prompt_tokens = response.input_tokens;
    row.completion_tokens = response.output_tokens;
    row.cost_usd = response.cost_usd;
    row.latency_ms = static_cast<int64_t>(response.latency.count());
    row.cache_hit = response.from_cache;
    return row;
  }

  // One line per dropped point, and one saying what the run starts from.
  void tell_llm_start(const std::function<void(const std::string&)>& notice) const {
    const LlmStart& start = *llm_start_;
    for (const tuning::DroppedPoint& dropped : start.dropped)
      notice("LLM start: dropped point " + std::to_string(dropped.index + 1) + " " + dropped.point +
             ": " + dropped.reason);
    if (start.outcome != LlmStart::Outcome::kProposed)
      notice("LLM start: " + start.note + "; the strategy starts alone");
    else if (start.points.empty())
      notice("LLM start: " + start.note + "; the strategy starts alone");
    else
      notice("LLM start: " + start.note + ", evaluated first (exchange " +
             std::to_string(start.exchange_id.value_or(0)) + ")");
  }

  // A resumed or joined run's start, from its checkpoint (none before its first write).
  void read_llm_start() {
    std::optional<RunTaskRow> row = find_run_task(store_, report_.run_id, task_.id);
    if (!row || !row->state.contains("llm_start"))
      return;
    try {
      llm_start_ = LlmStart::from_json(row->state.at("llm_start"));
    } catch (const nlohmann::json::exception& error) {
      throw Error(std::string("malformed tuning checkpoint: ") + error.what(),
                  "run " + std::to_string(report_.run_id));
    }
    for (size_t id : llm_start_->points)
      if (id >= space_->size())
        throw Error("the tuning checkpoint's LLM start names a point outside the space",
                    "run " + std::to_string(report_.run_id));
    report_.llm_start = llm_start_;
  }

  bool from_llm(tuning::PointId id) const {
    return llm_start_ && std::find(llm_start_->points.begin(), llm_start_->points.end(), id) !=
                             llm_start_->points.end();
  }

  // The next start point not yet told nor in flight, if any: the caller's, then the LLM's.
  std::optional<tuning::PointId> next_start_point(const tuning::Strategy& strategy,
                                                  const std::vector<int64_t>& in_flight) const {
    std::vector<tuning::PointId> starts = given_;
    if (llm_start_)
      starts.insert(starts.end(), llm_start_->points.begin(), llm_start_->points.end());
    for (tuning::PointId id : starts) {
      bool told = false;
      for (const tuning::Strategy::Told& entry : strategy.history())
        told = told || entry.point == id;
      if (!told && std::find(in_flight.begin(), in_flight.end(), static_cast<int64_t>(id)) ==
                       in_flight.end())
        return id;
    }
    return std::nullopt;
  }

  size_t budget() const {
    const TuneRequest& request = report_.request;
    size_t budget = request.max_evals;
    if (budget == 0 && request.fraction > 0)
      budget = static_cast<size_t>(std::ceil(request.fraction * report_.space_size));
    if (budget == 0)
      budget = kDefaultMaxEvals;
    return std::max<size_t>(1, std::min(budget, report_.space_size));
  }

  Store* heartbeat_store() {
    if (!heartbeat_store_ && sharing_.open_store)
      heartbeat_store_ = sharing_.open_store();
    return heartbeat_store_.get();
  }

  // The run's strategy as its checkpoint left it (a fresh one before the first point), and the
  // points told so far into the report. The strategy of this node's last step is used again
  // when nobody told a point since (always, with one node), instead of replaying the history.
  std::unique_ptr<tuning::Strategy> load_checkpoint() {
    std::unique_ptr<tuning::Strategy> last = std::move(last_);
    std::optional<RunTaskRow> row = find_run_task(store_, report_.run_id, task_.id);
    if (!row || row->state.empty()) {
      report_.points.clear();
      if (last && last->history().empty())
        return last;
      return tuning::make_strategy(report_.request.strategy, *space_,
                                   {report_.request.seed, report_.budget});
    }
    report_.points = checkpoint_points(row->state, report_.run_id);
    try {
      const nlohmann::json& state = row->state.at("strategy");
      if (last && last->state().at("told") == state.at("told"))
        return last;
      return tuning::restore_strategy(state, *space_);
    } catch (const nlohmann::json::exception& error) {
      throw Error(std::string("malformed tuning checkpoint: ") + error.what(),
                  "run " + std::to_string(report_.run_id));
    }
  }

  void checkpoint(const tuning::Strategy& strategy) {
    nlohmann::json points = nlohmann::json::array();
    for (const TunedPoint& point : report_.points)
      points.push_back(point.to_json());
    nlohmann::json state = {
        {"version", kCheckpointVersion}, {"strategy", strategy.state()}, {"points", points}};
    if (llm_start_)
      state["llm_start"] = llm_start_->to_json();
    store_run_task(store_, {.run_id = report_.run_id,
                            .task_id = task_.id,
                            .state = state,
                            .status = RunStatus::kRunning});
  }

  // Ends the run, completed: its budget told, its time up, or (`exhausted`) every point of its
  // space told first, which the summary says; inside a step, so that one node does it.
  void finish(bool exhausted = false) {
    report_.status = RunStatus::kCompleted;
    report_.exhausted = exhausted;
    nlohmann::json summary = report_.to_json();
    summary.erase("points");
    finish_run(store_, report_.run_id, RunStatus::kCompleted, summary);
  }

  // The next thing to do: a point whose holder let its lease expire, else a point asked of the
  // strategy; or wait (the budget is in flight, or the space is, on other nodes), or stop.
  Step next_step(bool out_of_time) {
    const std::string& node = store_.node();
    if (std::optional<PointClaim> claim =
            claim_expired_point_lease(store_, report_.run_id, node, sharing_.lease_seconds)) {
      if (claim->taken_from && sharing_.notice)
        sharing_.notice(formatted_point(claim->point) + ": taken over from " + *claim->taken_from +
                        ", whose lease expired");
      return {Step::kEvaluate, static_cast<tuning::PointId>(claim->point), report_.points.size()};
    }
    Store::Transaction transaction(store_);
    lock_tuning_run(store_, report_.run_id);
    std::unique_ptr<tuning::Strategy> strategy = load_checkpoint();
    std::optional<RunRow> run = find_run(store_, report_.run_id);
    if (!run || run->status != RunStatus::kRunning) {
      report_.status = run ? run->status : RunStatus::kFailed;
      report_.exhausted = run && run->summary && run->summary->value("exhausted", false);
      return {Step::kDone};
    }
    const std::vector<int64_t> in_flight = open_points(store_, report_.run_id);
    if (report_.points.size() >= report_.budget) {
      finish();
      transaction.commit();
      return {Step::kDone};
    }
    if (out_of_time) {
      // This node's time is up; the run ends here unless other nodes still evaluate points.
      if (in_flight.empty()) {
        finish();
        transaction.commit();
      }
      return {Step::kDone};
    }
    if (report_.points.size() + in_flight.size() >= report_.budget) {
      last_ = std::move(strategy);
      return {Step::kWait};
    }
    // The start points come first; the strategy is not asked for them, so it is unchanged.
    if (std::optional<tuning::PointId> proposed = next_start_point(*strategy, in_flight)) {
      if (!add_point_lease(store_, report_.run_id, static_cast<int64_t>(*proposed), node,
                           sharing_.lease_seconds))
        throw Error(formatted_point(*proposed) + " was handed out twice",
                    "run " + std::to_string(report_.run_id));
      transaction.commit();
      last_ = std::move(strategy);
      return {Step::kEvaluate, *proposed, report_.points.size() + in_flight.size()};
    }
    // With nothing in flight the strategy is asked. Otherwise a copy told every point in flight
    // as failed is, so that it proposes another point; the run's strategy is told only real
    // results.
    const auto asking = Clock::now();
    std::optional<tuning::PointId> asked;
    if (in_flight.empty()) {
      asked = strategy->ask();
    } else {
      std::unique_ptr<tuning::Strategy> copy = tuning::restore_strategy(strategy->state(), *space_);
      for (int64_t point : in_flight)
        copy->tell(static_cast<tuning::PointId>(point), std::nullopt);
      asked = copy->ask();
    }
    const double ask_ms = std::chrono::duration<double, std::milli>(Clock::now() - asking).count();
    if (!asked) {
      if (!in_flight.empty()) {
        last_ = std::move(strategy);  // the copy was asked, not the strategy
        return {Step::kWait};
      }
      finish(/*exhausted=*/true);
      transaction.commit();
      return {Step::kDone};
    }
    if (!add_point_lease(store_, report_.run_id, static_cast<int64_t>(*asked), node,
                         sharing_.lease_seconds))
      throw Error(formatted_point(*asked) + " was handed out twice",
                  "run " + std::to_string(report_.run_id));
    transaction.commit();
    last_ = std::move(strategy);  // as a restore would give it, its point asked
    return {Step::kEvaluate, *asked, report_.points.size() + in_flight.size(), ask_ms};
  }

  // Tells the run's strategy the point's result and checkpoints it, in one step. False when
  // this node's lease was taken over meanwhile: the node that holds it now tells it.
  bool tell(tuning::PointId id, TunedPoint point) {
    Store::Transaction transaction(store_);
    lock_tuning_run(store_, report_.run_id);
    std::unique_ptr<tuning::Strategy> strategy = load_checkpoint();
    if (!release_point_lease(store_, report_.run_id, static_cast<int64_t>(id), store_.node(),
                             /*done=*/true))
      return false;
    // Told as asked when it is the point the strategy asks next (always, with one node). The
    // caller's and the LLM's points are the points the run starts from, told without asking the
    // strategy anything (they are all told before it is first asked: next_step hands them out
    // first). A point both gave is the caller's.
    const bool start = given(id) || from_llm(id);
    const bool asked = !start && strategy->ask() == id;
    if (start)
      point.origin = given(id) ? PointOrigin::kGiven : PointOrigin::kLlm;
    const auto telling = Clock::now();
    if (start)
      strategy->tell_start(id, point.time_us);
    else
      strategy->tell(id, point.time_us);
    point.strategy_ms += std::chrono::duration<double, std::milli>(Clock::now() - telling).count();
    point.step = report_.points.size();
    report_.points.push_back(point);
    checkpoint(*strategy);
    if (report_.points.size() >= report_.budget)
      finish();
    transaction.commit();
    // A strategy told a point it did not ask has drawn for the one it did: a restore would not
    // have, so it is not used again (a start point was told without drawing).
    if (asked || start)
      last_ = std::move(strategy);
    return true;
  }

  void give_up(const std::optional<tuning::PointId>& held, const Error& failure) {
    try {
      if (held)
        release_point_lease(store_, report_.run_id, static_cast<int64_t>(*held), store_.node(),
                            /*done=*/false);
      for (const PointLeaseRow& lease : point_leases_of(store_, report_.run_id))
        if (lease.status == LeaseStatus::kOpen && lease.node && *lease.node != store_.node())
          return;  // another node works on the run
      finish_run(store_, report_.run_id, RunStatus::kFailed, {{"error", failure.what()}});
    } catch (const Error&) {
    }
  }

  static std::string formatted_point(int64_t point) { return "point " + std::to_string(point); }

  // Every evaluation of this source already made here (by any run, or another node of this
  // one), keyed by define values.
  std::map<std::string, TunedPoint> stored_evaluations() const {
    std::map<std::string, TunedPoint> found;
    for (const SourceEvaluationRow& row :
         evaluations_of_source(store_, task_.id, sha256_hex(report_.request.source), report_.arch,
                               report_.gpu, kHarnessVersion)) {
      TunedPoint point;
      point.defines = row.defines.get<std::map<std::string, int64_t>>();
      point.verdict = verdict_from_name(row.verdict).value_or(Verdict::kCompiled);
      if (point.verdict == Verdict::kCorrect)
        point.time_us = row.device_time_us;
      point.speedup_eager = row.speedup_eager;
      point.candidate_id = row.candidate_id;
      point.evaluation_id = row.evaluation_id;
      point.cached = true;
      found.emplace(defines_key(point.defines), point);
    }
    return found;
  }

  TunedPoint evaluate(tuning::PointId id, size_t iteration) {
    std::map<std::string, int64_t> defines = define_values(*space_, id);
    std::map<std::string, TunedPoint> cache = stored_evaluations();
    auto cached = cache.find(defines_key(defines));
    if (cached != cache.end())
      return cached->second;
    EvaluationRequest request{.source = report_.request.source,
                              .file_name = report_.request.file_name,
                              .origin = "tune",
                              .run_id = report_.run_id,
                              .iteration = static_cast<int64_t>(iteration)};
    // An LLM's point: its candidate names the exchange that proposed it.
    if (!given(id) && from_llm(id) && llm_start_->exchange_id)
      request.llm_exchange_id = *llm_start_->exchange_id;
    for (const auto& [name, value] : defines)
      request.define_overrides[name] = std::to_string(value);
    EvaluationOutcome outcome = service_.evaluator().evaluate(task_, request);
    TunedPoint point;
    point.defines = outcome.defines.empty() ? defines : outcome.defines;
    point.verdict = outcome.verdict;
    point.reason = outcome.reason;
    if (outcome.verdict == Verdict::kCorrect)
      point.time_us = outcome.device_time_us;
    point.speedup_eager = outcome.speedup_eager;
    point.candidate_id = outcome.candidate_id;
    point.evaluation_id = outcome.evaluation_id;
    return point;
  }

  Store& store_;
  EvaluationService& service_;
  const Task& task_;
  TuneSharing sharing_;
  std::unique_ptr<Store> heartbeat_store_;
  std::unique_ptr<tuning::Strategy> last_;  // this node's strategy after its last step
  std::optional<CandidateFile> candidate_;
  std::unique_ptr<tuning::ConstrainedSpace> declared_;
  std::unique_ptr<tuning::TuningSpace> space_;
  std::optional<LlmStart> llm_start_;   // the run's, once asked; never changes after
  std::vector<tuning::PointId> given_;  // TuneRequest::start, in its order
  TuneReport report_;
};

}  // namespace

nlohmann::json TuneRequest::to_json() const {
  return {{"task", task},
          {"source", source},
          {"file", file_name},
          {"strategy", strategy},
          {"seed", seed},
          {"max_evals", max_evals},
          {"fraction", fraction},
          {"max_seconds", max_seconds},
          {"space_limit", space_limit},
          {"llm_start", llm_start},
          {"start", start}};
}

TuneRequest TuneRequest::from_json(const nlohmann::json& json) {
  TuneRequest request;
  request.task = json.at("task").get<std::string>();
  request.source = json.at("source").get<std::string>();
  request.file_name = json.at("file").get<std::string>();
  request.strategy = json.at("strategy").get<std::string>();
  request.seed = json.at("seed").get<uint64_t>();
  request.max_evals = json.at("max_evals").get<size_t>();
  request.fraction = json.at("fraction").get<double>();
  request.max_seconds = json.at("max_seconds").get<double>();
  request.space_limit = json.at("space_limit").get<size_t>();
  request.llm_start = json.value("llm_start", size_t{0});  // none in runs of an older kforge
  if (json.contains("start"))
    request.start = json.at("start").get<std::vector<std::map<std::string, int64_t>>>();
  return request;
}

nlohmann::json TunedPoint::to_json() const {
  auto optional = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  return {{"step", step},
          {"defines", defines},
          {"verdict", verdict_name(verdict)},
          {"reason", reason},
          {"time_us", optional(time_us)},
          {"speedup_eager", optional(speedup_eager)},
          {"candidate_id", candidate_id},
          {"evaluation_id", evaluation_id},
          {"cached", cached},
          {"strategy_ms", strategy_ms},
          {"origin", point_origin_name(origin)}};
}

TunedPoint TunedPoint::from_json(const nlohmann::json& json) {
  TunedPoint point;
  point.step = json.at("step").get<size_t>();
  point.defines = json.at("defines").get<std::map<std::string, int64_t>>();
  std::optional<Verdict> verdict = verdict_from_name(json.at("verdict").get<std::string>());
  if (!verdict)
    throw Error("a tuning checkpoint names an unknown verdict", json.at("verdict").dump());
  point.verdict = *verdict;
  point.reason = json.at("reason").get<std::string>();
  if (!json.at("time_us").is_null())
    point.time_us = json.at("time_us").get<double>();
  if (!json.at("speedup_eager").is_null())
    point.speedup_eager = json.at("speedup_eager").get<double>();
  point.candidate_id = json.at("candidate_id").get<int64_t>();
  point.evaluation_id = json.at("evaluation_id").get<int64_t>();
  point.cached = json.at("cached").get<bool>();
  point.strategy_ms = json.value("strategy_ms", 0.0);
  const std::string origin = json.value("origin", "strategy");  // none before LLM starts
  if (origin == point_origin_name(PointOrigin::kLlm))
    point.origin = PointOrigin::kLlm;
  else if (origin == point_origin_name(PointOrigin::kGiven))
    point.origin = PointOrigin::kGiven;
  else if (origin != point_origin_name(PointOrigin::kStrategy))
    throw Error("a tuning checkpoint names an unknown point origin", json.at("origin").dump());
  return point;
}

std::string_view point_origin_name(PointOrigin origin) {
  switch (origin) {
    case PointOrigin::kLlm:
      return "llm";
    case PointOrigin::kGiven:
      return "given";
    case PointOrigin::kStrategy:
      break;
  }
  return "strategy";
}

std::string_view llm_start_outcome_name(LlmStart::Outcome outcome) {
  switch (outcome) {
    case LlmStart::Outcome::kProposed:
      return "proposed";
    case LlmStart::Outcome::kNoPoints:
      return "no_points";
    case LlmStart::Outcome::kFailed:
      return "failed";
  }
  return "failed";
}

nlohmann::json LlmStart::to_json() const {
  nlohmann::json dropped_points = nlohmann::json::array();
  for (const tuning::DroppedPoint& point : dropped)
    dropped_points.push_back(
        {{"index", point.index}, {"point", point.point}, {"reason", point.reason}});
  return {{"asked", asked},
          {"outcome", llm_start_outcome_name(outcome)},
          {"note", note},
          {"exchange_id", exchange_id ? nlohmann::json(*exchange_id) : nlohmann::json(nullptr)},
          {"points", points},
          {"defines", defines},
          {"dropped", dropped_points}};
}

LlmStart LlmStart::from_json(const nlohmann::json& json) {
  LlmStart start;
  start.asked = json.at("asked").get<size_t>();
  const std::string outcome = json.at("outcome").get<std::string>();
  bool known = false;
  for (Outcome candidate : {Outcome::kProposed, Outcome::kNoPoints, Outcome::kFailed})
    if (outcome == llm_start_outcome_name(candidate)) {
      start.outcome = candidate;
      known = true;
    }
  if (!known)
    throw Error("a tuning checkpoint names an unknown LLM start outcome", outcome);
  start.note = json.at("note").get<std::string>();
  if (!json.at("exchange_id").is_null())
    start.exchange_id = json.at("exchange_id").get<int64_t>();
  start.points = json.at("points").get<std::vector<size_t>>();
  start.defines = json.at("defines").get<std::vector<std::map<std::string, int64_t>>>();
  for (const nlohmann::json& point : json.at("dropped"))
    start.dropped.push_back({point.at("index").get<size_t>(), point.at("point").get<std::string>(),
                             point.at("reason").get<std::string>()});
  return start;
}

std::vector<const TunedPoint*> TuneReport::ranked() const {
  std::vector<const TunedPoint*> correct;
  for (const TunedPoint& point : points)
    if (point.time_us)
      correct.push_back(&point);
  std::stable_sort(correct.begin(), correct.end(), [](const TunedPoint* a, const TunedPoint* b) {
    return *a->time_us < *b->time_us;
  });
  return correct;
}

size_t TuneReport::evaluated() const {
  return static_cast<size_t>(
      std::count_if(points.begin(), points.end(), [](const TunedPoint& p) { return !p.cached; }));
}

nlohmann::json TuneReport::to_json() const {
  nlohmann::json json = {
      {"run_id", run_id},
      {"task", request.task},
      {"file", request.file_name},
      {"strategy", request.strategy},
      {"seed", request.seed},
      {"arch", arch},
      {"gpu", gpu},
      {"space", {{"product", product_size}, {"points", space_size}, {"sampled", sampled}}},
      {"budget", budget},
      {"status", run_status_name(status)},
      {"evaluated", evaluated()},
      {"cached", points.size() - evaluated()},
      {"seconds", seconds}};
  if (exhausted)
    json["exhausted"] = true;
  nlohmann::json all = nlohmann::json::array();
  for (const TunedPoint& point : points)
    all.push_back(point.to_json());
  json["points"] = all;
  std::vector<const TunedPoint*> best = ranked();
  json["best"] = best.empty() ? nlohmann::json(nullptr) : best.front()->to_json();
  nlohmann::json top = nlohmann::json::array();
  for (size_t i = 0; i < best.size() && i < 5; ++i)
    top.push_back(best[i]->to_json());
  json["top"] = top;
  json["llm_start"] = llm_start ? llm_start->to_json() : nlohmann::json(nullptr);
  return json;
}

TuneReport tune(Store& store, EvaluationService& service, const Task& task,
                const TuneRequest& request, const TuneProgress& progress,
                const TuneSharing& sharing, const TuneLlm& llm) {
  TuningRun run(store, service, task, request, sharing);
  run.start(llm);
  return run.run(progress);
}

TuneRequest tune_request_of_run(const Store& store, int64_t run_id) {
  std::optional<RunRow> run = find_run(store, run_id);
  if (!run || run->kind != "tune")
    throw Error("there is no tuning run " + std::to_string(run_id), "--resume");
  try {
    return TuneRequest::from_json(run->request);
  } catch (const nlohmann::json::exception& error) {
    throw Error(std::string("the tuning run's request is malformed: ") + error.what(),
                "run " + std::to_string(run_id));
  }
}

std::vector<TunedPoint> tuned_points_of_run(const Store& store, int64_t run_id) {
  tune_request_of_run(store, run_id);  // a tuning run, or an Error
  std::vector<TunedPoint> points;
  for (const RunTaskRow& row : run_tasks_of(store, run_id))
    if (!row.state.empty()) {
      std::vector<TunedPoint> more = checkpoint_points(row.state, run_id);
      points.insert(points.end(), more.begin(), more.end());
    }
  return points;
}

TuneReport resume(Store& store, EvaluationService& service, const Task& task, int64_t run_id,
                  const TuneProgress& progress, const TuneSharing& sharing) {
  TuningRun run(store, service, task, tune_request_of_run(store, run_id), sharing);
  run.restore(run_id);
  return run.run(progress);
}

TuneReport join(Store& store, EvaluationService& service, const Task& task, int64_t run_id,
                const TuneProgress& progress, const TuneSharing& sharing) {
  TuningRun run(store, service, task, tune_request_of_run(store, run_id), sharing);
  run.join(run_id);
  return run.run(progress);
}

}  // namespace kforge::autotune
