// kforge optimize TASK... --agent llm|replay [strategy and budgets] [LLM flags] [--json]
// kforge optimize --resume RUN [LLM flags]
// kforge optimize --join RUN
// Runs the optimize loop (harness/optimize) on each task in turn, in one run of the store.
// Every task of a run is claimed through a lease (harness/optimize/lease_holder.hpp), and every
// candidate slot of a replay run (datasets/slot_lease_records.hpp), so that other kforge
// processes, on this machine or others sharing a PostgreSQL store, can --join the run and take
// their share of its work, and take over that of a node that died.
// LLM flags override kforge.toml by setting the llm.* keys; the effective configuration and
// the request are stored with the run, so --resume needs nothing but the run id (flags given
// with --resume override the stored configuration, e.g. a new --base-url).
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "agents/prompt.hpp"
#include "agents/provider.hpp"
#include "agents/strategy.hpp"
#include "cli/commands.hpp"
#include "cli/llm_provider.hpp"
#include "cli/stop_signals.hpp"
#include "datasets/lease_records.hpp"
#include "datasets/records.hpp"
#include "datasets/slot_lease_records.hpp"
#include "datasets/store.hpp"
#include "harness/candidate/plan_validation.hpp"
#include "harness/environment.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/evaluator.hpp"
#include "harness/evaluation/store_connections.hpp"
#include "harness/optimize/lease_holder.hpp"
#include "harness/optimize/optimize_loop.hpp"
#include "harness/options/gpu_worker_options.hpp"
#include "harness/task_import.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

struct OptimizeOptions {
  std::vector<std::string> tasks;
  std::string agent = "llm";
  std::string strategy;
  std::optional<int64_t> iterations, max_candidates, max_tokens, samples;
  std::optional<double> time_limit, max_cost, target_speedup;
  std::vector<std::string> from;
  std::optional<int64_t> from_run;
  std::string candidates;
  std::string hint;
  std::optional<int64_t> resume;
  std::optional<int64_t> join;
  std::string arch;
  std::string gpus;      // gpu.devices
  std::string profiler;  // profile.profiler
  std::string prompts;
  bool json = false;
  // llm.* keys set by flags: key -> value as text.
  KeyFlagValues llm_flags;
};

std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  for (const std::string& part : strings::split(text, ',')) {
    std::string word(strings::trim(part));
    if (word.empty())
      continue;
    char* end = nullptr;
    long long value = std::strtoll(word.c_str(), &end, 10);
    if (*end != '\0' || value <= 0)
      throw Error("not a candidate id: '" + word + "'", "--candidates");
    ids.push_back(value);
  }
  return ids;
}

std::string config_text(const nlohmann::json& value) {
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_boolean())
    return value.get<bool>() ? "true" : "false";
  return value.dump();
}

// The stem of a built-in task's name ("builtin/relu" -> "relu"), for its seed folder.
std::string task_stem(const std::string& name) {
  size_t slash = name.rfind('/');
  return slash == std::string::npos ? name : name.substr(slash + 1);
}

std::string format_cost(double usd) {
  char text[32];
  std::snprintf(text, sizeof(text), "$%.4f", usd);
  return text;
}

std::string verdict_counts(const TaskProgress& progress) {
  std::vector<std::string> parts;
  for (const auto& [verdict, count] : progress.verdicts)
    parts.push_back(verdict + " " + std::to_string(count));
  return parts.empty() ? "-" : strings::join(parts, ", ");
}

std::string best_text(const TaskProgress& progress) {
  if (!progress.best_candidate_id)
    return "-";
  std::string text = "#" + std::to_string(*progress.best_candidate_id) + " " +
                     std::string(progress.best_verdict ? verdict_name(*progress.best_verdict) : "");
  if (progress.best_speedup) {
    char speedup[32];
    std::snprintf(speedup, sizeof(speedup), " %.2fx", *progress.best_speedup);
    text += speedup;
  }
  return text;
}

std::string progress_line(const TaskProgress& progress) {
  std::string line = progress.task + ": " + std::to_string(progress.attempts) + " attempts (" +
                     verdict_counts(progress) + "), best " + best_text(progress) + ", " +
                     std::to_string(progress.input_tokens + progress.output_tokens) + " tokens, " +
                     format_cost(progress.cost_usd);
  char time[64];
  if (progress.time_limit_s > 0) {
    std::snprintf(time, sizeof(time), ", %.0f s left",
                  std::max(0.0, progress.time_limit_s - progress.elapsed_s));
  } else {
    std::snprintf(time, sizeof(time), ", %.0f s", progress.elapsed_s);
  }
  line += time;
  if (progress.in_flight > 0) {
    line += ", " + std::to_string(progress.in_flight) + " asked (" +
            std::to_string(progress.streamed_chars) + " chars streamed)";
  }
  if (!progress.last.empty())
    line += " | last: " + progress.last;
  return line;
}

// Live display on a terminal (one line per task, redrawn in place); plain lines otherwise,
// one per finished attempt.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(bool quiet) : quiet_(quiet), live_(!quiet && ::isatty(STDERR_FILENO)) {}

  void update(const TaskProgress& progress) {
    if (quiet_)
      return;
    if (live_) {
      std::cerr << "\r\033[K" << strings::printable_line(progress_line(progress)) << std::flush;
      return;
    }
    if (progress.attempts != last_attempts_ || progress.task != last_task_) {
      last_attempts_ = progress.attempts;
      last_task_ = progress.task;
      if (progress.attempts > 0)
        std::cerr << strings::printable_line(progress_line(progress)) << std::endl;
    }
  }
  void end_task() {
    if (live_ && !quiet_)
      std::cerr << "\n";
    last_attempts_ = -1;
  }

 private:
  bool quiet_;
  bool live_;
  int64_t last_attempts_ = -1;
  std::string last_task_;
};

void print_summary(int64_t run_id, RunStatus status, const std::vector<TaskOutcome>& outcomes) {
  print("run %lld: %s\n", static_cast<long long>(run_id),
        std::string(run_status_name(status)).c_str());
  print("%-28s %8s  %-36s %-22s %9s %10s  %s\n", "task", "attempts", "verdicts", "best", "tokens",
        "cost", "stop reason");
  for (const TaskOutcome& outcome : outcomes) {
    const TaskProgress& progress = outcome.progress;
    print("%-28s %8lld  %-36s %-22s %9lld %10s  %s\n", progress.task.c_str(),
          static_cast<long long>(progress.attempts), verdict_counts(progress).c_str(),
          best_text(progress).c_str(),
          static_cast<long long>(progress.input_tokens + progress.output_tokens),
          format_cost(progress.cost_usd).c_str(), outcome.stop_reason.c_str());
  }
}

agents::StrategySettings strategy_settings(const OptimizeOptions& options, const Config& config) {
  agents::StrategySettings settings;
  settings.samples = config.integer("llm.samples");
  if (!options.strategy.empty())
    settings.name = options.strategy;
  if (options.samples)
    settings.samples = *options.samples;
  agents::Budgets& budgets = settings.budgets;
  if (options.iterations)
    budgets.iterations = *options.iterations;
  if (options.max_candidates)
    budgets.candidates = *options.max_candidates;
  if (options.time_limit)
    budgets.wall_seconds = *options.time_limit;
  if (options.max_tokens)
    budgets.tokens = *options.max_tokens;
  if (options.max_cost)
    budgets.cost_usd = *options.max_cost;
  if (options.target_speedup)
    budgets.target_speedup = *options.target_speedup;
  return settings;
}

// The replay items for one task, from what the run's request says.
std::vector<ReplayItem> replay_items(const nlohmann::json& request, Store& store, const Task& task,
                                     Context& context) {
  std::vector<ReplayItem> items;
  std::vector<int64_t> ids = request.value("candidates", std::vector<int64_t>{});
  if (request.contains("from_run") && request["from_run"].is_number_integer()) {
    for (int64_t id : candidate_ids_of_run(store, request["from_run"].get<int64_t>()))
      ids.push_back(id);
  }
  if (!ids.empty()) {
    std::vector<int64_t> mine;
    for (int64_t id : ids) {
      std::string owner = task_name_of_candidate(store, id);
      if (owner == task.name)
        mine.push_back(id);
      else
        context.progress("candidate " + std::to_string(id) + " is for " + owner + ", not " +
                         task.name + ": not replayed for it");
    }
    return replay_candidates(store, mine);
  }
  std::vector<std::string> from = request.value("from", std::vector<std::string>{});
  for (const std::string& path : from) {
    for (ReplayItem& item : replay_files(path, "replay"))
      items.push_back(std::move(item));
  }
  if (from.empty()) {
    if (task.suite != kBuiltinSuite)
      throw Error(
          "the replay agent needs --from PATH, --from-run RUN or --candidates for a "
          "task that is not built in",
          task.name);
    const char* seeds_variable = std::getenv("KFORGE_SEEDS_DIR");
    std::filesystem::path seeds = seeds_variable != nullptr && *seeds_variable != '\0'
                                      ? std::filesystem::path(seeds_variable)
                                      : built_in_seeds_folder();
    std::filesystem::path folder = seeds / task_stem(task.name);
    if (!std::filesystem::is_directory(folder))
      throw Error("no seed kernels for this task (set KFORGE_SEEDS_DIR or pass --from)",
                  folder.string());
    context.progress("replaying the seed kernels in " + folder.string());
    items = replay_files(folder, "seed");
  }
  return items;
}

// The LLM agent's starting point for the run's request: --from names the engineer's candidate
// (one .cu file, read now, so that the run keeps what was handed in) and --hint the instruction.
nlohmann::json llm_start_request(const std::vector<std::string>& from, const std::string& hint) {
  nlohmann::json start = {{"hint", hint}};
  if (from.empty())
    return start;
  if (from.size() > 1 || !std::filesystem::is_regular_file(from.front()))
    throw Error("with the llm agent, --from names one .cu file to start from", "--from");
  ReplayItem item = replay_files(from.front(), "human").front();
  start["file"] = from.front();
  start["file_name"] = item.file_name;
  start["source"] = item.source;
  return start;
}

LlmStart llm_start(const nlohmann::json& request) {
  LlmStart start;
  if (!request.contains("start") || !request["start"].is_object())
    return start;
  const nlohmann::json& stored = request["start"];
  start.hint = stored.value("hint", "");
  if (stored.contains("source"))
    start.candidate = ReplayItem{.source = stored["source"].get<std::string>(),
                                 .file_name = stored.value("file_name", "candidate.cu"),
                                 .origin = "human"};
  return start;
}

// Runs one task (or candidate slot) of the run and returns what it returns. A broken tool (a
// full disk, an unwritable cache) is an Error that ends kforge; the run is marked interrupted
// first (where the store can still be written), so it is never left `running`, and --resume
// continues it once the cause is fixed.
template <typename Work>
auto run_marking_interrupted(Store& store, int64_t run_id, Work work) -> decltype(work()) {
  try {
    return work();
  } catch (const LeaseLost&) {
    throw;  // the task is another node's now; the run goes on
  } catch (const Error& failure) {
    try {
      finish_run(store, run_id, RunStatus::kInterrupted, {{"error", failure.what()}});
    } catch (const Error&) {
    }
    throw Error(failure.message() + "; the run is interrupted: continue with `kforge optimize " +
                    "--resume " + std::to_string(run_id) + "` once the cause is fixed",
                failure.where());
  }
}

void run_optimize(OptimizeOptions& options, Context& context) {
  Workspace& workspace = context.workspace();
  if (options.join) {
    if (options.resume)
      throw Error(
          "--join works beside the nodes of a running run, --resume continues a run nobody "
          "works on: give one",
          "--join");
    // Nodes of an older kforge may be working in the store: its schema must stay as it is.
    refuse_older_schema_for_join(workspace);
  }
  Store& store = workspace.store();
  Config& config = workspace.config();

  std::optional<RunRow> resumed;
  nlohmann::json request;
  const std::optional<int64_t> existing = options.resume ? options.resume : options.join;
  const std::string existing_flag = options.resume ? "--resume" : "--join";
  if (existing) {
    if (!options.tasks.empty())
      throw Error(existing_flag + " continues the run's own tasks: name none", "kforge optimize");
    resumed = find_run(store, *existing);
    if (!resumed || resumed->kind != "optimize")
      throw Error("no optimize run " + std::to_string(*existing) + " in the store",
                  workspace.db_path().string());
    if (resumed->status == RunStatus::kCompleted)
      throw Error("run " + std::to_string(resumed->id) + " has already completed", existing_flag);
    if (options.join && resumed->status != RunStatus::kRunning)
      throw Error("run " + std::to_string(resumed->id) + " is " +
                      std::string(run_status_name(resumed->status)) +
                      ": no node works on it to join; continue it with `kforge optimize --resume " +
                      std::to_string(resumed->id) + "`",
                  "--join");
    request = resumed->request;
    if (options.join && request.contains("schema_version") &&
        request["schema_version"] != Store::latest_schema_version())
      throw Error("run " + std::to_string(resumed->id) + " was started by a kforge of schema " +
                      "version " + request["schema_version"].dump() + ", this one has " +
                      std::to_string(Store::latest_schema_version()) +
                      ": join with the kforge version the other nodes run",
                  "--join");
    for (const auto& [key, value] : resumed->config.items()) {
      if (key.rfind("llm.", 0) == 0 || key == "arch" || key == "store.lease_s")
        config.set(key, config_text(value));
    }
  }
  for (const auto& [key, value] : options.llm_flags.keys)
    config.set(key, value);
  if (!options.gpus.empty())
    config.set(kGpuDevicesKey, options.gpus);
  apply_profiler_flag(config, options.profiler);

  if (!existing) {
    if (options.tasks.empty())
      throw Error("name at least one task, or --resume RUN, or --join RUN", "kforge optimize");
    agents::StrategySettings settings = strategy_settings(options, config);
    // Absolute, so that --resume from another folder finds the same files.
    std::vector<std::string> from;
    for (const std::string& path : options.from)
      from.push_back(std::filesystem::absolute(path).lexically_normal().string());
    request = {{"tasks", options.tasks},
               {"agent", options.agent},
               {"strategy", settings.to_json()},
               {"from", from},
               {"candidates", parse_ids(options.candidates)},
               {"prompts", options.prompts},
               {"schema_version", Store::latest_schema_version()}};
    if (options.from_run)
      request["from_run"] = *options.from_run;
    if (options.agent == "llm" && !from.empty() && options.tasks.size() > 1)
      throw Error("with the llm agent, --from starts one task: name one", "--from");
    if (options.agent == "llm")
      request["start"] = llm_start_request(from, options.hint);
    else if (!options.hint.empty())
      throw Error("--hint is an instruction for the llm agent", "--hint");
  }
  std::string agent = request.value("agent", "llm");
  agents::StrategySettings settings =
      agents::StrategySettings::from_json(request.value("strategy", nlohmann::json::object()));

  // Check what can be checked before a run row exists: the strategy name and the provider.
  std::unique_ptr<agents::Provider> provider;
  if (agent == "llm")
    provider = configured_provider(workspace, config);

  // Tasks (and the replay agent's sources) before the run row: a typo in a name or path
  // leaves no run behind.
  std::vector<Task> tasks;
  for (const std::string& name : request.value("tasks", std::vector<std::string>{})) {
    tasks.push_back(load_task(workspace, name,
                              [&context](const std::string& line) { context.progress(line); }));
  }
  std::vector<std::vector<ReplayItem>> replays;
  if (agent == "replay") {
    for (const Task& task : tasks)
      replays.push_back(replay_items(request, store, task, context));
  }

  // Before the run row: a compile pool that cannot start leaves no run behind.
  EvaluationService service(
      workspace, {.arch = options.arch, .gpu_worker_command = context.options.gpu_worker_command});
  const std::vector<GpuInfo>& gpus = service.gpus();

  // Each task of the run once: the index of the lease's task in `tasks`.
  std::map<int64_t, size_t> task_index;
  for (size_t index = 0; index < tasks.size(); ++index)
    task_index.emplace(tasks[index].id, index);

  // The replay agent's run is shared by candidate slot: every replay item of every task, numbered
  // by task id then item, so that every node numbers them alike (slot_lease_records.hpp). The
  // LLM agent's is shared by task (each task's conversation lives in one process).
  const bool by_slot = agent == "replay";
  std::vector<SlotRow> slots;
  if (by_slot) {
    for (const auto& [id, index] : task_index) {
      for (size_t item = 0; item < replays[index].size(); ++item)
        slots.push_back({.slot = static_cast<int64_t>(slots.size()),
                         .task_id = id,
                         .item = static_cast<int64_t>(item)});
    }
  }

  int64_t run_id = 0;
  if (options.join) {
    run_id = resumed->id;
    // The run's leases name its tasks (and slots); a node that loads other ones (other task or
    // candidate files, another kforge's built-in tasks) would work on a different run.
    if (by_slot) {
      const std::vector<SlotRow> stored = slots_of(store, run_id);
      bool same = stored.size() == slots.size();
      for (size_t slot = 0; same && slot < slots.size(); ++slot)
        same = stored[slot].task_id == slots[slot].task_id && stored[slot].item == slots[slot].item;
      if (!same)
        throw Error("the tasks and candidates this node loads are not the run's (" +
                        std::to_string(stored.size()) + " candidate slots, this node has " +
                        std::to_string(slots.size()) +
                        "); join with the same kforge, task and candidate files as the other nodes",
                    "run " + std::to_string(run_id));
    } else {
      std::vector<LeaseRow> leases = leases_of(store, run_id);
      bool same = leases.size() == task_index.size();
      for (const LeaseRow& lease : leases)
        same = same && task_index.contains(lease.task_id);
      if (!same)
        throw Error("the tasks this node loads are not the run's (" +
                        std::to_string(leases.size()) +
                        " leased); join with the same kforge and task files as the other nodes",
                    "run " + std::to_string(run_id));
    }
    context.progress("joining run " + std::to_string(run_id) + " as " + store.node());
  } else if (resumed) {
    run_id = resumed->id;
    reopen_run(store, run_id);
    // A resumed run is one nobody works on any more: what its nodes held is free at once.
    const int64_t freed = free_leases(store, run_id) + kSlotLeases.free_held(store, run_id);
    if (freed > 0)
      context.progress("freed " + std::to_string(freed) + " lease" + (freed == 1 ? "" : "s") +
                       " of the nodes that worked on it before");
    context.progress("resuming run " + std::to_string(run_id));
  } else {
    RunRow run{.kind = "optimize",
               .request = request,
               .config = config.to_json(),
               .agent = agent,
               .gpu = service.gpu_name()};
    if (agent == "llm") {
      run.strategy = settings.name;
      run.model = config.string("llm.model");
    }
    run_id = insert_run(store, run);
    context.progress("run " + std::to_string(run_id));
  }
  if (!options.join) {
    // A resumed run started by an older kforge may have no slots yet: those it stored are found
    // stored when claimed.
    if (by_slot) {
      add_slot_leases(store, run_id, slots);
    } else {
      std::vector<int64_t> ids;
      for (const auto& [id, index] : task_index)
        ids.push_back(id);
      add_leases(store, run_id, ids);
    }
  }
  LeaseHolder leases(by_slot ? kSlotLeases : kTaskLeases, open_another_store(workspace), run_id,
                     store.node(), static_cast<double>(config.integer("store.lease_s")),
                     stop_requested());

  Evaluator& evaluator = service.evaluator();
  for (const LostDevice& lost : service.devices_not_started())
    context.progress("GPU " + std::to_string(lost.device) +
                     " runs nothing in this run, its work goes to the other GPUs: " + lost.reason);

  ProgressDisplay display(context.options.quiet || options.json);
  std::mutex display_mutex;
  StopSignals signals;

  std::optional<agents::PromptLibrary> library;
  if (agent == "llm") {
    std::string prompts = request.value("prompts", "");
    library = agents::PromptLibrary::load(
        prompts.empty() ? std::nullopt : std::optional<std::filesystem::path>(prompts));
  }

  // One task of an LLM run, in `store` (a connection of the thread running it).
  auto run_task = [&](Store& task_store, size_t index, const std::atomic<bool>* stop) {
    const Task& task = tasks[index];
    OptimizeLoop loop(
        task_store, evaluator, run_id,
        [&display, &display_mutex](const TaskProgress& progress) {
          std::lock_guard lock(display_mutex);
          display.update(progress);
        },
        stop);
    TaskOutcome outcome;
    agents::TaskView view{
        .name = task.name,
        .source = task.source,
        .signature = task.analysis ? task.analysis->benchmark.to_json() : nlohmann::json::object()};
    agents::GpuTarget target{.architecture = service.arch()};
    if (!gpus.empty()) {
      const GpuInfo& gpu = gpus.front();
      target.name = gpu.name;
      target.sm_count = gpu.sm_count;
      target.shared_memory_per_block_bytes = gpu.shared_memory_per_block_optin;
      // Bus width (bits) x memory clock (kHz) x 2 (double data rate), in GB/s.
      target.memory_bandwidth_gb_s =
          2.0 * gpu.memory_clock_khz * 1e3 * (gpu.memory_bus_width_bits / 8.0) / 1e9;
    } else {
      target.name = "an NVIDIA GPU of architecture " + service.arch();
    }
    auto prompts = std::make_shared<const agents::PromptBuilder>(*library, view, target);
    LlmStart start = llm_start(request);
    outcome = run_marking_interrupted(task_store, run_id, [&] {
      return loop.run_llm(task, *provider, settings, prompts, start);
    });
    std::lock_guard lock(display_mutex);
    display.end_task();
    return outcome;
  };

  // An LLM run's tasks proceed side by side, as many at once as there are GPUs (one after
  // another on one GPU); a replay run's candidate slots, as many at once as the compile workers
  // and the GPUs keep busy. Each lane is a thread with its own store connection, all sharing the
  // compile pool and the GPU pool; it claims the next task's (slot's) lease, and when none is
  // free but other nodes hold open ones, it waits, to take over one whose holder's lease
  // expires. A task or slot that fails, or is interrupted, stops the others from starting new
  // ones; those running finish theirs.
  const size_t lanes =
      by_slot
          ? std::max<size_t>(1, std::min<size_t>(slots.size(), static_cast<size_t>(std::max(
                                                                   1, evaluator.parallelism() +
                                                                          evaluator.gpu_count()))))
          : std::max<size_t>(1, std::min<size_t>(tasks.size(), std::max(1, evaluator.gpu_count())));
  const auto poll = std::chrono::duration<double>(std::min(1.0, leases.lease_seconds() / 4));
  std::vector<std::optional<TaskOutcome>> finished(tasks.size());
  std::atomic<bool> halted{false};
  std::mutex failure_mutex;
  std::exception_ptr first_error;
  // An LLM run's item is a task: its loop runs to the end (or a stop) under the task's lease.
  auto task_work = [&](Store& lane_store, const ClaimedLease& claim) {
    const size_t index = task_index.at(claim.item);
    if (claim.taken_from)
      context.progress(tasks[index].name + ": taken over from " + *claim.taken_from +
                       ", whose lease expired");
    std::optional<TaskOutcome> ran;
    try {
      Store::FencedWrites fenced(lane_store, leases.fence(claim.item));
      ran = run_task(lane_store, index, leases.stop_flag(claim.item));
    } catch (const LeaseLost&) {
      // A write of the task was refused: another node holds its lease (lost() says so).
    }
    if (!ran || leases.lost(claim.item)) {
      // Another node took the task over while this one stalled: its outcome is theirs.
      context.progress(tasks[index].name + ": the lease expired and another node took the " +
                       "task over; this node left it");
      leases.release(lane_store, claim.item, /*done=*/false);
      return;
    }
    TaskOutcome outcome = std::move(*ran);
    leases.release(lane_store, claim.item, outcome.status == RunStatus::kCompleted);
    if (outcome.status == RunStatus::kFailed || outcome.status == RunStatus::kInterrupted)
      halted = true;
    finished[index] = std::move(outcome);
  };
  // The live display of a replay run: each task's candidates as this node counted them (the
  // summary at the end reads every node's from the store).
  std::vector<TaskProgress> counted(tasks.size());
  std::vector<double> best_scores(tasks.size(), 0.0);
  for (size_t index = 0; index < tasks.size(); ++index)
    counted[index].task = tasks[index].name;
  // A replay run's item is a candidate slot, of any task: its candidate is evaluated and stored
  // under the slot's lease (fenced: nothing of it is stored once another node took the slot
  // over), and the slot released done.
  auto slot_work = [&](Store& lane_store, const ClaimedLease& claim) {
    const SlotRow& slot = slots.at(static_cast<size_t>(claim.item));
    const size_t index = task_index.at(slot.task_id);
    const std::string what =
        tasks[index].name + " " + replays[index][static_cast<size_t>(slot.item)].file_name;
    if (claim.taken_from)
      context.progress(what + ": taken over from " + *claim.taken_from + ", whose lease expired");
    std::optional<ReplayedCandidate> replayed;
    try {
      Store::FencedWrites fenced(lane_store, leases.fence(claim.item));
      OptimizeLoop loop(lane_store, evaluator, run_id, nullptr, leases.stop_flag(claim.item));
      replayed = run_marking_interrupted(lane_store, run_id, [&] {
        return loop.replay_slot(tasks[index], replays[index], static_cast<size_t>(slot.item));
      });
    } catch (const LeaseLost&) {
      // A write was refused: another node holds the slot's lease (lost() says so).
    }
    if (leases.lost(claim.item)) {
      context.progress(what + ": the lease expired and another node took the candidate slot " +
                       "over; this node left it");
      leases.release(lane_store, claim.item, /*done=*/false);
      return;
    }
    leases.release(lane_store, claim.item, replayed.has_value());
    if (replayed) {
      std::lock_guard lock(display_mutex);
      count_replayed(counted[index], best_scores[index], *replayed);
      display.update(counted[index]);
      if (static_cast<size_t>(counted[index].attempts) == replays[index].size())
        display.end_task();
    }
  };
  // A lane claims the next item and works on it, until none is left (waiting while other nodes
  // hold open ones, one of which may yet expire), the run halts or a stop is asked. Work that
  // throws halts the run: the others start nothing new, the error is the run's, and the claimed
  // item goes back (or its lease expires on its own).
  auto lane = [&](Store& lane_store) {
    while (!halted.load() && !stop_requested().load()) {
      std::optional<ClaimedLease> claim;
      try {
        claim = leases.claim(lane_store);
        if (!claim) {
          if (!leases.others_hold_open_items(lane_store))
            return;
          std::this_thread::sleep_for(poll);
          continue;
        }
        by_slot ? slot_work(lane_store, *claim) : task_work(lane_store, *claim);
      } catch (...) {
        halted = true;
        std::lock_guard lock(failure_mutex);
        if (!first_error)
          first_error = std::current_exception();
        if (claim) {
          try {
            leases.release(lane_store, claim->item, /*done=*/false);
          } catch (const Error&) {
            // The lease expires on its own.
          }
        }
        return;
      }
    }
  };
  std::vector<std::unique_ptr<Store>> lane_stores;
  for (size_t other = 1; other < lanes; ++other)
    lane_stores.push_back(open_another_store(workspace));
  {
    std::vector<std::thread> threads;
    for (size_t other = 1; other < lanes; ++other)
      threads.emplace_back(lane, std::ref(*lane_stores[other - 1]));
    lane(store);
    for (std::thread& thread : threads)
      thread.join();
  }
  if (first_error)
    std::rethrow_exception(first_error);

  // The run's outcome is every task's, whoever ran it: a replay run's from the store's
  // candidates, an LLM run's from its tasks' checkpoints where another process ended them.
  const int64_t open_items =
      by_slot ? kSlotLeases.count_open(store, run_id) : count_open_leases(store, run_id);
  const bool others_work = open_items > 0 && leases.others_hold_open_items(store);
  if (by_slot) {
    const OptimizeLoop reader(store, evaluator, run_id, nullptr);
    std::set<int64_t> seen;
    for (size_t index = 0; index < tasks.size(); ++index) {
      if (!seen.insert(tasks[index].id).second)
        continue;
      TaskOutcome outcome = reader.replay_outcome(tasks[index], replays[index]);
      if (outcome.status == RunStatus::kCompleted && open_items == 0) {
        // Every slot is done: the task's checkpoint says so, whatever order the nodes wrote
        // theirs in.
        save_replay_state(store, run_id, tasks[index].id, replays[index].size(),
                          replays[index].size(), RunStatus::kCompleted);
      }
      if (outcome.status == RunStatus::kRunning && !others_work)
        outcome.status = RunStatus::kInterrupted;
      finished[index] = std::move(outcome);
    }
  } else {
    // An LLM run's tasks that other processes ended (other nodes of a shared run, or earlier
    // processes of a resumed one) count as their last checkpoint says.
    std::set<int64_t> seen;
    for (size_t index = 0; index < tasks.size(); ++index) {
      if (!seen.insert(tasks[index].id).second || finished[index])
        continue;
      std::optional<RunTaskRow> row = find_run_task(store, run_id, tasks[index].id);
      if (!row || row->status != RunStatus::kCompleted || !row->state.contains("outcome"))
        continue;
      finished[index] = TaskOutcome::from_json(row->state["outcome"]);
    }
  }

  std::vector<TaskOutcome> outcomes;
  RunStatus run_status = RunStatus::kCompleted;
  std::string failure;
  for (std::optional<TaskOutcome>& outcome : finished) {
    if (!outcome)
      continue;
    outcomes.push_back(std::move(*outcome));
    if (outcomes.back().status == RunStatus::kFailed && run_status != RunStatus::kFailed) {
      run_status = RunStatus::kFailed;
      failure = outcomes.back().error;
    } else if (outcomes.back().status == RunStatus::kInterrupted &&
               run_status == RunStatus::kCompleted) {
      run_status = RunStatus::kInterrupted;
    }
  }
  if (run_status == RunStatus::kCompleted && open_items > 0)
    run_status = RunStatus::kInterrupted;
  if (run_status == RunStatus::kCompleted && stop_requested().load())
    run_status = RunStatus::kInterrupted;

  nlohmann::json tasks_json = nlohmann::json::array();
  for (const TaskOutcome& outcome : outcomes)
    tasks_json.push_back(outcome.to_json());
  nlohmann::json summary = {{"tasks", tasks_json}};
  // The node that sees every task (slot) done finishes the run, its summary listing every task;
  // while other nodes hold open ones, the run is theirs to finish.
  const std::string left = by_slot ? " candidate slot" : " task";
  if (others_work)
    context.progress("run " + std::to_string(run_id) + ": this node stops; " +
                     std::to_string(open_items) + left + (open_items == 1 ? "" : "s") +
                     " left to the other nodes");
  else if (!((outcomes.empty() || by_slot) && run_status == RunStatus::kCompleted &&
             find_run(store, run_id)->status == RunStatus::kCompleted))
    finish_run(store, run_id, run_status, summary);  // not over another node's completed run

  if (options.json) {
    nlohmann::json report = {
        {"run_id", run_id}, {"status", run_status_name(run_status)}, {"tasks", tasks_json}};
    if (!failure.empty())
      report["error"] = failure;
    Context::print_json(report);
  } else {
    print_summary(run_id, run_status, outcomes);
  }
  if (run_status == RunStatus::kInterrupted) {
    if (!others_work)
      context.progress("interrupted: continue with `kforge optimize --resume " +
                       std::to_string(run_id) + "`");
    if (!others_work || stop_requested().load())
      throw CLI::RuntimeError(130);
  }
  if (run_status == RunStatus::kFailed)
    throw Error(failure + (others_work ? "; the other nodes go on with the run"
                                       : "; continue with `kforge optimize --resume " +
                                             std::to_string(run_id) + "`"),
                "run " + std::to_string(run_id));
}

}  // namespace

void add_optimize_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "optimize",
      "let an agent (an LLM, or replay of files) propose candidates for tasks; "
      "evaluate and store every attempt");
  auto options = std::make_shared<OptimizeOptions>();
  command->add_option("task", options->tasks, "tasks to optimize, e.g. builtin/relu");
  command->add_option("--agent", options->agent, "who proposes candidates")
      ->check(CLI::IsMember({"llm", "replay"}));
  std::vector<std::string> strategy_names;
  std::string strategy_help = "search strategy (llm agent):";
  for (const agents::StrategyKind& kind : agents::strategy_kinds()) {
    strategy_names.emplace_back(kind.name);
    strategy_help += " " + std::string(kind.name) + ": " + std::string(kind.help) + ";";
  }
  command->add_option("--strategy", options->strategy, strategy_help)
      ->check(CLI::IsMember(strategy_names));
  command->add_option("--iterations", options->iterations,
                      "rounds (sample), turns per chain (refine), generations (beam)");
  command->add_option("--samples", options->samples,
                      "proposals per round / chains / first generation (default: llm.samples)");
  command->add_option("--max-candidates", options->max_candidates, "stop after this many asks");
  command->add_option("--time-limit", options->time_limit, "stop asking after this many seconds");
  command->add_option("--max-tokens", options->max_tokens,
                      "token budget of the run per task (input + output)");
  command->add_option("--max-cost", options->max_cost, "cost budget per task, in US dollars");
  command->add_option("--target-speedup", options->target_speedup,
                      "stop once a correct candidate is this many times faster");
  command->add_option("--from", options->from,
                      "replay: a .cu file or a folder of them (default for built-in tasks: "
                      "their seed kernels); llm: one .cu file to start from, evaluated first "
                      "and refined");
  command->add_option("--hint", options->hint,
                      "llm: an instruction for the model, with the --from candidate's result "
                      "(or at the end of the first prompt)");
  command->add_option("--from-run", options->from_run, "replay: the candidates of a stored run");
  command->add_option("--candidates", options->candidates, "replay: stored candidate ids, ID,...");
  command->add_option("--resume", options->resume, "continue a run that was killed or failed");
  command->add_option("--join", options->join,
                      "work on a running run beside the nodes already on it, taking its tasks "
                      "(a replay run: its candidates) by lease (store.lease_s), also those of a "
                      "node that died; a PostgreSQL store shares a run across machines "
                      "(docs/scale-out.md)");
  command->add_option("--arch", options->arch,
                      "architecture to compile for (default: the GPU's, else config `arch`)");
  command->add_option(
      "--gpus", options->gpus,
      "GPUs to run candidates on, one worker each: all, or ordinals such as 0,2 "
      "(sets gpu.devices); the run's tasks proceed side by side. The devices are this "
      "machine's: --resume and --join do not take them from the run");
  add_profiler_flag(*command, options->profiler);
  command->add_option("--prompts", options->prompts,
                      "folder of prompt templates overriding the built-in ones");
  command->add_flag("--json", options->json, "print one JSON object");
  add_llm_flags(*command, options->llm_flags);
  command->callback([options, &context] { run_optimize(*options, context); });
}

}  // namespace kforge::cli
