// Writes one JSON object as one line, field by field, without building a document first: the
// archive format's hot path (a document of ~70 keys per row would be mostly allocation). JSON
// columns from the store are spliced in as they are (SQLite's json() has already minified and
// validated them). Strings are escaped, and invalid UTF-8 replaced by U+FFFD, so that every line
// is valid JSON in UTF-8.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kforge::dataset {

class JsonLine {
 public:
  JsonLine() { line_.reserve(8192); }
  void begin();
  void string(std::string_view key, std::string_view value);
  void string(std::string_view key, const std::string& value) {
    string(key, std::string_view(value));
  }
  void string(std::string_view key, const std::optional<std::string>& value);
  void integer(std::string_view key, std::optional<int64_t> value);
  void number(std::string_view key, std::optional<double> value);  // non-finite -> null
  void raw(std::string_view key, const std::optional<std::string>& json_text);  // NULL -> null
  void value(std::string_view key, const nlohmann::json& value);
  // Closes the object and ends the line; the text stays valid until the next begin().
  const std::string& finish();

  static void append_escaped(std::string& out, std::string_view text);

 private:
  void key(std::string_view name);
  std::string line_;
  bool first_ = true;
};

}  // namespace kforge::dataset
