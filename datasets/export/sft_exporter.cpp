// sft: one {"prompt", "completion", "metadata"} line per candidate, the shape TRL's SFTTrainer
// and Hugging Face `datasets` read as a prompt-completion dataset.
#include "datasets/export/exporter.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

class SftExporter final : public Exporter {
 public:
  SftExporter(RecordWriter& writer, const ExportOptions& options)
      : writer_(writer), license_(options.license) {}

  void add(const CandidateRow& row, Split split) override {
    writer_.write(split, {{"prompt", task_prompt(row)},
                          {"completion", row.source},
                          {"metadata", row_metadata(row, license_)}});
  }

 private:
  RecordWriter& writer_;
  std::string license_;
};

}  // namespace

std::unique_ptr<Exporter> make_sft_exporter(RecordWriter& writer, const ExportOptions& options) {
  return std::make_unique<SftExporter>(writer, options);
}

}  // namespace kforge::dataset
