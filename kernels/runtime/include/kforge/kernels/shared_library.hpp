// A shared library opened at run time with dlopen (libcuda, NVRTC, CUPTI), so that a program
// linking the kernel library starts, and its GPU-free parts work, on machines without them. The
// one dlopen layer: kforge's own (harness/util/dynamic_library.hpp) wraps it for its errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kforge::kernels {

class SharedLibrary {
 public:
  // Tries each name in turn; throws KernelError naming every name tried and the last dlerror()
  // when none opens. `what` names the library in that message ("the CUDA driver").
  static SharedLibrary open(const std::vector<std::string>& names, const std::string& what);
  // Like open(), but nullopt when none opens, with the last dlerror() in `last_error` if given.
  static std::optional<SharedLibrary> try_open(const std::vector<std::string>& names,
                                               std::string* last_error = nullptr);
  // One file by path, with RTLD_GLOBAL, or nullopt: for a library that another one dlopens
  // later by bare soname (NVRTC's builtins), which the dynamic linker then finds loaded.
  static std::optional<SharedLibrary> try_open_global(const std::string& path);

  ~SharedLibrary();
  SharedLibrary(SharedLibrary&& other) noexcept;
  SharedLibrary& operator=(SharedLibrary&& other) noexcept;
  SharedLibrary(const SharedLibrary&) = delete;
  SharedLibrary& operator=(const SharedLibrary&) = delete;

  // The address of `name`; throws KernelError naming the library and the symbol if absent.
  void* symbol(const std::string& name) const;
  // The address of `name`, or nullptr.
  void* try_symbol(const std::string& name) const;
  template <typename Function>
  Function function(const std::string& name) const {
    return reinterpret_cast<Function>(symbol(name));
  }

  const std::string& name() const { return name_; }
  // The file the dynamic linker loaded (a bare soname resolved), or the name when unknown.
  std::string path() const;

 private:
  SharedLibrary(void* handle, std::string name) : handle_(handle), name_(std::move(name)) {}
  void* handle_ = nullptr;
  std::string name_;
};

}  // namespace kforge::kernels
