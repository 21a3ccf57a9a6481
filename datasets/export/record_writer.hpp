// Where an exporter's records go: one JSON Lines file per split (<out>/<stem><split>.jsonl)
// plus any extra files a format needs. Files are written as <name>.partial and renamed when
// the export finishes, so an interrupted export never leaves a file that looks complete.
// Without a folder (kforge dataset stats) records are only counted.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "datasets/export/splits.hpp"

namespace kforge::dataset {

class RecordWriter {
 public:
  explicit RecordWriter(std::optional<std::filesystem::path> folder);
  ~RecordWriter();
  RecordWriter(const RecordWriter&) = delete;
  RecordWriter& operator=(const RecordWriter&) = delete;

  // One record as one line of JSON in stream `stem` ("" for the split files themselves).
  void write(Split split, const nlohmann::json& record, const std::string& stem = "");
  // A line already serialised (ending in '\n'), for formats that write their own JSON.
  void write_raw(Split split, const std::string& line);
  // A line in a file that is not per split (e.g. tasks.jsonl).
  void write_line(const std::string& file, const nlohmann::json& record);
  // A whole file, relative to the folder (e.g. a KernelBench module).
  void write_file(const std::string& relative_path, const std::string& contents);

  int64_t records(Split split) const { return counts_[static_cast<int>(split)]; }
  bool writes_files() const { return folder_.has_value(); }
  // Flushes and renames every .partial file into place; throws Error naming a file that failed.
  void finish();

 private:
  struct Output;
  Output& output(const std::string& file);
  void append(Output& out, std::string_view text);

  std::optional<std::filesystem::path> folder_;
  // Lines gather in `pending` and go to the file a MiB at a time: one write system call per
  // MiB rather than per line (a stream's own buffer passes lines longer than a KiB straight
  // to the kernel, which made one system call per row).
  struct Output {
    std::string pending;
    std::ofstream stream;
  };
  std::map<std::string, std::unique_ptr<Output>> streams_;
  std::array<Output*, 3> split_outputs_{};  // the split files, looked up once
  std::array<int64_t, 3> counts_{};
  std::string line_;
};

}  // namespace kforge::dataset
