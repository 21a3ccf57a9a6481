// The kernels a candidate's source declares, read from the `extern "C" __global__` declarations
// (not from PTX, where a pointer and a 64-bit integer are both `.u64`): each parameter is a
// pointer or a value, and a value has a C type whose class and width an argument must match.
//
// This is a tokenizer plus a declaration matcher, not a C++ parser: it skips comments, string
// literals and preprocessor lines, understands `extern "C" { ... }` blocks,
// `__launch_bounds__(...)`, qualifiers (`const float* __restrict__ x`), unnamed parameters,
// default arguments and declarations spread over several lines. Kernels produced by macros are
// not seen; their launch is then reported as a kernel without a declaration.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/candidate/source_text.hpp"

namespace kforge {

// The value types a launch plan can pass by value.
enum class ScalarType {
  kBool,
  kInt8,
  kUInt8,
  kInt16,
  kUInt16,
  kInt32,
  kUInt32,
  kInt64,
  kUInt64,
  kFloat16,
  kBFloat16,
  kFloat32,
  kFloat64,
};

std::string_view scalar_type_name(ScalarType type);  // "int32", "float16", ...
std::optional<ScalarType> scalar_type_from_name(std::string_view name);
size_t scalar_type_size(ScalarType type);
bool scalar_type_is_floating(ScalarType type);
bool scalar_type_is_signed(ScalarType type);

struct KernelParameter {
  std::string name;  // empty for an unnamed parameter
  std::string type;  // as written, qualifiers dropped: "float*", "long long", "float4"
  bool pointer = false;
  // For a value parameter: its type when a plan can pass it (a struct, a vector type or a
  // reference has none).
  std::optional<ScalarType> value_type;

  // "parameter 2 'cols' (long)" for messages; `index` counts from 0.
  std::string describe(size_t index) const;
};

struct KernelDeclaration {
  std::string name;
  bool extern_c = false;  // false: a plain __global__ function, whose PTX name is mangled
  bool template_kernel = false;
  std::vector<KernelParameter> parameters;
  std::string location;  // "kernel.cu:12:1"
};

// Every __global__ function of `source`, in order, first declaration of each name kept.
// Throws PlanError naming file:line:column for an extern "C" template (C linkage cannot be
// templated) or a declaration whose parameter list is not closed.
std::vector<KernelDeclaration> find_kernel_declarations(const SourceText& source);

const KernelDeclaration* find_kernel(const std::vector<KernelDeclaration>& kernels,
                                     std::string_view name);

}  // namespace kforge
