// One compile with NVRTC in the calling process: the policy check, nvrtcCompileProgram with
// ptxas's verbose report, CUBIN and PTX written to files, resources parsed. The compile worker
// calls it for each request; benchmarks call it directly as the in-process baseline. kforge
// itself never calls it in the process that owns the store.
#pragma once

#include <filesystem>
#include <vector>

#include "sandbox/compile_types.hpp"
#include "sandbox/source_policy.hpp"

namespace kforge {

struct NvrtcCompileSettings {
  std::filesystem::path output_dir;  // candidate.cubin and candidate.ptx are written here
  std::vector<std::filesystem::path> include_roots;  // cuda_include_roots()
  size_t max_source_bytes = kDefaultMaxSourceBytes;
};

// A candidate's failure is a result with a status; an Error only when NVRTC itself is missing
// or misbehaves, or the output cannot be written.
CompileResult compile_with_nvrtc(const CompileRequest& request,
                                 const NvrtcCompileSettings& settings);

// The NVRTC options kforge passes for a request, in order (arch, ptxas report, include roots,
// defines, the request's own options).
std::vector<std::string> nvrtc_options(const CompileRequest& request,
                                       const std::vector<std::filesystem::path>& include_roots);

// True for sm_XX, sm_XXa, sm_XXf (XX two or three digits).
bool is_valid_arch(std::string_view arch);

}  // namespace kforge
