// One parse into a tree, evaluated as many times as there are shapes; every failure names the
// character where it happened.
#include "kforge/kernels/expression.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>

#include "kforge/kernels/error.hpp"
#include "text_position.hpp"

namespace kforge::kernels {

struct ExpressionTree::Node {
  enum class Kind { kLiteral, kName, kShape, kNumel, kNegate, kNot, kBinary, kCall };
  Kind kind = Kind::kLiteral;
  size_t begin = 0;  // characters [begin, end) of the expression text
  size_t end = 0;
  size_t operator_at = 0;  // kBinary, kCall, kShape: where the operator/call/index is
  int64_t literal = 0;
  std::string name;  // kName, kShape, kNumel: the tensor or value; kCall: the function
  int64_t shape_index = 0;
  char operation = 0;  // kBinary: + - * / %, or in conditions < > l (<=) g (>=) = (==) ! (!=)
                       // & (&&) | (||); kNot is its own kind
  std::vector<std::shared_ptr<const Node>> children;
};

namespace {

using Node = ExpressionTree::Node;
using NodePointer = std::shared_ptr<const Node>;

constexpr size_t kMaxLength = 2000;
constexpr int kMaxDepth = 64;

const std::array<std::string, 3> kFunctions = {"ceil_div", "min", "max"};

bool is_name_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
}

// Everything a failure needs to point into the expression.
struct Place {
  const std::string& text;

  [[noreturn]] void fail(size_t at, const std::string& what) const {
    ExpressionFailure failure;
    failure.at = at;
    failure.what = what;
    throw failure;
  }
  [[noreturn]] void unexpected(size_t at, const std::string& suffix) const {
    ExpressionFailure failure;
    failure.kind = ExpressionFailure::Kind::kUnexpectedCharacter;
    failure.at = at;
    failure.what = "unexpected '" + shown_character(text, at) + "'" + suffix;
    failure.suffix = suffix;
    throw failure;
  }
  [[noreturn]] void unknown(size_t at, ExpressionFailure::Kind kind, const std::string& name,
                            std::vector<std::string> known) const {
    ExpressionFailure failure;
    failure.kind = kind;
    failure.at = at;
    failure.what = std::string("unknown ") +
                   (kind == ExpressionFailure::Kind::kUnknownFunction ? "function" : "name") +
                   " '" + name + "'";
    failure.unknown = name;
    failure.known = std::move(known);
    throw failure;
  }
  std::string part(const Node& node) const {
    return text.substr(node.begin, node.end - node.begin);
  }
};

class Parser {
 public:
  Parser(const Place& place, bool conditions)
      : place_(place), text_(place.text), conditions_(conditions) {}

  NodePointer whole() {
    if (text_.size() > kMaxLength)
      place_.fail(0, "longer than " + std::to_string(kMaxLength) + " characters");
    skip_space();
    if (at_ == text_.size())
      place_.fail(0, "empty expression");
    NodePointer root = top(0);
    skip_space();
    if (at_ < text_.size()) {
      if (text_[at_] == ')')
        place_.fail(at_, "')' without a matching '('");
      place_.unexpected(at_, " after a complete expression");
    }
    return root;
  }

 private:
  void skip_space() {
    while (at_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[at_])))
      ++at_;
  }

  NodePointer binary(char operation, size_t operator_at, NodePointer left, NodePointer right) {
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kBinary;
    node->operation = operation;
    node->operator_at = operator_at;
    node->begin = left->begin;
    node->end = right->end;
    node->children = {std::move(left), std::move(right)};
    return node;
  }

  // The whole grammar's entry: a sum, or in a condition the logical operators over it.
  NodePointer top(int depth) { return conditions_ ? disjunction(depth) : sum(depth); }

  // Two-character operators of conditions, read at at_: the code stored in the node.
  bool take(const char* spelling) {
    size_t length = std::char_traits<char>::length(spelling);
    if (text_.compare(at_, length, spelling) != 0)
      return false;
    at_ += length;
    return true;
  }

  NodePointer disjunction(int depth) {
    NodePointer left = conjunction(depth);
    while (true) {
      skip_space();
      size_t operator_at = at_;
      if (!take("||")) {
        if (at_ < text_.size() && text_[at_] == '|')
          place_.fail(at_, "'|' is not an operator; write '||'");
        return left;
      }
      left = binary('|', operator_at, left, conjunction(depth));
    }
  }

  NodePointer conjunction(int depth) {
    NodePointer left = equality(depth);
    while (true) {
      skip_space();
      size_t operator_at = at_;
      if (!take("&&")) {
        if (at_ < text_.size() && text_[at_] == '&')
          place_.fail(at_, "'&' is not an operator; write '&&'");
        return left;
      }
      left = binary('&', operator_at, left, equality(depth));
    }
  }

  NodePointer equality(int depth) {
    NodePointer left = relation(depth);
    while (true) {
      skip_space();
      size_t operator_at = at_;
      char operation = take("==") ? '=' : take("!=") ? '!' : 0;
      if (!operation) {
        if (at_ < text_.size() && text_[at_] == '=')
          place_.fail(at_, "'=' is not an operator; write '=='");
        return left;
      }
      left = binary(operation, operator_at, left, relation(depth));
    }
  }

  NodePointer relation(int depth) {
    NodePointer left = sum(depth);
    while (true) {
      skip_space();
      size_t operator_at = at_;
      char operation = take("<=") ? 'l' : take(">=") ? 'g' : take("<") ? '<' : take(">") ? '>' : 0;
      if (!operation)
        return left;
      left = binary(operation, operator_at, left, sum(depth));
    }
  }

  NodePointer sum(int depth) {
    NodePointer left = product(depth);
    while (true) {
      skip_space();
      if (at_ < text_.size() && (text_[at_] == '+' || text_[at_] == '-')) {
        char operation = text_[at_];
        size_t operator_at = at_++;
        left = binary(operation, operator_at, left, product(depth));
      } else {
        return left;
      }
    }
  }

  NodePointer product(int depth) {
    NodePointer left = unary(depth);
    while (true) {
      skip_space();
      if (at_ < text_.size() && (text_[at_] == '*' || text_[at_] == '/' || text_[at_] == '%')) {
        char operation = text_[at_];
        size_t operator_at = at_++;
        left = binary(operation, operator_at, left, unary(depth));
      } else {
        return left;
      }
    }
  }

  NodePointer unary(int depth) {
    if (depth > kMaxDepth)
      place_.fail(at_, "nested more than " + std::to_string(kMaxDepth) + " levels deep");
    skip_space();
    if (at_ < text_.size() && text_[at_] == '-') {
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNegate;
      node->begin = at_++;
      node->children = {unary(depth + 1)};
      node->end = node->children[0]->end;
      return node;
    }
    if (conditions_ && at_ < text_.size() && text_[at_] == '!' &&
        !(at_ + 1 < text_.size() && text_[at_ + 1] == '=')) {
      auto node = std::make_shared<Node>();
      node->kind = Node::Kind::kNot;
      node->begin = at_++;
      node->children = {unary(depth + 1)};
      node->end = node->children[0]->end;
      return node;
    }
    return primary(depth);
  }

  NodePointer primary(int depth) {
    skip_space();
    if (at_ >= text_.size())
      place_.fail(at_, "expression ends where a value was expected");
    char c = text_[at_];
    if (c == '(') {
      size_t open = at_++;
      NodePointer inner = top(depth + 1);
      skip_space();
      if (at_ >= text_.size() || text_[at_] != ')')
        place_.fail(open, "'(' is not closed");
      ++at_;
      auto node = std::make_shared<Node>(*inner);
      node->begin = open;
      node->end = at_;
      return node;
    }
    if (std::isdigit(static_cast<unsigned char>(c)))
      return number();
    if (is_name_start(c))
      return name_or_call(depth);
    if (c == '+')
      place_.fail(at_, "unary '+' is not part of the language");
    place_.unexpected(at_, " where a value was expected");
  }

  NodePointer number() {
    size_t begin = at_;
    while (at_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[at_])))
      ++at_;
    if (at_ < text_.size() && (text_[at_] == '.' || is_name_char(text_[at_])))
      place_.fail(begin, "only decimal integer literals are allowed");
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kLiteral;
    node->begin = begin;
    node->end = at_;
    auto [next, status] = std::from_chars(text_.data() + begin, text_.data() + at_, node->literal);
    if (status != std::errc())
      place_.fail(begin, "integer literal " + text_.substr(begin, at_ - begin) +
                             " does not fit in 64 bits");
    return node;
  }

  // A dotted name path, a function call, or a path ending in `.numel` / `.shape[i]`.
  NodePointer name_or_call(int depth) {
    size_t begin = at_;
    std::vector<std::pair<std::string, size_t>> segments;
    while (true) {
      size_t segment_begin = at_;
      while (at_ < text_.size() && is_name_char(text_[at_]))
        ++at_;
      segments.emplace_back(text_.substr(segment_begin, at_ - segment_begin), segment_begin);
      if (at_ + 1 < text_.size() && text_[at_] == '.' && is_name_char(text_[at_ + 1])) {
        ++at_;
        continue;
      }
      break;
    }
    auto node = std::make_shared<Node>();
    node->begin = begin;
    size_t after_name = at_;
    skip_space();
    if (segments.size() == 1 && at_ < text_.size() && text_[at_] == '(')
      return call(segments[0].first, begin, depth);
    at_ = after_name;
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      if (segments[i].first == "shape" || segments[i].first == "numel")
        place_.fail(segments[i].second, "'." + segments[i].first +
                                            "' must end the name (write NAME.shape[i] or "
                                            "NAME.numel)");
    }
    auto joined = [&](size_t count) {
      std::string name = segments[0].first;
      for (size_t i = 1; i < count; ++i)
        name += "." + segments[i].first;
      return name;
    };
    const auto& last = segments.back();
    if (segments.size() > 1 && last.first == "numel") {
      node->kind = Node::Kind::kNumel;
      node->name = joined(segments.size() - 1);
    } else if (segments.size() > 1 && last.first == "shape") {
      node->kind = Node::Kind::kShape;
      node->name = joined(segments.size() - 1);
      node->operator_at = last.second;
      skip_space();
      if (at_ >= text_.size() || text_[at_] != '[')
        place_.fail(last.second, "'.shape' needs an index: " + node->name + ".shape[i]");
      ++at_;
      skip_space();
      size_t index_at = at_;
      if (at_ < text_.size() && text_[at_] == '-')
        place_.fail(at_, "shape index must be a non-negative integer literal");
      if (at_ >= text_.size() || !std::isdigit(static_cast<unsigned char>(text_[at_])))
        place_.fail(at_, "shape index must be an integer literal");
      NodePointer index = number();
      node->shape_index = index->literal;
      node->operator_at = index_at;
      skip_space();
      if (at_ >= text_.size() || text_[at_] != ']')
        place_.fail(at_, "expected ']' after the shape index");
      ++at_;
    } else {
      if (segments[0].first == "shape" || segments[0].first == "numel") {
        // `shape[0]` alone: the tensor is missing.
        if (segments.size() == 1)
          place_.fail(begin, "'" + segments[0].first + "' needs a tensor: NAME." +
                                 segments[0].first + (segments[0].first == "shape" ? "[i]" : ""));
      }
      node->kind = Node::Kind::kName;
      node->name = joined(segments.size());
    }
    node->end = at_;
    return node;
  }

  NodePointer call(const std::string& function, size_t begin, int depth) {
    std::vector<std::string> allowed(kFunctions.begin(), kFunctions.end());
    if (std::find(allowed.begin(), allowed.end(), function) == allowed.end())
      place_.unknown(begin, ExpressionFailure::Kind::kUnknownFunction, function, allowed);
    ++at_;  // '('
    auto node = std::make_shared<Node>();
    node->kind = Node::Kind::kCall;
    node->name = function;
    node->begin = begin;
    node->operator_at = begin;
    skip_space();
    if (at_ < text_.size() && text_[at_] == ')')
      place_.fail(begin, function + " takes 2 arguments, not 0");
    while (true) {
      node->children.push_back(top(depth + 1));
      skip_space();
      if (at_ < text_.size() && text_[at_] == ',') {
        ++at_;
        continue;
      }
      if (at_ < text_.size() && text_[at_] == ')') {
        ++at_;
        break;
      }
      place_.fail(at_, "expected ',' or ')' in the arguments of " + function);
    }
    if (node->children.size() != 2)
      place_.fail(begin,
                  function + " takes 2 arguments, not " + std::to_string(node->children.size()));
    node->end = at_;
    return node;
  }

  const Place& place_;
  const std::string& text_;
  const bool conditions_;  // comparisons and logical operators allowed (constraints)
  size_t at_ = 0;
};

class Evaluator {
 public:
  Evaluator(const Place& place, const ExpressionEnvironment& environment)
      : place_(place), environment_(environment) {}

  int64_t value(const Node& node) const {
    switch (node.kind) {
      case Node::Kind::kLiteral:
        return node.literal;
      case Node::Kind::kName:
        return name_value(node);
      case Node::Kind::kShape: {
        const NamedValue& tensor = tensor_named(node, "shape");
        if (node.shape_index >= static_cast<int64_t>(tensor.shape.size()))
          place_.fail(node.operator_at,
                      "shape index " + std::to_string(node.shape_index) + " is out of range: '" +
                          node.name + "' has " + std::to_string(tensor.shape.size()) +
                          (tensor.shape.size() == 1 ? " dimension" : " dimensions"));
        return tensor.shape[node.shape_index];
      }
      case Node::Kind::kNumel: {
        const NamedValue& tensor = tensor_named(node, "numel");
        int64_t count = 1;
        for (int64_t extent : tensor.shape) {
          if (__builtin_mul_overflow(count, extent, &count))
            place_.fail(node.begin, "'" + node.name + "'.numel overflows 64-bit integers");
        }
        return count;
      }
      case Node::Kind::kNegate: {
        int64_t inner = value(*node.children[0]);
        int64_t result = 0;
        if (__builtin_sub_overflow(int64_t{0}, inner, &result))
          place_.fail(node.begin, "negating " + std::to_string(inner) + " overflows 64 bits");
        return result;
      }
      case Node::Kind::kNot:
        return value(*node.children[0]) == 0 ? 1 : 0;
      case Node::Kind::kBinary:
        return binary(node);
      case Node::Kind::kCall:
        return call(node);
    }
    return 0;
  }

 private:
  int64_t name_value(const Node& node) const {
    const NamedValue* named = lookup(node);
    if (!named->has_value)
      place_.fail(node.begin,
                  "the signature records no value for the " + named->role + " '" + node.name + "'");
    switch (named->kind) {
      case NamedValue::Kind::kInteger:
        return named->integer;
      case NamedValue::Kind::kFloat:
        place_.fail(node.begin, "'" + node.name + "' is a floating-point " + named->role +
                                    ", and expressions are integers");
      case NamedValue::Kind::kTensor:
        place_.fail(node.begin, "'" + node.name + "' is a tensor (" + named->role + "); use " +
                                    node.name + ".numel or " + node.name +
                                    ".shape[i] for its size");
    }
    return 0;
  }

  const NamedValue* lookup(const Node& node) const {
    const NamedValue* named = environment_.find(node.name);
    if (!named)
      place_.unknown(node.begin, ExpressionFailure::Kind::kUnknownName, node.name,
                     environment_.names());
    return named;
  }

  const NamedValue& tensor_named(const Node& node, const char* attribute) const {
    const NamedValue* named = lookup(node);
    if (named->kind != NamedValue::Kind::kTensor)
      place_.fail(node.begin, "'" + node.name + "' is a " + named->role +
                                  ", not a tensor, so it has no ." + attribute);
    return *named;
  }

  [[noreturn]] void overflow(const Node& node, int64_t left, int64_t right) const {
    place_.fail(node.operator_at, "'" + place_.part(node) + "' overflows 64-bit integers (" +
                                      std::to_string(left) + " " + node.operation + " " +
                                      std::to_string(right) + ")");
  }

  int64_t binary(const Node& node) const {
    // && and || evaluate their right side only when it decides, as in C.
    if (node.operation == '&' || node.operation == '|') {
      bool left = value(*node.children[0]) != 0;
      if (left == (node.operation == '|'))
        return left ? 1 : 0;
      return value(*node.children[1]) != 0 ? 1 : 0;
    }
    int64_t left = value(*node.children[0]);
    int64_t right = value(*node.children[1]);
    int64_t result = 0;
    switch (node.operation) {
      case '<':
        return left < right;
      case '>':
        return left > right;
      case 'l':
        return left <= right;
      case 'g':
        return left >= right;
      case '=':
        return left == right;
      case '!':
        return left != right;
      case '+':
        if (__builtin_add_overflow(left, right, &result))
          overflow(node, left, right);
        return result;
      case '-':
        if (__builtin_sub_overflow(left, right, &result))
          overflow(node, left, right);
        return result;
      case '*':
        if (__builtin_mul_overflow(left, right, &result))
          overflow(node, left, right);
        return result;
      case '/':
      case '%':
        if (right == 0)
          place_.fail(node.operator_at, std::string(node.operation == '/' ? "division" : "modulo") +
                                            " by zero: '" + place_.part(*node.children[1]) +
                                            "' is 0");
        if (left == INT64_MIN && right == -1)
          overflow(node, left, right);
        return node.operation == '/' ? left / right : left % right;
    }
    return 0;
  }

  int64_t call(const Node& node) const {
    int64_t a = value(*node.children[0]);
    int64_t b = value(*node.children[1]);
    if (node.name == "min")
      return std::min(a, b);
    if (node.name == "max")
      return std::max(a, b);
    // ceil_div: the quotient rounded toward positive infinity.
    if (b == 0)
      place_.fail(node.operator_at,
                  "ceil_div by zero: '" + place_.part(*node.children[1]) + "' is 0");
    if (a == INT64_MIN && b == -1)
      place_.fail(node.operator_at, "'" + place_.part(node) + "' overflows 64-bit integers");
    int64_t quotient = a / b;
    if (a % b != 0 && ((a > 0) == (b > 0)))
      ++quotient;
    return quotient;
  }

  const Place& place_;
  const ExpressionEnvironment& environment_;
};

void collect_names(const Node& node, std::vector<std::string>& names, bool values_only) {
  if (node.kind == Node::Kind::kName ||
      (!values_only && (node.kind == Node::Kind::kShape || node.kind == Node::Kind::kNumel)))
    names.push_back(node.name);
  for (const auto& child : node.children)
    collect_names(*child, names, values_only);
}

}  // namespace

void ExpressionEnvironment::add(const std::string& name, NamedValue value) {
  values_.emplace(name, std::move(value));
}

const NamedValue* ExpressionEnvironment::find(std::string_view name) const {
  auto found = values_.find(name);
  return found == values_.end() ? nullptr : &found->second;
}

std::vector<std::string> ExpressionEnvironment::names() const {
  std::vector<std::string> names;
  for (const auto& [name, value] : values_)
    names.push_back(name);
  return names;
}

ExpressionTree ExpressionTree::parse(std::string text) {
  ExpressionTree tree;
  tree.text_ = std::move(text);
  Place place{tree.text_};
  tree.root_ = Parser(place, false).whole();
  return tree;
}

ExpressionTree ExpressionTree::parse_condition(std::string text) {
  ExpressionTree tree;
  tree.text_ = std::move(text);
  Place place{tree.text_};
  tree.root_ = Parser(place, true).whole();
  return tree;
}

int64_t ExpressionTree::evaluate(const ExpressionEnvironment& environment) const {
  Place place{text_};
  return Evaluator(place, environment).value(*root_);
}

std::optional<std::string> ExpressionTree::bare_name() const {
  if (root_->kind == Node::Kind::kName)
    return root_->name;
  return std::nullopt;
}

std::vector<std::string> ExpressionTree::names() const {
  std::vector<std::string> names;
  collect_names(*root_, names, false);
  return names;
}

std::vector<std::string> ExpressionTree::value_names() const {
  std::vector<std::string> names;
  collect_names(*root_, names, true);
  return names;
}

namespace {

int64_t evaluated(const std::string& text, const ExpressionEnvironment& environment,
                  bool condition) {
  try {
    const ExpressionTree tree =
        condition ? ExpressionTree::parse_condition(text) : ExpressionTree::parse(text);
    return tree.evaluate(environment);
  } catch (const ExpressionFailure& failure) {
    throw KernelError(failure.what + " at column " + std::to_string(failure.at + 1),
                      "expression '" + text + "'");
  }
}

}  // namespace

int64_t evaluate_expression(const std::string& text, const ExpressionEnvironment& environment) {
  return evaluated(text, environment, false);
}

int64_t evaluate_condition(const std::string& text, const ExpressionEnvironment& environment) {
  return evaluated(text, environment, true);
}

}  // namespace kforge::kernels
