// A candidate's launch plan (docs/candidate-format.md): the kernels to launch in order on
// one stream, the scratch buffers they share, and the compile-time defines a search may vary.
// Sizes are Expressions, parsed once; binding them to a task's signature at a concrete shape is
// plan_validation's job.
//
// JSON form (the text inside the `kforge:launch` comment, and what the store keeps):
//   {"kernels": [{"name": "k", "grid": ["e", ...], "block": ["e", ...],
//                 "shared_bytes": "e", "args": ["e", ...]}, ...],
//    "scratch": [{"name": "tmp", "dtype": "float32", "numel": "e"}, ...],
//    "defines": {"BLOCK": {"default": 256, "values": [128, 256]}},
//    "arch": ["sm_90a"],
//    "constraints": ["BLOCK * VEC <= 4096", "x.shape[1] % VEC == 0"]}
// `kernels` is required and non-empty; `scratch`, `defines`, `arch` and `shared_bytes` (default
// "0") may be left out; `values` defaults to [default]. `arch` is one architecture-specific
// target ("sm_90a", or "sm_100f" for a family) or a list of them: the kernel is compiled for the
// one the target GPU runs, and runs on no other. Expressions are JSON strings; a JSON integer
// is accepted where an expression is expected and kept as its decimal text. The JSON is read and
// its structure checked by the kernel library's plan reader (kforge/kernels/plan_reader.hpp),
// which the shipped runtime reads kernels with, so that both refuse the same plans.
// `constraints` are conditions (comparisons and logical operators, expression.hpp) every point
// of the define space must satisfy; a value they read must be a define (checked by the reader,
// with "did you mean"), and they may read tensor sizes (NAME.shape[i], NAME.numel), checked at
// bind.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/candidate/expression.hpp"
#include "harness/candidate/located_json.hpp"
#include "harness/util/safetensors.hpp"

namespace kforge {

struct KernelLaunch {
  std::string name;               // the extern "C" kernel
  std::vector<Expression> grid;   // 1 to 3
  std::vector<Expression> block;  // 1 to 3
  Expression shared_bytes;
  std::vector<Expression> args;  // one per kernel parameter
  std::string where;             // "kernel.cu:3:5: launch plan" or "launch plan"
};

struct ScratchBuffer {
  std::string name;
  DType dtype = DType::kF32;
  Expression numel;
  std::string where;
};

struct DefineSpec {
  std::string name;
  int64_t default_value = 0;
  std::vector<int64_t> values;  // the values a search may try; contains default_value
  std::string where;
};

struct LaunchPlan {
  std::vector<KernelLaunch> kernels;
  std::vector<ScratchBuffer> scratch;
  std::vector<DefineSpec> defines;      // in the order the plan lists them
  std::vector<std::string> arch;        // architecture-specific targets; empty: the plain sm_XY
  std::string arch_where;               // where "arch" is, for messages
  std::vector<Expression> constraints;  // conditions over defines and tensor sizes

  const DefineSpec* find_define(const std::string& name) const;

  nlohmann::json to_json() const;
  // The plan stored by to_json; throws PlanError ("launch plan: ...") when it is malformed.
  static LaunchPlan from_json(const nlohmann::json& json);
  // The plan from its position-carrying JSON tree; throws PlanError naming file:line:column.
  static LaunchPlan from_located(const LocatedJson& json, std::shared_ptr<const SourceText> source);
};

// The define values to compile with: each define's default, replaced by `overrides` (for
// `--define K=V` or a search step). Throws PlanError for an unknown define name (with "did you
// mean") or an override value that is not an integer.
std::map<std::string, int64_t> choose_define_values(
    const LaunchPlan& plan, const std::map<std::string, std::string>& overrides = {});

// The architecture to compile for when the evaluation targets `gpu_arch` ("sm_90"): gpu_arch
// itself for a plan without "arch"; else the plan's target that runs on that GPU ("sm_90a" for
// sm_90 exactly, "sm_100f" for sm_100 or sm_103). Throws PlanError when none does.
std::string choose_compile_arch(const LaunchPlan& plan, const std::string& gpu_arch);

// Throws PlanError "<where>: constraint N \"...\": does not hold for BLOCK=256, VEC=8" for the
// first of `plan`'s constraints that is false in `environment` (the signature's names at one
// shape and the define values, `define_values`).
void check_constraints(const LaunchPlan& plan, const ExpressionEnvironment& environment,
                       const std::map<std::string, int64_t>& define_values);

// NVRTC options for the chosen values: {"-DBLOCK=256", ...}, in name order.
std::vector<std::string> define_options(const std::map<std::string, int64_t>& values);

}  // namespace kforge
