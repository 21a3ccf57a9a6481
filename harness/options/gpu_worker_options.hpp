// The GPU worker client's options (gpu.*): plain settings whose defaults harness/config.cpp reads.
// They sit at the bottom of the layers so that the configuration table includes nothing above it;
// sandbox/gpu_worker_client.hpp includes it.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

struct GpuWorkerOptions {
  int device = 0;
  std::filesystem::path job_dir;  // required: per-request folders for tensors
  // The watchdog: a run or time request that takes longer is a `timeout`, and the worker dies.
  std::chrono::milliseconds run_limit{std::chrono::seconds(30)};
  std::chrono::milliseconds time_limit{std::chrono::seconds(120)};
  std::chrono::milliseconds start_limit{std::chrono::seconds(60)};  // start + hello
  size_t max_reply_bytes = 1 << 20;                                 // a longer line is garbage
  // The program to start as a worker and its arguments; default: this executable (which must
  // be kforge) with `worker gpu --device N`.
  std::filesystem::path worker_program;
  std::vector<std::string> worker_arguments;
};

// gpu.devices: "all", or GPU ordinals ("0,2"; in kforge.toml a list, [0, 2]). The ordinals in
// order, or nullopt for "all". Throws Error naming the key and `where` for anything else: a
// word that is not an ordinal, one out of range, one named twice, an empty list. Defined with
// the configuration table (harness/config.cpp), which checks every value given for the key.
inline constexpr std::string_view kGpuDevicesKey = "gpu.devices";
inline constexpr int kMaxGpuOrdinal = 1023;
std::optional<std::vector<int>> parse_gpu_devices(std::string_view text, const std::string& where);

}  // namespace kforge
