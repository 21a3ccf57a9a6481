#include "kforge/kernels/driver_api.hpp"

namespace kforge::kernels {
namespace {

template <typename Function>
void resolve(const SharedLibrary& library, Function& slot, const char* symbol) {
  slot = reinterpret_cast<Function>(library.symbol(symbol));
}

}  // namespace

DriverApi resolve_driver_api(const SharedLibrary& library) {
  DriverApi api;
  // The symbol names cuda.h maps each function to (the _v2 entry points are the current ABI).
  resolve(library, api.cuInit, "cuInit");
  resolve(library, api.cuDriverGetVersion, "cuDriverGetVersion");
  resolve(library, api.cuGetErrorName, "cuGetErrorName");
  resolve(library, api.cuGetErrorString, "cuGetErrorString");
  resolve(library, api.cuDeviceGetCount, "cuDeviceGetCount");
  resolve(library, api.cuDeviceGet, "cuDeviceGet");
  resolve(library, api.cuDeviceGetName, "cuDeviceGetName");
  resolve(library, api.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  resolve(library, api.cuDeviceTotalMem, "cuDeviceTotalMem_v2");
  resolve(library, api.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(library, api.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  resolve(library, api.cuCtxGetCurrent, "cuCtxGetCurrent");
  resolve(library, api.cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(library, api.cuCtxPushCurrent, "cuCtxPushCurrent_v2");
  resolve(library, api.cuCtxPopCurrent, "cuCtxPopCurrent_v2");
  resolve(library, api.cuCtxSynchronize, "cuCtxSynchronize");
  resolve(library, api.cuCtxSetLimit, "cuCtxSetLimit");
  resolve(library, api.cuModuleLoadData, "cuModuleLoadData");
  resolve(library, api.cuModuleUnload, "cuModuleUnload");
  resolve(library, api.cuModuleGetFunction, "cuModuleGetFunction");
  resolve(library, api.cuFuncSetAttribute, "cuFuncSetAttribute");
  resolve(library, api.cuFuncGetAttribute, "cuFuncGetAttribute");
  resolve(library, api.cuLaunchKernel, "cuLaunchKernel");
  resolve(library, api.cuMemGetInfo, "cuMemGetInfo_v2");
  resolve(library, api.cuMemAlloc, "cuMemAlloc_v2");
  resolve(library, api.cuMemFree, "cuMemFree_v2");
  resolve(library, api.cuMemAllocAsync, "cuMemAllocAsync");
  resolve(library, api.cuMemFreeAsync, "cuMemFreeAsync");
  resolve(library, api.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(library, api.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(library, api.cuMemcpyDtoD, "cuMemcpyDtoD_v2");
  resolve(library, api.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  resolve(library, api.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  resolve(library, api.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  resolve(library, api.cuMemsetD8, "cuMemsetD8_v2");
  resolve(library, api.cuMemsetD32, "cuMemsetD32_v2");
  resolve(library, api.cuMemsetD8Async, "cuMemsetD8Async");
  resolve(library, api.cuMemsetD32Async, "cuMemsetD32Async");
  resolve(library, api.cuStreamCreate, "cuStreamCreate");
  resolve(library, api.cuStreamDestroy, "cuStreamDestroy_v2");
  resolve(library, api.cuStreamSynchronize, "cuStreamSynchronize");
  return api;
}

std::string describe_driver_failure(const DriverApi& api, CUresult result, const char* function) {
  const char* name = nullptr;
  const char* description = nullptr;
  if (api.cuGetErrorName)
    api.cuGetErrorName(result, &name);
  if (api.cuGetErrorString)
    api.cuGetErrorString(result, &description);
  return std::string(function) +
         " failed: " + (name ? std::string(name) : std::to_string(static_cast<int>(result))) +
         (description ? std::string(": ") + description : std::string());
}

}  // namespace kforge::kernels
