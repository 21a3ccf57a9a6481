#include "kforge/kernels/kernel_file.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

// "file:line:column" of byte `offset` of `text` (both counted from 1).
std::string position(const std::string& file_name, const std::string& text, size_t offset) {
  offset = std::min(offset, text.size());
  const size_t line = 1 + std::count(text.begin(), text.begin() + offset, '\n');
  const size_t line_start = text.rfind('\n', offset == 0 ? 0 : offset - 1);
  const size_t column =
      line_start == std::string::npos || offset == 0 ? offset + 1 : offset - line_start;
  return file_name + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::vector<std::string> expressions(const nlohmann::json& list, const std::string& what) {
  if (!list.is_array())
    throw std::invalid_argument(what + " must be a list of expressions");
  std::vector<std::string> texts;
  for (const nlohmann::json& item : list) {
    if (item.is_string())
      texts.push_back(item.get<std::string>());
    else if (item.is_number_integer())
      texts.push_back(std::to_string(item.get<long long>()));
    else
      throw std::invalid_argument(what + " holds " + item.dump() + ", not an expression");
  }
  return texts;
}

PlannedLaunch read_launch(const nlohmann::json& kernel, size_t index) {
  const std::string what = "kernels[" + std::to_string(index) + "]";
  if (!kernel.is_object() || !kernel.contains("name") || !kernel["name"].is_string())
    throw std::invalid_argument(what + " needs a \"name\" string");
  PlannedLaunch launch;
  launch.name = kernel["name"].get<std::string>();
  for (const char* key : {"grid", "block", "args"})
    if (!kernel.contains(key))
      throw std::invalid_argument("kernel '" + launch.name + "' has no \"" + key + "\"");
  launch.grid = expressions(kernel["grid"], "kernel '" + launch.name + "' grid");
  launch.block = expressions(kernel["block"], "kernel '" + launch.name + "' block");
  launch.args = expressions(kernel["args"], "kernel '" + launch.name + "' args");
  launch.shared_bytes = "0";
  if (kernel.contains("shared_bytes"))
    launch.shared_bytes =
        expressions(nlohmann::json::array({kernel["shared_bytes"]}), "shared_bytes").front();
  for (const auto* dims : {&launch.grid, &launch.block})
    if (dims->empty() || dims->size() > 3)
      throw std::invalid_argument("kernel '" + launch.name + "' needs 1 to 3 grid and block " +
                                  "dimensions");
  return launch;
}

DefineChoice read_define(const std::string& name, const nlohmann::json& spec) {
  DefineChoice define;
  define.name = name;
  if (!spec.is_object() || !spec.contains("default") || !spec["default"].is_number_integer())
    throw std::invalid_argument("define '" + name + "' needs an integer \"default\"");
  define.default_value = spec["default"].get<long long>();
  if (spec.contains("values")) {
    if (!spec["values"].is_array())
      throw std::invalid_argument("define '" + name + "' \"values\" must be a list of integers");
    for (const nlohmann::json& value : spec["values"]) {
      if (!value.is_number_integer())
        throw std::invalid_argument("define '" + name +
                                    "' has a value that is not an integer: " + value.dump());
      define.values.push_back(value.get<long long>());
    }
  } else {
    define.values = {define.default_value};
  }
  if (std::find(define.values.begin(), define.values.end(), define.default_value) ==
      define.values.end())
    throw std::invalid_argument("define '" + name + "' default " +
                                std::to_string(define.default_value) + " is not among its values");
  return define;
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
    throw KernelError(found.problem->message, position(file_name, source, found.problem->offset));
  const size_t body = found.comment->json_begin;
  const size_t close = found.comment->json_end;

  nlohmann::json plan;
  try {
    plan = nlohmann::json::parse(source.begin() + body, source.begin() + close);
  } catch (const nlohmann::json::parse_error& error) {
    // nlohmann counts bytes from 1 within the parsed text.
    const size_t at = body + (error.byte > 0 ? error.byte - 1 : 0);
    throw KernelError("launch plan is not valid JSON: " + std::string(error.what()),
                      position(file_name, source, at));
  } catch (const nlohmann::json::exception& error) {
    // out_of_range for a number too large for a double ("2e3832"): no byte offset to name.
    throw KernelError("launch plan is not valid JSON: " + std::string(error.what()),
                      position(file_name, source, body));
  }

  KernelFile file;
  try {
    if (!plan.is_object() || !plan.contains("kernels") || !plan["kernels"].is_array() ||
        plan["kernels"].empty())
      throw std::invalid_argument("launch plan needs a non-empty \"kernels\" list");
    for (size_t i = 0; i < plan["kernels"].size(); ++i)
      file.launches.push_back(read_launch(plan["kernels"][i], i));
    if (plan.contains("scratch")) {
      if (!plan["scratch"].is_array())
        throw std::invalid_argument("\"scratch\" must be a list of {name, dtype, numel}");
      for (const nlohmann::json& buffer : plan["scratch"]) {
        if (!buffer.is_object() || !buffer.contains("name") || !buffer["name"].is_string() ||
            !buffer.contains("dtype") || !buffer["dtype"].is_string() || !buffer.contains("numel"))
          throw std::invalid_argument("a scratch buffer needs \"name\", \"dtype\" and \"numel\"");
        std::string dtype = buffer["dtype"].get<std::string>();
        if (dtype.starts_with("torch."))  // as kforge's candidate parser reads it
          dtype.erase(0, 6);
        file.scratch.push_back(
            {buffer["name"].get<std::string>(), std::move(dtype),
             expressions(nlohmann::json::array({buffer["numel"]}), "scratch numel").front()});
      }
    }
    if (plan.contains("arch")) {
      const nlohmann::json arch =
          plan["arch"].is_string() ? nlohmann::json::array({plan["arch"]}) : plan["arch"];
      if (!arch.is_array() || arch.empty())
        throw std::invalid_argument("\"arch\" must be a target like \"sm_90a\" or a list of them");
      for (const nlohmann::json& target : arch) {
        if (!target.is_string())
          throw std::invalid_argument("\"arch\" holds " + target.dump() + ", not a target");
        file.arch_targets.push_back(target.get<std::string>());
      }
    }
    if (plan.contains("defines")) {
      if (!plan["defines"].is_object())
        throw std::invalid_argument("\"defines\" must be an object of name: {default, values}");
      for (const auto& [name, spec] : plan["defines"].items())
        file.defines.push_back(read_define(name, spec));
    }
  } catch (const std::invalid_argument& error) {
    throw KernelError(std::string("launch plan: ") + error.what(),
                      position(file_name, source, body));
  } catch (const nlohmann::json::exception& error) {
    throw KernelError(std::string("launch plan: ") + error.what(),
                      position(file_name, source, body));
  }
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
