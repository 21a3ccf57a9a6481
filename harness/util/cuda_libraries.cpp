#include "harness/util/cuda_libraries.hpp"

#include <cstdlib>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {

std::vector<std::string> cuda_library_candidates(std::string_view stem,
                                                 const std::vector<int>& majors) {
  std::vector<std::string> folders;
  if (const char* extra = std::getenv("KFORGE_CUDA_LIB_DIRS")) {
    for (const std::string& folder : strings::split(extra, ':')) {
      if (!folder.empty())
        folders.push_back(folder);
    }
  }
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    if (const char* home = std::getenv(variable))
      folders.push_back(std::string(home) + "/lib64");
  }
  folders.push_back("/usr/local/cuda/lib64");
  std::vector<std::string> names;
  for (const std::string& folder : folders) {
    for (int major : majors) {
      names.push_back(folder + "/" + std::string(stem) + ".so." + std::to_string(major));
    }
  }
  for (int major : majors)
    names.push_back(std::string(stem) + ".so." + std::to_string(major));
  names.push_back(std::string(stem) + ".so");
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
