// NVRTC's log read as diagnostics. Its front end writes each one as `NAME(LINE): error: TEXT`,
// then the source line and a line with a caret under the column, both behind two spaces (seen
// with NVRTC 13.0); a diagnostic is kept with that column when the caret follows, else column 0.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

struct CompileDiagnostic {
  std::string file;
  int64_t line = 0;
  int64_t column = 0;    // 1-based; 0 when the log shows none
  std::string severity;  // "error", "warning", "catastrophic error", ...
  std::string message;

  // "file:line:column: severity: message" (no column part when it is 0).
  std::string to_string() const;
};

// Every diagnostic of `log` in order; lines that are none (the ptxas report, notes) are skipped.
std::vector<CompileDiagnostic> compile_diagnostics(std::string_view log);

}  // namespace kforge
