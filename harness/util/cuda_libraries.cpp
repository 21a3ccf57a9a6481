#include "harness/util/cuda_libraries.hpp"

#include <cstdlib>
#include <type_traits>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {

std::vector<std::string> cuda_library_candidates(std::string_view stem,
                                                 const std::vector<int>& majors) {
  auto in_folder = [&](const std::string& folder, std::vector<std::string>& names) {
    for (int major : majors)
      names.push_back(folder + "/" + std::string(stem) + ".so." + std::to_string(major));
  };
  std::vector<std::string> names;
  // Folders the user named come first, then the dynamic linker's own search (LD_LIBRARY_PATH,
  // ldconfig), then the usual toolkit folders.
  if (const char* extra = std::getenv("KFORGE_CUDA_LIB_DIRS")) {
    for (const std::string& folder : strings::split(extra, ':')) {
      if (!folder.empty())
        in_folder(folder, names);
    }
  }
  for (int major : majors)
    names.push_back(std::string(stem) + ".so." + std::to_string(major));
  names.push_back(std::string(stem) + ".so");
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && home[0] != '\0')
      in_folder(std::string(home) + "/lib64", names);
  }
  in_folder("/usr/local/cuda/lib64", names);
  return names;
}

CudaDriver& CudaDriver::instance() {
  static CudaDriver driver;
  return driver;
}

CudaDriver::CudaDriver()
    : library_(DynamicLibrary::open({"libcuda.so.1", "libcuda.so"}, "the CUDA driver (libcuda)")) {
  // The _v2 entry points are the current ABI of these functions.
  api_.cuInit = library_.function<decltype(api_.cuInit)>("cuInit");
  api_.cuDriverGetVersion =
      library_.function<decltype(api_.cuDriverGetVersion)>("cuDriverGetVersion");
  api_.cuDeviceGetCount = library_.function<decltype(api_.cuDeviceGetCount)>("cuDeviceGetCount");
  api_.cuDeviceGet = library_.function<decltype(api_.cuDeviceGet)>("cuDeviceGet");
  api_.cuDeviceGetName = library_.function<decltype(api_.cuDeviceGetName)>("cuDeviceGetName");
  api_.cuDeviceGetAttribute =
      library_.function<decltype(api_.cuDeviceGetAttribute)>("cuDeviceGetAttribute");
  api_.cuDeviceTotalMem = library_.function<decltype(api_.cuDeviceTotalMem)>("cuDeviceTotalMem_v2");
  api_.cuGetErrorName = library_.function<decltype(api_.cuGetErrorName)>("cuGetErrorName");
  api_.cuGetErrorString = library_.function<decltype(api_.cuGetErrorString)>("cuGetErrorString");
  auto resolve = [&](auto& slot, const char* name) {
    slot = library_.function<std::remove_reference_t<decltype(slot)>>(name);
  };
  resolve(api_.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  resolve(api_.cuCtxSetCurrent, "cuCtxSetCurrent");
  resolve(api_.cuCtxSynchronize, "cuCtxSynchronize");
  resolve(api_.cuCtxSetLimit, "cuCtxSetLimit");
  resolve(api_.cuMemGetInfo, "cuMemGetInfo_v2");
  resolve(api_.cuModuleLoadData, "cuModuleLoadData");
  resolve(api_.cuModuleUnload, "cuModuleUnload");
  resolve(api_.cuModuleGetFunction, "cuModuleGetFunction");
  resolve(api_.cuFuncSetAttribute, "cuFuncSetAttribute");
  resolve(api_.cuLaunchKernel, "cuLaunchKernel");
  resolve(api_.cuMemAlloc, "cuMemAlloc_v2");
  resolve(api_.cuMemFree, "cuMemFree_v2");
  resolve(api_.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  resolve(api_.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  resolve(api_.cuMemcpyDtoD, "cuMemcpyDtoD_v2");
  resolve(api_.cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2");
  resolve(api_.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  resolve(api_.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  resolve(api_.cuMemsetD8, "cuMemsetD8_v2");
  resolve(api_.cuMemsetD32, "cuMemsetD32_v2");
  resolve(api_.cuMemsetD8Async, "cuMemsetD8Async");
  resolve(api_.cuMemsetD32Async, "cuMemsetD32Async");
  resolve(api_.cuStreamCreate, "cuStreamCreate");
  resolve(api_.cuStreamDestroy, "cuStreamDestroy_v2");
  resolve(api_.cuStreamSynchronize, "cuStreamSynchronize");
}

void CudaDriver::check(CUresult result, const char* function) const {
  if (result == CUDA_SUCCESS)
    return;
  const char* name = nullptr;
  const char* description = nullptr;
  api_.cuGetErrorName(result, &name);
  api_.cuGetErrorString(result, &description);
  throw Error(std::string(function) + " failed: " + (name ? name : std::to_string(result)) +
                  (description ? std::string(": ") + description : std::string()),
              path());
}

}  // namespace kforge
