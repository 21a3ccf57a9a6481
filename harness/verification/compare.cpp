#include "harness/verification/compare.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace kforge {
namespace {

double half_to_double(uint16_t bits) {
  int sign = (bits >> 15) & 1;
  int exponent = (bits >> 10) & 0x1f;
  int mantissa = bits & 0x3ff;
  double value;
  if (exponent == 0) {
    value = std::ldexp(mantissa, -24);
  } else if (exponent == 31) {
    value = mantissa == 0 ? INFINITY : NAN;
  } else {
    value = std::ldexp(mantissa + 1024, exponent - 25);
  }
  return sign ? -value : value;
}

double bfloat16_to_double(uint16_t bits) {
  uint32_t widened = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &widened, sizeof(value));
  return value;
}

template <typename T>
T load(const std::string& bytes, int64_t i) {
  T value;
  std::memcpy(&value, bytes.data() + i * sizeof(T), sizeof(T));
  return value;
}

std::vector<int64_t> unravel(int64_t flat, const std::vector<int64_t>& shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    int64_t extent = shape[d] == 0 ? 1 : shape[d];
    index[d] = flat % extent;
    flat /= extent;
  }
  return index;
}

bool element_is_poison(const Tensor& tensor, int64_t i, uint8_t poison) {
  size_t width = dtype_size(tensor.dtype);
  const char* element = tensor.bytes.data() + i * width;
  for (size_t b = 0; b < width; ++b) {
    if (static_cast<uint8_t>(element[b]) != poison)
      return false;
  }
  return true;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace

Tolerance default_tolerance(DType dtype) {
  switch (dtype) {
    case DType::kF64:
      return {1e-8, 1e-7};
    case DType::kF32:
      return {1e-4, 1e-4};
    case DType::kF16:
      return {1e-2, 1e-2};
    case DType::kBF16:
      return {2e-2, 2e-2};
    default:
      return {0, 0};
  }
}

std::string_view mismatch_kind_name(MismatchKind kind) {
  switch (kind) {
    case MismatchKind::kNone:
      return "none";
    case MismatchKind::kShape:
      return "shape";
    case MismatchKind::kDType:
      return "dtype";
    case MismatchKind::kUnwritten:
      return "unwritten_output";
    case MismatchKind::kNonFinite:
      return "nan_or_inf";
    case MismatchKind::kValue:
      return "mismatch";
  }
  return "unknown";
}

double element_as_double(const Tensor& tensor, int64_t i) {
  switch (tensor.dtype) {
    case DType::kF64:
      return load<double>(tensor.bytes, i);
    case DType::kF32:
      return load<float>(tensor.bytes, i);
    case DType::kF16:
      return half_to_double(load<uint16_t>(tensor.bytes, i));
    case DType::kBF16:
      return bfloat16_to_double(load<uint16_t>(tensor.bytes, i));
    case DType::kI64:
      return static_cast<double>(load<int64_t>(tensor.bytes, i));
    case DType::kI32:
      return load<int32_t>(tensor.bytes, i);
    case DType::kI16:
      return load<int16_t>(tensor.bytes, i);
    case DType::kI8:
      return load<int8_t>(tensor.bytes, i);
    case DType::kU8:
      return load<uint8_t>(tensor.bytes, i);
    case DType::kBool:
      return load<uint8_t>(tensor.bytes, i) != 0 ? 1.0 : 0.0;
  }
  return NAN;
}

nlohmann::json Comparison::to_json() const {
  nlohmann::json json = {{"result", mismatch_kind_name(kind)},
                         {"numel", numel},
                         {"mismatch_count", mismatch_count},
                         {"unwritten_count", unwritten_count},
                         {"nonfinite_count", nonfinite_count},
                         {"max_abs_error", max_abs_error},
                         {"max_rel_error", max_rel_error},
                         {"detail", detail},
                         {"first_mismatches", nlohmann::json::array()}};
  for (const Mismatch& mismatch : first_mismatches) {
    json["first_mismatches"].push_back(
        {{"index", mismatch.index},
         {"actual", std::isfinite(mismatch.actual)
                        ? nlohmann::json(mismatch.actual)
                        : nlohmann::json(std::to_string(mismatch.actual))},
         {"expected", mismatch.expected}});
  }
  return json;
}

double reference_error(const Tensor& float32_reference, const Tensor& float64_reference) {
  if (float32_reference.dtype != DType::kF32 || float64_reference.dtype != DType::kF64 ||
      float32_reference.shape != float64_reference.shape)
    return 0;
  double largest = 0;
  for (int64_t i = 0; i < float32_reference.numel(); ++i) {
    double error = std::fabs(element_as_double(float32_reference, i) -
                             element_as_double(float64_reference, i));
    if (std::isfinite(error))
      largest = std::max(largest, error);
  }
  return largest;
}

Comparison compare_outputs(const Tensor& actual, const Tensor& expected, Tolerance tolerance,
                           uint8_t poison, const Tensor* exact) {
  Comparison result;
  result.numel = expected.numel();
  if (actual.dtype != expected.dtype) {
    result.kind = MismatchKind::kDType;
    result.detail = "dtype " + std::string(dtype_torch_name(actual.dtype)) + ", expected " +
                    std::string(dtype_torch_name(expected.dtype));
    return result;
  }
  if (actual.shape != expected.shape) {
    result.kind = MismatchKind::kShape;
    result.detail =
        "shape " + shape_text(actual.shape) + ", expected " + shape_text(expected.shape);
    return result;
  }
  const bool floating = dtype_is_floating(expected.dtype);
  if (exact && (exact->dtype != DType::kF64 || exact->shape != expected.shape || !floating))
    exact = nullptr;
  for (int64_t i = 0; i < result.numel; ++i) {
    double want = element_as_double(expected, i);
    double got = element_as_double(actual, i);
    MismatchKind problem = MismatchKind::kNone;
    if (element_is_poison(actual, i, poison) && !element_is_poison(expected, i, poison)) {
      problem = MismatchKind::kUnwritten;
      ++result.unwritten_count;
    } else if (floating && std::isnan(want) && std::isnan(got)) {
      continue;  // the reference itself is NaN here, and so is the candidate
    } else if (floating && !std::isfinite(got) && std::isfinite(want)) {
      problem = MismatchKind::kNonFinite;
      ++result.nonfinite_count;
    } else if (got != want) {  // also covers matching infinities
      if (exact) {
        double precise = element_as_double(*exact, i);
        if (std::isfinite(precise))
          want = precise;
      }
      double error = std::fabs(got - want);
      double relative = want != 0 ? error / std::fabs(want) : (error == 0 ? 0 : INFINITY);
      if (std::isnan(error))
        error = INFINITY;
      result.max_abs_error = std::max(result.max_abs_error, error);
      if (std::isfinite(relative))
        result.max_rel_error = std::max(result.max_rel_error, relative);
      if (!(error <= tolerance.atol + tolerance.rtol * std::fabs(want) + tolerance.allowance))
        problem = MismatchKind::kValue;
    }
    if (problem == MismatchKind::kNone)
      continue;
    ++result.mismatch_count;
    // Unwritten outranks NaN/Inf, which outranks a plain value mismatch.
    if (result.kind == MismatchKind::kNone || problem == MismatchKind::kUnwritten ||
        (problem == MismatchKind::kNonFinite && result.kind == MismatchKind::kValue)) {
      result.kind = problem;
    }
    if (result.first_mismatches.size() < Comparison::kMaxReported) {
      result.first_mismatches.push_back({i, unravel(i, expected.shape), got, want});
    }
  }
  if (!result.ok()) {
    result.detail = std::to_string(result.mismatch_count) + " of " + std::to_string(result.numel) +
                    " elements wrong (" + std::to_string(result.unwritten_count) + " unwritten, " +
                    std::to_string(result.nonfinite_count) + " NaN/Inf); max abs error " +
                    std::to_string(result.max_abs_error);
  }
  return result;
}

bool bitwise_equal(const Tensor& a, const Tensor& b) {
  return a.dtype == b.dtype && a.shape == b.shape && a.bytes == b.bytes;
}

}  // namespace kforge
