#include "harness/candidate/source_text.hpp"

#include <algorithm>

namespace kforge {

SourceText::SourceText(std::string file_name, std::string text)
    : file_name_(std::move(file_name)), text_(std::move(text)) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text_.size(); ++i) {
    if (text_[i] == '\n')
      line_starts_.push_back(i + 1);
  }
}

int SourceText::line(size_t offset) const {
  auto after = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return static_cast<int>(after - line_starts_.begin());
}

int SourceText::column(size_t offset) const {
  return static_cast<int>(offset - line_starts_[line(offset) - 1]) + 1;
}

std::string SourceText::location(size_t offset) const {
  offset = std::min(offset, text_.size());
  return file_name_ + ":" + std::to_string(line(offset)) + ":" + std::to_string(column(offset));
}

std::string TextOrigin::where(size_t index) const {
  if (!source || offsets.empty())
    return "launch plan";
  return plan_where(source, offsets[std::min(index, offsets.size() - 1)]);
}

std::string plan_where(const std::shared_ptr<const SourceText>& source, size_t offset) {
  if (!source)
    return "launch plan";
  return source->location(offset) + ": launch plan";
}

}  // namespace kforge
