// Where the CUDA libraries opened at run time (NVRTC, CUPTI) and the CUDA headers a kernel may
// include are looked for, the one copy of that logic for kforge and its kernel library. libcuda
// belongs to the driver; NVRTC and CUPTI come from a CUDA toolkit or from the nvidia-* Python
// packages beside PyTorch. KFORGE_CUDA_LIB_DIRS (colon-separated) is searched first.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::kernels {

// Names to try, in order, for a library whose file names start with `stem` ("libnvrtc",
// "libcupti"), for the given major versions: the KFORGE_CUDA_LIB_DIRS folders, the bare sonames
// (the dynamic linker's own search), then CUDA_HOME, CUDA_PATH and /usr/local/cuda.
std::vector<std::string> cuda_library_candidates(std::string_view stem,
                                                 const std::vector<int>& majors);

// The folders whose CUDA headers (cuda_fp16.h, cuda_bf16.h, CCCL's cuda/std, cub, thrust) a
// candidate may include, in search order (CCCL first, as nvcc searches them), existing and
// canonical. Looked for first beside `nvrtc_library`, the NVRTC file in use, as each layout
// places them:
//   toolkit          <root>/lib64/libnvrtc.so.13   <root>/include/cccl, <root>/include
//   pip, CUDA 13     nvidia/cu13/lib/              nvidia/cu13/include/cccl, nvidia/cu13/include
//   pip, CUDA 12     nvidia/cuda_nvrtc/lib/        nvidia/cuda_cccl/include,
//   nvidia/cuda_runtime/include
// then in $CUDA_HOME, $CUDA_PATH and /usr/local/cuda. Headers of one installation only: the
// first that has cuda_fp16.h (mixing two versions' headers helps nobody).
std::vector<std::filesystem::path> cuda_include_roots_for(
    const std::optional<std::filesystem::path>& nvrtc_library);

}  // namespace kforge::kernels
