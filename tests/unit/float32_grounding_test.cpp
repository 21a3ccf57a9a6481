// The float32 tolerance grounded in the reference (harness/verification/compare.hpp), on a real
// float32 matrix product with k = 4096 from real PyTorch (the reference runner, torch on the
// CPU) against results computed here the ways kernels compute them: honest float32 orders pass,
// half-precision shortcuts fail.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>

#include "harness/reference_runner.hpp"
#include "harness/verification/compare.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

constexpr int64_t kRows = 96, kInner = 4096, kColumns = 64;

const char* kMatmul = R"(import torch
import torch.nn as nn

M = 96
K = 4096
N = 64


class Model(nn.Module):
    def forward(self, a, b):
        return torch.matmul(a, b)


def get_inputs():
    return [torch.randn(M, K), torch.randn(K, N)]


def get_init_inputs():
    return []
)";

std::vector<float> floats(const Tensor& tensor) {
  std::vector<float> values(tensor.numel());
  std::memcpy(values.data(), tensor.bytes.data(), values.size() * sizeof(float));
  return values;
}

Tensor float32_tensor(const std::vector<float>& values, std::vector<int64_t> shape) {
  Tensor tensor;
  tensor.dtype = DType::kF32;
  tensor.shape = std::move(shape);
  tensor.bytes.assign(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return tensor;
}

float round_to_half(float value) {
  return static_cast<float>(static_cast<_Float16>(value));
}

float round_to_bfloat16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u;
  std::memcpy(&value, &bits, sizeof(bits));
  return value;
}

// C = A B with each input element passed through `load`, each output element summed over
// `splits` equal ranges of k sequentially with fmaf (one thread's loop in a kernel), the partial
// sums then added in order (split-k).
std::vector<float> product(const std::vector<float>& a, const std::vector<float>& b, int splits,
                           const std::function<float(float)>& load) {
  std::vector<float> c(kRows * kColumns);
  int64_t chunk = kInner / splits;
  for (int64_t i = 0; i < kRows; ++i) {
    for (int64_t j = 0; j < kColumns; ++j) {
      float total = 0;
      for (int64_t part = 0; part < splits; ++part) {
        float sum = 0;
        for (int64_t k = part * chunk; k < (part + 1) * chunk; ++k)
          sum = std::fmaf(load(a[i * kInner + k]), load(b[k * kColumns + j]), sum);
        total += sum;
      }
      c[i * kColumns + j] = total;
    }
  }
  return c;
}

class Float32Grounding : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    directory_ = new testing::TemporaryDirectory();
    ReferenceRunnerOptions options;
    options.python = "/usr/bin/python3";
    options.timeout_s = 120;
    options.cache_dir = directory_->path();
    ReferenceRunner runner(options);
    reference_ = new ReferenceResult(
        runner.run({{"t/matmul", kMatmul, "matmul.py"}, {}, 1, "float32", "cpu"}));
  }
  static void TearDownTestSuite() {
    delete reference_;
    delete directory_;
  }

  static Comparison grounded(const std::vector<float>& candidate) {
    const Tensor& ref32 = reference_->outputs.at("out");
    const Tensor& ref64 = reference_->outputs_float64.at("out");
    Tolerance tolerance = default_tolerance(DType::kF32);
    tolerance.allowance = kFloat32ErrorMultiple * reference_error(ref32, ref64);
    return compare_outputs(float32_tensor(candidate, {kRows, kColumns}), ref32, tolerance,
                           kPoisonByte, &ref64);
  }
  static Comparison ungrounded(const std::vector<float>& candidate) {
    const Tensor& ref32 = reference_->outputs.at("out");
    return compare_outputs(float32_tensor(candidate, {kRows, kColumns}), ref32,
                           default_tolerance(DType::kF32));
  }
  static std::vector<float> a() { return floats(reference_->inputs.at("a")); }
  static std::vector<float> b() { return floats(reference_->inputs.at("b")); }

  static testing::TemporaryDirectory* directory_;
  static ReferenceResult* reference_;
};

testing::TemporaryDirectory* Float32Grounding::directory_ = nullptr;
ReferenceResult* Float32Grounding::reference_ = nullptr;

TEST_F(Float32Grounding, TheReferenceRunnerGivesFloat64OutputsAndTorchHasAnError) {
  ASSERT_EQ(reference_->outputs_float64.count("out"), 1u) << reference_->float64_note;
  double error =
      reference_error(reference_->outputs.at("out"), reference_->outputs_float64.at("out"));
  // float32 over 4096 terms of unit size: well above float32's epsilon, far below 1.
  EXPECT_GT(error, 1e-5);
  EXPECT_LT(error, 1e-2);
}

TEST_F(Float32Grounding, HonestFloat32OrdersPass) {
  auto same = [](float value) { return value; };
  for (int splits : {1, 4, 16, 64}) {
    Comparison comparison = grounded(product(a(), b(), splits, same));
    EXPECT_TRUE(comparison.ok()) << splits << " splits: " << comparison.detail;
    // What the fixed 1e-4 rule against the float32 result alone says, for the record.
    std::printf(
        "k = 4096, %2d splits: max error vs float64 %.3g, torch's own %.3g; the fixed "
        "float32 rule would flag %lld elements\n",
        splits, comparison.max_abs_error,
        reference_error(reference_->outputs.at("out"), reference_->outputs_float64.at("out")),
        static_cast<long long>(ungrounded(product(a(), b(), splits, same)).mismatch_count));
  }
}

TEST_F(Float32Grounding, HalfPrecisionShortcutsFail) {
  // Inputs rounded to half (tensor-core style), accumulated in float32.
  Comparison half_inputs = grounded(product(a(), b(), 1, round_to_half));
  EXPECT_EQ(half_inputs.kind, MismatchKind::kValue) << half_inputs.detail;
  Comparison bfloat16_inputs = grounded(product(a(), b(), 16, round_to_bfloat16));
  EXPECT_EQ(bfloat16_inputs.kind, MismatchKind::kValue) << bfloat16_inputs.detail;
  // The honest float32 result, stored through half or bfloat16.
  std::vector<float> honest = product(a(), b(), 1, [](float value) { return value; });
  std::vector<float> through_half = honest, through_bfloat16 = honest;
  for (float& value : through_half)
    value = round_to_half(value);
  for (float& value : through_bfloat16)
    value = round_to_bfloat16(value);
  EXPECT_EQ(grounded(through_half).kind, MismatchKind::kValue);
  EXPECT_EQ(grounded(through_bfloat16).kind, MismatchKind::kValue);
  std::printf("k = 4096: half inputs max error %.3g, bfloat16 inputs %.3g\n",
              half_inputs.max_abs_error, bfloat16_inputs.max_abs_error);
}

}  // namespace
}  // namespace kforge
