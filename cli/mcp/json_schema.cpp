#include "cli/mcp/json_schema.hpp"

#include <array>
#include <cmath>
#include <string_view>

namespace kforge::mcp {
namespace {

bool has_type(const nlohmann::json& value, std::string_view type) {
  if (type == "object")
    return value.is_object();
  if (type == "array")
    return value.is_array();
  if (type == "string")
    return value.is_string();
  if (type == "boolean")
    return value.is_boolean();
  if (type == "null")
    return value.is_null();
  if (type == "number")
    return value.is_number();
  if (type == "integer") {
    if (value.is_number_integer())
      return true;
    if (!value.is_number_float())
      return false;
    double number = value.get<double>();
    return std::isfinite(number) && std::floor(number) == number;
  }
  return false;
}

std::string type_text(const nlohmann::json& type) {
  if (type.is_string())
    return type.get<std::string>();
  std::string text;
  for (size_t i = 0; i < type.size(); ++i)
    text += (i == 0 ? "" : i + 1 == type.size() ? " or " : ", ") + type[i].get<std::string>();
  return text;
}

}  // namespace

std::optional<std::string> schema_violation(const nlohmann::json& schema,
                                            const nlohmann::json& value, const std::string& where) {
  if (!schema.is_object())
    return std::nullopt;
  if (schema.contains("type")) {
    const nlohmann::json& type = schema["type"];
    bool matches = false;
    if (type.is_string()) {
      matches = has_type(value, type.get<std::string>());
    } else if (type.is_array()) {
      for (const nlohmann::json& one : type)
        matches = matches || (one.is_string() && has_type(value, one.get<std::string>()));
    }
    if (!matches)
      return where + " must be " + (type.is_string() && type == "integer" ? "an " : "a ") +
             type_text(type);
  }
  if (schema.contains("enum") && schema["enum"].is_array()) {
    bool listed = false;
    for (const nlohmann::json& allowed : schema["enum"])
      listed = listed || allowed == value;
    if (!listed)
      return where + " must be one of " + schema["enum"].dump();
  }
  if (value.is_number()) {
    double number = value.get<double>();
    if (schema.contains("minimum") && number < schema["minimum"].get<double>())
      return where + " must be at least " + schema["minimum"].dump();
    if (schema.contains("maximum") && number > schema["maximum"].get<double>())
      return where + " must be at most " + schema["maximum"].dump();
  }
  if (value.is_string()) {
    // Lengths in code points, as JSON Schema counts them.
    size_t length = 0;
    for (unsigned char byte : value.get_ref<const std::string&>())
      length += (byte & 0xC0) != 0x80 ? 1 : 0;
    if (schema.contains("minLength") && length < schema["minLength"].get<size_t>())
      return where + " must be at least " + schema["minLength"].dump() + " characters long";
    if (schema.contains("maxLength") && length > schema["maxLength"].get<size_t>())
      return where + " must be at most " + schema["maxLength"].dump() + " characters long";
  }
  if (value.is_object()) {
    const nlohmann::json properties = schema.value("properties", nlohmann::json::object());
    for (const nlohmann::json& name : schema.value("required", nlohmann::json::array())) {
      if (name.is_string() && !value.contains(name.get<std::string>()))
        return where + "." + name.get<std::string>() + " is required";
    }
    for (const auto& [name, item] : value.items()) {
      if (properties.contains(name)) {
        if (auto problem = schema_violation(properties[name], item, where + "." + name))
          return problem;
        continue;
      }
      if (!schema.contains("additionalProperties"))
        continue;
      const nlohmann::json& additional = schema["additionalProperties"];
      if (additional == false) {
        std::string known;
        for (const auto& [property, _] : properties.items())
          known += (known.empty() ? "" : ", ") + property;
        return where + " has no property '" + name + "'" +
               (known.empty() ? "" : " (it takes " + known + ")");
      }
      if (auto problem = schema_violation(additional, item, where + "." + name))
        return problem;
    }
  }
  if (value.is_array() && schema.contains("items")) {
    for (size_t i = 0; i < value.size(); ++i) {
      if (auto problem =
              schema_violation(schema["items"], value[i], where + "[" + std::to_string(i) + "]"))
        return problem;
    }
  }
  return std::nullopt;
}

std::optional<std::string> unsupported_schema_keyword(const nlohmann::json& schema,
                                                      const std::string& where) {
  constexpr std::array kKnown = std::to_array<std::string_view>(
      {"type", "properties", "required", "additionalProperties", "items", "enum", "minimum",
       "maximum", "minLength", "maxLength", "description", "title", "default", "examples",
       "$schema"});
  if (!schema.is_object())
    return where + " is not an object";
  for (const auto& [keyword, value] : schema.items()) {
    bool known = false;
    for (std::string_view name : kKnown)
      known = known || keyword == name;
    if (!known)
      return where + "." + keyword;
    if (keyword == "properties") {
      for (const auto& [name, property] : value.items()) {
        if (auto problem = unsupported_schema_keyword(property, where + ".properties." + name))
          return problem;
      }
    } else if ((keyword == "items" || keyword == "additionalProperties") && value.is_object()) {
      if (auto problem = unsupported_schema_keyword(value, where + "." + keyword))
        return problem;
    }
  }
  return std::nullopt;
}

}  // namespace kforge::mcp
