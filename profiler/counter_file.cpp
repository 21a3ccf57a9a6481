#include "profiler/counter_file.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/strings.hpp"
#include "profiler/ncu_csv.hpp"

namespace kforge {
namespace {

constexpr size_t kMaxCounterFileBytes = 64u << 20;
constexpr std::array<std::string_view, 5> kKeys = {"kernel", "id", "metrics", "flops", "bytes"};

// Line and column of byte `offset` (1-based), for a JSON parse error.
std::string line_and_column(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1;
  size_t column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return std::to_string(line) + ":" + std::to_string(column);
}

std::optional<double> task_figure(const JsonFields& fields, const char* key) {
  if (!fields.has(key) || fields.raw(key).is_null())
    return std::nullopt;
  const nlohmann::json& value = fields.raw(key);
  if (!value.is_number() || value.get<double>() < 0 || !std::isfinite(value.get<double>()))
    throw Error(std::string("field '") + key + "' must be a non-negative number", fields.where());
  return value.get<double>();
}

// `pointer`: the object's JSON pointer in the document ("" for the whole document).
CounterSet counter_set_from(const nlohmann::json& object, const std::string& file,
                            const std::string& pointer) {
  std::string where = file + ": " + (pointer.empty() ? "/" : pointer);
  JsonFields fields(object, where);
  std::vector<std::string> allowed(kKeys.begin(), kKeys.end());
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      throw Error(strings::unknown_name_message("field", key, allowed), where);
  }
  CounterSet counters;
  counters.kernel = fields.required<std::string>("kernel");
  counters.id = fields.optional<std::string>("id", "");
  counters.flops = task_figure(fields, "flops");
  counters.bytes = task_figure(fields, "bytes");
  const nlohmann::json& metrics = fields.raw("metrics");
  if (!metrics.is_object())
    throw Error("field 'metrics' must be an object of metric names and numbers", where);
  for (const auto& [name, value] : metrics.items()) {
    if (value.is_null())
      continue;  // not collected
    if (!value.is_number() || !std::isfinite(value.get<double>()))
      throw Error("the value of metric '" + name + "' is not a number (" +
                      std::string(value.type_name()) + ")",
                  file + ": " + pointer + "/metrics/" + name);
    counters.metrics[name] = value.get<double>();
  }
  return counters;
}

}  // namespace

std::vector<CounterSet> parse_counter_json(std::string_view text, const std::string& where) {
  nlohmann::json document;
  try {
    document = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& failure) {
    // nlohmann's message without its "[json.exception...] parse error at line L, column C: ".
    std::string detail = failure.what();
    if (size_t colon = detail.find(": "); colon != std::string::npos)
      detail = detail.substr(colon + 2);
    throw Error("malformed JSON: " + detail,
                where + ":" + line_and_column(text, failure.byte > 0 ? failure.byte - 1 : 0));
  }
  std::vector<CounterSet> sets;
  if (document.is_array()) {
    if (document.empty())
      throw Error("an empty array: no kernel's counters", where);
    for (size_t i = 0; i < document.size(); ++i)
      sets.push_back(counter_set_from(document[i], where, "/" + std::to_string(i)));
  } else {
    sets.push_back(counter_set_from(document, where, ""));
  }
  return sets;
}

std::vector<CounterSet> read_counter_file(const std::filesystem::path& path) {
  std::string text = files::read(path, kMaxCounterFileBytes);
  std::string where = path.string();
  size_t first = 0;
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0)
    first = 3;
  while (first < text.size() && std::isspace(static_cast<unsigned char>(text[first])))
    ++first;
  if (first == text.size())
    throw Error("the counters file is empty", where);
  if (text[first] == '{' || text[first] == '[')
    return parse_counter_json(text, where);
  return parse_ncu_raw_csv(text, where);
}

}  // namespace kforge
