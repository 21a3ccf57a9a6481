// What this machine has for kforge's work: the CUDA driver and its GPUs, NVRTC, CUPTI, Python
// with torch. `kforge doctor` prints it, and every evaluation stores the versions it ran with.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kforge {

struct Component {
  std::string name;  // "cuda-driver", "gpu", "nvrtc", "cupti", "python", "store", ...
  bool found = false;
  std::string version;   // where one can be read
  std::string location;  // library path, interpreter, file
  std::string detail;    // why it is missing, or extra facts (GPU count, memory)

  nlohmann::json to_json() const;
};

struct GpuInfo {
  int ordinal = 0;
  std::string name;
  std::string arch;  // "sm_90"
  int sm_count = 0;
  size_t memory_bytes = 0;
  int shared_memory_per_block_optin = 0;
  int memory_clock_khz = 0;
  int memory_bus_width_bits = 0;
};

// Each probe reports rather than throws: a missing piece is an answer, not an error.
Component probe_cuda_driver(std::vector<GpuInfo>* gpus);
Component probe_nvrtc();
Component probe_cupti();

}  // namespace kforge
