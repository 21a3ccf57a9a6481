#include "harness/util/strings.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>

namespace kforge::strings {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\f\v";
  size_t first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos)
    return {};
  size_t last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return parts;
}

std::string join(std::span<const std::string> parts, std::string_view separator) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0)
      out += separator;
    out += parts[i];
  }
  return out;
}

namespace {

// A name longer than this gets no "did you mean": a typo hint is for names a person types, and
// the edit distance costs the product of the two lengths (a 1 MB name in a candidate or a
// kforge.toml would otherwise keep kforge busy for minutes). With the limit below, a hint costs
// at most 64 x 86 steps per choice, whatever the lengths.
constexpr size_t kLongestSuggestedName = 64;

// The edit distance between `a` and `b`, or `limit` when it is at least `limit` (each row's
// smallest entry never decreases, so a row at or over the limit ends the search).
size_t edit_distance(std::string_view a, std::string_view b, size_t limit) {
  size_t apart = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (apart >= limit)
    return limit;
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    size_t smallest = row[0];
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
      smallest = std::min(smallest, row[j]);
    }
    if (smallest >= limit)
      return limit;
  }
  return std::min(row[b.size()], limit);
}

}  // namespace

std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> choices) {
  std::optional<std::string> best;
  if (word.size() > kLongestSuggestedName)
    return best;
  size_t best_distance = std::max<size_t>(2, word.size() / 3) + 1;
  for (const std::string& choice : choices) {
    size_t distance = edit_distance(word, choice, best_distance);
    if (distance < best_distance) {
      best_distance = distance;
      best = choice;
    }
  }
  return best;
}

std::string unknown_name_message(std::string_view kind, std::string_view word,
                                 std::span<const std::string> choices) {
  std::string message = "unknown " + std::string(kind) + " '" + std::string(word) + "'";
  if (auto suggestion = closest_match(word, choices))
    message += "; did you mean '" + *suggestion + "'?";
  message += " (allowed: " + join(choices, ", ") + ")";
  return message;
}

}  // namespace kforge::strings

namespace kforge::strings {

size_t utf8_length_at(std::string_view text, size_t at) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  if (at >= text.size())
    return 0;
  unsigned char lead = byte(at);
  if (lead < 0x80)
    return 1;
  size_t length = 0;
  uint32_t code = 0;
  if ((lead & 0xE0) == 0xC0) {
    length = 2;
    code = lead & 0x1F;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3;
    code = lead & 0x0F;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4;
    code = lead & 0x07;
  } else {
    return 0;
  }
  if (at + length > text.size())
    return 0;
  for (size_t k = 1; k < length; ++k) {
    if ((byte(at + k) & 0xC0) != 0x80)
      return 0;
    code = (code << 6) | (byte(at + k) & 0x3F);
  }
  static constexpr uint32_t kSmallest[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (code < kSmallest[length] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF))
    return 0;  // overlong, beyond Unicode, or a surrogate
  return length;
}

std::optional<size_t> first_invalid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // ASCII runs are the common case; take them a byte at a time without the full decode.
    if (static_cast<unsigned char>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t length = utf8_length_at(text, i);
    if (length == 0)
      return i;
    i += length;
  }
  return std::nullopt;
}

std::string to_valid_utf8(std::string_view text) {
  std::optional<size_t> bad = first_invalid_utf8(text);
  if (!bad)
    return std::string(text);
  std::string out(text.substr(0, *bad));
  out.reserve(text.size() + 16);
  size_t i = *bad;
  while (i < text.size()) {
    size_t length = utf8_length_at(text, i);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      ++i;
    } else {
      out.append(text.substr(i, length));
      i += length;
    }
  }
  return out;
}

namespace {

void append_hex_escape(std::string& out, unsigned char byte) {
  static constexpr char kDigits[] = "0123456789abcdef";
  out += "\\x";
  out += kDigits[byte >> 4];
  out += kDigits[byte & 15];
}

// Appends the character at `at` made printable and returns its length in bytes.
size_t append_printable(std::string& out, std::string_view text, size_t at, bool keep_layout) {
  auto lead = static_cast<unsigned char>(text[at]);
  if (lead < 0x80) {
    if ((lead == '\n' || lead == '\t') && keep_layout)
      out += static_cast<char>(lead);
    else if (lead == '\n')
      out += "\\n";
    else if (lead == '\t')
      out += "\\t";
    else if (lead < 0x20 || lead == 0x7F)
      append_hex_escape(out, lead);
    else
      out += static_cast<char>(lead);
    return 1;
  }
  size_t length = utf8_length_at(text, at);
  if (length == 0) {
    append_hex_escape(out, lead);
    return 1;
  }
  // C1 controls (U+0080 to U+009F, two bytes C2 80 to C2 9F) include CSI and OSC.
  if (length == 2 && lead == 0xC2 && static_cast<unsigned char>(text[at + 1]) < 0xA0) {
    out += "\\u{";
    static constexpr char kDigits[] = "0123456789abcdef";
    auto code = static_cast<unsigned char>(text[at + 1]);
    out += kDigits[code >> 4];
    out += kDigits[code & 15];
    out += "}";
    return 2;
  }
  out.append(text.substr(at, length));
  return length;
}

std::string printable_text(std::string_view text, bool keep_layout) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size())
    i += append_printable(out, text, i, keep_layout);
  return out;
}

}  // namespace

std::string character_at(std::string_view text, size_t at) {
  if (at >= text.size())
    return {};
  std::string out;
  append_printable(out, text, at, false);
  return out;
}

std::string printable(std::string_view text) {
  return printable_text(text, true);
}

std::string printable_line(std::string_view text) {
  return printable_text(text, false);
}

}  // namespace kforge::strings
