#include "kforge/kernels/driver.hpp"

#include <utility>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {

Driver::Driver(SharedLibrary library)
    : library_(std::make_unique<SharedLibrary>(std::move(library))) {}

Driver Driver::open() {
  return open({"libcuda.so.1", "libcuda.so"});
}

Driver Driver::open(const std::vector<std::string>& names) {
  Driver driver(SharedLibrary::open(names, "the CUDA driver (is an NVIDIA driver installed?)"));
  driver.check(driver.library().function<CUresult (*)(unsigned)>("cuInit")(0), "cuInit");
  return driver;
}

Driver::~Driver() {
  if (!library_)
    return;  // moved from
  auto release = library_->function<CUresult (*)(CUdevice)>("cuDevicePrimaryCtxRelease_v2");
  for (CUdevice device : retained_)
    release(device);  // never throws from here
}

void Driver::check(CUresult result, const char* function) const {
  if (result == CUDA_SUCCESS)
    return;
  const char* name = nullptr;
  const char* message = nullptr;
  library_->function<CUresult (*)(CUresult, const char**)>("cuGetErrorName")(result, &name);
  library_->function<CUresult (*)(CUresult, const char**)>("cuGetErrorString")(result, &message);
  throw KernelError(std::string(function) + " failed: " + (name ? name : "unknown error") + ": " +
                        (message ? message : "no description"),
                    "CUresult " + std::to_string(static_cast<int>(result)));
}

int Driver::device_count() const {
  int count = 0;
  check(library_->function<CUresult (*)(int*)>("cuDeviceGetCount")(&count), "cuDeviceGetCount");
  return count;
}

int Driver::architecture(int device) const {
  CUdevice handle = 0;
  check(library_->function<CUresult (*)(CUdevice*, int)>("cuDeviceGet")(&handle, device),
        "cuDeviceGet");
  auto attribute =
      library_->function<CUresult (*)(int*, CUdevice_attribute, CUdevice)>("cuDeviceGetAttribute");
  int major = 0;
  int minor = 0;
  check(attribute(&major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, handle),
        "cuDeviceGetAttribute");
  check(attribute(&minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, handle),
        "cuDeviceGetAttribute");
  return major * 10 + minor;
}

void Driver::use_device(int device) {
  CUdevice handle = 0;
  check(library_->function<CUresult (*)(CUdevice*, int)>("cuDeviceGet")(&handle, device),
        "cuDeviceGet");
  CUcontext context = nullptr;
  check(library_->function<CUresult (*)(CUcontext*, CUdevice)>("cuDevicePrimaryCtxRetain")(&context,
                                                                                           handle),
        "cuDevicePrimaryCtxRetain");
  retained_.push_back(handle);
  context_ = context;
}

ScopedContext::ScopedContext(const Driver& driver) : driver_(driver) {
  if (driver.context() == nullptr)
    return;
  CUcontext current = nullptr;
  driver.check(driver.library().function<CUresult (*)(CUcontext*)>("cuCtxGetCurrent")(&current),
               "cuCtxGetCurrent");
  if (current == driver.context())
    return;
  driver.check(
      driver.library().function<CUresult (*)(CUcontext)>("cuCtxPushCurrent_v2")(driver.context()),
      "cuCtxPushCurrent_v2");
  pushed_ = true;
}

ScopedContext::~ScopedContext() {
  if (!pushed_)
    return;
  CUcontext popped = nullptr;
  driver_.library().function<CUresult (*)(CUcontext*)>("cuCtxPopCurrent_v2")(&popped);  // no throw
}

Module Driver::load(const std::vector<char>& image) const {
  CUmodule module = nullptr;
  check(library_->function<CUresult (*)(CUmodule*, const void*)>("cuModuleLoadData")(&module,
                                                                                     image.data()),
        "cuModuleLoadData");
  return Module(this, module);
}

void Driver::launch(CUfunction function, std::array<unsigned, 3> grid,
                    std::array<unsigned, 3> block, unsigned shared_bytes, CUstream stream,
                    std::vector<void*> arguments) const {
  auto launch_kernel =
      library_->function<CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                                      unsigned, unsigned, CUstream, void**, void**)>(
          "cuLaunchKernel");
  check(launch_kernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2],
                      shared_bytes, stream, arguments.data(), nullptr),
        "cuLaunchKernel");
}

CUdeviceptr Driver::allocate(size_t bytes, CUstream stream) const {
  CUdeviceptr pointer = 0;
  check(library_->function<CUresult (*)(CUdeviceptr*, size_t, CUstream)>("cuMemAllocAsync")(
            &pointer, bytes, stream),
        "cuMemAllocAsync");
  return pointer;
}

void Driver::release(CUdeviceptr pointer, CUstream stream) const {
  library_->function<CUresult (*)(CUdeviceptr, CUstream)>("cuMemFreeAsync")(pointer, stream);
}

void Driver::allow_shared_bytes(CUfunction function, unsigned bytes) const {
  check(
      library_->function<CUresult (*)(CUfunction, CUfunction_attribute, int)>("cuFuncSetAttribute")(
          function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, static_cast<int>(bytes)),
      "cuFuncSetAttribute");
}

Module::~Module() {
  if (module_)
    driver_->library().function<CUresult (*)(CUmodule)>("cuModuleUnload")(module_);
}

Module::Module(Module&& other) noexcept
    : driver_(other.driver_), module_(std::exchange(other.module_, nullptr)) {}

CUfunction Module::function(const std::string& name) const {
  CUfunction function = nullptr;
  const CUresult result =
      driver_->library().function<CUresult (*)(CUfunction*, CUmodule, const char*)>(
          "cuModuleGetFunction")(&function, module_, name.c_str());
  if (result == CUDA_ERROR_NOT_FOUND)
    throw KernelError("the module has no kernel named '" + name + "'", "cuModuleGetFunction");
  driver_->check(result, "cuModuleGetFunction");
  return function;
}

}  // namespace kforge::kernels
