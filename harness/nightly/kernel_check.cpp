#include "harness/nightly/kernel_check.hpp"

#include <algorithm>

#include "harness/library/manifest.hpp"

namespace kforge::nightly {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::optional<double> number(const json& object, const char* key) {
  if (object.is_object() && object.contains(key) && object[key].is_number())
    return object[key].get<double>();
  return std::nullopt;
}

json optional_json(const std::optional<double>& value) {
  return value ? json(*value) : json();
}

}  // namespace

std::vector<ShippedKernel> shipped_kernels(const fs::path& library_root) {
  std::vector<ShippedKernel> kernels;
  std::error_code error;
  if (!fs::is_directory(library_root, error))
    return kernels;
  for (const auto& operation : fs::directory_iterator(library_root)) {
    if (!operation.is_directory() || operation.path().filename() == "seeds")
      continue;
    for (const auto& variant : fs::directory_iterator(operation.path())) {
      const fs::path manifest = variant.path() / "manifest.json";
      if (!variant.is_directory() || !fs::exists(variant.path() / "kernel.cu") ||
          !fs::exists(manifest))
        continue;
      kernels.push_back(
          {operation.path().filename().string() + "/" + variant.path().filename().string(),
           variant.path(), read_manifest(manifest)});
    }
  }
  std::sort(kernels.begin(), kernels.end(),
            [](const ShippedKernel& a, const ShippedKernel& b) { return a.name < b.name; });
  return kernels;
}

json KernelMeasurement::to_json() const {
  return {{"verdict", verdict},
          {"median_us", optional_json(median_us)},
          {"p10_us", optional_json(p10_us)},
          {"p90_us", optional_json(p90_us)},
          {"source", source}};
}

KernelMeasurement KernelMeasurement::from_json(const json& object) {
  return {.verdict = object.value("verdict", ""),
          .median_us = number(object, "median_us"),
          .p10_us = number(object, "p10_us"),
          .p90_us = number(object, "p90_us"),
          .source = object.value("source", "")};
}

std::optional<KernelMeasurement> manifest_measurement(const json& manifest,
                                                      const std::string& gpu) {
  if (!manifest.is_object() || !manifest.contains("verified") || !manifest["verified"].is_array())
    return std::nullopt;
  for (const json& entry : manifest["verified"]) {
    if (!entry.is_object() || entry.value("gpu", "") != gpu)
      continue;
    const json timing = entry.value("timing", json::object());
    return KernelMeasurement{.verdict = "correct",
                             .median_us = number(timing, "median_us"),
                             .p10_us = number(timing, "p10_us"),
                             .p90_us = number(timing, "p90_us"),
                             .source = "manifest"};
  }
  return std::nullopt;
}

std::optional<Regression> judge_kernel(const std::string& kernel, const std::string& task,
                                       const KernelMeasurement& before,
                                       const KernelMeasurement& after) {
  Regression regression{.kernel = kernel,
                        .task = task,
                        .verdict_before = before.verdict,
                        .verdict_after = after.verdict,
                        .median_us_before = before.median_us,
                        .median_us_after = after.median_us};
  if (before.verdict != after.verdict) {
    regression.kind = RegressionKind::verdict_changed;
    return regression;
  }
  if (after.verdict != "correct" || !before.median_us || !after.median_us)
    return std::nullopt;
  const double spread =
      before.p10_us && before.p90_us ? std::max(0.0, *before.p90_us - *before.p10_us) : 0.0;
  if (*after.median_us <= *before.median_us + spread)
    return std::nullopt;
  regression.kind = RegressionKind::slower;
  regression.spread_us = spread;
  return regression;
}

}  // namespace kforge::nightly
