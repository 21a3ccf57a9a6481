// A candidate file: one self-contained `.cu` with CUDA C++ device code and its launch plan as
// JSON in a block comment that starts with `kforge:launch` (see
// docs/candidate-format.md). Parsing splits it into the source NVRTC compiles, the plan, its
// defines and the kernels the source declares; any problem is a PlanError naming
// `file:line:column`.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "harness/candidate/kernel_declarations.hpp"
#include "harness/candidate/launch_plan.hpp"
#include "harness/candidate/plan_error.hpp"
#include "harness/candidate/source_text.hpp"

namespace kforge {

struct CandidateFile {
  std::shared_ptr<const SourceText> text;  // the file as written, with its name
  LaunchPlan plan;
  std::vector<KernelDeclaration> kernels;  // every __global__ function the source declares

  const std::string& file_name() const { return text->file_name(); }
  // What NVRTC compiles: the whole file (less a UTF-8 byte order mark), plan comment included,
  // so that compiler messages carry the file's own line numbers.
  const std::string& source() const { return text->text(); }
  const std::vector<DefineSpec>& defines() const { return plan.defines; }
};

// `file_name` is used in messages only ("kernel.cu:4:17: launch plan: ...").
PlanResult<CandidateFile> parse_candidate(std::string text, std::string file_name);

// Reads and parses a file; a file that cannot be read is a kforge::Error.
PlanResult<CandidateFile> read_candidate(const std::filesystem::path& path);

}  // namespace kforge
