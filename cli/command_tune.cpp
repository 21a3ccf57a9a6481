// kforge tune --replay SPACE.json[.gz] [--strategy S] [--budget-fraction F] [--repeats N]
//   [--seed K] [--json] [--export FILE --format kernel-tuner-cache]: measures a search strategy
// on a recorded space (Kernel Tuner's cache format), where evaluating a point is a look-up,
// against random search on the same space and budget. `--export` writes the points the
// strategy evaluated with seed K in the cache format, which --replay reads back. Tuning a
// kernel through the evaluator is not built yet: without --replay the command says so.
#include <cstdio>

#include "cli/commands.hpp"
#include "harness/tuning/replay.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge::cli {
namespace {

struct TuneArguments {
  std::string replay;
  tuning::ReplayOptions options;
  bool json = false;
  std::string export_path;
  std::string format = "kernel-tuner-cache";
};

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
  tuning::RecordedSpace recorded = tuning::read_kernel_tuner_cache(arguments.replay);
  if (!arguments.export_path.empty() && arguments.format != "kernel-tuner-cache")
    throw Error("unknown export format '" + arguments.format + "' (known: kernel-tuner-cache)",
                "--format");
  tuning::ReplayReport report = tuning::replay(recorded, arguments.options);
  if (!arguments.export_path.empty()) {
    std::vector<tuning::PointId> run = tuning::replay_run(recorded, arguments.options.strategy,
                                                          report.budget, arguments.options.seed);
    files::write_atomic(arguments.export_path, tuning::kernel_tuner_cache_text(recorded, run));
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

}  // namespace

void add_tune_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand(
      "tune", "search a kernel's parameter space; --replay measures a strategy on a recorded one");
  auto arguments = std::make_shared<TuneArguments>();
  std::string names;
  for (const tuning::StrategyEntry& entry : tuning::strategies())
    names += std::string("\n  ") + entry.name + ": " + entry.summary;
  command->add_option("--replay", arguments->replay,
                      "a recorded space in Kernel Tuner's cache format (.json or .json.gz)");
  command->add_option("--strategy", arguments->options.strategy, "the strategy:" + names);
  command->add_option("--budget-fraction", arguments->options.budget_fraction,
                      "evaluations as a fraction of the space (default 0.05)");
  command->add_option("--repeats", arguments->options.repeats,
                      "seeded repeats to summarise (default 20)");
  command->add_option("--seed", arguments->options.seed, "the first repeat's seed (default 0)");
  command->add_flag("--json", arguments->json, "print one JSON object");
  command->add_option("--export", arguments->export_path,
                      "write the points the strategy evaluated with --seed to this file");
  command->add_option("--format", arguments->format,
                      "the --export format: kernel-tuner-cache (the default)");
  command->callback([arguments] {
    if (arguments->replay.empty())
      throw Error(
          "tuning through the evaluator is not built yet; measure a strategy with "
          "--replay SPACE.json[.gz]",
          "kforge tune");
    run_replay(*arguments);
  });
}

}  // namespace kforge::cli
