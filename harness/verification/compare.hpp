// Comparing a candidate's outputs with the reference, element by element, in the parent
// process (the worker never holds reference outputs). The rule is docs/design.md's:
// |out - ref| <= atol + rtol * |ref|, with per-dtype defaults a task may override. Besides the
// verdict it keeps the evidence a person or an agent needs to see what went wrong.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/util/safetensors.hpp"

namespace kforge {

struct Tolerance {
  double atol = 0;
  double rtol = 0;
  // Added to every element's bound: for float32 outputs, kFloat32ErrorMultiple times PyTorch's
  // own float32 error against the float64 reference (grounded_allowance); 0 otherwise.
  double allowance = 0;
};

// The float32 rule grounded in the reference (docs/design.md, verification step 3). The reference
// runner computes the forward in float32 and in float64 (model and inputs cast to double); an
// element of a float32 output passes when |out - ref64| <= atol + rtol * |ref64| + allowance,
// with allowance = kFloat32ErrorMultiple * max |ref32 - ref64| over the output's finite
// elements (PyTorch's own float32 error), and atol, rtol the float32 defaults as the floor.
// Why 16: measured with real PyTorch on products with k from 256 to 16384, an honest float32
// order (sequential, with or without FMA) is within 1.1x of a sequential PyTorch's error and
// within 8x of a split-k (more accurate) one, while rounding the inputs to half or TF32 is 60x
// to 750x off (k = 16384 to 256) and bfloat16 500x or more (docs/verification.md).
inline constexpr double kFloat32ErrorMultiple = 16;

// PyTorch's own error: the largest |float32 - float64| over the elements where both are finite
// (0 where none is, or where the tensors do not match in shape or dtype).
double reference_error(const Tensor& float32_reference, const Tensor& float64_reference);

// Defaults per dtype: float64 1e-8/1e-7, float32 1e-4/1e-4, float16 1e-2/1e-2,
// bfloat16 2e-2/2e-2; integers and bool exact. float32 is tight enough that a kernel computing
// in TF32 or half precision fails (a precision downgrade is not a speedup).
Tolerance default_tolerance(DType dtype);

// The bytes written over every output and scratch byte before a launch: 0xFF (a NaN in every
// float width) before the first repeat, 0x7B (a large finite value in every dtype) before the
// second; sandbox/gpu_protocol.hpp's poison rule (kPoisonBytes) is the one source of both.
inline constexpr uint8_t kPoisonByte = 0xFF;
inline constexpr uint8_t kSecondPoisonByte = 0x7B;

enum class MismatchKind { kNone, kShape, kDType, kUnwritten, kNonFinite, kValue };
std::string_view mismatch_kind_name(MismatchKind kind);

struct Mismatch {
  int64_t flat_index = 0;
  std::vector<int64_t> index;  // per dimension
  double actual = 0;
  double expected = 0;
};

struct Comparison {
  MismatchKind kind = MismatchKind::kNone;  // the worst problem found
  int64_t numel = 0;
  int64_t mismatch_count = 0;   // elements outside tolerance, any cause
  int64_t unwritten_count = 0;  // elements still holding the poison pattern
  int64_t nonfinite_count = 0;  // NaN or Inf where the reference is finite
  double max_abs_error = 0;
  double max_rel_error = 0;
  std::vector<Mismatch> first_mismatches;  // at most kMaxReported
  std::string detail;                      // one line for humans

  static constexpr size_t kMaxReported = 8;
  bool ok() const { return kind == MismatchKind::kNone; }
  nlohmann::json to_json() const;
};

// Compares `actual` (a candidate's output) with `expected` (the reference). `poison` is the
// byte the output was filled with before the launch, for unwritten-element detection. With
// `exact` (the float64 reference of a float32 output, same shape), values are measured against
// it where it is finite; an element equal to `expected` always passes.
Comparison compare_outputs(const Tensor& actual, const Tensor& expected, Tolerance tolerance,
                           uint8_t poison = kPoisonByte, const Tensor* exact = nullptr);

// True when both hold exactly the same bytes, shape and dtype: inputs and parameters after a
// launch must be bit for bit what they were before it.
bool bitwise_equal(const Tensor& a, const Tensor& b);

// The value of element `i` as a double (half and bfloat16 widened exactly).
double element_as_double(const Tensor& tensor, int64_t i);

}  // namespace kforge
