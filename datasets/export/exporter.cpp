#include "datasets/export/exporter.hpp"

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::dataset {

namespace {
// Training formats default to verified rows: a completion that was never shown correct is not
// something to imitate. Formats that learn from failures (dpo, trajectories) or keep everything
// (archive) take every verdict.
const std::vector<std::string> kCorrectOnly = {"correct"};

const std::vector<ExporterEntry>& table() {
  static const std::vector<ExporterEntry> kTable = {
      {"sft", "prompt/completion JSONL: the task and contract, then the candidate file",
       RowOrder::kTaskBestFirst, kCorrectOnly, DedupMode::kNear, false, make_sft_exporter},
      {"messages", "chat JSONL (system, user, assistant messages) for the same pairs as sft",
       RowOrder::kTaskBestFirst, kCorrectOnly, DedupMode::kNear, false, make_messages_exporter},
      {"trajectories",
       "multi-turn conversations per run and task, execution feedback as turns, final and best "
       "speedups",
       RowOrder::kTrajectory,
       {},
       DedupMode::kNone,
       false,
       make_trajectory_exporter},
      {"dpo",
       "prompt/chosen/rejected pairs on one task, GPU and harness version: chosen is correct and "
       "the rejected is not, or is slower beyond both timing spreads",
       RowOrder::kTaskGpuHarness,
       {},
       DedupMode::kNear,
       true,
       make_dpo_exporter},
      {"archive",
       "one flat row per evaluated candidate with everything the store knows",
       RowOrder::kTaskBestFirst,
       {},
       DedupMode::kNone,
       false,
       make_archive_exporter},
      {"kernelbench",
       "a KernelBench ModelNew module per candidate that launches the kernel (cupy + NVRTC)",
       RowOrder::kTaskBestFirst, kCorrectOnly, DedupMode::kNear, false, make_kernelbench_exporter},
  };
  return kTable;
}
}  // namespace

std::span<const ExporterEntry> exporters() {
  return table();
}

const ExporterEntry& find_exporter(const std::string& name) {
  std::vector<std::string> names;
  for (const ExporterEntry& entry : exporters()) {
    if (entry.name == name)
      return entry;
    names.emplace_back(entry.name);
  }
  throw Error(strings::unknown_name_message("format", name, names), "--format");
}

}  // namespace kforge::dataset
