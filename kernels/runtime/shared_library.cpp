#include "kforge/kernels/shared_library.hpp"

#include <dlfcn.h>
#include <link.h>

#include <utility>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {

std::optional<SharedLibrary> SharedLibrary::try_open(const std::vector<std::string>& names,
                                                     std::string* last_error) {
  for (const std::string& name : names) {
    if (void* handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
      return SharedLibrary(handle, name);
    const char* error = dlerror();
    if (last_error)
      *last_error = error ? error : "unknown dlopen error";
  }
  return std::nullopt;
}

SharedLibrary SharedLibrary::open(const std::vector<std::string>& names, const std::string& what) {
  std::string last_error;
  if (std::optional<SharedLibrary> library = try_open(names, &last_error))
    return std::move(*library);
  std::string tried;
  for (const std::string& name : names)
    tried += (tried.empty() ? "" : ", ") + name;
  throw KernelError("cannot open " + what + " (tried " + tried + ")", last_error);
}

std::optional<SharedLibrary> SharedLibrary::try_open_global(const std::string& path) {
  if (void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL))
    return SharedLibrary(handle, path);
  return std::nullopt;
}

std::string SharedLibrary::path() const {
  struct link_map* map = nullptr;
  if (handle_ && dlinfo(handle_, RTLD_DI_LINKMAP, &map) == 0 && map && map->l_name &&
      map->l_name[0] != '\0')
    return map->l_name;
  return name_;
}

SharedLibrary::~SharedLibrary() {
  if (handle_)
    dlclose(handle_);
}

SharedLibrary::SharedLibrary(SharedLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), name_(std::move(other.name_)) {}

SharedLibrary& SharedLibrary::operator=(SharedLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_)
      dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

void* SharedLibrary::try_symbol(const std::string& name) const {
  return dlsym(handle_, name.c_str());
}

void* SharedLibrary::symbol(const std::string& name) const {
  if (void* address = try_symbol(name))
    return address;
  throw KernelError("symbol " + name + " is missing", name_);
}

}  // namespace kforge::kernels
