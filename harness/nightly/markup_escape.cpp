#include "harness/nightly/markup_escape.hpp"

#include "harness/util/strings.hpp"

namespace kforge::nightly {
namespace {

// The character reference of `c` where HTML gives it a meaning, else nullptr.
const char* html_reference(char c) {
  switch (c) {
    case '&':
      return "&amp;";
    case '<':
      return "&lt;";
    case '>':
      return "&gt;";
    case '"':
      return "&quot;";
    case '\'':
      return "&#39;";
    default:
      return nullptr;
  }
}

}  // namespace

std::string html_escaped(std::string_view text) {
  std::string out;
  for (char c : strings::printable_line(text)) {
    if (const char* reference = html_reference(c))
      out += reference;
    else
      out += c;
  }
  return out;
}

std::string markdown_escaped(std::string_view text) {
  // The punctuation that opens or closes an inline construct (emphasis, code, links, tables,
  // strike-through). The renderer never puts a store string at the start of a line, so the
  // block markers (#, -, +, digits and a period) need no escape.
  static constexpr std::string_view kMarkdownPunctuation = "\\`*_[]|~";
  std::string out;
  for (char c : strings::printable_line(text)) {
    if (c == '<' || c == '>' || c == '&')
      out += html_reference(c);
    else if (kMarkdownPunctuation.find(c) != std::string_view::npos)
      out += std::string("\\") + c;
    else
      out += c;
  }
  return out;
}

}  // namespace kforge::nightly
