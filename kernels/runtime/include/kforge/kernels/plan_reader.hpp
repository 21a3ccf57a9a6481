// A launch plan's structure, read from its JSON (kforge/kernels/located_json.hpp) by the one set
// of checks both readers of a plan share: kforge's candidate parser, which turns the result into
// its LaunchPlan (harness/candidate/launch_plan.hpp) and binds it to a task, and this library's
// parse_kernel_file. What one refuses, the other refuses, at the same place.
//
// The plan (docs/candidate-format.md):
//   {"kernels": [{"name": "k", "grid": ["e", ...], "block": ["e", ...],
//                 "shared_bytes": "e", "args": ["e", ...]}, ...],
//    "scratch": [{"name": "tmp", "dtype": "float32", "numel": "e"}, ...],
//    "defines": {"BLOCK": {"default": 256, "values": [128, 256]}},
//    "arch": ["sm_90a"],
//    "constraints": ["BLOCK * VEC <= 4096", "x.shape[1] % VEC == 0"]}
// `kernels` is required and non-empty; `scratch`, `defines`, `arch`, `constraints` and
// `shared_bytes` (default "0") may be left out; `values` defaults to [default]. Unknown keys are
// refused. Names are C identifiers; grid and block have 1 to 3 expressions; expressions are
// strings (or integers, kept as their decimal text) and must parse; a scratch buffer's dtype is
// one of torch's names (with or without "torch."); define values are distinct 64-bit integers
// holding the default; `arch` is one architecture-specific target ("sm_90a", "sm_100f") or a
// non-empty list of them.
// `constraints` is an array of conditions in strings (ExpressionTree::parse_condition: the
// expression language plus comparisons and && || !) that every point of the define space must
// satisfy; a name a condition reads as a value must be a define (tensor sizes, NAME.shape[i] and
// NAME.numel, are read at a call's shape: kforge checks them when it binds the plan to a task,
// this library's prepare_launch when it launches).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "kforge/kernels/located_json.hpp"

namespace kforge::kernels {

struct PlanKernel {
  std::string name;
  size_t offset = 0;  // where the kernel's object starts
  std::vector<PlanExpression> grid;
  std::vector<PlanExpression> block;
  PlanExpression shared_bytes;
  std::vector<PlanExpression> args;
};

struct PlanScratch {
  std::string name;
  size_t offset = 0;
  std::string dtype;  // torch's name, without "torch."
  PlanExpression numel;
};

struct PlanDefine {
  std::string name;
  size_t offset = 0;  // where its key is
  int64_t default_value = 0;
  std::vector<int64_t> values;  // contains default_value
};

struct CheckedPlan {
  std::vector<PlanKernel> kernels;
  std::vector<PlanScratch> scratch;
  std::vector<PlanDefine> defines;  // in the order the plan lists them
  std::vector<std::string> arch;    // empty: the GPU's plain sm_XY
  size_t arch_offset = 0;
  std::vector<PlanExpression> constraints;  // conditions, "constraint 1", ... in plan order
};

// Reads and checks the plan; throws PlanProblem at the first thing wrong.
CheckedPlan read_launch_plan(const LocatedJson& plan);

}  // namespace kforge::kernels
