#include "harness/util/cuda_libraries.hpp"

#include <algorithm>
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

namespace {

namespace fs = std::filesystem;

bool has_cuda_headers(const fs::path& include) {
  std::error_code failure;
  return fs::is_regular_file(include / "cuda_fp16.h", failure);
}

// The header folders of the installation whose library folder is `library_dir`, or none.
std::vector<fs::path> header_folders_beside(const fs::path& library_dir) {
  const fs::path root = library_dir.parent_path();  // <toolkit> or nvidia/cu13 or nvidia/cuda_nvrtc
  if (has_cuda_headers(root / "include"))
    return {root / "include" / "cccl", root / "include"};
  // CUDA 12's wheels: one package per component beside each other under nvidia/.
  const fs::path packages = root.parent_path();
  if (has_cuda_headers(packages / "cuda_runtime" / "include"))
    return {packages / "cuda_cccl" / "include", packages / "cuda_runtime" / "include"};
  return {};
}

}  // namespace

std::vector<fs::path> cuda_include_roots_for(const std::optional<fs::path>& nvrtc_library) {
  std::vector<std::vector<fs::path>> installations;
  if (nvrtc_library) {
    std::error_code failure;
    fs::path library = fs::canonical(*nvrtc_library, failure);
    if (!failure)
      installations.push_back(header_folders_beside(library.parent_path()));
    // A lib64 symbolic link to lib, say: the folder as named may lead elsewhere.
    installations.push_back(header_folders_beside(nvrtc_library->parent_path()));
  }
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && home[0] != '\0' && has_cuda_headers(fs::path(home) / "include"))
      installations.push_back({fs::path(home) / "include" / "cccl", fs::path(home) / "include"});
  }
  installations.push_back({"/usr/local/cuda/include/cccl", "/usr/local/cuda/include"});
  for (const std::vector<fs::path>& folders : installations) {
    std::vector<fs::path> roots;
    for (const fs::path& folder : folders) {
      std::error_code failure;
      fs::path canonical = fs::canonical(folder, failure);
      if (failure || !fs::is_directory(canonical, failure))
        continue;
      if (std::find(roots.begin(), roots.end(), canonical) == roots.end())
        roots.push_back(canonical);
    }
    bool complete = std::any_of(roots.begin(), roots.end(), has_cuda_headers);
    if (complete)
      return roots;
  }
  return {};
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
  resolve(api_.cuFuncGetAttribute, "cuFuncGetAttribute");
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
