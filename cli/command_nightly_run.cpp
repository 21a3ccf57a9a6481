// kforge nightly [--config nightly.toml] [--json] [budget and coverage overrides]
// kforge nightly --join NIGHT [--json] [budget overrides]
// One unattended night (harness/nightly/nightly.hpp): environment, baselines, re-verification of
// the library, tuning, optimisation, promotion, the report. The [nightly] keys come from
// kforge.toml, then the --config file, then the flags. One nightly per store (NightLock).
// Exit status: 0 no regression, 1 a regression found, 2 the night could not run (a bad
// configuration, the store, the lock held by another nightly, nothing could be evaluated).
// --join: another node works on a running night's optimize step beside its owner (no lock, no
// report; nightly.hpp); it exits 0 once it has no more work, 2 when it cannot join.
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <iostream>

#include "agents/provider.hpp"
#include "cli/commands.hpp"
#include "cli/llm_provider.hpp"
#include "harness/evaluation/store_connections.hpp"
#include "harness/nightly/night_lock.hpp"
#include "harness/nightly/night_report.hpp"
#include "harness/nightly/nightly.hpp"
#include "harness/nightly/nightly_config.hpp"
#include "harness/optimize/optimize_loop.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::cli {
namespace {

constexpr int kExitNightCouldNotRun = 2;

// Set by SIGINT or SIGTERM: the night stops taking work, stores what is in hand and writes its
// report; the next nightly continues it. The default action comes back for a second signal.
std::atomic<bool> night_stop{false};

extern "C" void on_night_signal(int signal_number) {
  night_stop.store(true);
  ::signal(signal_number, SIG_DFL);
}

// SIGINT and SIGTERM set night_stop while it lives; the previous actions come back after.
class StopHandlers {
 public:
  StopHandlers() {
    struct sigaction action {};
    action.sa_handler = on_night_signal;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &previous_int_);
    ::sigaction(SIGTERM, &action, &previous_term_);
  }
  ~StopHandlers() {
    ::sigaction(SIGINT, &previous_int_, nullptr);
    ::sigaction(SIGTERM, &previous_term_, nullptr);
  }
  StopHandlers(const StopHandlers&) = delete;
  StopHandlers& operator=(const StopHandlers&) = delete;

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

// The search's seed kernels: $KFORGE_SEEDS_DIR, else the built-in ones.
std::filesystem::path seeds_folder() {
  const char* seeds = std::getenv("KFORGE_SEEDS_DIR");
  return seeds != nullptr && *seeds != '\0' ? std::filesystem::path(seeds)
                                            : built_in_seeds_folder();
}

struct NightlyRunOptions {
  std::string config;
  std::string join;
  bool json = false;
  // nightly.* keys set by flags.
  KeyFlagValues flags;
};

void print_night(const nightly::NightReport& report, const std::filesystem::path& json_path) {
  print("night %s: %s\n", report.night.c_str(), nightly::night_outcome_name(report.outcome));
  for (const nightly::NightStep& step : report.steps)
    print("  %-12s %-8s %6.1f s  %s\n", step.name.c_str(), nightly::step_status_name(step.status),
          step.seconds, step.detail.c_str());
  for (const nightly::Regression& regression : report.regressions)
    print("REGRESSION %s (%s): %s, %s -> %s\n", regression.kernel.c_str(), regression.task.c_str(),
          nightly::regression_kind_name(regression.kind), regression.verdict_before.c_str(),
          regression.verdict_after.c_str());
  for (const nightly::NightFailure& failure : report.failures)
    print("failure in %s: %s: %s\n", failure.step.c_str(), failure.subject.c_str(),
          failure.reason.c_str());
  print("report: %s\n", json_path.string().c_str());
}

// The flags that choose what a night covers and where its report goes: a joining node takes them
// from the night it joins.
constexpr const char* kOwnerFlags[] = {"--config", "--tasks", "--agents", "--report-dir",
                                       "--on-regression"};

void print_join(const nightly::JoinOutcome& outcome, bool json) {
  if (json) {
    Context::print_json({{"night", outcome.night},
                         {"node", outcome.node},
                         {"status", nightly::join_status_name(outcome.status)},
                         {"detail", outcome.detail},
                         {"tasks", outcome.tasks}});
    return;
  }
  print("night %s: joined as %s: %s (%s)\n", outcome.night.c_str(), outcome.node.c_str(),
        std::string(nightly::join_status_name(outcome.status)).c_str(), outcome.detail.c_str());
  print("  tasks optimised by this node: %s\n",
        outcome.tasks.empty() ? "none" : strings::join(outcome.tasks, ", ").c_str());
}

// Another node of a running night: its optimize step's tasks, by lease, beside the owner.
void join_night(const NightlyRunOptions& options, Context& context) {
  std::optional<nightly::Night> night;
  try {
    Workspace& workspace = context.workspace();
    // The owner and the other nodes may run an older kforge: a store of an older schema stays
    // as it is (opening it would migrate it under them), one of a newer schema is refused by the
    // opening itself.
    refuse_older_schema_for_join(workspace);
    const NightRow joined = nightly::night_to_join(workspace.store(), options.join);
    nightly::adopt_night_config(workspace.config(), joined);
    for (const auto& [key, value] : options.flags.keys)
      workspace.config().set(key, value);
    nightly::NightSettings settings{
        .config = nightly::NightlyConfig::from(workspace.config(), workspace.root()),
        .join = options.join,
        .gpu_worker_command = context.options.gpu_worker_command,
        .progress = [&context](const std::string& line) { context.progress(line); },
        .stop = &night_stop};
    settings.seeds_folder = seeds_folder();
    settings.make_provider = [&workspace] {
      return configured_provider(workspace, workspace.config());
    };
    night.emplace(workspace, std::move(settings));
  } catch (const Error& failure) {
    std::cerr << "kforge: error: " << strings::printable_line(failure.what()) << "\n";
    throw CLI::RuntimeError(kExitNightCouldNotRun);
  }
  const StopHandlers handlers;
  nightly::JoinOutcome outcome;
  try {
    outcome = night->join();
  } catch (const Error& failure) {
    std::cerr << "kforge: error: " << strings::printable_line(failure.what()) << "\n";
    throw CLI::RuntimeError(kExitNightCouldNotRun);
  }
  print_join(outcome, options.json);
}

void run_night(const NightlyRunOptions& options, Context& context) {
  std::unique_ptr<nightly::NightLock> lock;
  std::optional<nightly::Night> night;
  try {
    Workspace& workspace = context.workspace();
    if (!options.config.empty())
      nightly::overlay_config_file(workspace.config(), options.config);
    for (const auto& [key, value] : options.flags.keys)
      workspace.config().set(key, value);
    nightly::NightSettings settings{
        .config = nightly::NightlyConfig::from(workspace.config(), workspace.root()),
        .gpu_worker_command = context.options.gpu_worker_command,
        .progress = [&context](const std::string& line) { context.progress(line); },
        .stop = &night_stop};
    settings.seeds_folder = seeds_folder();
    settings.make_provider = [&workspace] {
      return configured_provider(workspace, workspace.config());
    };
    // The store is opened (and migrated) before the lock beside it, or in it, is taken.
    lock = std::make_unique<nightly::NightLock>(workspace.store(), workspace.db_path());
    night.emplace(workspace, std::move(settings));
  } catch (const Error& failure) {
    std::cerr << "kforge: error: " << strings::printable_line(failure.what()) << "\n";
    throw CLI::RuntimeError(kExitNightCouldNotRun);
  }

  nightly::NightReport report;
  {
    const StopHandlers handlers;
    try {
      report = night->run();
    } catch (const Error& failure) {
      std::cerr << "kforge: error: " << strings::printable_line(failure.what()) << "\n";
      throw CLI::RuntimeError(kExitNightCouldNotRun);
    }
  }

  const nightly::NightTiming& timing = night->timing();
  if (options.json) {
    nlohmann::json document = nightly::to_json(report);
    document["report_json"] = night->report_json().string();
    document["timing"] = {{"wall_s", timing.wall_s},
                          {"evaluation_s", timing.evaluation_s},
                          {"startup_s", timing.startup_s}};
    Context::print_json(document);
  } else {
    print_night(report, night->report_json());
  }
  if (const int code = nightly::night_exit_code(report); code != 0)
    throw CLI::RuntimeError(code);
}

}  // namespace

void add_nightly_run(CLI::App& nightly, Context& context) {
  auto options = std::make_shared<NightlyRunOptions>();
  nightly.add_option("--config", options->config,
                     "a TOML file whose keys ([nightly] and any other) override kforge.toml");
  nightly.add_flag("--json", options->json, "print the night's report as one JSON object");
  nightly.add_option("--join", options->join,
                     "work on the running night NIGHT beside the node that started it: take its "
                     "optimize step's tasks by lease (store.lease_s), also those of a node that "
                     "died; its owner keeps the lock and writes the report (docs/nightly.md)");
  static const KeyFlag kKeyFlags[] = {
      {"--tasks", "nightly.tasks", "tasks to optimise: names or globs, comma-separated"},
      {"--agents", "nightly.agents", "tune, llm, both or none"},
      {"--wall-time", "nightly.wall_time_s", "the night's wall-time budget, in seconds"},
      {"--max-evaluations", "nightly.max_evaluations", "evaluations the night may make"},
      {"--max-tokens", "nightly.max_tokens", "LLM tokens the night may spend"},
      {"--max-cost", "nightly.max_cost_usd", "LLM cost the night may spend, in US dollars"},
      {"--report-dir", "nightly.report_dir", "folder of the night's reports"},
      {"--on-regression", "nightly.on_regression",
       "shell command run on a regression ($KFORGE_NIGHT_REPORT: the report's path)"},
  };
  add_key_flags(nightly, kKeyFlags, options->flags);
  nightly.callback([options, &nightly, &context] {
    if (!nightly.get_subcommands().empty())
      return;
    if (nightly.count("--join") == 0) {
      run_night(*options, context);
      return;
    }
    for (const char* flag : kOwnerFlags)
      if (nightly.count(flag) > 0) {
        std::cerr << "kforge: error: " << flag
                  << " is the night's own: a node that joins takes it from the night (--join)\n";
        throw CLI::RuntimeError(kExitNightCouldNotRun);
      }
    join_night(*options, context);
  });
}

}  // namespace kforge::cli
