// Re-verification of the shipped library, as the night sees it: which kernels the library
// ships, what was recorded for each on this GPU, and whether tonight's measurement is a
// regression. Pure functions over manifests and measurements, so the rule is tested alone.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/nightly/night_report.hpp"

namespace kforge::nightly {

// A shipped kernel: <library>/<operation>/<variant>/kernel.cu with its manifest.json (seeds/,
// which holds unverified seeds, is not shipped).
struct ShippedKernel {
  std::string name;  // "relu/vectorized"
  std::filesystem::path folder;
  nlohmann::json manifest;
};

// The library's shipped kernels by name; an Error naming the file for a manifest that does not
// read. A missing folder is an empty library.
std::vector<ShippedKernel> shipped_kernels(const std::filesystem::path& library_root);

// One kernel's verdict and time on one GPU.
struct KernelMeasurement {
  std::string verdict;
  std::optional<double> median_us, p10_us, p90_us;
  std::string source;  // where it was recorded: "manifest" or the night's name

  nlohmann::json to_json() const;
  static KernelMeasurement from_json(const nlohmann::json& json);
};

// What the manifest recorded for `gpu` (its `verified` entry of that GPU), if anything.
std::optional<KernelMeasurement> manifest_measurement(const nlohmann::json& manifest,
                                                      const std::string& gpu);

// The regression of `after` against `before`: a verdict that changed, or (both correct) a
// median slower than the recorded median by more than the recorded spread (p90 - p10).
std::optional<Regression> judge_kernel(const std::string& kernel, const std::string& task,
                                       const KernelMeasurement& before,
                                       const KernelMeasurement& after);

}  // namespace kforge::nightly
