#include "harness/candidate/candidate_file.hpp"

#include "harness/candidate/located_json.hpp"
#include "harness/util/files.hpp"
#include "kforge/kernels/kernel_file.hpp"

namespace kforge {
namespace {

CandidateFile parse(std::string text, std::string file_name) {
  // A UTF-8 byte order mark, which some editors write and NVRTC refuses, is dropped: lines stay
  // as they were, and columns on the first line count from after it, as editors show them.
  kernels::drop_byte_order_mark(text);
  CandidateFile candidate;
  candidate.text = std::make_shared<const SourceText>(std::move(file_name), std::move(text));
  const SourceText& source = *candidate.text;
  // The plan comment is found by the kernel library's reader, so that a shipped kernel's runtime
  // reads the plan this parser checked.
  const kernels::LaunchPlanCommentSearch found = kernels::find_launch_plan_comment(source.text());
  if (found.problem)
    throw PlanError(source.location(found.problem->offset) + ": " + found.problem->message);
  const kernels::LaunchPlanComment& comment = *found.comment;
  LocatedJson json = parse_located_json(candidate.text, comment.json_begin, comment.json_end);
  candidate.plan = LaunchPlan::from_located(json, candidate.text);
  candidate.kernels = find_kernel_declarations(source);
  return candidate;
}

}  // namespace

PlanResult<CandidateFile> parse_candidate(std::string text, std::string file_name) {
  try {
    return parse(std::move(text), std::move(file_name));
  } catch (const PlanError& error) {
    return error;
  }
}

PlanResult<CandidateFile> read_candidate(const std::filesystem::path& path) {
  return parse_candidate(files::read(path), path.filename().string());
}

}  // namespace kforge
