#include "text_position.hpp"

#include <algorithm>

namespace kforge::kernels {

std::string file_position(const std::string& file_name, std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  const size_t line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
  const size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  const size_t column =
      line_start == std::string_view::npos || offset == 0 ? offset + 1 : offset - line_start;
  return file_name + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string shown_character(std::string_view text, size_t at) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (at >= text.size())
    return {};
  auto c = static_cast<unsigned char>(text[at]);
  if (c >= 0x20 && c < 0x7F)
    return std::string(1, static_cast<char>(c));
  return std::string("\\x") + kDigits[c >> 4] + kDigits[c & 15];
}

}  // namespace kforge::kernels
