#include "profiler/datasheet_peaks.hpp"

#include <array>
#include <vector>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace {

// Dense figures (the datasheets print tensor-core rates with 2:4 sparsity, twice these). Where a
// datasheet gives a whole 8-GPU board, the figures are divided by 8. SM counts are from the
// architecture whitepapers; they are used only where the counters lack the device's own.
constexpr std::array kPeaks = std::to_array<DatasheetPeaks>({
    {"sm_80", "A100 SXM4 80GB", "NVIDIA A100 Tensor Core GPU datasheet", 2.039e12, 9.7e12, 19.5e12,
     312e12, 312e12, 108},
    // H200 SXM has the same SMs and clocks with 4.8 TB/s: pass --peak-bandwidth 4.8e12.
    {"sm_90", "H100 SXM5 80GB", "NVIDIA H100 Tensor Core GPU datasheet", 3.35e12, 34e12, 67e12,
     989.5e12, 989.5e12, 132},
    {"sm_100", "B200 (HGX B200)", "NVIDIA HGX B200 datasheet, per GPU", 8.0e12, 37e12, 75e12,
     2.25e15, 2.25e15, 148},
});

}  // namespace

double DatasheetPeaks::peak_flops_for(DType dtype) const {
  switch (dtype) {
    case DType::kF64:
      return fp64_flops_per_s;
    case DType::kF16:
      return fp16_tensor_flops_per_s;
    case DType::kBF16:
      return bf16_tensor_flops_per_s;
    default:
      return fp32_flops_per_s;
  }
}

std::span<const DatasheetPeaks> datasheet_peaks() {
  return kPeaks;
}

const DatasheetPeaks& find_datasheet_peaks(std::string_view arch) {
  std::vector<std::string> known;
  for (const DatasheetPeaks& peaks : kPeaks) {
    if (peaks.arch == arch)
      return peaks;
    known.emplace_back(peaks.arch);
  }
  throw Error(strings::unknown_name_message("architecture", arch, known) +
                  "; give --peak-bandwidth and --peak-flops for another GPU",
              "--arch");
}

}  // namespace kforge
