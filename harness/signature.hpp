// A task's signature: what the reference runner derives from the PyTorch program and what a
// candidate's launch plan binds to. Inputs are named by forward()'s parameter names, parameters
// and buffers by their state_dict keys, outputs `out` (one tensor) or `out0`, `out1`, ... (a
// tuple). Shapes are those of one concrete size assignment (benchmark or check shape).
//
// JSON form (stored in the tasks table, printed by `kforge tasks show --json`):
//   {"inputs":  [{"name": "x", "kind": "tensor", "dtype": "float32", "shape": [16, 1024]},
//                {"name": "alpha", "kind": "scalar", "dtype": "float64", "value": 0.5}],
//    "parameters": [{"name": "linear.weight", "dtype": "float32", "shape": [64, 128]}],
//    "outputs": [{"name": "out", "dtype": "float32", "shape": [16, 1024]}],
//    "output_structure": "tensor" | "tuple"}
// Scalar inputs have dtype "float64" (a Python float), "int64" (int) or "bool".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/util/safetensors.hpp"

namespace kforge {

enum class ArgumentKind { kTensor, kScalar };

struct TensorSpec {
  std::string name;
  ArgumentKind kind = ArgumentKind::kTensor;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;    // tensors only
  std::optional<double> scalar;  // scalars only: the value get_inputs() gave

  int64_t numel() const;
};

struct Signature {
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> parameters;
  std::vector<TensorSpec> outputs;
  bool returns_tuple = false;

  // The spec of any name (input, parameter or output), or nullptr.
  const TensorSpec* find(const std::string& name) const;

  nlohmann::json to_json() const;
  // Throws Error naming `where` and the offending field for malformed JSON.
  static Signature from_json(const nlohmann::json& json, const std::string& where);

  // True when both have the same names, kinds, dtypes and ranks in the same order: the
  // structure a candidate binds to, whatever the sizes.
  bool same_structure(const Signature& other) const;
};

}  // namespace kforge
