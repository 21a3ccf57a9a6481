// kernelbench: per candidate, modules/<split>/<task>/candidate_<id>.py (see
// kernelbench_module.hpp); per task, problems/<task>.py (the reference as KernelBench's
// harness takes it); and one index line per candidate in <split>.jsonl naming both files.
#include "datasets/export/exporter.hpp"
#include "datasets/export/kernelbench_module.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

// Task names hold '/' (suite/name); a file name keeps letters, digits, '-', '_' and '.'.
std::string file_name(const std::string& name) {
  std::string safe;
  for (char c : name)
    safe +=
        (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') ? c : '_';
  return safe;
}

class KernelBenchExporter final : public Exporter {
 public:
  KernelBenchExporter(RecordWriter& writer, const ExportOptions& options)
      : writer_(writer), license_(options.license) {}

  void add(const CandidateRow& row, Split split) override {
    std::string task = file_name(row.task_name);
    std::string problem = "problems/" + task + ".py";
    if (row.task_id != last_task_) {
      last_task_ = row.task_id;
      writer_.write_file(problem, row.task_source);
    }
    std::string module = "modules/" + std::string(split_name(split)) + "/" + task + "/candidate_" +
                         std::to_string(row.candidate_id) + ".py";
    writer_.write_file(module, kernelbench_module(row));
    nlohmann::json record = row_metadata(row, license_);
    record["module"] = module;
    record["reference"] = problem;
    writer_.write(split, record);
  }

 private:
  RecordWriter& writer_;
  std::string license_;
  int64_t last_task_ = -1;
};

}  // namespace

std::unique_ptr<Exporter> make_kernelbench_exporter(RecordWriter& writer,
                                                    const ExportOptions& options) {
  return std::make_unique<KernelBenchExporter>(writer, options);
}

}  // namespace kforge::dataset
