// kforge::kernels::Runtime: the shipped kernels, launched by task name on the present GPU.
//
//   Runtime runtime({.library_root = "<prefix>/share/kforge/kernels",
//                    .fatbin_dir = "<prefix>/share/kforge/fatbin"});
//   runtime.launch("softmax", {{"x", Tensor{x, {rows, cols}, "float32"}},
//                              {"out", Tensor{out, {rows, cols}, "float32"}}}, stream);
//
// It picks the variant verified for the GPU's architecture (Library::choose), loads the fatbin
// CMake built for it (<fatbin_dir>/<operation>/<variant>.fatbin) or, when there is none,
// compiles the kernel with NVRTC for the GPU and keeps the cubin in an on-disk cache
// (<cache_dir>/<operation>/<variant>/<key>.cubin, the key covering the source, the defines, the
// architecture and the NVRTC version), checks the call against the manifest's signature, and
// launches the plan's kernels in order on `stream`. Listing and choosing need no GPU; the CUDA
// driver (and NVRTC) are opened on the first launch, and their absence is a KernelError saying
// so.
//
// NOT yet exercised on a GPU: launches, fatbin loading and the NVRTC cache were written and
// compiled without one; only the paths that stop before the driver are tested.
#pragma once

#include <cuda.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "kforge/kernels/driver.hpp"
#include "kforge/kernels/launch.hpp"
#include "kforge/kernels/library.hpp"

namespace kforge::kernels {

struct RuntimeOptions {
  std::filesystem::path library_root;  // holds <operation>/<variant>/{kernel.cu,manifest.json}
  std::filesystem::path fatbin_dir;    // may be empty: then NVRTC only
  std::filesystem::path cache_dir;     // empty: $XDG_CACHE_HOME/kforge/kernels or ~/.cache/...
  int device = 0;
};

class Runtime {
 public:
  // Scans the library (no GPU needed); KernelError when the folder or a manifest is bad.
  explicit Runtime(RuntimeOptions options);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const Library& library() const { return library_; }

  // The present GPU's architecture (opens the driver).
  int architecture();
  // The variant `launch` would use for `task` on the present GPU.
  const ShippedKernel& choose(const std::string& task);
  // May be called from any thread (the context is made current on it for the launch) and
  // from several at once (loading and the caches are serialised; launches are asynchronous).
  void launch(const std::string& task, const Arguments& arguments, CUstream stream = nullptr);

  // Where a variant's precompiled fatbin would be.
  std::filesystem::path fatbin_path(const ShippedKernel& kernel) const;

 private:
  // Both with mutex_ held.
  Driver& driver();
  const Module& module(const ShippedKernel& kernel, const KernelFile& file);

  std::mutex mutex_;
  RuntimeOptions options_;
  Library library_;
  std::unique_ptr<Driver> driver_;
  int architecture_ = 0;
  std::map<std::string, KernelFile> files_;
  std::map<std::string, Module> modules_;
};

}  // namespace kforge::kernels
