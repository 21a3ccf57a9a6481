#include "harness/candidate/candidate_file.hpp"

#include <cctype>
#include <optional>

#include "harness/candidate/located_json.hpp"
#include "harness/util/files.hpp"

namespace kforge {
namespace {

constexpr std::string_view kMarker = "kforge:launch";
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

struct PlanComment {
  size_t comment_begin = 0;  // the '/' of "/*"
  size_t json_begin = 0;     // just after the marker
  size_t json_end = 0;       // the '*' of "*/"
};

// The kforge:launch block comments of `text`. Comments are found as the compiler finds them:
// "/*" inside a string literal or a line comment opens nothing.
std::vector<PlanComment> find_plan_comments(const SourceText& source,
                                            std::optional<size_t>& marker_in_line_comment) {
  const std::string& text = source.text();
  std::vector<PlanComment> comments;
  size_t i = 0;
  while (i < text.size()) {
    char c = text[i];
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
      if (end == std::string::npos)
        end = text.size();
      // Searched within this line only, so that a file of many line comments costs O(n).
      size_t marker = std::string_view(text).substr(0, end).find(kMarker, i);
      if (marker != std::string_view::npos && !marker_in_line_comment)
        marker_in_line_comment = marker;
      i = end;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      size_t close = text.find("*/", i + 2);
      size_t body = i + 2;
      while (body < text.size() && std::isspace(static_cast<unsigned char>(text[body])))
        ++body;
      if (text.compare(body, kMarker.size(), kMarker) == 0) {
        if (close == std::string::npos)
          throw PlanError(source.location(i) + ": the kforge:launch comment is not closed with */");
        comments.push_back({i, body + kMarker.size(), close});
      }
      i = close == std::string::npos ? text.size() : close + 2;
      continue;
    }
    ++i;
  }
  return comments;
}

CandidateFile parse(std::string text, std::string file_name) {
  // A UTF-8 byte order mark, which some editors write and NVRTC refuses, is dropped: lines stay
  // as they were, and columns on the first line count from after it, as editors show them.
  if (std::string_view(text).substr(0, kByteOrderMark.size()) == kByteOrderMark)
    text.erase(0, kByteOrderMark.size());
  CandidateFile candidate;
  candidate.text = std::make_shared<const SourceText>(std::move(file_name), std::move(text));
  const SourceText& source = *candidate.text;
  std::optional<size_t> marker_in_line_comment;
  std::vector<PlanComment> comments = find_plan_comments(source, marker_in_line_comment);
  if (comments.empty()) {
    if (marker_in_line_comment)
      throw PlanError(source.location(*marker_in_line_comment) +
                      ": kforge:launch must open a block comment (/* kforge:launch {...} */), "
                      "not a line comment");
    throw PlanError(source.location(0) +
                    ": no launch plan: the file needs one block comment "
                    "/* kforge:launch {...} */ holding the plan as JSON");
  }
  if (comments.size() > 1) {
    const SourceText& s = source;
    throw PlanError(s.location(comments[1].comment_begin) +
                    ": a second kforge:launch block (the first is at line " +
                    std::to_string(s.line(comments[0].comment_begin)) +
                    "); a candidate has exactly one launch plan");
  }
  const PlanComment& comment = comments[0];
  char after_marker = source.text()[comment.json_begin];
  if (std::isalnum(static_cast<unsigned char>(after_marker)) || after_marker == '_' ||
      after_marker == ':')
    throw PlanError(source.location(comment.json_begin) +
                    ": expected white space and the plan's JSON after kforge:launch");
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
