// kforge tune FILE.cu --task T [--strategy S] [--max-evals N] [--fraction F] [--time S]
//   [--seed K] [--arch A] [--space-limit N] [--start NAME=V,... ...]
//   [--llm-start N [--model M ...] [--prompts DIR]] [--promote] [--json];
//   kforge tune --resume RUN [--promote] [--json]:
// searches the candidate's define space (its defines' values and constraints) with a strategy,
// every point through the same evaluator as `kforge eval` and stored (origin `tune`), a point
// already evaluated never run again, a killed run resumed (harness/autotune/tuner.hpp). Progress
// on stderr; at the end the best point, its speedup and the top points; --promote hands the best
// point to `kforge promote`. --llm-start N first asks the LLM of kforge.toml's [llm] keys (the
// flags --provider, --base-url, --model, ... override them, as optimize's do) for up to N
// promising points, which are evaluated before the strategy's (docs/tuning.md); --start gives
// such points by hand, evaluated before the LLM's.
//
// kforge tune --join RUN [--json]: works on running tuning run RUN beside the kforge processes
// already on it (this machine's or others' sharing the store), taking its share of the points by
// lease (harness/autotune/tuner.hpp, docs/scale-out.md).
//
// kforge tune --replay SPACE.json[.gz] [--strategy S] [--budget-fraction F] [--repeats N]
//   [--seed K] [--json] [--export FILE --format kernel-tuner-cache|t4]: measures a search
// strategy on a recorded space (Kernel Tuner's cache format or T4 results), where evaluating a
// point is a look-up, against random search on the same space and budget. `--export` writes the
// points the strategy evaluated with seed K in that format, which --replay reads back.
//
// kforge tune export RUN --format t4|kernel-tuner-cache [--output FILE]: a tuning run's results
// from the store in the T4 results schema or Kernel Tuner's cache format
// (harness/autotune/tune_export.hpp), on stdout or into FILE; --replay reads both.
#include <charconv>
#include <cstdio>

#include "agents/prompt.hpp"
#include "agents/provider.hpp"
#include "cli/commands.hpp"
#include "cli/llm_provider.hpp"
#include "datasets/run_records.hpp"
#include "harness/autotune/tune_export.hpp"
#include "harness/autotune/tuner.hpp"
#include "harness/config.hpp"
#include "harness/evaluation/evaluation_service.hpp"
#include "harness/evaluation/store_connections.hpp"
#include "harness/library/promotion.hpp"
#include "harness/task_import.hpp"
#include "harness/tuning/replay.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/formatted.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

// The largest candidate file `tune` reads (as `eval`: a source over the policy's limit gets its
// verdict from the evaluator).
constexpr size_t kMaxCandidateFileBytes = size_t{256} << 20;

struct TuneArguments {
  std::string file;
  std::string task;
  std::string arch;
  autotune::TuneRequest request;
  int64_t resume = 0;
  int64_t join = 0;
  // The options a joining node takes from the run instead, as given on the command line.
  std::vector<std::string> run_options;
  std::string replay;
  tuning::ReplayOptions options;
  bool json = false;
  bool promote = false;
  std::string export_path;
  std::string format = "kernel-tuner-cache";
  // For an LLM start: the [llm] keys the flags set, and a folder of prompt templates.
  KeyFlagValues llm;
  std::string prompts;
  // --start, as given: one point each ("BLOCK=256,ITEMS=4").
  std::vector<std::string> start;
};

struct TuneExportArguments {
  int64_t run = 0;
  std::string format;
  std::string output;
};

std::string export_format_names() {
  std::string names;
  for (const autotune::ExportFormat& format : autotune::export_formats())
    names += (names.empty() ? "" : "|") + std::string(format.name);
  return names;
}

void run_export(const TuneExportArguments& arguments, Context& context) {
  if (arguments.format.empty())
    throw Error("give the format: --format " + export_format_names(), "kforge tune export");
  autotune::check_export_format(arguments.format);
  std::string text = autotune::export_text(
      autotune::tuning_results_of_run(context.workspace().store(), arguments.run),
      arguments.format);
  if (arguments.output.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  files::write_atomic(arguments.output, text);
}

void print_summary(const tuning::ScoreSummary& summary) {
  print("%-10s  median %.4f  p10 %.4f  p90 %.4f", summary.strategy.c_str(), summary.median,
        summary.p10, summary.p90);
  for (const tuning::ScoreSummary::Reach& reach : summary.reach) {
    if (reach.median)
      print("  %.0f%% after %.0f", reach.fraction * 100, *reach.median);
    else
      print("  %.0f%% not reached", reach.fraction * 100);
  }
  print("  (%.2f s)\n", summary.seconds);
}

void run_replay(const TuneArguments& arguments) {
  tuning::RecordedSpace recorded = tuning::read_recorded_space(arguments.replay);
  if (!arguments.export_path.empty())
    autotune::check_export_format(arguments.format);
  tuning::ReplayReport report = tuning::replay(recorded, arguments.options);
  if (!arguments.export_path.empty()) {
    std::vector<tuning::PointId> run = tuning::replay_run(recorded, arguments.options.strategy,
                                                          report.budget, arguments.options.seed);
    files::write_atomic(
        arguments.export_path,
        autotune::export_text(tuning::tuning_results_of(recorded, run), arguments.format));
  }
  if (arguments.json)
    return Context::print_json(tuning::to_json(report));
  print("space: %zu points (%zu with a time), optimum %g\n", report.space_size, report.succeeded,
        report.optimum);
  print("budget: %zu evaluations (%.4g of the space), %zu repeats from seed %llu\n", report.budget,
        report.options.budget_fraction, report.options.repeats,
        static_cast<unsigned long long>(report.options.seed));
  print("score = optimum time / best time found\n");
  print_summary(report.strategy);
  print_summary(report.random);
}

std::string defines_text(const std::map<std::string, int64_t>& defines) {
  std::vector<std::string> parts;
  for (const auto& [name, value] : defines)
    parts.push_back(name + "=" + std::to_string(value));
  return strings::join(parts, " ");
}

// " (LLM)" for a point the LLM's start proposed, " (given)" for one of --start.
std::string origin_mark(const autotune::TunedPoint& point) {
  switch (point.origin) {
    case autotune::PointOrigin::kLlm:
      return " (LLM)";
    case autotune::PointOrigin::kGiven:
      return " (given)";
    case autotune::PointOrigin::kStrategy:
      break;
  }
  return "";
}

// One --start point, "NAME=VALUE[,NAME=VALUE...]" with whole-number values; a define left out
// takes its default (the tuner checks the names and values against the candidate's space).
std::map<std::string, int64_t> parsed_start_point(const std::string& text) {
  auto refused = [&](const std::string& why) {
    return CLI::ValidationError("--start", "'" + text + "': " + why +
                                               " (give NAME=VALUE[,NAME=VALUE...], e.g. "
                                               "BLOCK=256,ITEMS=4)");
  };
  std::map<std::string, int64_t> point;
  for (const std::string& pair : strings::split(text, ',')) {
    const size_t equals = pair.find('=');
    if (equals == std::string::npos || equals == 0)
      throw refused("'" + pair + "' is not NAME=VALUE");
    const std::string name = pair.substr(0, equals);
    const std::string value = pair.substr(equals + 1);
    int64_t number = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || error != std::errc() || end != value.data() + value.size())
      throw refused(name + "'s value '" + value + "' is not a whole number");
    if (!point.emplace(name, number).second)
      throw refused(name + " is given twice");
  }
  return point;
}

std::string point_result(const autotune::TunedPoint& point) {
  std::string text(verdict_name(point.verdict));
  if (point.time_us)
    text += formatted(" %.3f us", *point.time_us);
  if (point.cached)
    text += " (from the store)";
  return text;
}

void print_tune_report(const autotune::TuneReport& report) {
  print("kforge tune: %s on %s (%s, %s), strategy %s, run %lld\n", report.request.file_name.c_str(),
        report.request.task.c_str(), report.arch.c_str(), report.gpu.c_str(),
        report.request.strategy.c_str(), static_cast<long long>(report.run_id));
  print(
      "space: %llu points declared, %zu valid searched%s; %zu points told (%zu evaluated, %zu "
      "from the store) of a budget of %zu, %s in %.1f s\n",
      static_cast<unsigned long long>(report.product_size), report.space_size,
      report.sampled ? " (a uniform sample)" : "", report.points.size(), report.evaluated(),
      report.points.size() - report.evaluated(), report.budget,
      report.exhausted ? "completed (every point of the space told)"
                       : std::string(run_status_name(report.status)).c_str(),
      report.seconds);
  if (const std::optional<autotune::LlmStart>& start = report.llm_start) {
    print("LLM start: %zu point%s asked for: %s", start->asked, start->asked == 1 ? "" : "s",
          start->note.c_str());
    if (start->exchange_id)
      print(" (exchange %lld)", static_cast<long long>(*start->exchange_id));
    print("\n");
    for (const tuning::DroppedPoint& dropped : start->dropped)
      print("  dropped point %zu %s: %s\n", dropped.index + 1, dropped.point.c_str(),
            dropped.reason.c_str());
  }
  std::vector<const autotune::TunedPoint*> ranked = report.ranked();
  if (ranked.empty()) {
    print("best: none (no point was correct)\n");
    return;
  }
  const autotune::TunedPoint& best = *ranked.front();
  print("best: %s%s  %.3f us", defines_text(best.defines).c_str(), origin_mark(best).c_str(),
        *best.time_us);
  if (best.speedup_eager)
    print("  speedup %.2fx over eager", *best.speedup_eager);
  print("  (candidate %lld)\n", static_cast<long long>(best.candidate_id));
  print("top points:\n");
  for (size_t i = 0; i < ranked.size() && i < 5; ++i)
    print("  %2zu. %-40s %10.3f us  %s%s\n", i + 1, defines_text(ranked[i]->defines).c_str(),
          *ranked[i]->time_us,
          ranked[i]->speedup_eager ? formatted("%.2fx", *ranked[i]->speedup_eager).c_str() : "-",
          origin_mark(*ranked[i]).c_str());
}

// One line on stderr per point: where the run is, the best so far and the time left.
autotune::TuneProgress progress_lines(const Context& context) {
  return [&context](const autotune::TuneReport& so_far, const autotune::TunedPoint& latest) {
    std::vector<const autotune::TunedPoint*> ranked = so_far.ranked();
    std::string best = ranked.empty() ? "none" : formatted("%.3f us", *ranked.front()->time_us);
    size_t left = so_far.budget - so_far.points.size();
    size_t done_here = so_far.evaluated();
    double per_point = done_here ? so_far.seconds / done_here : 0;
    context.progress(formatted("[%zu/%zu] %s%s: %s; best %s; ETA %.0f s", so_far.points.size(),
                               so_far.budget, defines_text(latest.defines).c_str(),
                               origin_mark(latest).c_str(), point_result(latest).c_str(),
                               best.c_str(), per_point * left));
  };
}

// The run a node joins: a running tuning run of this kforge's schema, or a one-line Error.
void check_joinable(const TuneArguments& arguments, Workspace& workspace) {
  if (arguments.resume)
    throw Error(
        "--join works beside the nodes of a running run, --resume continues a run nobody works "
        "on: give one",
        "--join");
  if (!arguments.replay.empty() || !arguments.file.empty() || !arguments.task.empty() ||
      !arguments.run_options.empty()) {
    std::string given = !arguments.replay.empty() ? "--replay"
                        : !arguments.file.empty() ? "a candidate file"
                        : !arguments.task.empty() ? "--task"
                                                  : arguments.run_options.front();
    throw Error("--join takes the candidate, task, strategy and budgets from the run: give " +
                    given + " only to start a run",
                "--join");
  }
  refuse_older_schema_for_join(workspace);
  const std::string run_text = std::to_string(arguments.join);
  std::optional<RunRow> run = find_run(workspace.store(), arguments.join);
  if (!run)
    throw Error("no tuning run " + run_text + " in the store", workspace.db_path().string());
  if (run->kind != "tune")
    throw Error("run " + run_text + " is not a tuning run (its kind is " + run->kind + ")",
                "--join");
  if (run->status == RunStatus::kCompleted) {
    const bool exhausted = run->summary && run->summary->value("exhausted", false);
    throw Error("run " + run_text + " has already " +
                    (exhausted ? "told every point of its space" : "completed"),
                "--join");
  }
  if (run->status != RunStatus::kRunning)
    throw Error("run " + run_text + " is " + std::string(run_status_name(run->status)) +
                    ": no node works on it to join; continue it with `kforge tune --resume " +
                    run_text + "`",
                "--join");
  if (run->request.value("schema_version", 0) != Store::latest_schema_version())
    throw Error("run " + run_text + " was started by a kforge of another schema version, this " +
                    "one has " + std::to_string(Store::latest_schema_version()) +
                    ": join with the kforge version the other nodes run",
                "--join");
}

// --promote: the run's best point handed to `kforge promote` (its rules, the configured
// library and threshold); nullopt when no point was correct.
std::optional<PromotionDecision> promote_best(Workspace& workspace,
                                              const autotune::TuneReport& report) {
  std::vector<const autotune::TunedPoint*> ranked = report.ranked();
  if (ranked.empty())
    return std::nullopt;
  Promoter promoter(workspace.store(),
                    {.library_root = library_root(workspace, ""),
                     .min_speedup_eager = workspace.config().real("promote.min_speedup")});
  return promoter.promote(ranked.front()->candidate_id);
}

// The LLM flags and --prompts shape an LLM start's one request; given where no model is asked
// (no --llm-start, a resumed or joined run, --replay), they are refused rather than ignored.
void refuse_llm_options(const TuneArguments& arguments) {
  if (arguments.llm.given.empty() && arguments.prompts.empty())
    return;
  const std::string given = !arguments.prompts.empty() ? "--prompts" : arguments.llm.given.front();
  throw CLI::ValidationError(
      given, "only an LLM start asks a model, once, when a run starts: give " + given +
                 " with --llm-start N");
}

void run_tune(const TuneArguments& arguments, Context& context) {
  // A usage error before anything is read: only a new run with --llm-start asks a model.
  const bool asks_model = !arguments.join && !arguments.resume && arguments.request.llm_start > 0;
  if (!asks_model)
    refuse_llm_options(arguments);
  Workspace& workspace = context.workspace();
  if (arguments.join)
    check_joinable(arguments, workspace);
  autotune::TuneRequest request = arguments.request;
  if (arguments.join) {
    request = autotune::tune_request_of_run(workspace.store(), arguments.join);
  } else if (arguments.resume) {
    request = autotune::tune_request_of_run(workspace.store(), arguments.resume);
  } else {
    if (arguments.file.empty() || arguments.task.empty())
      throw Error("give a candidate file and --task (or --resume RUN, or --replay SPACE)",
                  "kforge tune");
    request.task = arguments.task;
    request.source = files::read(arguments.file, kMaxCandidateFileBytes);
    request.file_name = strings::to_valid_utf8(arguments.file);
  }
  // The LLM of an LLM start, before anything is stored: an unset key or a missing model is one
  // line. A resumed or joined run reads the LLM's points from its checkpoint: the model is asked
  // once per run, when it starts.
  std::unique_ptr<agents::Provider> provider;
  std::optional<agents::PromptLibrary> prompts;
  if (asks_model) {
    for (const auto& [key, value] : arguments.llm.keys)
      workspace.config().set(key, value);
    provider = configured_provider(workspace, workspace.config());
    if (!arguments.prompts.empty())
      prompts = agents::PromptLibrary::load(std::filesystem::path(arguments.prompts));
  }
  auto notice = [&context](const std::string& line) { context.progress(line); };
  Task task = load_task(workspace, request.task,
                        [&context](const std::string& line) { context.progress(line); });
  // One point at a time: one compile worker, as `eval` has.
  EvaluationService service(workspace, {.arch = arguments.arch,
                                        .compile_workers = 1,
                                        .gpu_worker_command = context.options.gpu_worker_command});
  autotune::TuneSharing sharing{
      .lease_seconds = static_cast<double>(workspace.config().integer("store.lease_s")),
      .open_store = [&workspace] { return open_another_store(workspace); },
      .notice = [&context](const std::string& line) { context.progress(line); }};
  autotune::TuneReport report;
  if (arguments.join) {
    context.progress("joining run " + std::to_string(arguments.join) + " as " +
                     workspace.store().node());
    report = autotune::join(workspace.store(), service, task, arguments.join,
                            progress_lines(context), sharing);
  } else if (arguments.resume) {
    report = autotune::resume(workspace.store(), service, task, arguments.resume,
                              progress_lines(context), sharing);
  } else {
    report = autotune::tune(
        workspace.store(), service, task, request, progress_lines(context), sharing,
        {.provider = provider.get(), .prompts = prompts ? &*prompts : nullptr, .notice = notice});
  }
  std::optional<PromotionDecision> decision;
  if (arguments.promote)
    decision = promote_best(workspace, report);
  if (arguments.json) {
    nlohmann::json json = report.to_json();
    if (decision)
      json["promotion"] = decision->to_json();
    Context::print_json(json);
  } else {
    print_tune_report(report);
    if (decision && decision->promoted)
      print("promoted candidate %lld to %s: %s\n", static_cast<long long>(decision->candidate_id),
            decision->library_path.string().c_str(), decision->reason.c_str());
    else if (decision)
      print("refused candidate %lld: rule %s: %s\n", static_cast<long long>(decision->candidate_id),
            decision->rule.c_str(), decision->reason.c_str());
  }
  // As `kforge promote`: a promotion asked for and refused is a non-zero exit.
  if (arguments.promote && !decision)
    throw Error("no point of tuning run " + std::to_string(report.run_id) +
                    " was correct, so there is nothing to promote",
                "--promote");
  if (decision && !decision->promoted)
    throw CLI::RuntimeError(kExitError);
}

}  // namespace

void add_tune_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "tune",
      "search a candidate's define space through the evaluator, every point stored; --replay "
      "measures a strategy on a recorded space");
  auto arguments = std::make_shared<TuneArguments>();
  std::string names;
  for (const tuning::StrategyEntry& entry : tuning::strategies())
    names += std::string("\n  ") + entry.name + ": " + entry.summary;
  command->add_option("file", arguments->file,
                      "candidate .cu file whose plan declares defines (values) and constraints");
  command->add_option("--task", arguments->task, "task to tune against, e.g. builtin/relu");
  command->add_option("--max-evals", arguments->request.max_evals,
                      "points to evaluate at most (default: --fraction, else 100)");
  command->add_option("--fraction", arguments->request.fraction,
                      "points to evaluate as a fraction of the valid space");
  command->add_option("--time", arguments->request.max_seconds, "wall-time budget in seconds");
  command->add_option("--space-limit", arguments->request.space_limit,
                      "valid points searched at most; a larger space is sampled (default 20000)");
  command->add_option("--arch", arguments->arch,
                      "architecture to compile for (default: the GPU's, else config `arch`)");
  command->add_option("--llm-start", arguments->request.llm_start,
                      "first ask the LLM of kforge.toml's [llm] keys for up to N promising points "
                      "from the kernel, its space and the task; they are evaluated before the "
                      "strategy's, a point outside the space is dropped with the reason, and a "
                      "failed or unusable answer leaves the strategy to start alone");
  command->add_option("--prompts", arguments->prompts,
                      "with --llm-start: a folder of prompt templates overriding the built-in "
                      "ones (tune_system.md, tune_start.md)");
  add_llm_flags(*command, arguments->llm);
  command
      ->add_option("--start", arguments->start,
                   "a point to evaluate first, NAME=VALUE[,NAME=VALUE...] (a define left out "
                   "takes its default); repeat for more, evaluated in order before the LLM's "
                   "and the strategy's; a point outside the space is an error")
      ->type_name("POINT")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  command->add_option("--resume", arguments->resume,
                      "continue tuning run RUN where it stopped (killed or interrupted)");
  command->add_option("--join", arguments->join,
                      "work on running tuning run RUN beside the nodes already on it, taking "
                      "points by lease (docs/scale-out.md)");
  command->add_option("--replay", arguments->replay,
                      "a recorded space: Kernel Tuner's cache format or T4 results (.json or "
                      ".json.gz)");
  command->add_option("--strategy", arguments->options.strategy, "the strategy:" + names);
  command->add_option("--budget-fraction", arguments->options.budget_fraction,
                      "evaluations as a fraction of the space (default 0.05)");
  command->add_option("--repeats", arguments->options.repeats,
                      "seeded repeats to summarise (default 20)");
  command->add_option("--seed", arguments->options.seed,
                      "the strategy's seed; with --replay the first repeat's (default 0)");
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->add_flag("--promote", arguments->promote,
                    "hand the best point to `kforge promote` (its rules; exit 1 when refused)");
  command->add_option("--export", arguments->export_path,
                      "write the points the strategy evaluated with --seed to this file");
  command->add_option("--format", arguments->format,
                      "the --export format: kernel-tuner-cache (the default) or t4");

  auto* export_command = command->add_subcommand(
      "export", "write a tuning run's results in the T4 results schema or Kernel Tuner's cache");
  auto export_arguments = std::make_shared<TuneExportArguments>();
  std::string formats;
  for (const autotune::ExportFormat& format : autotune::export_formats())
    formats += "\n  " + std::string(format.name) + ": " + std::string(format.summary);
  export_command->add_option("run", export_arguments->run, "the tuning run's id (kforge tune)")
      ->required();
  export_command->add_option("--format", export_arguments->format, "the format:" + formats);
  export_command->add_option("-o,--output", export_arguments->output,
                             "write to this file (default: stdout)");
  export_command->callback(
      [export_arguments, &context] { run_export(*export_arguments, context); });

  command->callback([arguments, command, export_command, &context] {
    if (export_command->parsed())
      return;
    if (!arguments->replay.empty()) {
      if (arguments->promote)
        throw CLI::ValidationError("--promote", "--promote goes with a tuning run, not --replay");
      refuse_llm_options(*arguments);
      if (!arguments->start.empty())
        throw CLI::ValidationError("--start", "--start goes with a tuning run, not --replay");
      return run_replay(*arguments);
    }
    if (!arguments->start.empty() && arguments->resume)
      throw CLI::ValidationError("--start",
                                 "--start goes with a new run: a resumed run starts "
                                 "from the points it was given when it began");
    arguments->request.start.clear();
    for (const std::string& text : arguments->start)
      arguments->request.start.push_back(parsed_start_point(text));
    arguments->request.strategy = arguments->options.strategy;
    arguments->request.seed = arguments->options.seed;
    for (const char* name : {"--strategy", "--seed", "--max-evals", "--fraction", "--time",
                             "--space-limit", "--arch", "--llm-start", "--start"})
      if (command->get_option(name)->count() > 0)
        arguments->run_options.push_back(name);
    run_tune(*arguments, context);
  });
}

}  // namespace kforge::cli
