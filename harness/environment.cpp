#include "harness/environment.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "harness/util/cuda_libraries.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"
#include "sandbox/compile_pool.hpp"
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

namespace {

// A kernel that needs the fp16 header: compiling it proves NVRTC, its builtins library and the
// CUDA headers, and that the source policy allows those headers.
constexpr const char* kNvrtcProbeSource = R"(#include <cuda_fp16.h>
extern "C" __global__ void kforge_doctor_probe(__half* x, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) x[i] = __hadd(x[i], __float2half(1.0f));
}
)";

// A private folder for the probe's compile pool, removed with the object.
class ProbeFolder {
 public:
  ProbeFolder() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "kforge-doctor-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      throw Error("cannot create a temporary folder for the NVRTC probe", pattern);
    path_ = pattern;
  }
  ~ProbeFolder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ProbeFolder(const ProbeFolder&) = delete;
  ProbeFolder& operator=(const ProbeFolder&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace

Component probe_nvrtc() {
  // Loading NVRTC is not enough: its builtins may be missing, or its headers not found, and
  // then every compile fails. So the probe is a real compile of a kernel that includes
  // cuda_fp16.h, through the same compile workers, source policy and include folders that an
  // evaluation uses.
  Component component{.name = "nvrtc"};
  try {
    const Nvrtc& nvrtc = Nvrtc::instance();
    component.version = nvrtc.version();
    component.location = nvrtc.library_path();
  } catch (const Error& failure) {
    component.detail = failure.what();
    return component;
  }
  try {
    ProbeFolder folder;
    CompilePoolOptions options;
    options.workers = 1;
    options.use_cache = false;
    options.cache_dir = folder.path();
    CompilePool pool(options);
    CompileResult result = pool.compile(
        {.source = kNvrtcProbeSource, .arch = "sm_80", .name = "kforge_doctor_probe.cu"});
    if (!result.ok()) {
      component.detail = "NVRTC loads, but a kernel including cuda_fp16.h does not compile (" +
                         std::string(compile_status_name(result.status)) + ": " + result.detail +
                         (result.log.empty() ? "" : "; " + std::string(strings::trim(result.log))) +
                         ")";
      return component;
    }
    component.found = true;
    const std::vector<std::filesystem::path> roots = cuda_include_roots();
    std::vector<std::string> names;
    for (const std::filesystem::path& root : roots)
      names.push_back(root.string());
    component.detail = "compiled a kernel including cuda_fp16.h in " +
                       std::to_string(static_cast<int>(result.compile_ms)) + " ms; headers from " +
                       strings::join(names, ", ");
  } catch (const Error& failure) {
    component.detail = std::string("NVRTC loads, but a probe compile failed: ") + failure.what();
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
