#include "profiler/statistics.hpp"

#include <gtest/gtest.h>

namespace kforge {
namespace {

TEST(Statistics, SummarizesSamples) {
  SampleSummary summary = summarize({5, 1, 4, 2, 3});
  EXPECT_EQ(summary.count, 5u);
  EXPECT_DOUBLE_EQ(summary.median, 3);
  EXPECT_DOUBLE_EQ(summary.min, 1);
  EXPECT_DOUBLE_EQ(summary.max, 5);
  EXPECT_DOUBLE_EQ(summary.mean, 3);
  EXPECT_DOUBLE_EQ(summary.p10, 1.4);
  EXPECT_DOUBLE_EQ(summary.p90, 4.6);
  EXPECT_NEAR(summary.cv, 1.5811388 / 3, 1e-6);
  EXPECT_EQ(summarize({}).count, 0u);
}

TEST(Statistics, StopsWhenSpreadIsSmallOrAtTheCap) {
  std::vector<double> steady(10, 100.0);
  steady[3] = 100.5;
  EXPECT_TRUE(enough_samples(steady, 5, 1000, 0.02));
  std::vector<double> noisy = {100, 150, 90, 200, 100, 80};
  EXPECT_FALSE(enough_samples(noisy, 5, 1000, 0.02));
  EXPECT_TRUE(enough_samples(noisy, 5, 6, 0.02));
  EXPECT_FALSE(enough_samples({100, 100}, 5, 1000, 0.02));
}

TEST(Statistics, PhysicalFloorFlagsImpossibleTimes) {
  // 1 GB over 2 TB/s cannot take less than 500 us.
  PhysicalFloor floor{.bytes = 1e9, .flops = 0, .bandwidth_bytes_per_s = 2e12};
  EXPECT_DOUBLE_EQ(floor.floor_us(), 500);
  EXPECT_TRUE(floor.violated_by(300));
  EXPECT_FALSE(floor.violated_by(490));  // within the margin
  EXPECT_FALSE(floor.violated_by(600));
  EXPECT_NEAR(floor.fraction_of_floor(625), 0.8, 1e-12);
  // Compute-bound: 1e12 FLOPs at 1e15/s is 1000 us, the larger bound wins.
  floor.flops = 1e12;
  floor.peak_flops_per_s = 1e15;
  EXPECT_DOUBLE_EQ(floor.floor_us(), 1000);
}

// The floor the run stage applies, decided on a table of device figures and kernel times. The
// device figures are shaped like an A100's and an H100's public rates (illustrative, not
// measured here); each row is a kernel an honest or a cheating candidate could produce.
DeviceCeilings a100_like() {
  DeviceCeilings device;
  device.memcpy_bandwidth = 1.27e12;
  device.kernel_copy_bandwidth = 1.30e12;
  device.write_bandwidth = 1.25e12;
  device.read_bandwidth = 1.38e12;
  device.theoretical_bandwidth = 0;  // left out, so that the kernels' figures decide
  device.peak_fp32 = 19.0e12;
  device.peak_fp16_tensor = 290e12;
  device.peak_bf16_tensor = 290e12;
  device.tensor_full_rate = true;
  return device;
}

DeviceCeilings h100_like() {
  DeviceCeilings device;
  device.memcpy_bandwidth = 2.9e12;
  device.read_bandwidth = 3.1e12;
  device.theoretical_bandwidth = 3.35e12;
  device.peak_fp32 = 60e12;
  device.peak_fp16_tensor = 550e12;  // mma.sync: not the wgmma peak
  device.peak_bf16_tensor = 550e12;
  device.tensor_full_rate = false;
  return device;
}

struct FloorRow {
  const char* what;
  DeviceCeilings device;
  double bytes;
  double flops;
  std::vector<DType> dtypes;
  double time_us;
  bool suspicious;
  bool compute_floor;  // whether a compute floor applies
};

TEST(PhysicalFloorDecision, HonestKernelsPassAndImpossibleTimesAreSuspicious) {
  const double gib = 1024.0 * 1024 * 1024;
  const double gemm = 2.0 * 8192 * 8192 * 8192;     // fp16 8192^3 matrix product
  const double gemm_bytes = 3.0 * 8192 * 8192 * 2;  // A, B and C once
  std::vector<FloorRow> rows = {
      // A row sum reading 1 GiB at 1.36 TB/s: faster than any copy measured (1.30 TB/s), not
      // than the read-only kernel (1.38 TB/s).
      {"read-heavy row sum beating the copy rate",
       a100_like(),
       gib,
       0,
       {DType::kF32},
       gib / 1.36e12 * 1e6,
       false,
       false},
      // The same kernel claiming 2 TB/s: faster than any way to read 1 GiB.
      {"row sum above every bandwidth",
       a100_like(),
       gib,
       0,
       {DType::kF32},
       gib / 2.0e12 * 1e6,
       true,
       false},
      // An fp16 tensor-core GEMM at 250 TFLOP/s: 13 times the fp32 FMA peak, under the fp16
      // tensor peak.
      {"fp16 tensor-core GEMM above the fp32 FMA peak",
       a100_like(),
       gemm_bytes,
       gemm,
       {DType::kF16},
       gemm / 250e12 * 1e6,
       false,
       true},
      {"fp16 GEMM claiming 600 TFLOP/s",
       a100_like(),
       gemm_bytes,
       gemm,
       {DType::kF16},
       gemm / 600e12 * 1e6,
       true,
       true},
      {"bf16 GEMM at 270 TFLOP/s",
       a100_like(),
       gemm_bytes,
       gemm,
       {DType::kBF16},
       gemm / 270e12 * 1e6,
       false,
       true},
      // float32 through split-precision tensor cores (3xTF32-like) at 60 TFLOP/s of fp32 work.
      {"fp32 GEMM above the FMA peak",
       a100_like(),
       gemm_bytes * 2,
       gemm,
       {DType::kF32},
       gemm / 60e12 * 1e6,
       false,
       true},
      {"fp32 GEMM above every peak",
       a100_like(),
       gemm_bytes * 2,
       gemm,
       {DType::kF32},
       gemm / 500e12 * 1e6,
       true,
       true},
      // On a GPU whose tensor figures are mma.sync's but not its full rate, no compute floor
      // for fp16: a wgmma GEMM at 700 TFLOP/s is not suspicious.
      {"wgmma-class fp16 GEMM where only mma.sync was measured",
       h100_like(),
       gemm_bytes,
       gemm,
       {DType::kF16},
       gemm / 700e12 * 1e6,
       false,
       false},
      // ... nor for fp32 (split precision could use those tensor cores too).
      {"fp32 GEMM where only mma.sync was measured",
       h100_like(),
       gemm_bytes * 2,
       gemm,
       {DType::kF32},
       gemm / 150e12 * 1e6,
       false,
       false},
      // The bytes floor still holds there, with the bus's theoretical rate as the bandwidth.
      {"copy faster than the bus",
       h100_like(),
       gib,
       0,
       {DType::kF16},
       gib / 4.0e12 * 1e6,
       true,
       false},
      {"copy at 96% of the bus",
       h100_like(),
       gib,
       0,
       {DType::kF16},
       gib / 3.2e12 * 1e6,
       false,
       false},
      // Margins: 10% for memory.
      {"within the memory margin",
       a100_like(),
       gib,
       0,
       {DType::kF32},
       gib / 1.38e12 * 1e6 * 0.91,
       false,
       false},
      {"beyond the memory margin",
       a100_like(),
       gib,
       0,
       {DType::kF32},
       gib / 1.38e12 * 1e6 * 0.89,
       true,
       false},
      // 25% for compute.
      {"within the compute margin",
       a100_like(),
       gemm_bytes,
       gemm,
       {DType::kF16},
       gemm / 290e12 * 1e6 * 0.76,
       false,
       true},
      {"beyond the compute margin",
       a100_like(),
       gemm_bytes,
       gemm,
       {DType::kF16},
       gemm / 290e12 * 1e6 * 0.74,
       true,
       true},
      // A mix of fp32 and fp16 tensors takes the higher peak; integers carry no FLOPs.
      {"mixed fp32 and fp16",
       a100_like(),
       gemm_bytes,
       gemm,
       {DType::kF32, DType::kF16, DType::kI64},
       gemm / 280e12 * 1e6,
       false,
       true},
      {"integer-only tensors: no compute floor",
       a100_like(),
       1e6,
       1e12,
       {DType::kI32},
       1.0,
       false,
       false},
      {"no FLOPs counted: bytes only", a100_like(), 1e6, 0, {DType::kF16}, 1.0, false, false},
  };
  for (const FloorRow& row : rows) {
    FloorDecision decision =
        decide_floor(row.device, row.bytes, row.flops, row.dtypes, row.time_us);
    EXPECT_EQ(decision.suspicious(), row.suspicious)
        << row.what << ": " << decision.to_json().dump();
    EXPECT_EQ(decision.peak_flops_per_s.has_value(), row.compute_floor)
        << row.what << ": " << decision.peak_basis;
    EXPECT_FALSE(decision.peak_basis.empty()) << row.what;
  }
}

TEST(PhysicalFloorDecision, TheOldCopyAndFmaCeilingsCalledTheseHonestKernelsSuspicious) {
  // What the previous rule (memcpy bandwidth, fp32 FMA peak, 5% margin) said of two honest
  // kernels of the table above: both were "faster than physics".
  const double gib = 1024.0 * 1024 * 1024;
  PhysicalFloor copy_only{.bytes = gib, .flops = 0, .bandwidth_bytes_per_s = 1.27e12};
  EXPECT_TRUE(copy_only.violated_by(gib / 1.36e12 * 1e6));
  const double gemm = 2.0 * 8192 * 8192 * 8192;
  PhysicalFloor fma_only{.bytes = 0, .flops = gemm, .peak_flops_per_s = 19.0e12};
  EXPECT_TRUE(fma_only.violated_by(gemm / 250e12 * 1e6));
  // The decision that replaced it does not.
  EXPECT_FALSE(decide_floor(a100_like(), gib, 0, {DType::kF32}, gib / 1.36e12 * 1e6).suspicious());
  EXPECT_FALSE(decide_floor(a100_like(), 0, gemm, {DType::kF16}, gemm / 250e12 * 1e6).suspicious());
}

TEST(PhysicalFloorDecision, TheBandwidthIsTheHighestFigureAndThePeakSaysWhy) {
  DeviceCeilings device = a100_like();
  EXPECT_DOUBLE_EQ(device.bandwidth(), 1.38e12);
  device.theoretical_bandwidth = 1.555e12;
  EXPECT_DOUBLE_EQ(device.bandwidth(), 1.555e12);
  std::string why;
  EXPECT_DOUBLE_EQ(*device.peak_for({DType::kF16}, why), 290e12);
  EXPECT_NE(why.find("fp16 tensor-core"), std::string::npos) << why;
  device.tensor_full_rate = false;
  EXPECT_FALSE(device.peak_for({DType::kF16}, why));
  EXPECT_NE(why.find("not this GPU's full rate"), std::string::npos) << why;
  DeviceCeilings none;
  none.peak_fp32 = 19e12;
  EXPECT_FALSE(none.peak_for({DType::kF32}, why));
  EXPECT_NE(why.find("no tensor-core peak was measured"), std::string::npos) << why;
}

}  // namespace
}  // namespace kforge
