#include "datasets/export/json_line.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace kforge::dataset {

namespace {
// Length of the valid UTF-8 sequence starting at text[i], or 0 if it is not valid.
size_t utf8_sequence(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  size_t length = lead < 0xC2 ? 0 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : lead < 0xF5 ? 4 : 0;
  if (length == 0 || i + length > text.size())
    return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
  }
  // Overlong three- and four-byte forms, surrogates and code points above U+10FFFF.
  if ((lead == 0xE0 && byte(i + 1) < 0xA0) || (lead == 0xED && byte(i + 1) > 0x9F) ||
      (lead == 0xF0 && byte(i + 1) < 0x90) || (lead == 0xF4 && byte(i + 1) > 0x8F))
    return 0;
  return length;
}

// True when none of the 8 bytes at `bytes` needs escaping: no control character (< 0x20), no
// '"' or '\\', and no byte >= 0x80 (UTF-8, checked byte by byte). Classic SWAR tests: a byte b
// of x is flagged by (x - 0x01..) & ~x & 0x80.. exactly when some byte is zero, so
// x ^ 0x22.. finds '"' and x ^ 0x5c.. finds '\\'; (x - 0x20..) & ~x & 0x80.. flags a byte
// below 0x20 whenever no byte is >= 0x80, which is tested on its own.
bool plain_block(const char* bytes) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t x;
  std::memcpy(&x, bytes, sizeof x);
  auto has_zero = [](uint64_t v) { return (v - kOnes) & ~v & kHigh; };
  uint64_t flagged = (x & kHigh) | ((x - 0x20 * kOnes) & ~x & kHigh) |
                     has_zero(x ^ (0x22 * kOnes)) | has_zero(x ^ (0x5C * kOnes));
  return flagged == 0;
}
}  // namespace

void JsonLine::append_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < text.size()) {
    // Most of a kernel's text needs no escaping: copy runs of plain ASCII at once, found eight
    // bytes at a time (the byte loop below finishes a run and judges any flagged block).
    size_t run = i;
    while (run + 8 <= text.size() && plain_block(text.data() + run))
      run += 8;
    while (run < text.size()) {
      auto plain = static_cast<unsigned char>(text[run]);
      if (plain < 0x20 || plain >= 0x80 || plain == '"' || plain == '\\')
        break;
      ++run;
    }
    out.append(text.substr(i, run - i));
    i = run;
    if (i == text.size())
      break;
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      size_t length = utf8_sequence(text, i);
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

void JsonLine::begin() {
  line_.clear();
  line_ += '{';
  first_ = true;
}

void JsonLine::key(std::string_view name) {
  if (!first_)
    line_ += ',';
  first_ = false;
  append_escaped(line_, name);
  line_ += ':';
}

void JsonLine::string(std::string_view name, std::string_view value) {
  key(name);
  append_escaped(line_, value);
}

void JsonLine::string(std::string_view name, const std::optional<std::string>& value) {
  key(name);
  if (value)
    append_escaped(line_, *value);
  else
    line_ += "null";
}

void JsonLine::integer(std::string_view name, std::optional<int64_t> value) {
  key(name);
  line_ += value ? std::to_string(*value) : "null";
}

void JsonLine::number(std::string_view name, std::optional<double> value) {
  key(name);
  if (!value || !std::isfinite(*value)) {
    line_ += "null";
    return;
  }
  char buffer[32];
  auto result = std::to_chars(buffer, buffer + sizeof buffer, *value);
  line_.append(buffer, result.ptr);
}

void JsonLine::raw(std::string_view name, const std::optional<std::string>& json_text) {
  key(name);
  line_ += json_text && !json_text->empty() ? *json_text : "null";
}

void JsonLine::value(std::string_view name, const nlohmann::json& value) {
  key(name);
  line_ += value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

const std::string& JsonLine::finish() {
  line_ += "}\n";
  return line_;
}

}  // namespace kforge::dataset
