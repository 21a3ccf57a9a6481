// messages: the sft pairs as chat conversations, {"messages": [system, user, assistant]}, the
// conversational shape chat templates and TRL read.
#include "datasets/export/exporter.hpp"
#include "datasets/export/row_fields.hpp"

namespace kforge::dataset {
namespace {

class MessagesExporter final : public Exporter {
 public:
  MessagesExporter(RecordWriter& writer, const ExportOptions& options)
      : writer_(writer), license_(options.license) {}

  void add(const CandidateRow& row, Split split) override {
    nlohmann::json messages = nlohmann::json::array();
    messages.push_back({{"role", "system"}, {"content", system_prompt()}});
    messages.push_back({{"role", "user"}, {"content", task_prompt(row)}});
    messages.push_back({{"role", "assistant"}, {"content", row.source}});
    writer_.write(split, {{"messages", messages}, {"metadata", row_metadata(row, license_)}});
  }

 private:
  RecordWriter& writer_;
  std::string license_;
};

}  // namespace

std::unique_ptr<Exporter> make_messages_exporter(RecordWriter& writer,
                                                 const ExportOptions& options) {
  return std::make_unique<MessagesExporter>(writer, options);
}

}  // namespace kforge::dataset
