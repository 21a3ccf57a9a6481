#include "datasets/export/source_tokens.hpp"

#include <array>
#include <cctype>

namespace kforge::dataset {
namespace {

bool is_identifier_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_identifier_part(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

enum class TokenKind { kIdentifier, kNumber, kString, kPunctuation };

// Splits `source` into tokens, skipping whitespace and comments. `python` selects `#` comments
// and triple-quoted strings; otherwise `//` and `/* */` comments, where a block comment that
// starts with `kforge:launch` is tokenised instead of skipped.
template <typename Emit>
void tokenize(std::string_view source, bool python, Emit&& emit) {
  size_t i = 0;
  const size_t n = source.size();
  while (i < n) {
    char c = source[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (python && c == '#') {
      while (i < n && source[i] != '\n')
        ++i;
    } else if (!python && c == '/' && i + 1 < n && source[i + 1] == '/') {
      while (i < n && source[i] != '\n')
        ++i;
    } else if (!python && c == '/' && i + 1 < n && source[i + 1] == '*') {
      size_t end = source.find("*/", i + 2);
      size_t body_end = end == std::string_view::npos ? n : end;
      std::string_view body = source.substr(i + 2, body_end - i - 2);
      size_t first = body.find_first_not_of(" \t\r\n");
      if (first != std::string_view::npos && body.substr(first).starts_with("kforge:launch"))
        tokenize(body.substr(first), false, emit);
      i = end == std::string_view::npos ? n : end + 2;
    } else if (is_identifier_start(c)) {
      size_t start = i;
      while (i < n && is_identifier_part(source[i]))
        ++i;
      // Python string prefixes (r"", f"", b"") belong to the string that follows.
      if (python && i < n && (source[i] == '"' || source[i] == '\'') && i - start <= 2)
        continue;
      emit(TokenKind::kIdentifier, source.substr(start, i - start));
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < n && std::isdigit(static_cast<unsigned char>(source[i + 1])))) {
      size_t start = i;
      while (i < n && (is_identifier_part(source[i]) || source[i] == '.' ||
                       ((source[i] == '+' || source[i] == '-') &&
                        (source[i - 1] == 'e' || source[i - 1] == 'E'))))
        ++i;
      emit(TokenKind::kNumber, source.substr(start, i - start));
    } else if (c == '"' || c == '\'') {
      size_t start = i;
      bool triple = python && i + 2 < n && source[i + 1] == c && source[i + 2] == c;
      if (triple) {
        size_t end = source.find(std::string(3, c), i + 3);
        i = end == std::string_view::npos ? n : end + 3;
      } else {
        ++i;
        while (i < n && source[i] != c && source[i] != '\n') {
          if (source[i] == '\\')
            ++i;
          ++i;
        }
        i = std::min(n, i + 1);
      }
      emit(TokenKind::kString, source.substr(start, i - start));
    } else {
      emit(TokenKind::kPunctuation, source.substr(i, 1));
      ++i;
    }
  }
}

bool is_python_keyword(std::string_view word) {
  static constexpr std::array<std::string_view, 35> kKeywords = {
      "False", "None",     "True",  "and",    "as",   "assert", "async",  "await",    "break",
      "class", "continue", "def",   "del",    "elif", "else",   "except", "finally",  "for",
      "from",  "global",   "if",    "import", "in",   "is",     "lambda", "nonlocal", "not",
      "or",    "pass",     "raise", "return", "try",  "while",  "with",   "yield"};
  for (std::string_view keyword : kKeywords) {
    if (keyword == word)
      return true;
  }
  return false;
}

}  // namespace

uint64_t mix_hash(uint64_t value) {
  // splitmix64's finaliser: spreads every input bit over the output.
  value ^= value >> 30;
  value *= 0xbf58476d1ce4e5b9ULL;
  value ^= value >> 27;
  value *= 0x94d049bb133111ebULL;
  value ^= value >> 31;
  return value;
}

uint64_t stable_hash(std::string_view text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return mix_hash(hash);
}

std::vector<std::string> cuda_tokens(std::string_view source) {
  std::vector<std::string> tokens;
  tokenize(source, false, [&](TokenKind, std::string_view token) { tokens.emplace_back(token); });
  return tokens;
}

std::string normalized_cuda(std::string_view source) {
  std::string normalized;
  normalized.reserve(source.size());
  tokenize(source, false, [&](TokenKind, std::string_view token) {
    if (!normalized.empty())
      normalized += ' ';
    normalized += token;
  });
  return normalized;
}

std::vector<std::string> normalized_python_tokens(std::string_view source) {
  std::vector<std::string> tokens;
  tokenize(source, true, [&](TokenKind kind, std::string_view token) {
    switch (kind) {
      case TokenKind::kString:
        tokens.emplace_back("STR");
        return;
      case TokenKind::kNumber:
        tokens.emplace_back("NUM");
        return;
      case TokenKind::kPunctuation:
        tokens.emplace_back(token);
        return;
      case TokenKind::kIdentifier:
        break;
    }
    if (is_python_keyword(token)) {
      tokens.emplace_back(token);
      return;
    }
    size_t count = tokens.size();
    bool attribute = count >= 1 && tokens[count - 1] == ".";
    bool through_self = count >= 2 && tokens[count - 2] == "self";
    tokens.emplace_back(attribute && !through_self ? std::string(token) : std::string("ID"));
    // `self` itself is an identifier like any other once the rule above has seen it.
    if (token == "self")
      tokens.back() = "self";
  });
  for (std::string& token : tokens) {
    if (token == "self")
      token = "ID";
  }
  return tokens;
}

std::vector<uint64_t> shingle_hashes(const std::vector<std::string>& tokens, int n) {
  std::vector<uint64_t> token_hashes;
  token_hashes.reserve(tokens.size());
  for (const std::string& token : tokens)
    token_hashes.push_back(stable_hash(token));
  std::vector<uint64_t> shingles;
  size_t width = static_cast<size_t>(std::max(1, n));
  if (token_hashes.empty())
    return shingles;
  if (token_hashes.size() < width)
    width = token_hashes.size();
  shingles.reserve(token_hashes.size() - width + 1);
  for (size_t start = 0; start + width <= token_hashes.size(); ++start) {
    uint64_t hash = 0x9e3779b97f4a7c15ULL;
    for (size_t k = 0; k < width; ++k)
      hash = mix_hash(hash ^ token_hashes[start + k]) + k;
    shingles.push_back(hash);
  }
  return shingles;
}

}  // namespace kforge::dataset
