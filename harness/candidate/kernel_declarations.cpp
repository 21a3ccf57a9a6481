#include "harness/candidate/kernel_declarations.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>
#include <unordered_set>

#include "harness/candidate/plan_error.hpp"

namespace kforge {
namespace {

struct ScalarTypeInfo {
  ScalarType type;
  std::string_view name;
  size_t size;
  bool floating;
  bool is_signed;
};

constexpr std::array kScalarTypes = std::to_array<ScalarTypeInfo>({
    {ScalarType::kBool, "bool", 1, false, false},
    {ScalarType::kInt8, "int8", 1, false, true},
    {ScalarType::kUInt8, "uint8", 1, false, false},
    {ScalarType::kInt16, "int16", 2, false, true},
    {ScalarType::kUInt16, "uint16", 2, false, false},
    {ScalarType::kInt32, "int32", 4, false, true},
    {ScalarType::kUInt32, "uint32", 4, false, false},
    {ScalarType::kInt64, "int64", 8, false, true},
    {ScalarType::kUInt64, "uint64", 8, false, false},
    {ScalarType::kFloat16, "float16", 2, true, true},
    {ScalarType::kBFloat16, "bfloat16", 2, true, true},
    {ScalarType::kFloat32, "float32", 4, true, true},
    {ScalarType::kFloat64, "float64", 8, true, true},
});

const ScalarTypeInfo& info(ScalarType type) {
  return kScalarTypes[static_cast<size_t>(type)];
}

// Type names that are one identifier (typedefs and CUDA's half types), as NVRTC on a 64-bit
// Linux host defines them.
const std::map<std::string, ScalarType, std::less<>>& named_types() {
  static const std::map<std::string, ScalarType, std::less<>> types = {
      {"int8_t", ScalarType::kInt8},          {"uint8_t", ScalarType::kUInt8},
      {"int16_t", ScalarType::kInt16},        {"uint16_t", ScalarType::kUInt16},
      {"int32_t", ScalarType::kInt32},        {"uint32_t", ScalarType::kUInt32},
      {"int64_t", ScalarType::kInt64},        {"uint64_t", ScalarType::kUInt64},
      {"size_t", ScalarType::kUInt64},        {"ptrdiff_t", ScalarType::kInt64},
      {"intptr_t", ScalarType::kInt64},       {"uintptr_t", ScalarType::kUInt64},
      {"half", ScalarType::kFloat16},         {"__half", ScalarType::kFloat16},
      {"nv_bfloat16", ScalarType::kBFloat16}, {"__nv_bfloat16", ScalarType::kBFloat16},
  };
  return types;
}

const std::array<std::string_view, 10> kBuiltinWords = {
    "void", "bool", "char", "short", "int", "long", "float", "double", "signed", "unsigned"};

const std::array<std::string_view, 9> kQualifiers = {"const",      "volatile", "__restrict__",
                                                     "__restrict", "restrict", "register",
                                                     "struct",     "typename", "__grid_constant__"};

bool is_builtin_word(std::string_view word) {
  return std::find(kBuiltinWords.begin(), kBuiltinWords.end(), word) != kBuiltinWords.end();
}

// A type spelled with builtin keywords in any order ("unsigned long long int").
std::optional<ScalarType> builtin_type(const std::vector<std::string>& words) {
  int longs = 0, shorts = 0, chars = 0, ints = 0, signeds = 0, unsigneds = 0;
  int bools = 0, floats = 0, doubles = 0;
  for (const std::string& word : words) {
    if (word == "long")
      ++longs;
    else if (word == "short")
      ++shorts;
    else if (word == "char")
      ++chars;
    else if (word == "int")
      ++ints;
    else if (word == "signed")
      ++signeds;
    else if (word == "unsigned")
      ++unsigneds;
    else if (word == "bool")
      ++bools;
    else if (word == "float")
      ++floats;
    else if (word == "double")
      ++doubles;
    else
      return std::nullopt;
  }
  if (signeds + unsigneds > 1 || ints > 1)
    return std::nullopt;
  bool is_unsigned = unsigneds == 1;
  if (bools + floats + doubles > 0) {
    if (words.size() != 1)
      return std::nullopt;  // `long double` and friends: nothing a plan can pass
    return bools ? ScalarType::kBool : floats ? ScalarType::kFloat32 : ScalarType::kFloat64;
  }
  if (chars == 1 && longs + shorts + ints == 0)
    return is_unsigned ? ScalarType::kUInt8 : ScalarType::kInt8;
  if (chars > 0)
    return std::nullopt;
  if (shorts == 1 && longs == 0)
    return is_unsigned ? ScalarType::kUInt16 : ScalarType::kInt16;
  if (shorts > 0 || longs > 2)
    return std::nullopt;
  if (longs >= 1)  // `long` is 64-bit on the LP64 hosts NVRTC targets
    return is_unsigned ? ScalarType::kUInt64 : ScalarType::kInt64;
  return is_unsigned ? ScalarType::kUInt32 : ScalarType::kInt32;
}

struct Token {
  enum class Kind { kIdentifier, kNumber, kString, kPunctuation };
  Kind kind;
  std::string text;
  size_t offset;
};

// Splits C++ source into tokens, dropping comments and preprocessor lines.
std::vector<Token> tokenize(const std::string& text) {
  std::vector<Token> tokens;
  size_t i = 0;
  bool line_start = true;
  while (i < text.size()) {
    char c = text[i];
    if (c == '\n') {
      line_start = true;
      ++i;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n')
        ++i;
      continue;
    }
    if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      size_t close = text.find("*/", i + 2);
      i = close == std::string::npos ? text.size() : close + 2;
      continue;
    }
    if (c == '#' && line_start) {
      // A preprocessor line, continued by backslashes.
      while (i < text.size() && text[i] != '\n') {
        if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == '\n')
          ++i;
        ++i;
      }
      continue;
    }
    line_start = false;
    size_t begin = i;
    if (c == '"' || c == '\'') {
      ++i;
      while (i < text.size() && text[i] != c && text[i] != '\n') {
        if (text[i] == '\\')
          ++i;
        ++i;
      }
      ++i;
      tokens.push_back(
          {Token::Kind::kString, text.substr(begin, std::min(i, text.size()) - begin), begin});
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < text.size() &&
             (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_'))
        ++i;
      tokens.push_back({Token::Kind::kIdentifier, text.substr(begin, i - begin), begin});
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) ||
                                 text[i] == '.' || text[i] == '_'))
        ++i;
      tokens.push_back({Token::Kind::kNumber, text.substr(begin, i - begin), begin});
      continue;
    }
    if (c == ':' && i + 1 < text.size() && text[i + 1] == ':') {
      tokens.push_back({Token::Kind::kPunctuation, "::", begin});
      i += 2;
      continue;
    }
    tokens.push_back({Token::Kind::kPunctuation, std::string(1, c), begin});
    ++i;
  }
  return tokens;
}

bool is(const Token& token, std::string_view text) {
  return token.text == text;
}

// The index of the token closing the bracket opened at `open`, or tokens.size().
size_t matching(const std::vector<Token>& tokens, size_t open) {
  const std::string& opener = tokens[open].text;
  std::string closer = opener == "(" ? ")" : opener == "[" ? "]" : opener == "{" ? "}" : ">";
  int depth = 0;
  for (size_t i = open; i < tokens.size(); ++i) {
    if (tokens[i].kind != Token::Kind::kPunctuation)
      continue;
    if (tokens[i].text == opener)
      ++depth;
    else if (tokens[i].text == closer && --depth == 0)
      return i;
  }
  return tokens.size();
}

// For every '(', '[' and '{', the index of the token that closes it (tokens.size() when none
// does): what `matching` answers for one bracket, for all of them in one pass.
std::vector<size_t> matching_brackets(const std::vector<Token>& tokens) {
  std::vector<size_t> closing(tokens.size(), tokens.size());
  std::array<std::vector<size_t>, 3> open;  // one stack per kind of bracket
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind != Token::Kind::kPunctuation || tokens[i].text.size() != 1)
      continue;
    size_t kind = std::string_view("([{").find(tokens[i].text[0]);
    if (kind != std::string_view::npos) {
      open[kind].push_back(i);
      continue;
    }
    kind = std::string_view(")]}").find(tokens[i].text[0]);
    if (kind != std::string_view::npos && !open[kind].empty()) {
      closing[open[kind].back()] = i;
      open[kind].pop_back();
    }
  }
  return closing;
}

KernelParameter classify_parameter(std::vector<Token> tokens) {
  KernelParameter parameter;
  // A default argument is not part of the type.
  int depth = 0;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (is(tokens[i], "(") || is(tokens[i], "[") || is(tokens[i], "<"))
      ++depth;
    if (is(tokens[i], ")") || is(tokens[i], "]") || is(tokens[i], ">"))
      --depth;
    if (depth == 0 && is(tokens[i], "=")) {
      tokens.resize(i);
      break;
    }
  }
  std::vector<Token> kept;
  bool array = false;
  bool reference = false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (std::find(kQualifiers.begin(), kQualifiers.end(), token.text) != kQualifiers.end())
      continue;
    if (is(token, "[")) {
      array = true;  // an array parameter decays to a pointer
      i = matching(tokens, i);
      continue;
    }
    if (is(token, "&"))
      reference = true;
    if (is(token, "__align__") && i + 1 < tokens.size() && is(tokens[i + 1], "(")) {
      i = matching(tokens, i + 1);
      continue;
    }
    kept.push_back(token);
  }
  // The name: a trailing identifier that is not the whole type and not a builtin keyword.
  if (kept.size() >= 2 && kept.back().kind == Token::Kind::kIdentifier &&
      !is_builtin_word(kept.back().text) && !is(kept[kept.size() - 2], "::")) {
    parameter.name = kept.back().text;
    kept.pop_back();
  }
  std::vector<std::string> words;
  std::string type;
  for (const Token& token : kept) {
    if (is(token, "*") || is(token, "&")) {
      parameter.pointer = parameter.pointer || is(token, "*");
      type += token.text;
      continue;
    }
    if (!type.empty() && type.back() != ':' && !is(token, "::") && type.back() != '*')
      type += ' ';
    type += token.text;
    if (!is(token, "::"))
      words.push_back(token.text);
  }
  if (array) {
    parameter.pointer = true;
    type += "*";
  }
  parameter.type = type;
  if (parameter.pointer || reference)
    return parameter;
  // `std::int64_t` is `int64_t`.
  if (words.size() == 2 && words[0] == "std")
    words.erase(words.begin());
  if (words.size() == 1) {
    auto named = named_types().find(words[0]);
    if (named != named_types().end()) {
      parameter.value_type = named->second;
      return parameter;
    }
  }
  parameter.value_type = builtin_type(words);
  return parameter;
}

// Parameters between the parentheses at `open` and `close`.
std::vector<KernelParameter> parameters(const std::vector<Token>& tokens, size_t open,
                                        size_t close) {
  std::vector<KernelParameter> result;
  std::vector<Token> current;
  int depth = 0;
  for (size_t i = open + 1; i < close; ++i) {
    const Token& token = tokens[i];
    if (is(token, "(") || is(token, "[") || is(token, "<") || is(token, "{"))
      ++depth;
    if (is(token, ")") || is(token, "]") || is(token, ">") || is(token, "}"))
      --depth;
    if (depth == 0 && is(token, ",")) {
      result.push_back(classify_parameter(current));
      current.clear();
      continue;
    }
    current.push_back(token);
  }
  if (!current.empty() && !(current.size() == 1 && is(current[0], "void")))
    result.push_back(classify_parameter(current));
  return result;
}

const std::array<std::string_view, 8> kSkippedAfterGlobal = {
    "void",         "static",          "inline", "__inline__",
    "__noinline__", "__forceinline__", "extern", "__device__"};

}  // namespace

std::string_view scalar_type_name(ScalarType type) {
  return info(type).name;
}

std::optional<ScalarType> scalar_type_from_name(std::string_view name) {
  for (const ScalarTypeInfo& entry : kScalarTypes) {
    if (entry.name == name)
      return entry.type;
  }
  return std::nullopt;
}

size_t scalar_type_size(ScalarType type) {
  return info(type).size;
}
bool scalar_type_is_floating(ScalarType type) {
  return info(type).floating;
}
bool scalar_type_is_signed(ScalarType type) {
  return info(type).is_signed;
}

std::string KernelParameter::describe(size_t index) const {
  std::string text = "parameter " + std::to_string(index + 1);
  if (!name.empty())
    text += " '" + name + "'";
  return text + " (" + type + ")";
}

std::vector<KernelDeclaration> find_kernel_declarations(const SourceText& source) {
  std::vector<Token> tokens = tokenize(source.text());
  // Every pass below is linear in the number of tokens, whatever the source: brackets are
  // matched once up front, the statement's `extern "C"` and `template` are noted as the scan
  // passes them, and names are deduplicated through a hash set.
  std::vector<size_t> closing = matching_brackets(tokens);
  std::vector<KernelDeclaration> kernels;
  std::unordered_set<std::string> names;
  // One entry per open brace: whether it opened an `extern "C" { ... }` block.
  std::vector<bool> braces;
  size_t extern_c_blocks = 0;
  size_t statement_start = 0;
  bool statement_extern_c = false;            // `extern "C"` since statement_start
  size_t statement_template = tokens.size();  // the first `template` since statement_start
  size_t noted = 0;                           // tokens before this are counted in the two above
  auto start_statement = [&](size_t at) {
    statement_start = at;
    statement_extern_c = false;
    statement_template = tokens.size();
    noted = at;
  };
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    if (is(token, "{")) {
      bool block = i >= 2 && is(tokens[i - 2], "extern") && is(tokens[i - 1], "\"C\"");
      braces.push_back(block);
      extern_c_blocks += block ? 1 : 0;
      start_statement(i + 1);
      continue;
    }
    if (is(token, "}")) {
      if (!braces.empty()) {
        extern_c_blocks -= braces.back() ? 1 : 0;
        braces.pop_back();
      }
      start_statement(i + 1);
      continue;
    }
    if (is(token, ";")) {
      start_statement(i + 1);
      continue;
    }
    if (!is(token, "__global__"))
      continue;
    for (; noted < i; ++noted) {
      if (is(tokens[noted], "extern") && noted + 1 < i && is(tokens[noted + 1], "\"C\""))
        statement_extern_c = true;
      if (is(tokens[noted], "template") && statement_template == tokens.size())
        statement_template = noted;
    }
    KernelDeclaration kernel;
    kernel.extern_c = extern_c_blocks > 0 || statement_extern_c;
    size_t template_at = statement_template;
    // Skip attributes and the return type up to the name, the identifier before '('.
    size_t at = i + 1;
    while (at < tokens.size()) {
      const Token& next = tokens[at];
      if ((is(next, "__launch_bounds__") || is(next, "__maxnreg__") ||
           is(next, "__cluster_dims__") || is(next, "__attribute__")) &&
          at + 1 < tokens.size() && is(tokens[at + 1], "(")) {
        at = closing[at + 1] + 1;
        continue;
      }
      if (is(next, "[") && at + 1 < tokens.size() && is(tokens[at + 1], "[")) {
        at = closing[at] + 1;
        continue;
      }
      if (std::find(kSkippedAfterGlobal.begin(), kSkippedAfterGlobal.end(), next.text) !=
          kSkippedAfterGlobal.end()) {
        ++at;
        continue;
      }
      break;
    }
    if (at + 1 >= tokens.size() || tokens[at].kind != Token::Kind::kIdentifier ||
        !is(tokens[at + 1], "("))
      continue;  // not a shape this reader knows; NVRTC will judge it
    kernel.name = tokens[at].text;
    kernel.location = source.location(tokens[at].offset);
    if (template_at != tokens.size()) {
      kernel.template_kernel = true;
      if (kernel.extern_c)
        throw PlanError(source.location(tokens[template_at].offset) + ": kernel '" + kernel.name +
                        "' is an extern \"C\" template; C linkage cannot be templated, so "
                        "give each instantiation its own extern \"C\" kernel");
    }
    size_t close = closing[at + 1];
    if (close == tokens.size())
      throw PlanError(source.location(tokens[at + 1].offset) + ": the parameter list of kernel '" +
                      kernel.name + "' is not closed");
    kernel.parameters = parameters(tokens, at + 1, close);
    if (names.insert(kernel.name).second)
      kernels.push_back(std::move(kernel));
    i = close;
  }
  return kernels;
}

const KernelDeclaration* find_kernel(const std::vector<KernelDeclaration>& kernels,
                                     std::string_view name) {
  for (const KernelDeclaration& kernel : kernels) {
    if (kernel.name == name)
      return &kernel;
  }
  return nullptr;
}

}  // namespace kforge
