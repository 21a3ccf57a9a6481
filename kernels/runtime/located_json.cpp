#include "kforge/kernels/located_json.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <tuple>
#include <unordered_set>

#include "text_position.hpp"

namespace kforge::kernels {
namespace {

constexpr int kMaxDepth = 64;

class Reader {
 public:
  Reader(std::string_view text, size_t begin, size_t end)
      : text_(text), position_(begin), end_(std::min(end, text.size())) {}

  LocatedJson document() {
    LocatedJson value = read_value(0);
    skip_space();
    if (position_ < end_)
      fail(position_, "unexpected text after the JSON value");
    return value;
  }

 private:
  [[noreturn]] void fail(size_t offset, const std::string& message) const {
    PlanProblem problem;
    problem.offset = offset;
    problem.what = message;
    throw problem;
  }

  // <before><the character at `character`><after>, about `offset`.
  [[noreturn]] void fail_at_character(size_t offset, size_t character, const std::string& before,
                                      const std::string& after) const {
    PlanProblem problem;
    problem.kind = PlanProblem::Kind::kUnexpectedCharacter;
    problem.offset = offset;
    problem.character = character;
    problem.before = before;
    problem.after = after;
    problem.what = before + shown_character(text_, character) + after;
    throw problem;
  }

  void skip_space() {
    while (position_ < end_ && (text_[position_] == ' ' || text_[position_] == '\t' ||
                                text_[position_] == '\n' || text_[position_] == '\r'))
      ++position_;
  }

  char peek() const { return position_ < end_ ? text_[position_] : '\0'; }

  void expect(char wanted, const char* what) {
    skip_space();
    if (peek() != wanted) {
      fail(position_,
           std::string("expected ") + what + (position_ < end_ ? "" : " before the end"));
    }
    ++position_;
  }

  LocatedJson read_value(int depth) {
    skip_space();
    if (depth > kMaxDepth)
      fail(position_, "JSON nested too deeply");
    if (position_ >= end_)
      fail(position_, "expected a JSON value before the end of the comment");
    char c = text_[position_];
    if (c == '{')
      return read_object(depth);
    if (c == '[')
      return read_array(depth);
    if (c == '"')
      return read_string();
    if (c == '-' || (c >= '0' && c <= '9'))
      return read_number();
    for (auto [word, kind, truth] : {std::tuple{"true", LocatedJson::Kind::kBoolean, true},
                                     std::tuple{"false", LocatedJson::Kind::kBoolean, false},
                                     std::tuple{"null", LocatedJson::Kind::kNull, false}}) {
      std::string_view literal(word);
      if (text_.substr(position_, literal.size()) == literal &&
          position_ + literal.size() <= end_) {
        LocatedJson value;
        value.kind = kind;
        value.boolean = truth;
        value.offset = position_;
        position_ += literal.size();
        return value;
      }
    }
    if (c == '\'')
      fail(position_, "JSON strings take double quotes, not single quotes");
    fail_at_character(position_, position_, "unexpected character '",
                      "' where a JSON value belongs");
  }

  LocatedJson read_object(int depth) {
    LocatedJson object;
    object.kind = LocatedJson::Kind::kObject;
    object.offset = position_++;
    std::unordered_set<std::string> keys;  // a hash set: an object of n keys costs O(n)
    skip_space();
    if (peek() == '}') {
      ++position_;
      return object;
    }
    while (true) {
      skip_space();
      if (peek() != '"') {
        if (peek() == '}')
          fail(position_, "trailing comma before '}' (JSON allows none)");
        fail(position_, "expected a key in double quotes");
      }
      LocatedJson key = read_string();
      if (!keys.insert(key.string).second)
        fail(key.offset, "duplicate key \"" + key.string + "\"");
      expect(':', "':' after the key");
      LocatedJsonMember member;
      member.key = key.string;
      member.key_offset = key.offset;
      member.value = read_value(depth + 1);
      object.members.push_back(std::move(member));
      skip_space();
      if (peek() == ',') {
        ++position_;
        continue;
      }
      if (peek() == '}') {
        ++position_;
        return object;
      }
      fail(position_, "expected ',' or '}' in the object");
    }
  }

  LocatedJson read_array(int depth) {
    LocatedJson array;
    array.kind = LocatedJson::Kind::kArray;
    array.offset = position_++;
    skip_space();
    if (peek() == ']') {
      ++position_;
      return array;
    }
    while (true) {
      skip_space();
      if (peek() == ']')
        fail(position_, "trailing comma before ']' (JSON allows none)");
      array.items.push_back(read_value(depth + 1));
      skip_space();
      if (peek() == ',') {
        ++position_;
        continue;
      }
      if (peek() == ']') {
        ++position_;
        return array;
      }
      fail(position_, "expected ',' or ']' in the array");
    }
  }

  static void append_utf8(std::string& out, uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  uint32_t read_hex4(size_t at) {
    if (at + 4 > end_)
      fail(at, "\\u needs four hexadecimal digits");
    uint32_t code = 0;
    auto [next, status] = std::from_chars(text_.data() + at, text_.data() + at + 4, code, 16);
    if (status != std::errc() || next != text_.data() + at + 4)
      fail(at, "\\u needs four hexadecimal digits");
    return code;
  }

  LocatedJson read_string() {
    LocatedJson value;
    value.kind = LocatedJson::Kind::kString;
    value.offset = position_++;
    while (true) {
      if (position_ >= end_)
        fail(value.offset, "string is not closed");
      char c = text_[position_];
      if (c == '"')
        break;
      if (c == '\n' || static_cast<unsigned char>(c) < 0x20)
        fail(position_, "control character or line break inside a string");
      size_t start = position_;
      if (c != '\\') {
        value.string += c;
        value.string_offsets.push_back(start);
        ++position_;
        continue;
      }
      if (position_ + 1 >= end_)
        fail(start, "string is not closed");
      char escape = text_[position_ + 1];
      position_ += 2;
      size_t before = value.string.size();
      switch (escape) {
        case '"':
        case '\\':
        case '/':
          value.string += escape;
          break;
        case 'b':
          value.string += '\b';
          break;
        case 'f':
          value.string += '\f';
          break;
        case 'n':
          value.string += '\n';
          break;
        case 'r':
          value.string += '\r';
          break;
        case 't':
          value.string += '\t';
          break;
        case 'u': {
          uint32_t code = read_hex4(position_);
          position_ += 4;
          if (code >= 0xD800 && code < 0xDC00 && position_ + 1 < end_ && text_[position_] == '\\' &&
              text_[position_ + 1] == 'u') {
            uint32_t low = read_hex4(position_ + 2);
            if (low >= 0xDC00 && low < 0xE000) {
              code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
              position_ += 6;
            }
          }
          if (code >= 0xD800 && code < 0xE000)
            fail(start, "\\u escape of a lone surrogate, which is not a character");
          append_utf8(value.string, code);
          break;
        }
        default:
          fail_at_character(start, start + 1, "unknown escape '\\", "' in a string");
      }
      for (size_t i = before; i < value.string.size(); ++i)
        value.string_offsets.push_back(start);
    }
    value.string_offsets.push_back(position_);
    ++position_;
    return value;
  }

  LocatedJson read_number() {
    LocatedJson value;
    value.offset = position_;
    size_t at = position_;
    if (text_[at] == '-')
      ++at;
    auto digits = [&] {
      size_t first = at;
      while (at < end_ && text_[at] >= '0' && text_[at] <= '9')
        ++at;
      return at - first;
    };
    size_t integer_digits = digits();
    if (integer_digits == 0)
      fail(value.offset, "malformed number");
    if (integer_digits > 1 && text_[at - integer_digits] == '0')
      fail(value.offset, "numbers may not have leading zeros");
    bool fraction = false;
    if (at < end_ && text_[at] == '.') {
      ++at;
      fraction = true;
      if (digits() == 0)
        fail(value.offset, "malformed number");
    }
    if (at < end_ && (text_[at] == 'e' || text_[at] == 'E')) {
      ++at;
      fraction = true;
      if (at < end_ && (text_[at] == '+' || text_[at] == '-'))
        ++at;
      if (digits() == 0)
        fail(value.offset, "malformed number");
    }
    std::string literal(text_.substr(position_, at - position_));
    position_ = at;
    value.number = std::strtod(literal.c_str(), nullptr);
    value.kind = LocatedJson::Kind::kNumber;
    if (!fraction) {
      auto [next, status] =
          std::from_chars(literal.data(), literal.data() + literal.size(), value.integer);
      if (status == std::errc())
        value.kind = LocatedJson::Kind::kInteger;
    }
    return value;
  }

  std::string_view text_;
  size_t position_;
  size_t end_;
};

}  // namespace

std::string LocatedJson::kind_name() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBoolean:
      return "a boolean";
    case Kind::kInteger:
      return "an integer";
    case Kind::kNumber:
      return "a number";
    case Kind::kString:
      return "a string";
    case Kind::kArray:
      return "an array";
    case Kind::kObject:
      return "an object";
  }
  return "?";
}

const LocatedJson* LocatedJson::find(std::string_view key) const {
  for (const LocatedJsonMember& member : members) {
    if (member.key == key)
      return &member.value;
  }
  return nullptr;
}

LocatedJson parse_located_json(std::string_view text, size_t begin, size_t end) {
  return Reader(text, begin, end).document();
}

}  // namespace kforge::kernels
