// One interface per export format, and the table of formats. The pipeline (export_pipeline.hpp)
// reads rows in the order the format asks for, drops contaminated tasks and duplicates, assigns
// splits, and hands each surviving row to the format's exporter, which writes zero or more
// records through the RecordWriter.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/export/candidate_row.hpp"
#include "datasets/export/export_options.hpp"
#include "datasets/export/record_writer.hpp"
#include "datasets/export/row_reader.hpp"
#include "datasets/export/splits.hpp"

namespace kforge::dataset {

class Exporter {
 public:
  virtual ~Exporter() = default;
  // Called once per surviving row, in order().
  virtual void add(const CandidateRow& row, Split split) = 0;
  // Called once after the last row: write what is still buffered (the last group).
  virtual void finish() {}
};

struct ExporterEntry {
  std::string_view name;
  std::string_view help;
  RowOrder order;
  std::vector<std::string> default_verdicts;  // empty: every verdict
  DedupMode default_dedup;
  // Rows compete as duplicates only within one scope (see Deduplicator).
  bool dedup_per_gpu_and_harness;
  std::unique_ptr<Exporter> (*create)(RecordWriter& writer, const ExportOptions& options);
};

std::span<const ExporterEntry> exporters();
// Throws Error with the list of formats for an unknown name.
const ExporterEntry& find_exporter(const std::string& name);

// The factories, one per format file.
std::unique_ptr<Exporter> make_sft_exporter(RecordWriter& writer, const ExportOptions& options);
std::unique_ptr<Exporter> make_messages_exporter(RecordWriter& writer,
                                                 const ExportOptions& options);
std::unique_ptr<Exporter> make_trajectory_exporter(RecordWriter& writer,
                                                   const ExportOptions& options);
std::unique_ptr<Exporter> make_dpo_exporter(RecordWriter& writer, const ExportOptions& options);
std::unique_ptr<Exporter> make_archive_exporter(RecordWriter& writer, const ExportOptions& options);
std::unique_ptr<Exporter> make_kernelbench_exporter(RecordWriter& writer,
                                                    const ExportOptions& options);

}  // namespace kforge::dataset
