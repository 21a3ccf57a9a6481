#include "harness/verification/compare.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

namespace kforge {
namespace {

Tensor floats(std::vector<float> values, std::vector<int64_t> shape = {}) {
  Tensor tensor;
  tensor.dtype = DType::kF32;
  tensor.shape = shape.empty() ? std::vector<int64_t>{static_cast<int64_t>(values.size())} : shape;
  tensor.bytes.resize(values.size() * 4);
  std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

TEST(Compare, AcceptsValuesWithinTolerance) {
  Comparison result = compare_outputs(floats({1.0f, 2.0f, -3.0f}), floats({1.00001f, 2.0f, -3.0f}),
                                      default_tolerance(DType::kF32));
  EXPECT_TRUE(result.ok()) << result.detail;
  EXPECT_GT(result.max_abs_error, 0);
}

TEST(Compare, ReportsMismatchWithIndicesAndErrors) {
  Tensor expected = floats({0, 1, 2, 3, 4, 5}, {2, 3});
  Tensor actual = floats({0, 1, 2, 3, 4.5f, 5}, {2, 3});
  Comparison result = compare_outputs(actual, expected, default_tolerance(DType::kF32));
  EXPECT_EQ(result.kind, MismatchKind::kValue);
  EXPECT_EQ(result.mismatch_count, 1);
  ASSERT_EQ(result.first_mismatches.size(), 1u);
  EXPECT_EQ(result.first_mismatches[0].index, (std::vector<int64_t>{1, 1}));
  EXPECT_NEAR(result.max_abs_error, 0.5, 1e-6);
  EXPECT_NEAR(result.max_rel_error, 0.125, 1e-6);
}

TEST(Compare, PoisonedElementsAreUnwritten) {
  Tensor expected = floats({1, 2, 3, 4});
  Tensor actual = expected;
  std::memset(actual.bytes.data() + 8, kPoisonByte, 8);  // elements 2 and 3 never written
  Comparison result = compare_outputs(actual, expected, default_tolerance(DType::kF32));
  EXPECT_EQ(result.kind, MismatchKind::kUnwritten);
  EXPECT_EQ(result.unwritten_count, 2);
}

TEST(Compare, NanAndInfWhereReferenceIsFiniteFail) {
  Comparison result = compare_outputs(floats({1, NAN, INFINITY}), floats({1, 2, 3}),
                                      default_tolerance(DType::kF32));
  EXPECT_EQ(result.kind, MismatchKind::kNonFinite);
  EXPECT_EQ(result.nonfinite_count, 2);
  // Where the reference itself is NaN or Inf, the same value is right.
  EXPECT_TRUE(compare_outputs(floats({NAN, INFINITY}), floats({NAN, INFINITY}),
                              default_tolerance(DType::kF32))
                  .ok());
}

TEST(Compare, HalfPrecisionResultIsNotAFloat32Answer) {
  // A kernel that computes in half precision and widens back: errors around 1e-3 relative.
  std::vector<float> exact, rounded;
  for (int i = 1; i <= 100; ++i) {
    float value = 1.0f + i * 0.0123457f;
    exact.push_back(value);
    rounded.push_back(std::round(value * 1024.0f) / 1024.0f);
  }
  EXPECT_FALSE(
      compare_outputs(floats(rounded), floats(exact), default_tolerance(DType::kF32)).ok());
}

Tensor doubles(std::vector<double> values) {
  Tensor tensor;
  tensor.dtype = DType::kF64;
  tensor.shape = {static_cast<int64_t>(values.size())};
  tensor.bytes.resize(values.size() * 8);
  std::memcpy(tensor.bytes.data(), values.data(), tensor.bytes.size());
  return tensor;
}

TEST(Compare, ReferenceErrorIsTheLargestFiniteFloat32Error) {
  EXPECT_NEAR(reference_error(floats({1.0f, 2.0f, INFINITY}), doubles({1.001, 1.9995, 3.0})), 0.001,
              1e-7);
  EXPECT_EQ(reference_error(floats({1.0f}), doubles({1.0, 2.0})), 0);  // shapes differ
  EXPECT_EQ(reference_error(floats({1.0f}), floats({2.0f})), 0);       // not float64
}

// Values are measured against the float64 reference, with the allowance on top of the floor.
TEST(Compare, GroundedToleranceMeasuresAgainstTheFloat64Reference) {
  Tensor ref32 = floats({10.0f, 0.0f, 5.0f});
  Tensor ref64 = doubles({10.0, 0.0004, 5.0});  // PyTorch's float32 was 4e-4 off at [1]
  Tolerance tolerance = default_tolerance(DType::kF32);
  tolerance.allowance = kFloat32ErrorMultiple * reference_error(ref32, ref64);
  EXPECT_NEAR(tolerance.allowance, 16 * 4e-4, 1e-9);
  // 0.006 off float64 at [1]: within 1e-4 + 1e-4 * 0.0004 + 0.0064.
  Comparison near =
      compare_outputs(floats({10.0f, 0.0064f, 5.0f}), ref32, tolerance, kPoisonByte, &ref64);
  EXPECT_TRUE(near.ok()) << near.detail;
  // Without the grounding the same candidate is a mismatch against the float32 result.
  EXPECT_FALSE(
      compare_outputs(floats({10.0f, 0.0064f, 5.0f}), ref32, default_tolerance(DType::kF32)).ok());
  Comparison far =
      compare_outputs(floats({10.0f, 0.0070f, 5.0f}), ref32, tolerance, kPoisonByte, &ref64);
  EXPECT_EQ(far.kind, MismatchKind::kValue);
  EXPECT_EQ(far.first_mismatches[0].expected, 0.0004);  // the value it was measured against
  // PyTorch's own float32 result always passes; unwritten and NaN are still what they were.
  EXPECT_TRUE(compare_outputs(ref32, ref32, tolerance, kPoisonByte, &ref64).ok());
  Tensor poisoned = ref32;
  std::memset(poisoned.bytes.data() + 4, 0xFF, 4);
  EXPECT_EQ(compare_outputs(poisoned, ref32, tolerance, kPoisonByte, &ref64).kind,
            MismatchKind::kUnwritten);
  // 0.0067 is within reach of the float64 value, not of the float32 one; a float64 reference
  // of the wrong shape is not used.
  EXPECT_TRUE(
      compare_outputs(floats({10.0f, 0.0067f, 5.0f}), ref32, tolerance, kPoisonByte, &ref64).ok());
  Tensor short64 = doubles({10.0, 0.0004});
  EXPECT_FALSE(
      compare_outputs(floats({10.0f, 0.0067f, 5.0f}), ref32, tolerance, kPoisonByte, &short64)
          .ok());
}

TEST(Compare, ShapeAndDtypeMismatchesAreReported) {
  EXPECT_EQ(compare_outputs(floats({1, 2}), floats({1, 2, 3}), {}).kind, MismatchKind::kShape);
  Tensor half = floats({1, 2});
  half.dtype = DType::kF16;
  half.bytes.resize(4);
  EXPECT_EQ(compare_outputs(half, floats({1, 2}), {}).kind, MismatchKind::kDType);
}

TEST(Compare, WidensHalfAndBfloat16Exactly) {
  Tensor half;
  half.dtype = DType::kF16;
  half.shape = {3};
  uint16_t bits[] = {0x3C00, 0xC000, 0x0001};  // 1, -2, smallest subnormal
  half.bytes.assign(reinterpret_cast<const char*>(bits), 6);
  EXPECT_EQ(element_as_double(half, 0), 1.0);
  EXPECT_EQ(element_as_double(half, 1), -2.0);
  EXPECT_EQ(element_as_double(half, 2), std::ldexp(1.0, -24));
  Tensor brain = half;
  brain.dtype = DType::kBF16;
  uint16_t bbits[] = {0x3F80, 0xC040, 0x0000};  // 1, -3, 0
  brain.bytes.assign(reinterpret_cast<const char*>(bbits), 6);
  EXPECT_EQ(element_as_double(brain, 1), -3.0);
}

TEST(Compare, BitwiseEqualityCatchesAnyModification) {
  Tensor a = floats({1, 2, 3});
  Tensor b = a;
  EXPECT_TRUE(bitwise_equal(a, b));
  b.bytes[5] ^= 1;
  EXPECT_FALSE(bitwise_equal(a, b));
  Tensor negative_zero = floats({-0.0f, 2, 3});
  Tensor zero = floats({0.0f, 2, 3});
  EXPECT_FALSE(bitwise_equal(negative_zero, zero));  // equal as numbers, not as bits
}

}  // namespace
}  // namespace kforge
