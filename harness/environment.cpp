#include "harness/environment.hpp"

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/error.hpp"
#include "sandbox/nvrtc_api.hpp"

namespace kforge {

nlohmann::json Component::to_json() const {
  return {{"name", name},
          {"found", found},
          {"version", version},
          {"location", location},
          {"detail", detail}};
}

namespace {

std::string dotted_version(int encoded) {
  // CUDA encodes versions as 1000 * major + 10 * minor.
  return std::to_string(encoded / 1000) + "." + std::to_string((encoded % 1000) / 10);
}

}  // namespace

Component probe_cuda_driver(std::vector<GpuInfo>* gpus) {
  Component component{.name = "cuda-driver"};
  try {
    CudaDriver& driver = CudaDriver::instance();
    const CudaDriverApi& api = driver.api();
    component.location = driver.path();
    int version = 0;
    driver.check(api.cuDriverGetVersion(&version), "cuDriverGetVersion");
    component.version = dotted_version(version);
    CUresult initialised = api.cuInit(0);
    if (initialised == CUDA_ERROR_NO_DEVICE) {
      component.found = true;
      component.detail = "0 GPUs";
      return component;
    }
    driver.check(initialised, "cuInit");
    int count = 0;
    driver.check(api.cuDeviceGetCount(&count), "cuDeviceGetCount");
    for (int ordinal = 0; ordinal < count && gpus != nullptr; ++ordinal) {
      CUdevice device = 0;
      driver.check(api.cuDeviceGet(&device, ordinal), "cuDeviceGet");
      GpuInfo gpu{.ordinal = ordinal};
      char name[256] = {};
      driver.check(api.cuDeviceGetName(name, sizeof(name), device), "cuDeviceGetName");
      gpu.name = name;
      int major = 0, minor = 0;
      auto attribute = [&](CUdevice_attribute which, int* out, const char* label) {
        driver.check(api.cuDeviceGetAttribute(out, which, device), label);
      };
      attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &major, "cuDeviceGetAttribute");
      attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &minor, "cuDeviceGetAttribute");
      attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &gpu.sm_count, "cuDeviceGetAttribute");
      attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                &gpu.shared_memory_per_block_optin, "cuDeviceGetAttribute");
      attribute(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE, &gpu.memory_clock_khz,
                "cuDeviceGetAttribute");
      attribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH, &gpu.memory_bus_width_bits,
                "cuDeviceGetAttribute");
      driver.check(api.cuDeviceTotalMem(&gpu.memory_bytes, device), "cuDeviceTotalMem");
      gpu.arch = "sm_" + std::to_string(major * 10 + minor);
      gpus->push_back(gpu);
    }
    component.found = true;
    component.detail = std::to_string(count) + (count == 1 ? " GPU" : " GPUs");
  } catch (const Error& failure) {
    component.detail = failure.what();
  }
  return component;
}

Component probe_nvrtc() {
  // The same loading the compile workers do, so doctor reports what compiles will use.
  Component component{.name = "nvrtc"};
  try {
    const Nvrtc& nvrtc = Nvrtc::instance();
    component.found = true;
    component.version = nvrtc.version();
    component.location = nvrtc.library_path();
  } catch (const Error& failure) {
    component.detail = failure.what();
  }
  return component;
}

Component probe_cupti() {
  Component component{.name = "cupti"};
  auto library = DynamicLibrary::try_open(cuda_library_candidates("libcupti", {13, 12}));
  if (!library) {
    component.detail = "libcupti not found (set CUDA_HOME or KFORGE_CUDA_LIB_DIRS)";
    return component;
  }
  component.location = library->path();
  using VersionFunction = int (*)(uint32_t*);
  if (auto version = reinterpret_cast<VersionFunction>(library->try_symbol("cuptiGetVersion"))) {
    uint32_t api = 0;
    if (version(&api) == 0) {
      component.version = "API " + std::to_string(api);
      component.found = true;
      return component;
    }
  }
  component.detail = "cuptiGetVersion is missing or failed";
  return component;
}

}  // namespace kforge
