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
  for (Split split : kSplits) {
    split_outputs_[static_cast<int>(split)] = &output(std::string(split_name(split)) + ".jsonl");
  }
}

RecordWriter::~RecordWriter() = default;

namespace {
constexpr size_t kFlushBytes = size_t{1} << 20;
}

RecordWriter::Output& RecordWriter::output(const std::string& file) {
  auto found = streams_.find(file);
  if (found != streams_.end())
    return *found->second;
  fs::path partial = *folder_ / (file + ".partial");
  if (partial.has_parent_path())
    files::ensure_directory(partial.parent_path());
  auto out = std::make_unique<Output>();
  out->pending.reserve(kFlushBytes + 64 * 1024);
  // Unbuffered: `pending` is the buffer, written out whole.
  out->stream.rdbuf()->pubsetbuf(nullptr, 0);
  out->stream.open(partial, std::ios::binary | std::ios::trunc);
  if (!out->stream)
    throw Error("cannot write the export file", partial.string());
  return *streams_.emplace(file, std::move(out)).first->second;
}

void RecordWriter::append(Output& out, std::string_view text) {
  out.pending.append(text);
  if (out.pending.size() >= kFlushBytes) {
    out.stream.write(out.pending.data(), static_cast<std::streamsize>(out.pending.size()));
    out.pending.clear();
  }
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
  if (!folder_)
    return;
  Output*& out = split_outputs_[static_cast<int>(split)];
  if (!out)
    out = &output(std::string(split_name(split)) + ".jsonl");
  append(*out, line);
}

void RecordWriter::write_line(const std::string& file, const nlohmann::json& record) {
  if (!folder_)
    return;
  line_.clear();
  // Invalid UTF-8 in a stored source is replaced rather than failing the whole export.
  line_ = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line_ += '\n';
  append(output(file), line_);
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
    out->stream.write(out->pending.data(), static_cast<std::streamsize>(out->pending.size()));
    out->pending.clear();
    out->stream.flush();
    if (!out->stream)
      throw Error("writing the export file failed", (*folder_ / (file + ".partial")).string());
    out->stream.close();
    fs::rename(*folder_ / (file + ".partial"), *folder_ / file);
  }
  streams_.clear();
  split_outputs_ = {};
}

}  // namespace kforge::dataset
