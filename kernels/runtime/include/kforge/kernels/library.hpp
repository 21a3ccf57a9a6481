// The shipped kernels on disk: <root>/<task>/<variant>/kernel.cu, each variant folder
// optionally holding a manifest.json. Listing and variant choice need no GPU.
//
// Of the manifest this library reads only which architectures the variant was verified on:
//   {"architectures": ["sm_80", "sm_90"], ...}
// A variant without a manifest (a seed kernel) is unverified: it is chosen only when no
// verified variant of the task fits the present GPU.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kforge::kernels {

struct ShippedKernel {
  std::string task;
  std::string variant;
  std::filesystem::path source;             // .../kernel.cu
  std::vector<int> verified_architectures;  // 80 for sm_80; empty when unverified

  bool verified_on(int architecture) const;
};

// 90 from "sm_90" (also "sm_90a", "90"); throws KernelError for anything else.
int parse_architecture(const std::string& name);

class Library {
 public:
  // Every <task>/<variant>/kernel.cu under `root`, sorted by task then variant. A missing root
  // or an unreadable manifest is a KernelError naming the path.
  static Library scan(const std::filesystem::path& root);

  const std::vector<ShippedKernel>& kernels() const { return kernels_; }
  std::vector<std::string> tasks() const;

  // The variant to run for `task` on sm_<architecture>, in this order of preference: verified
  // on exactly that architecture; verified on an older one of the same major version (same
  // instruction set family, compiled for the present one from source); unverified. Ties go to
  // the first variant in name order, so the choice is deterministic. An unknown task is a
  // KernelError listing the tasks there are.
  const ShippedKernel& choose(const std::string& task, int architecture) const;

 private:
  std::filesystem::path root_;
  std::vector<ShippedKernel> kernels_;
};

}  // namespace kforge::kernels
