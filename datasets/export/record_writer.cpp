#include "datasets/export/record_writer.hpp"

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge::dataset {

namespace fs = std::filesystem;

RecordWriter::RecordWriter(std::optional<fs::path> folder) : folder_(std::move(folder)) {
  if (!folder_)
    return;
  files::ensure_directory(*folder_);
  // Every split file exists after an export, empty or not, so consumers need no special case.
  for (Split split : kSplits)
    stream(std::string(split_name(split)) + ".jsonl");
}

RecordWriter::~RecordWriter() = default;

std::ofstream& RecordWriter::stream(const std::string& file) {
  auto found = streams_.find(file);
  if (found != streams_.end())
    return found->second->stream;
  fs::path partial = *folder_ / (file + ".partial");
  if (partial.has_parent_path())
    files::ensure_directory(partial.parent_path());
  auto out = std::make_unique<Output>();
  out->buffer.resize(1 << 20);
  out->stream.rdbuf()->pubsetbuf(out->buffer.data(),
                                 static_cast<std::streamsize>(out->buffer.size()));
  out->stream.open(partial, std::ios::binary | std::ios::trunc);
  if (!out->stream)
    throw Error("cannot write the export file", partial.string());
  return streams_.emplace(file, std::move(out)).first->second->stream;
}

void RecordWriter::write(Split split, const nlohmann::json& record, const std::string& stem) {
  if (stem.empty())
    ++counts_[static_cast<int>(split)];
  if (!folder_)
    return;
  write_line(stem + std::string(split_name(split)) + ".jsonl", record);
}

void RecordWriter::write_raw(Split split, const std::string& line) {
  ++counts_[static_cast<int>(split)];
  if (folder_)
    stream(std::string(split_name(split)) + ".jsonl")
        .write(line.data(), static_cast<std::streamsize>(line.size()));
}

void RecordWriter::write_line(const std::string& file, const nlohmann::json& record) {
  if (!folder_)
    return;
  line_.clear();
  // Invalid UTF-8 in a stored source is replaced rather than failing the whole export.
  line_ = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line_ += '\n';
  stream(file).write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

void RecordWriter::write_file(const std::string& relative_path, const std::string& contents) {
  if (!folder_)
    return;
  fs::path path = *folder_ / relative_path;
  files::ensure_directory(path.parent_path());
  files::write_atomic(path, contents);
}

void RecordWriter::finish() {
  if (!folder_)
    return;
  for (auto& [file, out] : streams_) {
    out->stream.flush();
    if (!out->stream)
      throw Error("writing the export file failed", (*folder_ / (file + ".partial")).string());
    out->stream.close();
    fs::rename(*folder_ / (file + ".partial"), *folder_ / file);
  }
  streams_.clear();
}

}  // namespace kforge::dataset
