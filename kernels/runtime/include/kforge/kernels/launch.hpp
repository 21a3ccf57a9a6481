// Turning a call — a shipped kernel and the caller's tensors (device pointer, shape, dtype) and
// scalars, by their signature names — into the exact launches to make: grid, block, dynamic
// shared memory and each argument's bytes, scratch buffers to allocate. Everything here is
// checked before a GPU is touched, so a wrong call fails the same way with or without one:
// a missing or unknown name, a wrong dtype, a wrong rank, a scalar where a tensor belongs, a
// value that does not fit its parameter.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "kforge/kernels/kernel_file.hpp"
#include "kforge/kernels/library.hpp"

namespace kforge::kernels {

// A tensor on the device, contiguous, row-major. `dtype` uses torch's names ("float32").
struct Tensor {
  void* data = nullptr;
  std::vector<int64_t> shape;
  std::string dtype = "float32";
};

using Argument = std::variant<Tensor, int64_t, double>;
using Arguments = std::map<std::string, Argument>;

struct PreparedArgument {
  std::vector<unsigned char> bytes;  // the value the driver copies (a pointer: 8 bytes)
  // Not empty: the pointer of this named device buffer, set at launch (here a scratch buffer of
  // the plan; in kforge's GPU worker also an input, parameter or output).
  std::string buffer;
};

struct PreparedKernel {
  std::string name;
  std::array<unsigned, 3> grid = {1, 1, 1};
  std::array<unsigned, 3> block = {1, 1, 1};
  unsigned shared_bytes = 0;
  std::vector<PreparedArgument> arguments;
};

struct PreparedScratch {
  std::string name;
  size_t bytes = 0;
};

struct PreparedLaunch {
  std::vector<PreparedKernel> kernels;
  std::vector<PreparedScratch> scratch;
};

// The launches of a plan already bound to one shape, in the form kforge's evaluator sends its GPU
// worker (ResolvedPlan::to_json, harness/candidate/plan_validation.hpp): {"launches": [{"kernel",
// "grid": [3], "block": [3], "shared_bytes", "args": [{"kind": "tensor", "tensor"} or {"kind":
// "integer"|"float", "bytes": "<hex>", "width"}]}], "scratch": [{"name", "bytes"}]}; other keys
// are evidence for people and ignored. Every dimension is checked to fit the driver (1 to 2^32-1;
// shared bytes 0 to 2^32-1), every value's bytes to be hexadecimal of its width. Throws
// KernelError "<what> (<where>)" for anything else.
PreparedLaunch prepared_launch_from_json(const std::string& json_text, const std::string& where);

// Bytes per element of a torch dtype name; KernelError for an unknown one.
size_t dtype_size(const std::string& dtype);
// The dtypes the library knows, by torch's names ("float32"), in the order messages list them.
const std::vector<std::string>& dtype_names();

// Checks `arguments` against `kernel`'s signature and evaluates `file`'s plan with them and the
// manifest's define values (or those `kernel` carries: ShippedKernel::on_architecture). The
// plan's constraints must hold at these sizes with those values. Throws KernelError naming the
// kernel and what is wrong.
PreparedLaunch prepare_launch(const ShippedKernel& kernel, const KernelFile& file,
                              const Arguments& arguments);

}  // namespace kforge::kernels
