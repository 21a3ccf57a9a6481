#include "harness/candidate/ptx_entries.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <set>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

size_t ptx_type_size(std::string_view type) {
  static const std::map<std::string_view, size_t> sizes = {
      {"b8", 1},   {"u8", 1},  {"s8", 1},   {"b16", 2},   {"u16", 2},    {"s16", 2},  {"f16", 2},
      {"bf16", 2}, {"b32", 4}, {"u32", 4},  {"s32", 4},   {"f32", 4},    {"b64", 8},  {"u64", 8},
      {"s64", 8},  {"f64", 8}, {"pred", 1}, {"f16x2", 4}, {"bf16x2", 4}, {"b128", 16}};
  auto found = sizes.find(type);
  return found == sizes.end() ? 0 : found->second;
}

// The performance-tuning directives PTX allows between an entry's parameters and its body.
const std::set<std::string_view> kEntryDirectives = {
    ".maxntid",           ".reqntid",           ".minnctapersm",        ".maxnctapersm", ".maxnreg",
    ".maxclusterrank",    ".reqnctapercluster", ".explicitcluster",     ".noreturn",     ".pragma",
    ".blocksareclusters", ".abi_preserve",      ".abi_preserve_control"};

class PtxReader {
 public:
  PtxReader(std::string_view ptx, const std::string& where) : ptx_(ptx), where_(where) {}

  std::vector<PtxEntry> entries() {
    std::vector<PtxEntry> result;
    while (true) {
      skip_space();
      if (at_ >= ptx_.size())
        return result;
      std::string_view word = next_word();
      if (word == ".entry")
        result.push_back(entry());
      else if (word.empty())
        ++at_;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& message) const {
    size_t line = 1;
    for (size_t i = 0; i < at_ && i < ptx_.size(); ++i)
      line += ptx_[i] == '\n';
    throw Error("unreadable PTX .entry: " + message, where_ + ":" + std::to_string(line));
  }

  // Skips white space and comments.
  void skip_space() {
    while (at_ < ptx_.size()) {
      if (std::isspace(static_cast<unsigned char>(ptx_[at_]))) {
        ++at_;
      } else if (ptx_.substr(at_, 2) == "//") {
        while (at_ < ptx_.size() && ptx_[at_] != '\n')
          ++at_;
      } else if (ptx_.substr(at_, 2) == "/*") {
        size_t close = ptx_.find("*/", at_ + 2);
        at_ = close == std::string_view::npos ? ptx_.size() : close + 2;
      } else {
        return;
      }
    }
  }

  static bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '$' ||
           c == '%';
  }

  std::string_view next_word() {
    skip_space();
    size_t begin = at_;
    while (at_ < ptx_.size() && word_char(ptx_[at_]))
      ++at_;
    return ptx_.substr(begin, at_ - begin);
  }

  void expect(char wanted) {
    skip_space();
    if (at_ >= ptx_.size() || ptx_[at_] != wanted)
      fail(std::string("expected '") + wanted + "'");
    ++at_;
  }

  bool accept(char wanted) {
    skip_space();
    if (at_ < ptx_.size() && ptx_[at_] == wanted) {
      ++at_;
      return true;
    }
    return false;
  }

  size_t number() {
    skip_space();
    size_t value = 0;
    auto [end, status] = std::from_chars(ptx_.data() + at_, ptx_.data() + ptx_.size(), value);
    if (status != std::errc())
      fail("expected a number");
    at_ = end - ptx_.data();
    return value;
  }

  PtxEntry entry() {
    PtxEntry entry;
    entry.name = std::string(next_word());
    if (entry.name.empty())
      fail("an .entry without a name");
    // An entry without parameters may leave out the parentheses.
    if (accept('(') && !accept(')')) {
      while (true) {
        entry.parameters.push_back(parameter());
        if (accept(','))
          continue;
        expect(')');
        break;
      }
    }
    directives(entry);
    return entry;
  }

  // The performance directives between the parameters and the body ('{'), or up to the ';' of
  // a declaration without a body.
  void directives(PtxEntry& entry) {
    while (true) {
      skip_space();
      if (at_ >= ptx_.size() || ptx_[at_] == '{' || ptx_[at_] == ';')
        return;
      size_t before = at_;
      std::string_view word = next_word();
      if (word.starts_with(".") && !kEntryDirectives.contains(word)) {
        at_ = before;  // the next declaration: this entry had no body
        return;
      }
      if (word == ".maxntid") {
        entry.max_threads = 1;
        for (int64_t extent : extents())
          entry.max_threads *= extent;
      } else if (word == ".reqntid") {
        entry.required_block = extents();
      } else if (word.empty()) {
        ++at_;
      }
    }
  }

  // One to three extents, separated by commas. The values are the candidate's own
  // (`__launch_bounds__(N)`): kept as written, only held below 2^20 so that products of three
  // cannot overflow; a bound no block can meet makes every launch a plan error, as it should.
  std::vector<int64_t> extents() {
    std::vector<int64_t> values;
    do {
      values.push_back(static_cast<int64_t>(std::min<size_t>(number(), size_t{1} << 20)));
    } while (values.size() < 3 && accept(','));
    return values;
  }

  PtxParameter parameter() {
    if (next_word() != ".param")
      fail("expected .param");
    PtxParameter parameter;
    while (true) {
      std::string_view word = next_word();
      if (word.empty())
        fail("expected a parameter name");
      if (word == ".align") {
        parameter.alignment = number();
      } else if (word == ".ptr" || word == ".global" || word == ".const" || word == ".shared" ||
                 word == ".local") {
        // Pointer attributes on a .u64: the size is still the type's.
      } else if (word[0] == '.') {
        parameter.type = std::string(word.substr(1));
        if (ptx_type_size(parameter.type) == 0)
          fail("unknown parameter type " + std::string(word));
      } else {
        parameter.name = std::string(word);
        break;
      }
    }
    if (parameter.type.empty())
      fail("parameter " + parameter.name + " has no type");
    size_t count = 1;
    if (accept('[')) {
      count = number();
      expect(']');
    }
    parameter.size = ptx_type_size(parameter.type) * count;
    if (parameter.alignment == 0)
      parameter.alignment = ptx_type_size(parameter.type);
    return parameter;
  }

  std::string_view ptx_;
  const std::string& where_;
  size_t at_ = 0;
};

}  // namespace

std::vector<PtxEntry> parse_ptx_entries(std::string_view ptx, const std::string& where) {
  return PtxReader(ptx, where).entries();
}

const PtxEntry* find_entry(const std::vector<PtxEntry>& entries, std::string_view name) {
  for (const PtxEntry& entry : entries) {
    if (entry.name == name)
      return &entry;
  }
  return nullptr;
}

}  // namespace kforge
