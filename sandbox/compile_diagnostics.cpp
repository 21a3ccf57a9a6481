#include "sandbox/compile_diagnostics.hpp"

#include <cctype>

#include "harness/util/strings.hpp"

namespace kforge {
namespace {

// `NAME(LINE): SEVERITY: MESSAGE`, where SEVERITY is one word or "catastrophic error" and may
// carry a diagnostic number (`error #20`).
bool parse_header(std::string_view line, CompileDiagnostic& out) {
  size_t open = line.find('(');
  if (open == std::string_view::npos || open == 0)
    return false;
  size_t close = line.find("): ", open);
  if (close == std::string_view::npos || close == open + 1)
    return false;
  int64_t number = 0;
  for (char c : line.substr(open + 1, close - open - 1)) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return false;
    number = number * 10 + (c - '0');
    if (number > 100000000)
      return false;
  }
  std::string_view rest = line.substr(close + 3);
  size_t colon = rest.find(": ");
  if (colon == std::string_view::npos)
    return false;
  std::string severity(strings::trim(rest.substr(0, colon)));
  if (size_t hash = severity.find(" #"); hash != std::string::npos)
    severity.resize(hash);
  if (severity != "error" && severity != "warning" && severity != "catastrophic error" &&
      severity != "remark")
    return false;
  out.file = std::string(line.substr(0, open));
  out.line = number;
  out.severity = severity;
  out.message = std::string(strings::trim(rest.substr(colon + 2)));
  return true;
}

// The log quotes the source line and the caret line under it each behind two spaces, the caret
// line repeating the source's tabs, so the caret's offset past the two spaces is the column's.
constexpr std::string_view kQuoteIndent = "  ";

int64_t caret_column(std::string_view source_line, std::string_view caret_line) {
  if (source_line.substr(0, kQuoteIndent.size()) != kQuoteIndent)
    return 0;
  size_t caret = caret_line.find('^');
  if (caret == std::string_view::npos || caret < kQuoteIndent.size() ||
      !strings::trim(caret_line.substr(caret + 1)).empty())
    return 0;
  for (size_t i = 0; i < caret; ++i) {
    if (caret_line[i] != ' ' && caret_line[i] != '\t')
      return 0;
  }
  return static_cast<int64_t>(caret - kQuoteIndent.size()) + 1;
}

}  // namespace

std::string CompileDiagnostic::to_string() const {
  std::string where = file + ":" + std::to_string(line);
  if (column > 0)
    where += ":" + std::to_string(column);
  return where + ": " + severity + ": " + message;
}

std::vector<CompileDiagnostic> compile_diagnostics(std::string_view log) {
  std::vector<std::string_view> lines;
  for (size_t at = 0; at <= log.size();) {
    size_t end = log.find('\n', at);
    if (end == std::string_view::npos)
      end = log.size();
    std::string_view line = log.substr(at, end - at);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    lines.push_back(line);
    at = end + 1;
  }
  std::vector<CompileDiagnostic> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    CompileDiagnostic diagnostic;
    if (!parse_header(lines[i], diagnostic))
      continue;
    if (i + 2 < lines.size())
      diagnostic.column = caret_column(lines[i + 1], lines[i + 2]);
    out.push_back(std::move(diagnostic));
  }
  return out;
}

}  // namespace kforge
