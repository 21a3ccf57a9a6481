// A shipped kernel's source file: one self-contained `.cu` in kforge's candidate format, device
// code plus a launch plan as JSON inside a block comment that starts with `kforge:launch`.
// The library reads what it needs to build and launch it: the kernels in launch order with
// their grid, block, shared-memory and argument expressions (kept as text), and the
// compile-time defines with their defaults and the values a search may try.
//
// The plan is read by the checks kforge's candidate parser uses too (plan_reader.hpp): what
// kforge refuses, the runtime refuses. kforge's parser checks more before a kernel is ever
// shipped (the kernels' declarations, binding the plan to a task's signature).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::kernels {

struct PlannedLaunch {
  std::string name;  // the extern "C" kernel
  std::vector<std::string> grid;
  std::vector<std::string> block;
  std::string shared_bytes;
  std::vector<std::string> args;
};

// A device buffer the plan uses between kernels; allocated for each launch.
struct PlannedScratch {
  std::string name;
  std::string dtype;  // "float32", ...
  std::string numel;  // an expression
};

struct DefineChoice {
  std::string name;
  long long default_value = 0;
  std::vector<long long> values;  // contains default_value
};

struct KernelFile {
  std::string file_name;  // for messages
  std::string source;     // the whole file, as NVRTC compiles it
  std::vector<PlannedLaunch> launches;
  std::vector<PlannedScratch> scratch;
  std::vector<DefineChoice> defines;  // in name order
  // The plan's "arch": architecture-specific targets ("sm_90a", "sm_100a") the kernel must be
  // compiled for, one of which must match the GPU; empty: the GPU's plain sm_XY.
  std::vector<std::string> arch_targets;
  // The plan's "constraints", in plan order: conditions (ExpressionTree::parse_condition) over
  // the defines and the call's tensor sizes, which prepare_launch checks at every call.
  std::vector<std::string> constraints;

  const DefineChoice* find_define(const std::string& name) const;
  // "-DNAME=VALUE" for every define, its default unless `overrides` names it. An override of a
  // define the file does not declare is a KernelError naming the file and the known defines.
  std::vector<std::string> define_options(
      const std::map<std::string, long long>& overrides = {}) const;
};

// Where the plan is in a kernel or candidate file: the one `/* kforge:launch ... */` block
// comment, found as the compiler finds comments ("/*" inside a string literal or a line comment
// opens nothing; white space may come between "/*" and the marker). kforge's candidate parser
// (harness/candidate/candidate_file) and parse_kernel_file both find it here, so they read the
// same text as the plan.
struct LaunchPlanComment {
  size_t comment_begin = 0;  // the '/' of "/*"
  size_t json_begin = 0;     // just after the marker
  size_t json_end = 0;       // the '*' of "*/"
};
// Why a file has no usable plan comment: the message, and the byte offset it is about.
struct LaunchPlanCommentProblem {
  size_t offset = 0;
  std::string message;
};
// Exactly one of the two is set.
struct LaunchPlanCommentSearch {
  std::optional<LaunchPlanComment> comment;
  std::optional<LaunchPlanCommentProblem> problem;
};
LaunchPlanCommentSearch find_launch_plan_comment(std::string_view text);

// Drops a leading UTF-8 byte order mark, which some editors write and NVRTC refuses (both
// parsers do, before finding the plan): lines stay as they were.
void drop_byte_order_mark(std::string& text);

// Throws KernelError "<what is wrong> (<file>:<line>:<column>)" when the plan is missing or
// malformed (no `kforge:launch` comment, bad JSON, a duplicate or unknown key, a missing key, an
// expression that does not parse, an integer past 64 bits, a default not among its values, a
// constraint that reads a name that is not a define), at the value that is wrong.
// A scratch buffer's dtype is kept as its plain name ("float32" for "torch.float32").
KernelFile parse_kernel_file(std::string source, std::string file_name);
KernelFile read_kernel_file(const std::filesystem::path& path);

}  // namespace kforge::kernels
