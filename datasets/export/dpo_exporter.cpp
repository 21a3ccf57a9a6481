// dpo: {"prompt", "chosen", "rejected", "metadata"} pairs, the shape TRL's DPOTrainer reads.
// Pairs come from one task on one GPU under one harness version, so both sides were judged the
// same way. Rows arrive correct first, fastest first within that group; the first row, when
// correct, is the chosen side of every pair of its group, and each later row is rejected when
//   - its verdict shows a failure (anything but correct and `compiled`, which claims nothing), or
//   - it is correct but slower beyond both timing spreads: chosen's upper bound lies below the
//     rejected's lower bound (see TimingSummary::spread_interval). Without a spread on either
//     side no speed claim is made and no pair is written.
// Only the chosen row is held in memory.
#include <optional>

#include "datasets/export/exporter.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

using nlohmann::json;

json side(const CandidateRow& row, const TimingSummary& timing) {
  auto interval = timing.spread_interval();
  return {{"candidate_id", row.candidate_id},
          {"evaluation_id", row.evaluation_id},
          {"verdict", row.verdict},
          {"reason", row.reason ? json(*row.reason) : json(nullptr)},
          {"device_time_us", row.device_time_us ? json(*row.device_time_us) : json(nullptr)},
          {"time_interval_us",
           interval ? json::array({interval->first, interval->second}) : json(nullptr)},
          {"speedup_eager", row.speedup_eager ? json(*row.speedup_eager) : json(nullptr)},
          {"origin", row.origin},
          {"model", row.model() ? json(*row.model()) : json(nullptr)}};
}

class DpoExporter final : public Exporter {
 public:
  DpoExporter(RecordWriter& writer, const ExportOptions& options)
      : writer_(writer), license_(options.license) {}

  void add(const CandidateRow& row, Split split) override {
    std::string group = std::to_string(row.task_id) + "|" + row.gpu.value_or("") + "|" +
                        std::to_string(row.harness_version);
    if (group != group_) {
      group_ = group;
      chosen_.reset();
      if (row.verdict == "correct") {
        chosen_ = row;
        chosen_timing_ = timing_summary(row);
      }
      return;
    }
    if (!chosen_)
      return;  // the group has no correct row: nothing to prefer
    std::string why;
    TimingSummary timing = timing_summary(row);
    if (row.verdict != "correct" && row.verdict != "compiled") {
      why = "rejected_failed";
    } else if (row.verdict == "correct") {
      auto chosen_interval = chosen_timing_.spread_interval();
      auto rejected_interval = timing.spread_interval();
      if (chosen_interval && rejected_interval &&
          chosen_interval->second < rejected_interval->first)
        why = "chosen_faster";
    }
    if (why.empty())
      return;
    json metadata = {{"task", row.task_name},
                     {"task_source_hash", row.task_source_hash},
                     {"gpu", row.gpu ? json(*row.gpu) : json(nullptr)},
                     {"harness_version", row.harness_version},
                     {"pair_reason", why},
                     {"chosen", side(*chosen_, chosen_timing_)},
                     {"rejected", side(row, timing)},
                     {"license", row_license(row, license_)}};
    writer_.write(split, {{"prompt", task_prompt(row)},
                          {"chosen", chosen_->source},
                          {"rejected", row.source},
                          {"metadata", metadata}});
  }

 private:
  RecordWriter& writer_;
  std::string license_;
  std::string group_;
  std::optional<CandidateRow> chosen_;
  TimingSummary chosen_timing_;
};

}  // namespace

std::unique_ptr<Exporter> make_dpo_exporter(RecordWriter& writer, const ExportOptions& options) {
  return std::make_unique<DpoExporter>(writer, options);
}

}  // namespace kforge::dataset
