// A KernelBench-format Python module for one candidate: the task's reference program (so
// `Model`, `get_inputs` and `get_init_inputs` are there), and `class ModelNew(Model)` whose
// forward() compiles the candidate with NVRTC (through cupy) and launches it on PyTorch's
// current stream following the candidate's launch plan. KernelBench's own harness can then
// check kforge's verdict independently.
#pragma once

#include <string>
#include <vector>

#include "datasets/export/candidate_row.hpp"

namespace kforge::dataset {

// The kinds of a kernel's parameters, read from its `extern "C" __global__` declaration:
// "pointer", "int32", "int64", "uint32", "uint64", "float32", "float64", "float16", "bool", or
// "unknown:<type>" (the generated module refuses to launch those, naming the type).
std::vector<std::string> kernel_parameter_kinds(const std::string& source,
                                                const std::string& kernel);

std::string kernelbench_module(const CandidateRow& row);

}  // namespace kforge::dataset
