#include "harness/util/dynamic_library.hpp"

#include <dlfcn.h>
#include <link.h>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace {

std::string loaded_path(void* handle, const std::string& fallback) {
  struct link_map* map = nullptr;
  if (dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr && map->l_name != nullptr &&
      map->l_name[0] != '\0') {
    return map->l_name;
  }
  return fallback;
}

}  // namespace

std::optional<DynamicLibrary> DynamicLibrary::try_open(const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    if (void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      return DynamicLibrary(handle, loaded_path(handle, name));
    }
  }
  return std::nullopt;
}

std::optional<DynamicLibrary> DynamicLibrary::try_open_global(const std::string& path) {
  if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL))
    return DynamicLibrary(handle, loaded_path(handle, path));
  return std::nullopt;
}

DynamicLibrary DynamicLibrary::open(const std::vector<std::string>& names,
                                    const std::string& what) {
  std::string last_error;
  for (const std::string& name : names) {
    if (void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      return DynamicLibrary(handle, loaded_path(handle, name));
    }
    const char* error = dlerror();
    if (error != nullptr)
      last_error = error;
  }
  throw Error(what + " not found; tried " + strings::join(names, ", ") +
              (last_error.empty() ? "" : " (last: " + last_error + ")"));
}

DynamicLibrary::~DynamicLibrary() {
  if (handle_ != nullptr)
    dlclose(handle_);
}

DynamicLibrary::DynamicLibrary(DynamicLibrary&& other) noexcept
    : handle_(other.handle_), path_(std::move(other.path_)) {
  other.handle_ = nullptr;
}

DynamicLibrary& DynamicLibrary::operator=(DynamicLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr)
      dlclose(handle_);
    handle_ = other.handle_;
    path_ = std::move(other.path_);
    other.handle_ = nullptr;
  }
  return *this;
}

void* DynamicLibrary::try_symbol(const std::string& symbol) const {
  return dlsym(handle_, symbol.c_str());
}

void* DynamicLibrary::symbol(const std::string& symbol) const {
  void* address = try_symbol(symbol);
  if (address == nullptr)
    throw Error("symbol " + symbol + " not found", path_);
  return address;
}

}  // namespace kforge
