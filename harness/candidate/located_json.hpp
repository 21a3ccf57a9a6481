// A small JSON reader that remembers where every value starts in the candidate file, so that a
// launch plan error can name the line and column of the value that is wrong (nlohmann::json
// reports a byte offset for syntax errors but keeps no positions for values). It also rejects
// duplicate keys, which nlohmann::json would silently resolve to the last one.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "harness/candidate/source_text.hpp"

namespace kforge {

struct LocatedJsonMember;

struct LocatedJson {
  enum class Kind { kNull, kBoolean, kInteger, kNumber, kString, kArray, kObject };

  Kind kind = Kind::kNull;
  size_t offset = 0;  // file offset of the value's first character
  bool boolean = false;
  int64_t integer = 0;  // kInteger: a number without fraction or exponent that fits int64
  double number = 0;    // kInteger and kNumber
  std::string string;
  TextOrigin string_origin;  // kString: where each character of `string` came from
  std::vector<LocatedJson> items;
  std::vector<LocatedJsonMember> members;

  // "an array", "a string", ... for messages.
  std::string kind_name() const;
  const LocatedJson* find(std::string_view key) const;
};

struct LocatedJsonMember {
  std::string key;
  size_t key_offset = 0;
  LocatedJson value;
};

// Parses the JSON text at [begin, end) of `source`; nothing but whitespace may follow it.
// Throws PlanError naming file:line:column for a syntax error or a duplicate key.
LocatedJson parse_located_json(const std::shared_ptr<const SourceText>& source, size_t begin,
                               size_t end);

// The same tree for JSON that has no file (a plan read back from the store): no positions.
LocatedJson located_from_json(const nlohmann::json& json);

}  // namespace kforge
