// The one exception type of the kernel library. The library stands alone (it must be usable
// without the rest of kforge), so it does not share kforge::Error; it follows the same shape:
// what went wrong, and where (a file, a kernel, an API function and its result code).
#pragma once

#include <stdexcept>
#include <string>

namespace kforge::kernels {

class KernelError : public std::runtime_error {
 public:
  KernelError(const std::string& what, const std::string& where)
      : std::runtime_error(where.empty() ? what : what + " (" + where + ")"),
        what_(what),
        where_(where) {}

  const std::string& problem() const { return what_; }
  const std::string& where() const { return where_; }

 private:
  std::string what_;
  std::string where_;
};

}  // namespace kforge::kernels
