// Binds a launch plan to a task's signature at one concrete shape and chosen define values, and
// checks it against the compiled kernels and the limits, before anything runs. The result is a
// ResolvedPlan: per kernel launch the grid, block, dynamic shared memory and each argument as a
// tensor name or a typed value, plus the scratch buffers to allocate; a GPU worker executes it
// without evaluating anything.
//
// Checks (each failure is one PlanError line naming the kernel, the argument, the expression and
// its file:line:column when the plan came from a file):
// - the plan's constraints hold (launch_plan.hpp);
// - every name is known (an unknown one gets "did you mean"); defines and scratch buffers do not
//   shadow signature names; every expression evaluates (no overflow, no division by zero, shape
//   indices in range) and sizes are not negative;
// - each launched kernel has an extern "C" declaration and a PTX .entry, and the plan passes
//   exactly as many arguments as the PTX entry has parameters;
// - a tensor binds to a pointer parameter; an integer expression to an integer parameter whose
//   type can hold the value; a float scalar input to a floating-point parameter;
// - Limits: kernels per plan, grid and block dimensions, threads per block, dynamic shared
//   memory, total scratch bytes;
// - what the compiled kernel allows, so that a launch the driver would refuse is a plan error
//   rather than a launch failure: threads per block within its `__launch_bounds__` (the PTX
//   .maxntid product; .reqntid exactly), its registers for the whole block within the 65536 a
//   block may have (allocated per warp in units of 256), and its static shared memory (ptxas)
//   plus the plan's dynamic shared memory within the per-block limit.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/candidate/candidate_file.hpp"
#include "harness/candidate/kernel_declarations.hpp"
#include "harness/candidate/launch_plan.hpp"
#include "harness/candidate/plan_error.hpp"
#include "harness/candidate/ptx_entries.hpp"
#include "harness/config.hpp"
#include "harness/options/plan_limits.hpp"
#include "harness/signature.hpp"

namespace kforge {

// The most shared memory a block may have on `arch` ("sm_90", "sm_90a") after the opt-in
// (cudaDevAttrMaxSharedMemoryPerBlockOptin, from the CUDA programming guide's table), or
// nullopt for an architecture the table does not know.
std::optional<int64_t> shared_bytes_per_block_opt_in(std::string_view arch);

// The most registers one block may hold, and the unit a warp's registers are allocated in
// (every architecture from sm_50 to sm_120).
inline constexpr int64_t kMaxRegistersPerBlock = 65536;
inline constexpr int64_t kRegisterAllocationUnit = 256;

// What the compile reported about one kernel (the ptxas report of its compile result), for the
// checks that need it; -1 where it was not reported, and then that check is not made.
struct KernelFootprint {
  std::string name;
  int64_t static_shared_bytes = -1;
  int registers = -1;
};

enum class TensorRole { kInput, kParameter, kOutput, kScratch };
std::string_view tensor_role_name(TensorRole role);  // "input", "parameter", "output", "scratch"

struct ResolvedArgument {
  enum class Kind { kTensor, kInteger, kFloat };
  Kind kind = Kind::kInteger;
  std::string tensor;  // kTensor: the input, parameter, output or scratch buffer
  TensorRole role = TensorRole::kInput;
  int64_t integer = 0;  // kInteger
  double real = 0;      // kFloat
  // kInteger and kFloat: the parameter's C type class; width is its size in bytes (from PTX).
  ScalarType type = ScalarType::kInt64;
  size_t width = 8;

  // kInteger and kFloat: the `width` little-endian bytes the driver copies for this parameter
  // (floats rounded to nearest even when the parameter is float16, bfloat16 or float32).
  std::string value_bytes() const;
};

struct ResolvedLaunch {
  std::string kernel;
  std::array<int64_t, 3> grid = {1, 1, 1};
  std::array<int64_t, 3> block = {1, 1, 1};
  int64_t shared_bytes = 0;
  std::vector<ResolvedArgument> args;
};

struct ScratchAllocation {
  std::string name;
  DType dtype = DType::kF32;
  int64_t numel = 0;
  int64_t bytes = 0;
};

struct ResolvedPlan {
  std::vector<ResolvedLaunch> launches;
  std::vector<ScratchAllocation> scratch;
  std::map<std::string, int64_t> defines;  // the values the kernels were compiled with

  // The form sent to a GPU worker; from_json throws kforge::Error naming `where`.
  nlohmann::json to_json() const;
  static ResolvedPlan from_json(const nlohmann::json& json, const std::string& where);
};

// Binds `plan` (its kernels declared as `kernels` in the source and compiled to `entries`) to
// `signature` at its shapes, with `define_values` (from choose_define_values; a define left out
// takes its default, a name the plan does not declare is an error). `footprints` are the
// compile's per-kernel resources (empty: the register and static shared memory checks are not
// made).
PlanResult<ResolvedPlan> bind_plan(const LaunchPlan& plan,
                                   const std::vector<KernelDeclaration>& kernels,
                                   const std::vector<PtxEntry>& entries, const Signature& signature,
                                   const std::map<std::string, int64_t>& define_values,
                                   const Limits& limits = {},
                                   const std::vector<KernelFootprint>& footprints = {});

// The plan's constraints alone, at `signature`'s shape with `define_values`: the first that does
// not hold (or names something the signature lacks) is the error. Needs no compile, so that a
// point of a tuning space that breaks one is refused before NVRTC sees it; bind_plan checks
// them too.
PlanResult<bool> check_plan_constraints(const LaunchPlan& plan, const Signature& signature,
                                        const std::map<std::string, int64_t>& define_values);

// The checks of bind_plan that need no compile, at `signature`'s shape with `define_values`:
// the kernel count, the constraints, the scratch memory, and every launch's grid and block
// dimensions, threads per block and dynamic shared memory within `limits`; the first that fails
// is the error, with bind_plan's words. A point of a tuning space over a launch limit is so
// refused before NVRTC sees it. What needs the compiled kernel (its declaration and PTX entry,
// the arguments, __launch_bounds__, registers, static shared memory) is bind_plan's alone.
PlanResult<bool> check_plan_limits(const LaunchPlan& plan, const Signature& signature,
                                   const std::map<std::string, int64_t>& define_values,
                                   const Limits& limits);

// The same for a parsed candidate and the PTX its compile produced. PTX that cannot be read is
// an infrastructure failure (throws kforge::Error), not a plan error.
PlanResult<ResolvedPlan> bind_candidate(const CandidateFile& candidate, std::string_view ptx,
                                        const Signature& signature,
                                        const std::map<std::string, int64_t>& define_values,
                                        const Limits& limits = {},
                                        const std::vector<KernelFootprint>& footprints = {});

}  // namespace kforge
