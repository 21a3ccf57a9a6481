#include "kforge/kernels/driver.hpp"

#include <utility>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {

Driver::Driver(SharedLibrary library)
    : library_(std::make_unique<SharedLibrary>(std::move(library))),
      api_(resolve_driver_api(*library_)) {}

Driver Driver::open() {
  return open({"libcuda.so.1", "libcuda.so"});
}

Driver Driver::open(const std::vector<std::string>& names) {
  Driver driver(SharedLibrary::open(names, "the CUDA driver (is an NVIDIA driver installed?)"));
  driver.check(driver.api().cuInit(0), "cuInit");
  return driver;
}

Driver::~Driver() {
  if (!library_)
    return;  // moved from
  for (CUdevice device : retained_)
    api_.cuDevicePrimaryCtxRelease(device);  // never throws from here
}

void Driver::check(CUresult result, const char* function) const {
  if (result == CUDA_SUCCESS)
    return;
  throw KernelError(describe_driver_failure(api_, result, function),
                    "CUresult " + std::to_string(static_cast<int>(result)));
}

int Driver::device_count() const {
  int count = 0;
  check(api_.cuDeviceGetCount(&count), "cuDeviceGetCount");
  return count;
}

int Driver::architecture(int device) const {
  CUdevice handle = 0;
  check(api_.cuDeviceGet(&handle, device), "cuDeviceGet");
  auto attribute = api_.cuDeviceGetAttribute;
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
  check(api_.cuDeviceGet(&handle, device), "cuDeviceGet");
  CUcontext context = nullptr;
  check(api_.cuDevicePrimaryCtxRetain(&context, handle), "cuDevicePrimaryCtxRetain");
  retained_.push_back(handle);
  context_ = context;
}

ScopedContext::ScopedContext(const Driver& driver) : driver_(driver) {
  if (driver.context() == nullptr)
    return;
  CUcontext current = nullptr;
  driver.check(driver.api().cuCtxGetCurrent(&current), "cuCtxGetCurrent");
  if (current == driver.context())
    return;
  driver.check(driver.api().cuCtxPushCurrent(driver.context()), "cuCtxPushCurrent_v2");
  pushed_ = true;
}

ScopedContext::~ScopedContext() {
  if (!pushed_)
    return;
  CUcontext popped = nullptr;
  driver_.api().cuCtxPopCurrent(&popped);  // no throw
}

Module Driver::load(const std::vector<char>& image) const {
  CUmodule module = nullptr;
  check(api_.cuModuleLoadData(&module, image.data()), "cuModuleLoadData");
  return Module(this, module);
}

void Driver::launch(CUfunction function, std::array<unsigned, 3> grid,
                    std::array<unsigned, 3> block, unsigned shared_bytes, CUstream stream,
                    std::vector<void*> arguments) const {
  check(api_.cuLaunchKernel(function, grid[0], grid[1], grid[2], block[0], block[1], block[2],
                            shared_bytes, stream, arguments.data(), nullptr),
        "cuLaunchKernel");
}

CUdeviceptr Driver::allocate(size_t bytes, CUstream stream) const {
  CUdeviceptr pointer = 0;
  check(api_.cuMemAllocAsync(&pointer, bytes, stream), "cuMemAllocAsync");
  return pointer;
}

void Driver::release(CUdeviceptr pointer, CUstream stream) const {
  api_.cuMemFreeAsync(pointer, stream);
}

void Driver::allow_shared_bytes(CUfunction function, unsigned bytes) const {
  check(api_.cuFuncSetAttribute(function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                                static_cast<int>(bytes)),
        "cuFuncSetAttribute");
}

Module::~Module() {
  if (module_)
    driver_->api().cuModuleUnload(module_);
}

Module::Module(Module&& other) noexcept
    : driver_(other.driver_), module_(std::exchange(other.module_, nullptr)) {}

CUfunction Module::function(const std::string& name) const {
  CUfunction function = nullptr;
  const CUresult result = driver_->api().cuModuleGetFunction(&function, module_, name.c_str());
  if (result == CUDA_ERROR_NOT_FOUND)
    throw KernelError("the module has no kernel named '" + name + "'", "cuModuleGetFunction");
  driver_->check(result, "cuModuleGetFunction");
  return function;
}

}  // namespace kforge::kernels
