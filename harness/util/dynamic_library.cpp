#include "harness/util/dynamic_library.hpp"

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {

std::optional<DynamicLibrary> DynamicLibrary::try_open(const std::vector<std::string>& names) {
  if (std::optional<kernels::SharedLibrary> library = kernels::SharedLibrary::try_open(names))
    return DynamicLibrary(std::move(*library));
  return std::nullopt;
}

std::optional<DynamicLibrary> DynamicLibrary::try_open_global(const std::string& path) {
  if (std::optional<kernels::SharedLibrary> library = kernels::SharedLibrary::try_open_global(path))
    return DynamicLibrary(std::move(*library));
  return std::nullopt;
}

DynamicLibrary DynamicLibrary::open(const std::vector<std::string>& names,
                                    const std::string& what) {
  std::string last_error;
  if (std::optional<kernels::SharedLibrary> library =
          kernels::SharedLibrary::try_open(names, &last_error))
    return DynamicLibrary(std::move(*library));
  throw Error(what + " not found; tried " + strings::join(names, ", ") +
              (last_error.empty() ? "" : " (last: " + last_error + ")"));
}

void* DynamicLibrary::symbol(const std::string& symbol) const {
  void* address = try_symbol(symbol);
  if (address == nullptr)
    throw Error("symbol " + symbol + " not found", path_);
  return address;
}

}  // namespace kforge
