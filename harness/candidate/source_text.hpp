// A candidate file's text with its line table, so that any byte offset can be named as
// `file:line:column` in an error. Columns count bytes from 1, as compilers do.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace kforge {

class SourceText {
 public:
  SourceText(std::string file_name, std::string text);

  const std::string& file_name() const { return file_name_; }
  const std::string& text() const { return text_; }
  int line(size_t offset) const;
  int column(size_t offset) const;
  // "kernel.cu:4:17"
  std::string location(size_t offset) const;

 private:
  std::string file_name_;
  std::string text_;
  std::vector<size_t> line_starts_;
};

// Where a piece of plan text (a JSON value, an expression string) sits in its file: the file
// (null for a plan read back from stored JSON, which has no file) and the file offset of each
// character of the text, plus one past its end. Escapes in JSON strings make the map uneven.
struct TextOrigin {
  std::shared_ptr<const SourceText> source;
  std::vector<size_t> offsets;

  // The error prefix for character `index` of the text: "kernel.cu:4:17: launch plan" with a
  // file, "launch plan" without.
  std::string where(size_t index) const;
};

// The error prefix for a file offset: "kernel.cu:4:17: launch plan", or "launch plan" when
// `source` is null.
std::string plan_where(const std::shared_ptr<const SourceText>& source, size_t offset);

}  // namespace kforge
