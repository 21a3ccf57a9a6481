#include "sandbox/source_policy.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace fs = std::filesystem;
namespace {

bool is_identifier_start(unsigned char c) {
  return std::isalpha(c) || c == '_' || c == '$' || c >= 0x80;
}
bool is_identifier_char(unsigned char c) {
  return is_identifier_start(c) || std::isdigit(c);
}

// The source after translation phase 2 (backslash-newline removed), with the original line
// and column of every byte kept so that a violation names the place the author sees.
struct SplicedSource {
  std::string text;
  std::vector<uint32_t> line;
  std::vector<uint32_t> column;
};

SplicedSource splice_lines(std::string_view source) {
  SplicedSource spliced;
  spliced.text.reserve(source.size());
  spliced.line.reserve(source.size());
  spliced.column.reserve(source.size());
  uint32_t line = 1;
  uint32_t column = 1;
  for (size_t i = 0; i < source.size(); ++i) {
    char c = source[i];
    if (c == '\\') {
      size_t next = i + 1;
      if (next < source.size() && source[next] == '\r')
        ++next;
      if (next < source.size() && source[next] == '\n') {
        i = next;
        ++line;
        column = 1;
        continue;
      }
    }
    spliced.text.push_back(c);
    spliced.line.push_back(line);
    spliced.column.push_back(column);
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return spliced;
}

// Why a header name may not be included, or "" when it may: a relative path of plain
// characters, without `.` or `..` components, naming a file inside one of the include roots.
std::string header_refusal(std::string_view name, const std::vector<fs::path>& roots) {
  if (name.empty())
    return "an empty header name";
  if (name.size() > 200)
    return "a header name over 200 characters";
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_' && c != '.' && c != '/' && c != '-' && c != '+')
      return "a header name with characters other than letters, digits and _ . / - +";
  }
  if (name.front() == '/')
    return "an absolute path";
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part.empty() || part == "." || part == "..")
      return "a path with an empty, '.' or '..' component";
    if (slash == std::string_view::npos)
      break;
    start = slash + 1;
  }
  for (const fs::path& root : roots) {
    std::error_code failure;
    fs::path resolved = fs::canonical(root / std::string(name), failure);
    if (failure || !fs::is_regular_file(resolved, failure))
      continue;
    // A symbolic link inside the toolkit must not lead outside it.
    auto [root_end, unused] =
        std::mismatch(root.begin(), root.end(), resolved.begin(), resolved.end());
    if (root_end == root.end())
      return {};
  }
  return "not a CUDA or CCCL header";
}

// The operators that ask whether a file exists. Compilers have spelled them with trailing
// underscores too, so those are refused as well.
constexpr std::array<std::string_view, 6> kProbeNames = {
    "__has_include",   "__has_include_next",   "__has_embed",
    "__has_include__", "__has_include_next__", "__has_embed__"};

// What the texts of one compile request (its defines' values, then its source) show about
// token pasting, gathered across all of them: a define's value is a macro body too.
struct PastingEvidence {
  std::optional<std::string> first_paste;   // where the first ## is
  std::optional<std::string> built_pragma;  // where a _Pragma with a non-literal operand is
  bool include_word = false;                // an identifier containing "include" was seen
  // Distinct identifiers that are part of a probe name: few, whatever the source.
  std::set<std::string, std::less<>> pieces;
};

class IncludeScanner {
 public:
  IncludeScanner(const SplicedSource& source, std::string_view file_name,
                 const std::vector<fs::path>& roots, PastingEvidence& pasting)
      : source_(source),
        text_(source.text),
        file_name_(file_name),
        roots_(roots),
        pasting_(pasting) {}

  // Scans one text (the source, or a define's value); the pieces it holds for token pasting are
  // kept for pasting_violation(), which judges them all together.
  std::optional<PolicyViolation> scan() {
    bool line_start = true;
    while (position_ < text_.size() && !violation_) {
      char c = text_[position_];
      if (c == '\n') {
        line_start = true;
        ++position_;
      } else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++position_;
      } else if (starts_with("//")) {
        skip_line_comment();
      } else if (starts_with("/*")) {
        skip_block_comment();
      } else if (line_start && (c == '#' || starts_with("%:"))) {
        line_start = false;
        directive();
      } else {
        line_start = false;
        token();
      }
    }
    return violation_;
  }

 private:
  bool starts_with(std::string_view prefix) const {
    return text_.compare(position_, prefix.size(), prefix) == 0;
  }

  std::string location(size_t at) const {
    size_t index = std::min(at, text_.empty() ? 0 : text_.size() - 1);
    std::string where = std::string(file_name_);
    if (!text_.empty()) {
      where +=
          ":" + std::to_string(source_.line[index]) + ":" + std::to_string(source_.column[index]);
    }
    return where;
  }

  void refuse(size_t at, const std::string& what) {
    if (!violation_)
      violation_ = PolicyViolation{CompileStatus::kForbiddenInclude, what + " at " + location(at)};
  }

  void skip_line_comment() {
    while (position_ < text_.size() && text_[position_] != '\n')
      ++position_;
  }

  void skip_block_comment() {
    size_t end = text_.find("*/", position_ + 2);
    position_ = end == std::string::npos ? text_.size() : end + 2;
  }

  // Spaces, tabs and comments within one line.
  void skip_horizontal_space() {
    while (position_ < text_.size()) {
      char c = text_[position_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
        ++position_;
      } else if (starts_with("/*")) {
        skip_block_comment();
      } else {
        return;
      }
    }
  }

  std::string_view identifier() {
    size_t begin = position_;
    while (position_ < text_.size() && is_identifier_char(text_[position_]))
      ++position_;
    return std::string_view(text_).substr(begin, position_ - begin);
  }

  // After an include-like keyword: a <name> or "name" that is allowed.
  void header_name(size_t keyword_at, std::string_view keyword) {
    skip_horizontal_space();
    char open = position_ < text_.size() ? text_[position_] : '\n';
    if (open != '<' && open != '"') {
      refuse(keyword_at, std::string(keyword) +
                             " of a macro or other non-literal header name (only <name> or "
                             "\"name\" of a CUDA or CCCL header is allowed)");
      return;
    }
    char close = open == '<' ? '>' : '"';
    size_t end = text_.find_first_of(std::string{close, '\n'}, position_ + 1);
    if (end == std::string::npos || text_[end] != close) {
      refuse(keyword_at, std::string(keyword) + " with an unterminated header name");
      return;
    }
    std::string_view name = std::string_view(text_).substr(position_ + 1, end - position_ - 1);
    std::string refusal = header_refusal(name, roots_);
    if (!refusal.empty()) {
      refuse(keyword_at, std::string(keyword) + " " + open + std::string(name) + close + ": " +
                             refusal + "; only CUDA and CCCL headers may be included");
    }
    position_ = end + 1;
  }

  void directive() {
    size_t hash_at = position_;
    position_ += text_[position_] == '#' ? 1 : 2;
    skip_horizontal_space();
    std::string_view name = identifier();
    if (name == "include" || name == "include_next" || name == "import" || name == "embed") {
      header_name(hash_at, "#" + std::string(name));
    } else if (name == "pragma") {
      // No pragma that names include paths or files (include_alias, system_header paths...).
      size_t end = text_.find('\n', position_);
      std::string_view rest = std::string_view(text_).substr(
          position_, end == std::string::npos ? std::string_view::npos : end - position_);
      if (rest.find("include") != std::string_view::npos)
        refuse(hash_at, "#pragma naming include");
    }
    // The rest of the directive line (an #if with __has_include, say) is scanned as tokens.
  }

  void token() {
    char c = text_[position_];
    size_t at = position_;
    if (is_identifier_start(c)) {
      std::string_view name = identifier();
      // String literal prefixes: R"(...)", u8"...", L'x' and friends.
      if (position_ < text_.size() && (text_[position_] == '"' || text_[position_] == '\'')) {
        if (name == "R" || name == "u8R" || name == "uR" || name == "UR" || name == "LR") {
          raw_string();
          return;
        }
        if (name == "u8" || name == "u" || name == "U" || name == "L") {
          quoted(text_[position_]);
          return;
        }
      }
      note_piece(name);
      if (name == "_Pragma") {
        pragma_operator(at);
      } else if (is_probe_name(name)) {
        skip_horizontal_space();
        if (position_ >= text_.size() || text_[position_] != '(') {
          refuse(at, std::string(name) + " without a literal header name");
          return;
        }
        ++position_;
        header_name(at, std::string(name));
      } else if (after_paste_) {
        check_pasted(at, name);
      }
      previous_identifier_ = name;
      previous_identifier_at_ = at;
      after_paste_ = false;
      return;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) ||
        (c == '.' && position_ + 1 < text_.size() &&
         std::isdigit(static_cast<unsigned char>(text_[position_ + 1])))) {
      pp_number();
    } else if (c == '"' || c == '\'') {
      quoted(c);
    } else if (c == '\\' && position_ + 1 < text_.size() &&
               (text_[position_ + 1] == 'u' || text_[position_ + 1] == 'U')) {
      // `__has_includ\u0065` is `__has_include` to the compiler: a universal character name
      // may spell any identifier, so none is allowed outside a literal.
      refuse(at,
             "a universal character name outside a literal (it can spell a name such as "
             "__has_include that this check would not see)");
      return;
    } else if (starts_with("##") || starts_with("%:%:")) {
      if (!pasting_.first_paste)
        pasting_.first_paste = location(position_);
      position_ += text_[position_] == '#' ? 2 : 4;
      check_pasted(previous_identifier_at_, previous_identifier_);
      after_paste_ = true;
      return;
    } else {
      ++position_;
    }
    previous_identifier_ = {};
    after_paste_ = false;
  }

  // `_Pragma("...")` is `#pragma ...`: a literal operand gets the same check; an operand made
  // by a macro (`_Pragma(#x)`) is judged at the end, with the names the source holds.
  void pragma_operator(size_t at) {
    skip_horizontal_space();
    if (position_ >= text_.size() || text_[position_] != '(')
      return;
    ++position_;
    skip_horizontal_space();
    if (position_ >= text_.size() || text_[position_] != '"') {
      if (!pasting_.built_pragma)
        pasting_.built_pragma = location(at);
      return;
    }
    size_t begin = position_;
    quoted('"');
    if (std::string_view(text_).substr(begin, position_ - begin).find("include") !=
        std::string_view::npos)
      refuse(at, "_Pragma naming include");
  }

  // An identifier that could be a piece of a probe assembled by token pasting: any part of one
  // of the probe names. Distinct pieces only, so the set stays small whatever the source.
  void note_piece(std::string_view name) {
    if (name.find("include") != std::string_view::npos)
      pasting_.include_word = true;
    if (name.size() > 24 || pasting_.pieces.count(name))
      return;
    for (std::string_view probe : kProbeNames) {
      if (probe.find(name) != std::string_view::npos) {
        pasting_.pieces.emplace(name);
        return;
      }
    }
  }

 private:
  static bool is_probe_name(std::string_view name) {
    return std::find(kProbeNames.begin(), kProbeNames.end(), name) != kProbeNames.end();
  }

  // `__has_ ## include` could assemble a probe the scanner would not see as one token.
  void check_pasted(size_t at, std::string_view name) {
    for (std::string_view part : {"has_", "include", "embed"}) {
      if (name.find(part) != std::string_view::npos) {
        refuse(at, "token pasting with '" + std::string(name) + "'");
        return;
      }
    }
  }

  void pp_number() {
    ++position_;
    while (position_ < text_.size()) {
      char c = text_[position_];
      char previous = text_[position_ - 1];
      if ((c == '+' || c == '-') &&
          (previous == 'e' || previous == 'E' || previous == 'p' || previous == 'P')) {
        ++position_;
      } else if (is_identifier_char(c) || c == '.' ||
                 (c == '\'' && position_ + 1 < text_.size() &&
                  is_identifier_char(text_[position_ + 1]))) {
        ++position_;
      } else {
        return;
      }
    }
  }

  void quoted(char quote) {
    ++position_;
    while (position_ < text_.size()) {
      char c = text_[position_];
      if (c == '\\') {
        position_ += 2;
      } else if (c == quote || c == '\n') {
        ++position_;
        return;
      } else {
        ++position_;
      }
    }
  }

  void raw_string() {
    // At the opening quote: R"delimiter( ... )delimiter"
    // The delimiter is at most 16 characters: look no further for its '(' (a search to the end
    // of the file for every R" would make a hostile source cost O(n^2)).
    size_t open = std::string_view(text_).substr(0, position_ + 18).find('(', position_ + 1);
    if (open == std::string::npos || open - position_ - 1 > 16) {
      ++position_;
      return;
    }
    std::string terminator = ")" + text_.substr(position_ + 1, open - position_ - 1) + "\"";
    size_t end = text_.find(terminator, open + 1);
    position_ = end == std::string::npos ? text_.size() : end + terminator.size();
  }

  const SplicedSource& source_;
  const std::string& text_;
  std::string_view file_name_;
  const std::vector<fs::path>& roots_;
  size_t position_ = 0;
  std::string_view previous_identifier_;
  size_t previous_identifier_at_ = 0;
  bool after_paste_ = false;
  PastingEvidence& pasting_;
  std::optional<PolicyViolation> violation_;
};

// Two or more pieces whose concatenation is `probe`, or none.
std::vector<std::string_view> assemble(std::string_view probe,
                                       const std::set<std::string, std::less<>>& known) {
  // reached[i]: the piece that ends at i on some way of spelling probe[0, i), or -1.
  std::vector<int> reached(probe.size() + 1, -1);
  std::vector<std::string_view> pieces(known.begin(), known.end());
  reached[0] = 0;
  for (size_t at = 0; at < probe.size(); ++at) {
    if (reached[at] < 0)
      continue;
    for (size_t k = 0; k < pieces.size(); ++k) {
      std::string_view piece = pieces[k];
      if (piece.size() == probe.size() || piece.empty())
        continue;  // the probe itself is a single token, which the scan judges directly
      if (probe.substr(at).starts_with(piece) && reached[at + piece.size()] < 0)
        reached[at + piece.size()] = static_cast<int>(k);
    }
  }
  if (reached[probe.size()] < 0)
    return {};
  std::vector<std::string_view> parts;
  for (size_t end = probe.size(); end > 0;) {
    std::string_view piece = pieces[reached[end]];
    parts.insert(parts.begin(), piece);
    end -= piece.size();
  }
  return parts;
}

// The probes (__has_include and its kin) that token pasting could assemble: a pasted identifier
// is the concatenation of the spellings of its operands, which are identifiers written somewhere
// in the source or a define, so if no sequence of two or more of them spells a probe, no pasting
// can produce one. `#define CAT(a,b) a##b` with `#if CAT(__has_,include)("/etc/passwd")` is
// refused here, while pasting in a source without such pieces stays allowed.
std::optional<PolicyViolation> pasting_violation(const PastingEvidence& pasting) {
  if (pasting.built_pragma && pasting.include_word) {
    return PolicyViolation{CompileStatus::kForbiddenInclude,
                           "_Pragma with an operand built by a macro, in a source that names "
                           "include, at " +
                               *pasting.built_pragma};
  }
  if (!pasting.first_paste)
    return std::nullopt;
  for (std::string_view probe : kProbeNames) {
    std::vector<std::string_view> parts = assemble(probe, pasting.pieces);
    if (parts.empty())
      continue;
    std::string spelled;
    for (std::string_view part : parts)
      spelled += (spelled.empty() ? "'" : " ## '") + std::string(part) + "'";
    return PolicyViolation{CompileStatus::kForbiddenInclude,
                           "token pasting in a source whose names can assemble '" +
                               std::string(probe) + "' (" + spelled + ") at " +
                               *pasting.first_paste +
                               "; write __has_include only as itself, with a literal header name"};
  }
  return std::nullopt;
}

std::optional<PolicyViolation> check_includes(std::string_view text, std::string_view name,
                                              const std::vector<fs::path>& roots,
                                              PastingEvidence& pasting) {
  SplicedSource spliced = splice_lines(text);
  return IncludeScanner(spliced, name, roots, pasting).scan();
}

bool is_identifier(std::string_view name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '_')
      return false;
  }
  return true;
}

std::string position_in(std::string_view text, size_t offset, std::string_view name) {
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::string(name) + ":" + std::to_string(line) + ":" + std::to_string(column);
}

}  // namespace

std::optional<size_t> first_invalid_utf8(std::string_view text) {
  std::optional<size_t> invalid = strings::first_invalid_utf8(text);
  size_t nul = text.substr(0, invalid.value_or(text.size())).find('\0');
  if (nul != std::string_view::npos)
    return nul;
  return invalid;
}

std::optional<PolicyViolation> check_source_text(std::string_view source, std::string_view name,
                                                 size_t max_source_bytes) {
  if (source.size() > max_source_bytes) {
    return PolicyViolation{CompileStatus::kTooLarge,
                           "the source is " + std::to_string(source.size()) +
                               " bytes, over the limit of " + std::to_string(max_source_bytes)};
  }
  if (auto bad = first_invalid_utf8(source)) {
    return PolicyViolation{
        CompileStatus::kNotUtf8,
        std::string(source[*bad] == '\0' ? "a NUL byte" : "a byte that is not UTF-8") + " at " +
            position_in(source, *bad, name) + " (byte " + std::to_string(*bad) + ")"};
  }
  return std::nullopt;
}

std::optional<PolicyViolation> check_compile_request(const CompileRequest& request,
                                                     const std::vector<fs::path>& include_roots,
                                                     size_t max_source_bytes) {
  const std::string& source = request.source;
  if (auto violation = check_source_text(source, request.name, max_source_bytes))
    return violation;
  PastingEvidence pasting;
  for (const auto& [name, value] : request.defines) {
    if (!is_identifier(name) || name.starts_with("__")) {
      return PolicyViolation{CompileStatus::kInvalidDefine,
                             "define name '" + name + "' is not an identifier of the candidate"};
    }
    bool one_line = value.size() <= 1024 && value.find_first_of("\r\n") == std::string::npos &&
                    !first_invalid_utf8(value);
    if (!one_line) {
      return PolicyViolation{CompileStatus::kInvalidDefine,
                             "define " + name +
                                 " must have a value of one line of text, at "
                                 "most 1024 bytes"};
    }
    // Scanned as the middle of a line, so that the value cannot start a directive.
    if (auto violation = check_includes("x " + value, "define " + name, include_roots, pasting))
      return violation;
  }
  if (auto violation = check_includes(source, request.name, include_roots, pasting))
    return violation;
  return pasting_violation(pasting);
}

void check_nvrtc_options(const std::vector<std::string>& options) {
  static constexpr std::array<std::string_view, 14> kExact = {"--use_fast_math",
                                                              "-use_fast_math",
                                                              "--extra-device-vectorization",
                                                              "-lineinfo",
                                                              "--generate-line-info",
                                                              "--restrict",
                                                              "-restrict",
                                                              "--device-as-default-execution-space",
                                                              "-default-device",
                                                              "--std=c++17",
                                                              "--std=c++20",
                                                              "-std=c++17",
                                                              "-std=c++20",
                                                              "--device-int128"};
  static constexpr std::array<std::string_view, 12> kWithValue = {
      "--fmad=",         "-fmad=",         "--ftz=",       "-ftz=",
      "--prec-div=",     "-prec-div=",     "--prec-sqrt=", "-prec-sqrt=",
      "--maxrregcount=", "-maxrregcount=", "--dopt=",      "-dopt="};
  for (const std::string& option : options) {
    bool allowed = false;
    for (std::string_view exact : kExact)
      allowed = allowed || option == exact;
    for (std::string_view prefix : kWithValue) {
      if (!allowed && option.starts_with(prefix) && option.size() > prefix.size()) {
        allowed = true;
        for (unsigned char c : option.substr(prefix.size()))
          allowed = allowed && (std::isalnum(c) || c == '_' || c == '.');
      }
    }
    if (!allowed) {
      throw Error("NVRTC option '" + option +
                  "' is not allowed (options may change code generation only: fast math, fmad, "
                  "ftz, precision, maxrregcount, dopt, line info, restrict, std)");
    }
  }
}

}  // namespace kforge
