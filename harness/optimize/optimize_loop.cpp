#include "harness/optimize/optimize_loop.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <exception>
#include <future>
#include <set>

#include "agents/llm_agent.hpp"
#include "datasets/exchange_records.hpp"
#include "datasets/records.hpp"
#include "datasets/task_records.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/profile_report.hpp"
#include "harness/evaluation/stored_evaluation.hpp"
#include "harness/optimize/completion_queue.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

#ifndef KFORGE_SOURCE_DIR
#define KFORGE_SOURCE_DIR "."
#endif

namespace kforge {
namespace {

using Clock = std::chrono::steady_clock;
using agents::Feedback;
using agents::Proposal;

// How often the live display is refreshed while the loop waits (it shows whole seconds).
constexpr std::chrono::milliseconds kDisplayRefresh{250};

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Keeps the best attempt by the agents' ranking (correct beats compiled beats failures; then
// speed), with the candidate that made it.
void consider_best(TaskProgress& progress, const Feedback& feedback,
                   std::optional<int64_t> candidate_id, double& best_score) {
  if (!candidate_id)
    return;
  double score = agents::attempt_score(feedback);
  if (progress.best_candidate_id && score <= best_score)
    return;
  best_score = score;
  progress.best_candidate_id = candidate_id;
  progress.best_verdict = feedback.verdict;
  progress.best_speedup = feedback.speedup;
}

// The latest stored evaluation of a candidate, read into its record; none before one is stored.
std::optional<EvaluationRecord> latest_evaluation(const Store& store, int64_t candidate_id) {
  std::optional<CandidateRow> candidate = find_candidate(store, candidate_id);
  if (!candidate)
    return std::nullopt;
  std::vector<StoredEvaluation> evaluations = stored_evaluations_of(store, *candidate);
  if (evaluations.empty())
    return std::nullopt;
  return std::move(evaluations.back().record);
}

// The evidence an agent is told about a judged candidate (and shows the LLM): the record's
// evidence with its reason and detail line, the same for a fresh evaluation and a stored one.
nlohmann::json judged_evidence(const EvaluationRecord& record) {
  nlohmann::json evidence = record.evidence.to_json();
  if (!record.reason.empty())
    evidence["reason"] = record.reason;
  if (!record.detail.empty())
    evidence["detail"] = record.detail;
  return evidence;
}

// A replay item's candidate as its evaluation judged it (now, or stored by an earlier process).
ReplayedCandidate replayed(int64_t candidate_id, const EvaluationRecord& judged,
                           const std::string& file_name) {
  return {.candidate_id = candidate_id,
          .verdict = judged.verdict,
          .evidence = judged_evidence(judged),
          .speedup = judged.speedup_eager,
          .file_name = file_name};
}

std::string replayed_reason(size_t items) {
  return "replayed " + std::to_string(items) + " candidate" + (items == 1 ? "" : "s");
}

// The profile an agent is shown of a judged candidate (agents::Feedback::profile): its roofline
// position and top findings; empty where it was not profiled or counters were unavailable, so the
// prompt claims nothing about it.
std::string prompt_profile(const EvaluationRecord& record, const Task& task) {
  std::optional<ProfileReport> report = profile_report_of(record, task);
  return report ? profile_for_prompt(*report) : "";
}

// What a judged candidate's proposal is told: verdict, evidence, speedup and profile.
Feedback judged_feedback(const Proposal& proposal, const EvaluationRecord& record,
                         const Task& task) {
  Feedback feedback =
      proposal.feedback(record.verdict, judged_evidence(record), record.speedup_eager);
  feedback.profile = prompt_profile(record, task);
  return feedback;
}

// An exchange's stored status: its LlmStatus's name, or, for an answer without a candidate,
// kNoCandidate.
constexpr std::string_view kNoCandidate = "no_candidate";

std::string exchange_status(const Proposal& proposal) {
  if (!proposal.response.ok())
    return std::string(agents::llm_status_name(proposal.response.status));
  return std::string(proposal.source ? agents::llm_status_name(agents::LlmStatus::kOk)
                                     : kNoCandidate);
}

// The LlmStatus of a stored exchange (kOk for one without a candidate); an Error naming the
// exchange for a status no kforge writes.
agents::LlmStatus llm_status_of(const ExchangeRow& row) {
  if (row.status == kNoCandidate)
    return agents::LlmStatus::kOk;
  if (std::optional<agents::LlmStatus> status = agents::llm_status_named(row.status))
    return *status;
  throw Error("unknown LLM exchange status '" + row.status + "'",
              "llm_exchanges row " + std::to_string(row.id));
}

ExchangeRow exchange_row(int64_t run_id, int64_t task_id, const agents::Provider& provider,
                         const Proposal& proposal) {
  const agents::LlmResponse& response = proposal.response;
  ExchangeRow row;
  row.run_id = run_id;
  row.task_id = task_id;
  row.provider = std::string(provider.name());
  row.model = provider.settings().model;
  row.sample_index = proposal.ask.sample_index;
  row.request =
      response.request_json.is_object() ? response.request_json : nlohmann::json::object();
  row.request["ask_id"] = proposal.ask.id;
  if (response.ok())
    row.response = response.text;
  row.status = exchange_status(proposal);
  if (!response.ok())
    row.error = response.error;
  else if (!proposal.source)
    row.error = proposal.no_candidate_reason;
  row.prompt_tokens = response.input_tokens;
  row.completion_tokens = response.output_tokens;
  row.cost_usd = response.cost_usd;
  row.latency_ms = static_cast<int64_t>(response.latency.count());
  row.cache_hit = response.from_cache;
  return row;
}

// The statuses that end a run: a resumed run sends those asks again instead of telling them.
bool status_is_fatal(const ExchangeRow& row) {
  return agents::llm_status_is_fatal(llm_status_of(row));
}

// A Proposal rebuilt from a stored exchange, so that a resumed run tells exactly what the
// first process would have told.
Proposal proposal_from_exchange(const agents::Ask& ask, const ExchangeRow& row) {
  Proposal proposal;
  proposal.ask = ask;
  agents::LlmResponse& response = proposal.response;
  response.text = row.response.value_or("");
  response.input_tokens = row.prompt_tokens.value_or(0);
  response.output_tokens = row.completion_tokens.value_or(0);
  response.cost_usd = row.cost_usd.value_or(0);
  response.from_cache = row.cache_hit;
  response.status = llm_status_of(row);
  if (response.status == agents::LlmStatus::kOk) {
    agents::ParsedReply parsed = agents::parse_reply(response.text);
    proposal.source = parsed.source;
    proposal.no_candidate_reason = row.error.value_or(parsed.reason);
  } else {
    // Any non-fatal failure is told as llm_error with the stored status and error.
    response.error = row.error.value_or("");
  }
  return proposal;
}

}  // namespace

std::optional<TaskOutcome> TaskOutcome::from_json(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("task") || !json.contains("status"))
    return std::nullopt;
  std::optional<RunStatus> status = run_status_named(json.value("status", ""));
  if (!status)
    return std::nullopt;
  TaskOutcome outcome;
  outcome.status = *status;
  outcome.stop_reason = json.value("stop_reason", "");
  outcome.error = json.value("error", "");
  TaskProgress& progress = outcome.progress;
  progress.task = json.value("task", "");
  progress.attempts = json.value("attempts", int64_t{0});
  progress.verdicts = json.value("verdicts", std::map<std::string, int64_t>{});
  progress.input_tokens = json.value("input_tokens", int64_t{0});
  progress.output_tokens = json.value("output_tokens", int64_t{0});
  progress.cost_usd = json.value("cost_usd", 0.0);
  progress.elapsed_s = json.value("elapsed_s", 0.0);
  if (const nlohmann::json& best = json.value("best", nlohmann::json()); best.is_object()) {
    progress.best_candidate_id = best.value("candidate_id", int64_t{0});
    progress.best_verdict = verdict_from_name(best.value("verdict", ""));
    if (best.contains("speedup") && best["speedup"].is_number())
      progress.best_speedup = best["speedup"].get<double>();
  }
  return outcome;
}

nlohmann::json TaskOutcome::to_json() const {
  nlohmann::json out = {{"task", progress.task},
                        {"status", run_status_name(status)},
                        {"attempts", progress.attempts},
                        {"verdicts", progress.verdicts},
                        {"stop_reason", stop_reason},
                        {"input_tokens", progress.input_tokens},
                        {"output_tokens", progress.output_tokens},
                        {"cost_usd", progress.cost_usd},
                        {"elapsed_s", progress.elapsed_s}};
  out["best"] = nullptr;
  if (progress.best_candidate_id) {
    out["best"] = {{"candidate_id", *progress.best_candidate_id},
                   {"verdict", progress.best_verdict ? verdict_name(*progress.best_verdict)
                                                     : std::string_view()}};
    if (progress.best_speedup)
      out["best"]["speedup"] = *progress.best_speedup;
  }
  if (!error.empty())
    out["error"] = error;
  return out;
}

std::optional<nlohmann::json> load_task_state(const Store& store, int64_t run_id, int64_t task_id) {
  std::optional<RunTaskRow> row = find_run_task(store, run_id, task_id);
  if (!row || row->state.empty())
    return std::nullopt;
  return row->state;
}

void save_task_state(Store& store, int64_t run_id, int64_t task_id, const nlohmann::json& state,
                     RunStatus status) {
  Store::Transaction transaction(store);  // fenced where the task is leased (lease_holder.hpp)
  store_run_task(store, {.run_id = run_id, .task_id = task_id, .state = state, .status = status});
  transaction.commit();
}

void save_replay_state(Store& store, int64_t run_id, int64_t task_id, size_t done, size_t items,
                       RunStatus status) {
  save_task_state(store, run_id, task_id, {{"agent", "replay"}, {"done", done}, {"items", items}},
                  status);
}

OptimizeLoop::OptimizeLoop(Store& store, Evaluator& evaluator, int64_t run_id,
                           ProgressCallback on_progress, const std::atomic<bool>* stop)
    : store_(store),
      evaluator_(evaluator),
      run_id_(run_id),
      on_progress_(std::move(on_progress)),
      stop_(stop) {}

TaskOutcome OptimizeLoop::run_llm(const Task& task, agents::Provider& provider,
                                  const agents::StrategySettings& settings,
                                  std::shared_ptr<const agents::PromptBuilder> prompts,
                                  const LlmStart& engineer) {
  std::optional<nlohmann::json> stored = load_task_state(store_, run_id_, task.id);
  // The engineer's candidate, evaluated before anything is asked (once: a resumed run finds it
  // in the state), and the conversation's starting point.
  std::optional<int64_t> start_candidate;
  if (!engineer.empty()) {
    agents::StartingPoint point{.hint = engineer.hint};
    if (engineer.candidate) {
      point.file_name = engineer.candidate->file_name;
      point.source = engineer.candidate->source;
      if (stored && stored->contains("start_candidate"))
        start_candidate = (*stored)["start_candidate"].get<int64_t>();
      std::optional<EvaluationRecord> last;
      if (start_candidate)
        last = latest_evaluation(store_, *start_candidate);
      Feedback feedback;
      feedback.ask_id = "start";
      feedback.source = point.source;
      if (last) {
        feedback.verdict = last->verdict;
        feedback.evidence = judged_evidence(*last);
        feedback.speedup = last->speedup_eager;
        feedback.profile = prompt_profile(*last, task);
      } else {
        EvaluationOutcome evaluated =
            evaluator_.record(store_, task,
                              evaluator_.prepare(task, {.source = point.source,
                                                        .file_name = engineer.candidate->file_name,
                                                        .origin = engineer.candidate->origin,
                                                        .run_id = run_id_,
                                                        .iteration = 0}));
        start_candidate = evaluated.candidate_id;
        feedback.verdict = evaluated.verdict;
        feedback.evidence = judged_evidence(evaluated);
        feedback.speedup = evaluated.speedup_eager;
        feedback.profile = prompt_profile(evaluated, task);
        nlohmann::json state = stored.value_or(nlohmann::json::object());
        state["agent"] = "llm";
        state["start_candidate"] = *start_candidate;
        save_task_state(store_, run_id_, task.id, state, RunStatus::kRunning);
      }
      point.feedback = feedback;
    }
    prompts = std::make_shared<const agents::PromptBuilder>(prompts->with_start(std::move(point)));
  }
  std::unique_ptr<agents::Strategy> strategy;
  nlohmann::json candidates = nlohmann::json::object();  // ask id -> candidate id
  double elapsed_before = 0;
  if (stored && stored->contains("strategy")) {
    strategy = agents::restore_strategy((*stored)["strategy"], prompts);
    candidates = stored->value("candidates", nlohmann::json::object());
    elapsed_before = stored->value("elapsed_s", 0.0);
  } else {
    strategy = agents::make_strategy(settings, prompts);
  }

  // Stored answers of this run and task, by ask id (the latest one per ask).
  std::map<std::string, ExchangeRow> answered;
  for (ExchangeRow& row : exchanges_of(store_, run_id_, task.id)) {
    if (!status_is_fatal(row))
      answered[row.ask_id()] = std::move(row);
  }

  TaskOutcome outcome;
  outcome.progress.task = task.name;
  outcome.progress.time_limit_s = settings.budgets.wall_seconds;
  Clock::time_point started = Clock::now();
  auto elapsed = [&] { return elapsed_before + seconds_since(started); };
  // Answer text streamed in so far, for the display (written by the requests' threads).
  std::atomic<int64_t> streamed{0};

  auto report = [&] {
    agents::StrategyProgress now = strategy->progress();
    TaskProgress& progress = outcome.progress;
    progress.attempts = now.told;
    progress.verdicts = now.verdicts;
    progress.input_tokens = now.input_tokens;
    progress.output_tokens = now.output_tokens;
    progress.cost_usd = now.cost_usd;
    progress.elapsed_s = elapsed();
    progress.in_flight = now.outstanding;
    progress.streamed_chars = now.outstanding > 0 ? streamed.load() : 0;
    progress.best_speedup = now.best_speedup;
    if (!now.best_id.empty() && candidates.contains(now.best_id)) {
      int64_t best = candidates[now.best_id].get<int64_t>();
      if (progress.best_candidate_id != best) {
        progress.best_candidate_id = best;
        std::optional<EvaluationRecord> latest = latest_evaluation(store_, best);
        progress.best_verdict = latest ? std::optional(latest->verdict) : std::nullopt;
      }
    }
    if (on_progress_)
      on_progress_(progress);
  };
  // Checkpoints the task as `status`; as completed or running by the strategy when none.
  // `ended`: the task's outcome, kept with its last checkpoint, so that the node that finishes
  // a shared run (or a resumed one) can sum up a task another process ended.
  auto checkpoint = [&](std::optional<RunStatus> status, const TaskOutcome* ended = nullptr) {
    nlohmann::json state = {{"agent", "llm"},
                            {"strategy", strategy->state()},
                            {"candidates", candidates},
                            {"elapsed_s", elapsed()}};
    if (start_candidate)
      state["start_candidate"] = *start_candidate;
    if (ended != nullptr)
      state["outcome"] = ended->to_json();
    if (!status)
      status = strategy->finished() ? RunStatus::kCompleted : RunStatus::kRunning;
    save_task_state(store_, run_id_, task.id, state, *status);
  };

  // Tells the strategy what became of a proposal, checkpoints, and updates the display.
  auto tell = [&](const Proposal& proposal, std::optional<int64_t> candidate_id,
                  const Feedback& feedback) {
    if (candidate_id)
      candidates[proposal.ask.id] = *candidate_id;
    strategy->tell(feedback);
    checkpoint(std::nullopt);
    outcome.progress.last = proposal.ask.id + " " + std::string(feedback.result_name());
    report();
  };
  auto tell_evaluated = [&](const Proposal& proposal, const EvaluationOutcome& evaluated) {
    tell(proposal, evaluated.candidate_id, judged_feedback(proposal, evaluated, task));
  };

  // LLM requests, candidates being parsed, compiled and bound, and candidates on their GPU run
  // on threads of their own (the compiles overlap one another and the requests; the GPU runs
  // wait for the next free device of the pool, so every GPU is busy while compiled candidates
  // wait); each hands in what it finished, or the exception it threw, through `completions`,
  // and this thread stores and tells it.
  struct Completion {
    enum class Kind { kAnswer, kCandidate, kRan } kind = Kind::kAnswer;
    Proposal proposal;                          // an answer, or the proposal being evaluated
    std::optional<PreparedCandidate> prepared;  // a candidate for (kCandidate) or after its GPU run
    std::exception_ptr failure;
  };
  CompletionQueue<Completion> completions;
  // Declared after the queue, so that leaving early (an exception) waits for every thread
  // before the queue they push to goes.
  std::vector<std::future<void>> helpers;
  size_t outstanding = 0;  // started, and not yet handled here
  auto start = [&](Completion started, auto work) {
    ++outstanding;
    helpers.push_back(std::async(std::launch::async, [&completions, started = std::move(started),
                                                      work = std::move(work)]() mutable {
      try {
        work(started);
      } catch (...) {
        started.failure = std::current_exception();
      }
      completions.push(std::move(started));
    }));
  };

  // Settles a proposal: told at once when there is nothing to evaluate or its candidate is
  // already stored (evaluated before an earlier process died), else sent to be prepared.
  auto settle = [&](const Proposal& proposal, int64_t exchange_id) {
    if (auto without = proposal.feedback_without_candidate()) {
      tell(proposal, std::nullopt, *without);
      return;
    }
    if (std::optional<int64_t> stored = candidate_of_exchange(store_, exchange_id)) {
      if (std::optional<EvaluationRecord> last = latest_evaluation(store_, *stored)) {
        tell(proposal, stored, judged_feedback(proposal, *last, task));
        return;
      }
    }
    EvaluationRequest request{.source = *proposal.source,
                              .file_name = proposal.ask.id + ".cu",
                              .origin = "llm",
                              .run_id = run_id_,
                              .llm_exchange_id = exchange_id,
                              .iteration = proposal.ask.iteration};
    if (!proposal.ask.parent_id.empty() && candidates.contains(proposal.ask.parent_id))
      request.parent_id = candidates[proposal.ask.parent_id].get<int64_t>();
    else if (proposal.ask.parent_id.empty())
      request.parent_id = start_candidate;  // the first turn refines the engineer's candidate
    start(Completion{.kind = Completion::Kind::kCandidate, .proposal = proposal},
          [this, &task, request = std::move(request)](Completion& done) {
            done.prepared = evaluator_.prepare(task, request);
          });
  };

  // Handed in and not yet handled: candidates first, as they keep the GPU busy.
  std::deque<Completion> ready_candidates, ready_answers;
  report();
  while (true) {
    size_t asked_now = 0;
    if (outcome.status != RunStatus::kFailed && !stop_requested()) {
      for (agents::Ask& ask : strategy->ask(elapsed())) {
        ++asked_now;
        auto stored_answer = answered.find(ask.id);
        if (stored_answer != answered.end()) {
          settle(proposal_from_exchange(ask, stored_answer->second), stored_answer->second.id);
          continue;
        }
        start(Completion{.kind = Completion::Kind::kAnswer},
              [&provider, ask, &streamed, this](Completion& done) {
                done.proposal = agents::propose(
                    provider, ask,
                    [&streamed](std::string_view text) {
                      streamed.fetch_add(static_cast<int64_t>(text.size()));
                    },
                    stop_);
              });
      }
    }
    if (outstanding == 0) {
      if (strategy->finished() || outcome.status == RunStatus::kFailed || stop_requested())
        break;
      if (asked_now == 0) {
        // Nothing outstanding, nothing asked, not finished: a strategy that cannot go on.
        outcome.status = RunStatus::kFailed;
        outcome.error = "the " + std::string(strategy->name()) +
                        " strategy neither finished nor asked for anything";
        break;
      }
      // Everything asked was told from the store: ask again.
      continue;
    }
    // Wait for an answer or a prepared candidate, refreshing the display (time left) while
    // nothing arrives.
    while (ready_candidates.empty() && ready_answers.empty()) {
      std::vector<Completion> arrived = completions.take_all(kDisplayRefresh);
      if (arrived.empty())
        report();
      for (Completion& done : arrived) {
        (done.kind == Completion::Kind::kAnswer ? ready_answers : ready_candidates)
            .push_back(std::move(done));
      }
    }
    std::deque<Completion>& from = ready_candidates.empty() ? ready_answers : ready_candidates;
    Completion done = std::move(from.front());
    from.pop_front();
    --outstanding;
    if (done.failure)
      std::rethrow_exception(done.failure);
    if (done.kind == Completion::Kind::kCandidate) {
      // To the GPU pool: the thread waits for a free device and runs the GPU stages there.
      start(Completion{.kind = Completion::Kind::kRan,
                       .proposal = std::move(done.proposal),
                       .prepared = std::move(done.prepared)},
            [this, &task](Completion& ran) { evaluator_.run_on_gpu(task, *ran.prepared); });
      continue;
    }
    if (done.kind == Completion::Kind::kRan) {
      tell_evaluated(done.proposal, evaluator_.record(store_, task, std::move(*done.prepared)));
      continue;
    }
    Proposal proposal = std::move(done.proposal);
    if (proposal.response.status == agents::LlmStatus::kCancelled)
      continue;  // interrupted: not stored, so a resumed run sends it again
    Store::Transaction transaction(store_);  // fenced where the task is leased
    const int64_t exchange_id =
        insert_exchange(store_, exchange_row(run_id_, task.id, provider, proposal));
    transaction.commit();
    if (agents::llm_status_is_fatal(proposal.response.status)) {
      // Stored, not told: a resumed run sends it again once the cause is fixed.
      outcome.status = RunStatus::kFailed;
      outcome.error = "the LLM request failed (" +
                      std::string(agents::llm_status_name(proposal.response.status)) +
                      "): " + proposal.response.error;
      continue;
    }
    settle(proposal, exchange_id);
  }

  if (outcome.status == RunStatus::kFailed) {
    outcome.stop_reason = "stopped: " + outcome.error;
  } else if (stop_requested() && !strategy->finished()) {
    outcome.status = RunStatus::kInterrupted;
    outcome.stop_reason = "interrupted";
  } else {
    outcome.stop_reason = strategy->stop_reason().value_or("finished");
  }
  report();
  checkpoint(outcome.status == RunStatus::kCompleted ? std::nullopt
                                                     : std::optional<RunStatus>(outcome.status),
             &outcome);
  return outcome;
}

TaskOutcome OptimizeLoop::run_replay(const Task& task, const std::vector<ReplayItem>& items) {
  TaskOutcome outcome;
  TaskProgress& progress = outcome.progress;
  progress.task = task.name;
  double best_score = 0;
  Clock::time_point started = Clock::now();

  auto record = [&](const ReplayedCandidate& candidate) {
    count_replayed(progress, best_score, candidate);
    progress.elapsed_s = seconds_since(started);
  };
  size_t stored = 0;
  auto checkpoint = [&](RunStatus status) {
    save_replay_state(store_, run_id_, task.id, stored, items.size(), status);
  };

  // What a previous process of this run already stored, by item index (candidates.iteration),
  // counts as it was judged; the rest is evaluated.
  const std::map<int64_t, int64_t> done = candidate_ids_by_iteration(store_, run_id_, task.id);
  std::vector<size_t> to_evaluate;
  for (size_t index = 0; index < items.size(); ++index) {
    std::optional<EvaluationRecord> last;
    auto already = done.find(static_cast<int64_t>(index));
    if (already != done.end())
      last = latest_evaluation(store_, already->second);
    if (!last) {
      to_evaluate.push_back(index);
      continue;
    }
    record(replayed(already->second, *last, items[index].file_name));
    ++stored;
  }
  if (stored > 0 && on_progress_)
    on_progress_(progress);

  // Items are prepared (parsed, compiled, bound) and run on the GPU pool a few at a time on
  // other threads, so that compiles overlap one another and every GPU of the pool has a
  // candidate; each is stored on this thread as soon as its GPU stages end, in whatever order
  // they end (a candidate never waits behind an earlier one still queued for a GPU, and a
  // process killed loses only the candidates still in flight).
  struct Ran {
    size_t index = 0;
    std::optional<PreparedCandidate> prepared;
    std::exception_ptr failure;
  };
  CompletionQueue<Ran> finished;
  std::vector<std::future<void>> threads;  // after `finished`: joined before it goes
  const size_t lookahead =
      static_cast<size_t>(std::max(1, evaluator_.parallelism() + evaluator_.gpu_count()));
  size_t next = 0;
  size_t in_flight = 0;
  auto start_more = [&] {
    for (; next < to_evaluate.size() && in_flight < lookahead && !stop_requested(); ++next) {
      const size_t index = to_evaluate[next];
      EvaluationRequest request = replay_request(items[index], index);
      ++in_flight;
      threads.push_back(std::async(
          std::launch::async, [this, &task, &finished, index, request = std::move(request)] {
            Ran ran{.index = index};
            try {
              PreparedCandidate prepared = evaluator_.prepare(task, request);
              evaluator_.run_on_gpu(task, prepared);
              ran.prepared = std::move(prepared);
            } catch (...) {
              ran.failure = std::current_exception();
            }
            finished.push(std::move(ran));
          }));
    }
  };

  start_more();
  while (in_flight > 0) {
    for (Ran& ran : finished.take_all(kDisplayRefresh)) {
      --in_flight;
      if (ran.failure)
        std::rethrow_exception(ran.failure);
      if (stop_requested())
        continue;  // not stored: a resumed run evaluates it again
      EvaluationOutcome evaluated = evaluator_.record(store_, task, std::move(*ran.prepared));
      record(replayed(evaluated.candidate_id, evaluated, items[ran.index].file_name));
      ++stored;
      checkpoint(stored == items.size() ? RunStatus::kCompleted : RunStatus::kRunning);
      if (on_progress_)
        on_progress_(progress);
    }
    start_more();
  }
  if (stored < items.size()) {
    outcome.status = RunStatus::kInterrupted;
    outcome.stop_reason = "interrupted after " + std::to_string(stored) + " of " +
                          std::to_string(items.size()) + " candidates";
    checkpoint(RunStatus::kInterrupted);
    return outcome;
  }
  if (to_evaluate.empty())
    checkpoint(RunStatus::kCompleted);  // everything was stored before: say the task is done
  outcome.stop_reason = replayed_reason(items.size());
  return outcome;
}

EvaluationRequest OptimizeLoop::replay_request(const ReplayItem& item, size_t index) const {
  return {.source = item.source,
          .file_name = item.file_name,
          .origin = item.origin,
          .run_id = run_id_,
          .parent_id = item.parent_id,
          .iteration = static_cast<int64_t>(index)};
}

std::optional<ReplayedCandidate> OptimizeLoop::replay_slot(const Task& task,
                                                           const std::vector<ReplayItem>& items,
                                                           size_t index) {
  const auto iteration = static_cast<int64_t>(index);
  const ReplayItem& item = items.at(index);
  std::map<int64_t, int64_t> stored = candidate_ids_by_iteration(store_, run_id_, task.id);
  std::optional<ReplayedCandidate> candidate;
  if (auto found = stored.find(iteration); found != stored.end()) {
    if (std::optional<EvaluationRecord> last = latest_evaluation(store_, found->second))
      candidate = replayed(found->second, *last, item.file_name);
  }
  if (!candidate) {
    if (stop_requested())
      return std::nullopt;
    EvaluationOutcome evaluated =
        evaluator_.record(store_, task, evaluator_.prepare(task, replay_request(item, index)));
    stored.emplace(iteration, evaluated.candidate_id);
    candidate = replayed(evaluated.candidate_id, evaluated, item.file_name);
  }
  save_replay_state(store_, run_id_, task.id, stored.size(), items.size(),
                    stored.size() >= items.size() ? RunStatus::kCompleted : RunStatus::kRunning);
  return candidate;
}

TaskOutcome OptimizeLoop::replay_outcome(const Task& task,
                                         const std::vector<ReplayItem>& items) const {
  TaskOutcome outcome;
  TaskProgress& progress = outcome.progress;
  progress.task = task.name;
  double best_score = 0;
  for (const auto& [iteration, candidate_id] :
       candidate_ids_by_iteration(store_, run_id_, task.id)) {
    std::optional<EvaluationRecord> last = latest_evaluation(store_, candidate_id);
    if (!last || iteration < 0 || static_cast<size_t>(iteration) >= items.size())
      continue;
    count_replayed(progress, best_score,
                   replayed(candidate_id, *last, items[static_cast<size_t>(iteration)].file_name));
  }
  const auto stored = static_cast<size_t>(progress.attempts);
  if (stored == items.size()) {
    outcome.status = RunStatus::kCompleted;
    outcome.stop_reason = replayed_reason(items.size());
  } else {
    outcome.status = RunStatus::kRunning;
    outcome.stop_reason =
        std::to_string(stored) + " of " + std::to_string(items.size()) + " candidates stored";
  }
  return outcome;
}

void count_replayed(TaskProgress& progress, double& best_score, const ReplayedCandidate& replayed) {
  Feedback feedback;
  feedback.verdict = replayed.verdict;
  feedback.evidence = replayed.evidence;
  feedback.speedup = replayed.speedup;
  progress.attempts += 1;
  progress.verdicts[std::string(verdict_name(replayed.verdict))] += 1;
  consider_best(progress, feedback, replayed.candidate_id, best_score);
  progress.last = replayed.file_name + " " + std::string(verdict_name(replayed.verdict));
}

std::vector<ReplayItem> replay_files(const std::filesystem::path& path, const std::string& origin) {
  namespace fs = std::filesystem;
  if (!fs::exists(path))
    throw Error("no such file or folder", path.string());
  std::vector<fs::path> found;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().extension() == ".cu")
        found.push_back(entry.path());
    }
    if (found.empty())
      throw Error("the folder holds no .cu file", path.string());
    std::sort(found.begin(), found.end());
  } else {
    found.push_back(path);
  }
  std::vector<ReplayItem> items;
  for (const fs::path& file : found) {
    std::string shown = fs::is_directory(path) ? fs::relative(file, path).string() : file.string();
    items.push_back({.source = files::read(file), .file_name = shown, .origin = origin});
  }
  return items;
}

std::vector<ReplayItem> replay_candidates(const Store& store, const std::vector<int64_t>& ids) {
  std::vector<ReplayItem> items;
  for (int64_t id : ids) {
    std::optional<CandidateRow> candidate = find_candidate(store, id);
    if (!candidate)
      throw Error("no candidate " + std::to_string(id) + " in the store", store.path().string());
    items.push_back({.source = candidate->source,
                     .file_name = "candidate " + std::to_string(id),
                     .origin = "replay",
                     .parent_id = id});
  }
  return items;
}

std::string task_name_of_candidate(const Store& store, int64_t candidate_id) {
  std::optional<CandidateRow> candidate = find_candidate(store, candidate_id);
  std::optional<TaskRow> task = candidate ? find_task(store, candidate->task_id) : std::nullopt;
  if (!task)
    throw Error("no candidate " + std::to_string(candidate_id) + " in the store",
                store.path().string());
  return task->name;
}

std::filesystem::path built_in_seeds_folder() {
  return std::filesystem::path(KFORGE_SOURCE_DIR) / "kernels" / "seeds";
}

}  // namespace kforge
