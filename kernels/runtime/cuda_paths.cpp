#include "kforge/kernels/cuda_paths.hpp"

#include <algorithm>
#include <cstdlib>

namespace kforge::kernels {

std::vector<std::string> cuda_library_candidates(std::string_view stem,
                                                 const std::vector<int>& majors) {
  auto in_folder = [&](const std::string& folder, std::vector<std::string>& names) {
    for (int major : majors)
      names.push_back(folder + "/" + std::string(stem) + ".so." + std::to_string(major));
  };
  std::vector<std::string> names;
  // Folders the user named come first, then the dynamic linker's own search (LD_LIBRARY_PATH,
  // ldconfig), then the usual toolkit folders.
  if (const char* extra = std::getenv("KFORGE_CUDA_LIB_DIRS")) {
    const std::string folders = extra;
    size_t start = 0;
    while (start <= folders.size()) {
      size_t colon = folders.find(':', start);
      if (colon == std::string::npos)
        colon = folders.size();
      if (colon > start)
        in_folder(folders.substr(start, colon - start), names);
      start = colon + 1;
    }
  }
  for (int major : majors)
    names.push_back(std::string(stem) + ".so." + std::to_string(major));
  names.push_back(std::string(stem) + ".so");
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && home[0] != '\0')
      in_folder(std::string(home) + "/lib64", names);
  }
  in_folder("/usr/local/cuda/lib64", names);
  return names;
}

namespace {

namespace fs = std::filesystem;

bool has_cuda_headers(const fs::path& include) {
  std::error_code failure;
  return fs::is_regular_file(include / "cuda_fp16.h", failure);
}

// The header folders of the installation whose library folder is `library_dir`, or none.
std::vector<fs::path> header_folders_beside(const fs::path& library_dir) {
  const fs::path root = library_dir.parent_path();  // <toolkit> or nvidia/cu13 or nvidia/cuda_nvrtc
  if (has_cuda_headers(root / "include"))
    return {root / "include" / "cccl", root / "include"};
  // CUDA 12's wheels: one package per component beside each other under nvidia/.
  const fs::path packages = root.parent_path();
  if (has_cuda_headers(packages / "cuda_runtime" / "include"))
    return {packages / "cuda_cccl" / "include", packages / "cuda_runtime" / "include"};
  return {};
}

}  // namespace

std::vector<fs::path> cuda_include_roots_for(const std::optional<fs::path>& nvrtc_library) {
  std::vector<std::vector<fs::path>> installations;
  if (nvrtc_library) {
    std::error_code failure;
    fs::path library = fs::canonical(*nvrtc_library, failure);
    if (!failure)
      installations.push_back(header_folders_beside(library.parent_path()));
    // A lib64 symbolic link to lib, say: the folder as named may lead elsewhere.
    installations.push_back(header_folders_beside(nvrtc_library->parent_path()));
  }
  for (const char* variable : {"CUDA_HOME", "CUDA_PATH"}) {
    const char* home = std::getenv(variable);
    if (home != nullptr && home[0] != '\0' && has_cuda_headers(fs::path(home) / "include"))
      installations.push_back({fs::path(home) / "include" / "cccl", fs::path(home) / "include"});
  }
  installations.push_back({"/usr/local/cuda/include/cccl", "/usr/local/cuda/include"});
  for (const std::vector<fs::path>& folders : installations) {
    std::vector<fs::path> roots;
    for (const fs::path& folder : folders) {
      std::error_code failure;
      fs::path canonical = fs::canonical(folder, failure);
      if (failure || !fs::is_directory(canonical, failure))
        continue;
      if (std::find(roots.begin(), roots.end(), canonical) == roots.end())
        roots.push_back(canonical);
    }
    bool complete = std::any_of(roots.begin(), roots.end(), has_cuda_headers);
    if (complete)
      return roots;
  }
  return {};
}

}  // namespace kforge::kernels
