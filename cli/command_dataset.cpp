// kforge dataset export | stats: training data out of the store (see datasets/export/ and
// docs/dataset-formats.md).
#include <cstdio>

#include "cli/commands.hpp"
#include "datasets/export/dataset_stats.hpp"
#include "datasets/export/export_pipeline.hpp"
#include "datasets/export/exporter.hpp"
#include "harness/util/error.hpp"

namespace kforge::cli {

namespace {

struct DatasetArguments {
  dataset::ExportOptions options;
  std::string dedup;
  std::string split = "80,10,10";
  std::vector<std::string> benchmarks;
  std::string out;
  bool json = false;
};

void add_selection_flags(CLI::App* command, DatasetArguments& arguments) {
  dataset::Filters& filters = arguments.options.filters;
  std::string formats;
  for (const dataset::ExporterEntry& entry : dataset::exporters())
    formats += (formats.empty() ? "" : ", ") + std::string(entry.name);
  command->add_option("--format", arguments.options.format, "format: " + formats);
  command->add_option("--verdict", filters.verdicts,
                      "keep rows with this verdict (repeatable; default: the format's)");
  command->add_option("--min-speedup-eager", filters.min_speedup_eager,
                      "keep rows at least this much faster than PyTorch eager");
  command->add_option("--min-speedup-compile", filters.min_speedup_compile,
                      "keep rows at least this much faster than torch.compile");
  command->add_option("--gpu", filters.gpus, "keep rows measured on this GPU (repeatable)");
  command->add_option("--arch", filters.arches, "keep rows of this architecture, e.g. sm_90");
  command->add_option("--suite", filters.suites, "keep tasks of this suite (repeatable)");
  command->add_option("--task", filters.tasks, "keep tasks matching this name or glob");
  command->add_option("--origin", filters.origins, "llm, tune, human, replay, seed or mcp");
  command->add_option("--model", filters.models, "keep rows written by this model");
  command->add_option("--since", filters.since, "evaluated at or after DATE (UTC)");
  command->add_option("--until", filters.until, "evaluated on or before DATE (UTC)");
  command->add_option("--dedup", arguments.dedup, "none, exact or near (default: the format's)");
  command
      ->add_option("--near-threshold", arguments.options.dedup_options.near_threshold,
                   "similarity at or above which sources are near duplicates")
      ->check(CLI::Range(0.0, 1.0));
  command->add_option("--exclude-benchmark", arguments.benchmarks,
                      "drop tasks overlapping the .py problems under this folder (repeatable)");
  command
      ->add_option("--contamination-threshold", arguments.options.decontamination.threshold,
                   "share of a task's n-grams in one problem that makes it contaminated")
      ->check(CLI::Range(0.0, 1.0));
  command
      ->add_option("--contamination-ngram", arguments.options.decontamination.ngram_tokens,
                   "tokens per n-gram for decontamination")
      ->check(CLI::Range(1, 1000));
  command->add_option("--split", arguments.split, "train,validation,test percentages of tasks");
  command->add_option("--license", arguments.options.license,
                      "license for rows whose task records none (default: unknown)");
}

// Turns the parsed flags into ExportOptions; errors name the flag.
dataset::ExportOptions resolve(DatasetArguments& arguments) {
  dataset::ExportOptions options = arguments.options;
  dataset::find_exporter(options.format);
  options.verdicts_given = !options.filters.verdicts.empty();
  options.filters.validate();
  if (!arguments.dedup.empty())
    options.dedup = dataset::dedup_mode_from_name(arguments.dedup);
  options.splits = dataset::SplitRatios::parse(arguments.split);
  for (const std::string& dir : arguments.benchmarks)
    options.decontamination.benchmark_dirs.emplace_back(dir);
  return options;
}

}  // namespace

void add_dataset_command(CLI::App& parent, Context& context) {
  auto* command = parent.add_subcommand("dataset", "export training data from the store");
  command->require_subcommand(1);

  auto export_arguments = std::make_shared<DatasetArguments>();
  auto* export_command = command->add_subcommand(
      "export", "write a dataset (JSONL per split and a README.md card) into a folder");
  add_selection_flags(export_command, *export_arguments);
  export_command->get_option("--format")->required();
  export_command->add_option("--out", export_arguments->out, "folder to write")->required();
  export_command->add_flag("--json", export_arguments->json, "print the report as JSON");
  export_command->callback([export_arguments, &context] {
    dataset::ExportOptions options = resolve(*export_arguments);
    Workspace& workspace = context.workspace();
    if (!workspace.store_exists())
      throw Error("no store to export from", workspace.db_path().string());
    nlohmann::json report = dataset::run_export(
        workspace.store(), options, std::filesystem::path(export_arguments->out),
        [&context](const std::string& line) { context.progress(line); });
    if (export_arguments->json)
      return Context::print_json(report);
    print("%s", dataset::stats_text(report).c_str());
    print("wrote             %s\n", export_arguments->out.c_str());
  });

  auto stats_arguments = std::make_shared<DatasetArguments>();
  auto* stats_command = command->add_subcommand(
      "stats", "print the figures an export's dataset card would show, writing nothing");
  add_selection_flags(stats_command, *stats_arguments);
  stats_command->add_flag("--json", stats_arguments->json, "print a JSON object");
  stats_command->callback([stats_arguments, &context] {
    dataset::ExportOptions options = resolve(*stats_arguments);
    Workspace& workspace = context.workspace();
    if (!workspace.store_exists())
      throw Error("no store to read", workspace.db_path().string());
    nlohmann::json report =
        dataset::run_export(workspace.store(), options, std::nullopt,
                            [&context](const std::string& line) { context.progress(line); });
    if (stats_arguments->json)
      return Context::print_json(report);
    print("%s", dataset::stats_text(report).c_str());
  });
}

}  // namespace kforge::cli
