#include "kforge/kernels/kernel_file.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>

#include "kforge/kernels/error.hpp"
#include "kforge/kernels/plan_reader.hpp"
#include "text_position.hpp"

namespace kforge::kernels {
namespace {

std::vector<std::string> texts(const std::vector<PlanExpression>& expressions) {
  std::vector<std::string> out;
  for (const PlanExpression& expression : expressions)
    out.push_back(expression.text);
  return out;
}

}  // namespace

const DefineChoice* KernelFile::find_define(const std::string& name) const {
  for (const DefineChoice& define : defines)
    if (define.name == name)
      return &define;
  return nullptr;
}

std::vector<std::string> KernelFile::define_options(
    const std::map<std::string, long long>& overrides) const {
  for (const auto& [name, value] : overrides) {
    if (find_define(name))
      continue;
    std::string known;
    for (const DefineChoice& define : defines)
      known += (known.empty() ? "" : ", ") + define.name;
    throw KernelError("unknown define '" + name +
                          "' (the file declares: " + (known.empty() ? "none" : known) + ")",
                      file_name);
  }
  std::vector<std::string> options;
  for (const DefineChoice& define : defines) {
    const auto chosen = overrides.find(define.name);
    const long long value = chosen == overrides.end() ? define.default_value : chosen->second;
    options.push_back("-D" + define.name + "=" + std::to_string(value));
  }
  return options;
}

void drop_byte_order_mark(std::string& text) {
  static constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (std::string_view(text).substr(0, kByteOrderMark.size()) == kByteOrderMark)
    text.erase(0, kByteOrderMark.size());
}

LaunchPlanCommentSearch find_launch_plan_comment(std::string_view text) {
  static constexpr std::string_view kMarker = "kforge:launch";
  std::vector<LaunchPlanComment> comments;
  std::optional<size_t> marker_in_line_comment;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"' || c == '\'') {
      for (++i; i < text.size() && text[i] != c && text[i] != '\n'; ++i) {
        if (text[i] == '\\')
          ++i;
      }
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      size_t end = text.find('\n', i);
      if (end == std::string_view::npos)
        end = text.size();
      // Searched within this line only, so that a file of many line comments costs O(n).
      const size_t marker = text.substr(0, end).find(kMarker, i);
      if (marker != std::string_view::npos && !marker_in_line_comment)
        marker_in_line_comment = marker;
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      const size_t close = text.find("*/", i + 2);
      size_t body = i + 2;
      while (body < text.size() && std::isspace(static_cast<unsigned char>(text[body])))
        ++body;
      if (text.substr(body, kMarker.size()) == kMarker) {
        if (close == std::string_view::npos)
          return {.problem = LaunchPlanCommentProblem{
                      i, "the kforge:launch comment is not closed with */"}};
        comments.push_back({i, body + kMarker.size(), close});
      }
      i = close == std::string_view::npos ? text.size() : close + 2;
      continue;
    }
    ++i;
  }
  if (comments.empty()) {
    if (marker_in_line_comment)
      return {.problem = LaunchPlanCommentProblem{
                  *marker_in_line_comment,
                  "kforge:launch must open a block comment (/* kforge:launch {...} */), not a "
                  "line comment"}};
    return {.problem = LaunchPlanCommentProblem{
                0,
                "no launch plan: the file needs one block comment /* kforge:launch {...} */ "
                "holding the plan as JSON"}};
  }
  if (comments.size() > 1) {
    const size_t first_line =
        1 + std::count(text.begin(), text.begin() + comments[0].comment_begin, '\n');
    return {.problem = LaunchPlanCommentProblem{
                comments[1].comment_begin, "a second kforge:launch block (the first is at line " +
                                               std::to_string(first_line) +
                                               "); a candidate has exactly one launch plan"}};
  }
  const LaunchPlanComment& comment = comments[0];
  const char after_marker = comment.json_begin < text.size() ? text[comment.json_begin] : ' ';
  if (std::isalnum(static_cast<unsigned char>(after_marker)) || after_marker == '_' ||
      after_marker == ':')
    return {
        .problem = LaunchPlanCommentProblem{
            comment.json_begin, "expected white space and the plan's JSON after kforge:launch"}};
  return {.comment = comment};
}

KernelFile parse_kernel_file(std::string source, std::string file_name) {
  drop_byte_order_mark(source);
  const LaunchPlanCommentSearch found = find_launch_plan_comment(source);
  if (found.problem)
    throw KernelError(found.problem->message,
                      file_position(file_name, source, found.problem->offset));
  CheckedPlan plan;
  try {
    plan = read_launch_plan(
        parse_located_json(source, found.comment->json_begin, found.comment->json_end));
  } catch (const PlanProblem& problem) {
    throw KernelError("launch plan: " + problem.what,
                      file_position(file_name, source, problem.offset));
  }
  KernelFile file;
  for (const PlanKernel& kernel : plan.kernels)
    file.launches.push_back({kernel.name, texts(kernel.grid), texts(kernel.block),
                             kernel.shared_bytes.text, texts(kernel.args)});
  for (const PlanScratch& buffer : plan.scratch)
    file.scratch.push_back({buffer.name, buffer.dtype, buffer.numel.text});
  for (const PlanDefine& define : plan.defines)
    file.defines.push_back(
        {define.name, define.default_value, {define.values.begin(), define.values.end()}});
  std::sort(file.defines.begin(), file.defines.end(),
            [](const DefineChoice& a, const DefineChoice& b) { return a.name < b.name; });
  file.arch_targets = plan.arch;
  file.constraints = texts(plan.constraints);
  file.file_name = std::move(file_name);
  file.source = std::move(source);
  return file;
}

KernelFile read_kernel_file(const std::filesystem::path& path) {
  std::ifstream stream(path, std::ios::binary);
  if (!stream)
    throw KernelError("cannot read the kernel file", path.string());
  std::stringstream text;
  text << stream.rdbuf();
  return parse_kernel_file(text.str(), path.string());
}

}  // namespace kforge::kernels
