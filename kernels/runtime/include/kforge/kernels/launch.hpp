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
  int scratch = -1;                  // >= 0: the pointer of this scratch buffer, set at launch
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

// Bytes per element of a torch dtype name; KernelError for an unknown one.
size_t dtype_size(const std::string& dtype);

// Checks `arguments` against `kernel`'s signature and evaluates `file`'s plan with them and the
// manifest's define values. Throws KernelError naming the kernel and what is wrong.
PreparedLaunch prepare_launch(const ShippedKernel& kernel, const KernelFile& file,
                              const Arguments& arguments);

}  // namespace kforge::kernels
