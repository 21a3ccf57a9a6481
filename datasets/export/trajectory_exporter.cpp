// trajectories: one conversation per (task, run, GPU): the task prompt, then for each attempt
// in iteration order the assistant's answer (the LLM's full response when the store has it and
// the LLM wrote the candidate, else the candidate file: a tuning point the LLM's start proposed
// links the answer that listed its define values, not a kernel) and the execution feedback as
// the next user turn. Carries the final
// and best speedups. Candidates outside any run are one-attempt trajectories. Only the current
// conversation is held in memory.
#include <optional>

#include "datasets/export/exporter.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

using nlohmann::json;

json optional_json(const std::optional<double>& value) {
  return value ? json(*value) : json(nullptr);
}

class TrajectoryExporter final : public Exporter {
 public:
  TrajectoryExporter(RecordWriter& writer, const ExportOptions& options)
      : writer_(writer), license_(options.license) {}

  void add(const CandidateRow& row, Split split) override {
    std::string key =
        std::to_string(row.task_id) + "|" +
        (row.run_id ? std::to_string(*row.run_id) : "c" + std::to_string(row.candidate_id)) + "|" +
        row.gpu.value_or("");
    if (key != key_) {
      flush();
      key_ = key;
      start(row, split);
    }
    messages_.push_back(
        {{"role", "assistant"},
         {"content", row.origin == "llm" && row.response && !row.response->empty() ? *row.response
                                                                                   : row.source}});
    messages_.push_back({{"role", "user"}, {"content", feedback_text(row)}});
    turns_.push_back(
        {{"candidate_id", row.candidate_id},
         {"parent_id", row.parent_id ? json(*row.parent_id) : json(nullptr)},
         {"iteration", row.iteration ? json(*row.iteration) : json(nullptr)},
         {"origin", row.origin},
         {"verdict", row.verdict},
         {"reason", row.reason ? json(*row.reason) : json(nullptr)},
         {"device_time_us", optional_json(row.device_time_us)},
         {"speedup_eager", optional_json(row.speedup_eager)},
         {"speedup_compile", optional_json(row.speedup_compile)},
         {"prompt_tokens", row.prompt_tokens ? json(*row.prompt_tokens) : json(nullptr)},
         {"completion_tokens",
          row.completion_tokens ? json(*row.completion_tokens) : json(nullptr)},
         {"profile", row.profile ? row.profile->to_json() : json(nullptr)}});
    bool correct = row.verdict == "correct";
    final_verdict_ = row.verdict;
    final_eager_ = correct ? row.speedup_eager : std::nullopt;
    final_compile_ = correct ? row.speedup_compile : std::nullopt;
    if (correct && row.speedup_eager && (!best_eager_ || *row.speedup_eager > *best_eager_)) {
      best_eager_ = row.speedup_eager;
      best_candidate_ = row.candidate_id;
    }
    if (correct && row.speedup_compile && (!best_compile_ || *row.speedup_compile > *best_compile_))
      best_compile_ = row.speedup_compile;
  }

  void finish() override { flush(); }

 private:
  void start(const CandidateRow& row, Split split) {
    split_ = split;
    messages_ = json::array();
    messages_.push_back({{"role", "system"}, {"content", system_prompt()}});
    messages_.push_back({{"role", "user"}, {"content", task_prompt(row)}});
    turns_ = json::array();
    header_ = {{"task", row.task_name},
               {"task_source_hash", row.task_source_hash},
               {"suite", row.suite},
               {"run_id", row.run_id ? json(*row.run_id) : json(nullptr)},
               {"gpu", row.gpu ? json(*row.gpu) : json(nullptr)},
               {"arch", row.arch ? json(*row.arch) : json(nullptr)},
               {"model", row.model() ? json(*row.model()) : json(nullptr)},
               {"agent", row.agent ? json(*row.agent) : json(nullptr)},
               {"strategy", row.strategy ? json(*row.strategy) : json(nullptr)},
               {"harness_version", row.harness_version},
               {"license", row_license(row, license_)}};
    best_eager_.reset();
    best_compile_.reset();
    best_candidate_.reset();
  }

  void flush() {
    if (key_.empty())
      return;
    json record = header_;
    record["messages"] = std::move(messages_);
    record["turns"] = std::move(turns_);
    record["attempts"] = record["turns"].size();
    record["final_verdict"] = final_verdict_;
    record["final_speedup_eager"] = optional_json(final_eager_);
    record["final_speedup_compile"] = optional_json(final_compile_);
    record["best_speedup_eager"] = optional_json(best_eager_);
    record["best_speedup_compile"] = optional_json(best_compile_);
    record["best_candidate_id"] = best_candidate_ ? json(*best_candidate_) : json(nullptr);
    writer_.write(split_, record);
    key_.clear();
  }

  RecordWriter& writer_;
  std::string license_;
  std::string key_;
  Split split_ = Split::kTrain;
  json header_, messages_, turns_;
  std::string final_verdict_;
  std::optional<double> final_eager_, final_compile_, best_eager_, best_compile_;
  std::optional<int64_t> best_candidate_;
};

}  // namespace

std::unique_ptr<Exporter> make_trajectory_exporter(RecordWriter& writer,
                                                   const ExportOptions& options) {
  return std::make_unique<TrajectoryExporter>(writer, options);
}

}  // namespace kforge::dataset
