// Opening a shared library at run time (libcuda, NVRTC, CUPTI), so that kforge starts, and all
// its GPU-free features work, on machines that lack them. The dlopen itself is the kernel
// library's (kforge/kernels/shared_library.hpp), the one dlopen layer; this wraps it so that a
// failure is a kforge::Error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kforge/kernels/shared_library.hpp"

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

  // The address of `symbol`; throws Error naming the library and symbol if it is absent.
  void* symbol(const std::string& symbol) const;
  void* try_symbol(const std::string& symbol) const { return library_.try_symbol(symbol); }
  template <typename Function>
  Function function(const std::string& name) const {
    return reinterpret_cast<Function>(symbol(name));
  }

  // The file the library was loaded from (from dlinfo), or the name that opened it.
  const std::string& path() const { return path_; }
  const kernels::SharedLibrary& library() const { return library_; }

 private:
  explicit DynamicLibrary(kernels::SharedLibrary library)
      : library_(std::move(library)), path_(library_.path()) {}
  kernels::SharedLibrary library_;
  std::string path_;
};

}  // namespace kforge
