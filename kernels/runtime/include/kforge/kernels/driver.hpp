// The CUDA driver API, opened with dlopen, as far as the kernel library needs it: the present
// GPU's architecture, loading a cubin, launching one of its kernels. Opening fails with a
// KernelError that says no driver was found, so a program using the library can fall back (or
// say why) on a machine without a GPU.
//
// The functions come from the one driver table, driver_api.hpp, resolved under the names cuda.h
// maps them to.
//
// NOT yet exercised on a GPU: only the missing-driver path is tested (no GPU was available).
#pragma once

#include <cuda.h>

#include <array>
#include <memory>
#include <string>
#include <vector>

#include "kforge/kernels/driver_api.hpp"
#include "kforge/kernels/shared_library.hpp"

namespace kforge::kernels {

class Driver;

// A loaded cubin; unloaded with the object. Its driver must outlive it.
class Module {
 public:
  ~Module();
  Module(Module&& other) noexcept;
  Module& operator=(Module&&) = delete;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // The kernel named `name` (an extern "C" name); KernelError naming it when absent.
  CUfunction function(const std::string& name) const;

 private:
  friend class Driver;
  Module(const Driver* driver, CUmodule module) : driver_(driver), module_(module) {}
  const Driver* driver_;
  CUmodule module_;
};

// The driver's context made current on the calling thread for the scope's lifetime (pushed,
// then popped, so the caller's own current context is restored), or left alone where it is
// current already. Kernels may be launched from any thread: the primary context is current
// only on the thread that made it so.
class ScopedContext {
 public:
  explicit ScopedContext(const Driver& driver);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  const Driver& driver_;
  bool pushed_ = false;
};

class Driver {
 public:
  // libcuda.so.1, then libcuda.so; initialises the driver.
  static Driver open();
  // The same with other library names (tests use names that do not exist).
  static Driver open(const std::vector<std::string>& names);

  int device_count() const;
  // 90 for a compute capability 9.0 device.
  int architecture(int device) const;
  // Retains the device's primary context (released when the Driver goes). It is made current
  // only for the work that needs it, by a ScopedContext on the calling thread.
  void use_device(int device);
  CUcontext context() const { return context_; }

  Module load(const std::vector<char>& image) const;
  void launch(CUfunction function, std::array<unsigned, 3> grid, std::array<unsigned, 3> block,
              unsigned shared_bytes, CUstream stream, std::vector<void*> arguments) const;

  // Device memory in stream order (cuMemAllocAsync / cuMemFreeAsync); release never throws.
  CUdeviceptr allocate(size_t bytes, CUstream stream) const;
  void release(CUdeviceptr pointer, CUstream stream) const;
  // Lets `function` use more than 48 KiB of dynamic shared memory.
  void allow_shared_bytes(CUfunction function, unsigned bytes) const;

  // Throws KernelError "<function> failed: <CUDA error name>: <message>" unless `result` is
  // CUDA_SUCCESS: the one checked call for every driver result.
  void check(CUresult result, const char* function) const;
  const SharedLibrary& library() const { return *library_; }
  // The driver's functions (driver_api.hpp), resolved once.
  const DriverApi& api() const { return api_; }

  ~Driver();
  Driver(Driver&&) noexcept = default;
  Driver& operator=(Driver&&) = delete;
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

 private:
  explicit Driver(SharedLibrary library);
  std::unique_ptr<SharedLibrary> library_;
  DriverApi api_;
  std::vector<CUdevice> retained_;  // primary contexts to release
  CUcontext context_ = nullptr;     // the last device's primary context
};

}  // namespace kforge::kernels
