// The shipped kernels on disk: <root>/<task>/<variant>/kernel.cu, each variant folder
// optionally holding a manifest.json. Listing and variant choice need no GPU.
//
// Of the manifest (written by `kforge promote`, harness/library/manifest.hpp) this library
// reads what launching needs: the task's name and signature (names, tensor or scalar, dtype,
// rank), each kernel's declared parameters, the define values the kernel was verified with, and
// the architectures it was verified on:
//   {"task": {"name": "builtin/relu", "signature": {"inputs": [...], ...}},
//    "parameters": {"relu": [{"name": "x", "pointer": true}, ...]},
//    "defines": {"BLOCK": 256}, "architectures": ["sm_80", "sm_90"],
//    "tuned": {"sm_90": {"defines": {"BLOCK": 512}, ...}}, ...}
// "tuned" (written by `kforge library tune`) holds the define values tuned on an architecture;
// on that architecture they replace "defines", which stay the fallback everywhere else.
// A variant without a manifest is unverified and cannot be launched through the runtime (its
// signature is unknown); a variant whose manifest lists no architecture (a seed) is chosen
// only when no verified variant of the task fits the present GPU.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace kforge::kernels {

// One name of the task's signature, in the order inputs, parameters, outputs.
struct SignatureEntry {
  std::string name;
  std::string role;    // "input", "parameter", "output"
  bool tensor = true;  // false: a scalar
  std::string dtype;   // torch's name: "float32", "int64", ...
  size_t rank = 0;     // tensors only
};

struct DeclaredParameter {
  std::string name;
  bool pointer = false;
  std::string value_type;  // values only: "int32", "int64", "float32", ...; "" when unusable
};

struct ShippedKernel {
  std::string task;  // the operation folder, "softmax"
  std::string variant;
  std::filesystem::path source;             // .../kernel.cu
  std::vector<int> verified_architectures;  // 80 for sm_80; empty when unverified
  bool seed = false;  // under <root>/seeds/: hand-written, enters the library by promotion
  bool has_manifest = false;
  std::string task_name;  // "builtin/softmax" (manifest)
  std::vector<SignatureEntry> signature;
  std::map<std::string, std::vector<DeclaredParameter>> parameters;  // by kernel name
  std::map<std::string, long long> defines;  // the values it was verified with
  // The values tuned per architecture (90 for sm_90), used there instead of `defines`.
  std::map<int, std::map<std::string, long long>> tuned_defines;
  // The plan's architecture-specific targets (manifest "launch"."arch"): the variant runs only
  // on a GPU one of them matches. Empty: any GPU.
  std::vector<std::string> arch_targets;

  bool verified_on(int architecture) const;
  // This kernel as it runs on sm_<architecture>: `defines` overridden by the values tuned there.
  ShippedKernel on_architecture(int architecture) const;
};

// 90 from "sm_90" (also "sm_90a", "90"); throws KernelError for anything else.
int parse_architecture(const std::string& name);

// The NVRTC target for a kernel with these architecture-specific `targets` on sm_<architecture>:
// "sm_<architecture>" when there are none; the one that runs there ("sm_90a" on exactly 9.0,
// "sm_100f" on 10.x with x >= 0); "" when none does.
std::string compile_target(const std::vector<std::string>& targets, int architecture);

class Library {
 public:
  // Every <task>/<variant>/kernel.cu under `root` and under <root>/seeds/ (seed kernels), the
  // promoted ones first, each sorted by task then variant. A missing root
  // or an unreadable manifest is a KernelError naming the path.
  static Library scan(const std::filesystem::path& root);

  const std::vector<ShippedKernel>& kernels() const { return kernels_; }
  std::vector<std::string> tasks() const;

  // The variant to run for `task` on sm_<architecture>, among those whose architecture-specific
  // targets (if any) run there, in this order of preference: verified
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
