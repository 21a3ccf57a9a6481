// Opening a shared library at run time (libcuda, NVRTC, CUPTI), so that kforge starts, and all
// its GPU-free features work, on machines that lack them.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kforge {

class DynamicLibrary {
 public:
  // Tries each name in turn (sonames or paths) with dlopen; throws Error naming every name
  // tried and the last dlerror() when none opens.
  static DynamicLibrary open(const std::vector<std::string>& names, const std::string& what);
  // Like open(), but nullopt instead of an Error.
  static std::optional<DynamicLibrary> try_open(const std::vector<std::string>& names);
  // One file, with RTLD_GLOBAL: for a library that another one dlopens later by its bare
  // soname (NVRTC and its builtins), which the dynamic linker then finds already loaded.
  static std::optional<DynamicLibrary> try_open_global(const std::string& path);

  ~DynamicLibrary();
  DynamicLibrary(DynamicLibrary&& other) noexcept;
  DynamicLibrary& operator=(DynamicLibrary&& other) noexcept;
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;

  // The address of `symbol`; throws Error naming the library and symbol if it is absent.
  void* symbol(const std::string& symbol) const;
  void* try_symbol(const std::string& symbol) const;
  template <typename Function>
  Function function(const std::string& name) const {
    return reinterpret_cast<Function>(symbol(name));
  }

  // The file the library was loaded from (from dladdr/dlinfo), or the name that opened it.
  const std::string& path() const { return path_; }

 private:
  DynamicLibrary(void* handle, std::string path) : handle_(handle), path_(std::move(path)) {}
  void* handle_ = nullptr;
  std::string path_;
};

}  // namespace kforge
