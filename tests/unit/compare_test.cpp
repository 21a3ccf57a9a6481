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
