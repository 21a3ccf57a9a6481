#include "kforge/kernels/expression.hpp"

#include <cctype>
#include <cstdint>

#include "kforge/kernels/error.hpp"

namespace kforge::kernels {
namespace {

class Parser {
 public:
  Parser(const std::string& text, const ExpressionScope& scope) : text_(text), scope_(scope) {}

  int64_t parse() {
    const int64_t value = sum();
    skip_space();
    if (at_ < text_.size())
      fail("unexpected '" + std::string(1, text_[at_]) + "'");
    return value;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw KernelError(what + " at column " + std::to_string(at_ + 1), "expression '" + text_ + "'");
  }

  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_])))
      ++at_;
  }

  bool accept(char c) {
    skip_space();
    if (at_ < text_.size() && text_[at_] == c) {
      ++at_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c))
      fail(std::string("expected '") + c + "'");
  }

  // Separate statements: the result must be read after the builtin wrote it.
  int64_t add(int64_t a, int64_t b) const {
    int64_t result = 0;
    if (__builtin_add_overflow(a, b, &result))
      fail("64-bit overflow");
    return result;
  }
  int64_t subtract(int64_t a, int64_t b) const {
    int64_t result = 0;
    if (__builtin_sub_overflow(a, b, &result))
      fail("64-bit overflow");
    return result;
  }
  int64_t multiply(int64_t a, int64_t b) const {
    int64_t result = 0;
    if (__builtin_mul_overflow(a, b, &result))
      fail("64-bit overflow");
    return result;
  }

  int64_t sum() {
    int64_t value = product();
    for (;;) {
      if (accept('+'))
        value = add(value, product());
      else if (accept('-'))
        value = subtract(value, product());
      else
        return value;
    }
  }

  int64_t divide(int64_t value, int64_t divisor, bool modulo) const {
    if (divisor == 0)
      fail("division by zero");
    if (value == INT64_MIN && divisor == -1)
      fail("64-bit overflow");
    return modulo ? value % divisor : value / divisor;
  }

  int64_t product() {
    int64_t value = unary();
    for (;;) {
      if (accept('*')) {
        value = multiply(value, unary());
      } else if (accept('/')) {
        value = divide(value, unary(), false);
      } else if (accept('%')) {
        value = divide(value, unary(), true);
      } else {
        return value;
      }
    }
  }

  int64_t unary() {
    if (accept('-')) {
      return subtract(0, unary());
    }
    return primary();
  }

  int64_t primary() {
    skip_space();
    if (accept('(')) {
      const int64_t value = sum();
      expect(')');
      return value;
    }
    if (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_]))) {
      int64_t value = 0;
      while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_]))) {
        int64_t result = 0;
        if (__builtin_mul_overflow(value, 10, &result) ||
            __builtin_add_overflow(result, text_[at_] - '0', &value))
          fail("literal out of 64-bit range");
        ++at_;
      }
      return value;
    }
    const size_t start = at_;
    while (at_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[at_])) ||
                                  text_[at_] == '_' || text_[at_] == '.'))
      ++at_;
    if (start == at_)
      fail("expected a number, a name or '('");
    std::string name = text_.substr(start, at_ - start);
    if (name == "ceil_div" || name == "min" || name == "max") {
      expect('(');
      const int64_t a = sum();
      expect(',');
      const int64_t b = sum();
      expect(')');
      if (name == "min")
        return a < b ? a : b;
      if (name == "max")
        return a > b ? a : b;
      if (b == 0)
        fail("ceil_div by zero");
      return a / b + ((a % b != 0) && ((a < 0) == (b < 0)) ? 1 : 0);
    }
    const auto ends_with = [&](const std::string& suffix) {
      return name.size() > suffix.size() &&
             name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    if (ends_with(".numel") || ends_with(".shape")) {
      const bool numel = ends_with(".numel");
      const std::string tensor = name.substr(0, name.size() - 6);
      const std::optional<std::vector<int64_t>> shape = scope_.shape(tensor);
      if (!shape)
        fail("'" + tensor + "' is not a tensor argument");
      if (numel) {
        int64_t count = 1;
        for (int64_t extent : *shape) {
          count = multiply(count, extent);
        }
        return count;
      }
      expect('[');
      const int64_t index = sum();
      expect(']');
      if (index < 0 || index >= static_cast<int64_t>(shape->size())) {
        at_ = start;
        fail("'" + tensor + "' has " + std::to_string(shape->size()) + " dimensions, not index " +
             std::to_string(index));
      }
      return (*shape)[static_cast<size_t>(index)];
    }
    const std::optional<int64_t> value = scope_.value(name);
    if (!value)
      fail("unknown name '" + name + "'");
    return *value;
  }

  const std::string& text_;
  const ExpressionScope& scope_;
  size_t at_ = 0;
};

}  // namespace

int64_t evaluate_expression(const std::string& text, const ExpressionScope& scope) {
  return Parser(text, scope).parse();
}

}  // namespace kforge::kernels
