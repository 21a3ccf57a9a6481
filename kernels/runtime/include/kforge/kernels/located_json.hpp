// The launch plan's JSON reader, the one both readers of a plan share: kforge's candidate parser
// (harness/candidate/, which checks a kernel before it is shipped) and this library's
// parse_kernel_file (which reads it when the shipped kernel runs). It remembers where every value
// starts in the file, so that an error can name the line and column of the value that is wrong
// (nlohmann::json keeps no positions for values), and it is strict where nlohmann::json is not:
// a duplicate key is refused (not resolved to the last one), and an integer that does not fit 64
// bits is a number, not an integer (not wrapped).
//
// A problem is a PlanProblem: the byte offset it is about and a complete message in this
// library's words; a few kinds carry their parts, so that kforge can word them its own way
// ("did you mean", a character that is not ASCII shown as itself).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kforge/kernels/expression.hpp"

namespace kforge::kernels {

struct LocatedJsonMember;

struct LocatedJson {
  enum class Kind { kNull, kBoolean, kInteger, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  size_t offset = 0;  // offset of the value's first character in the text it was read from
  bool boolean = false;
  int64_t integer = 0;  // kInteger: a number without fraction or exponent that fits int64
  double number = 0;    // kInteger and kNumber
  std::string string;
  // kString: the offset each character of `string` came from, plus one past its closing quote
  // (escapes make the map uneven). Empty for a tree that was not read from text.
  std::vector<size_t> string_offsets;
  std::vector<LocatedJson> items;
  std::vector<LocatedJsonMember> members;  // in the order the object lists them

  // "an array", "a string", ... for messages.
  std::string kind_name() const;
  const LocatedJson* find(std::string_view key) const;
};

struct LocatedJsonMember {
  std::string key;
  size_t key_offset = 0;
  LocatedJson value;
};

// An expression of a plan as its reader found it: the text, its role in messages ("kernel 'k'
// grid[0]"), where each character came from (plus one past the end; empty without a file),
// and the parsed tree.
struct PlanExpression {
  std::string text;
  std::string context;
  std::vector<size_t> offsets;
  ExpressionTree tree;
};

// Why plan text could not be read, and where: `what` is the whole message.
struct PlanProblem {
  enum class Kind { kOther, kUnknownName, kUnexpectedCharacter, kExpression };
  Kind kind = Kind::kOther;
  size_t offset = 0;  // the byte of the text the problem is about
  std::string what;
  // kUnknownName: "unknown <name_kind> '<unknown>' (allowed: <allowed>)". Also set for a
  // kExpression whose failure is such a name (a constraint reading what is not a define).
  std::string name_kind;
  std::string unknown;
  std::vector<std::string> allowed;
  // kUnexpectedCharacter: <before><the character at `character`><after>.
  size_t character = 0;
  std::string before;
  std::string after;
  // kExpression: the expression that does not parse, and why (`failure.at` counts characters of
  // `expression.text`).
  PlanExpression expression;
  ExpressionFailure failure;
};

// Reads the JSON value in [begin, end) of `text`; nothing but white space may follow it.
// Throws PlanProblem for a syntax error, a duplicate key or nesting deeper than 64.
LocatedJson parse_located_json(std::string_view text, size_t begin, size_t end);

}  // namespace kforge::kernels
