// The one exception type kforge throws for infrastructure failures: a tool that broke, a file
// that is malformed, a key that is unknown. A bad candidate is never an Error: it is a verdict.
// The CLI catches Error once, at the top, and prints `kforge: error: <what> (<where>)`.
#pragma once

#include <stdexcept>
#include <string>

namespace kforge {

class Error : public std::runtime_error {
 public:
  // `what`: what went wrong, in a sentence without a trailing period.
  // `where`: the file, line, key, API function or candidate it concerns; may be empty.
  explicit Error(std::string what, std::string where = {})
      : std::runtime_error(where.empty() ? what : what + " (" + where + ")"),
        what_(std::move(what)),
        where_(std::move(where)) {}

  const std::string& message() const { return what_; }
  const std::string& where() const { return where_; }

  // A copy of this error with `outer` prepended to where it happened, for context that is only
  // known further up (the task that was being imported, say).
  Error within(const std::string& outer) const {
    return Error(what_, where_.empty() ? outer : outer + ": " + where_);
  }

 private:
  std::string what_;
  std::string where_;
};

}  // namespace kforge
