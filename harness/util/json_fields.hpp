// Reading a JSON object that came from outside the process (a worker's reply or greeting, a
// cache file) field by field, so that a missing or mistyped field is one Error naming the field
// and where the object came from, never a json::type_error escaping from nlohmann's throwing
// accessors (`at`, `get<T>`, `value` of a mistyped field).
#pragma once

#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <type_traits>

#include "harness/util/error.hpp"

namespace kforge {

// Whether `value` converts to T without undefined behaviour: nlohmann's get<int>() of 1e300 is
// a float-to-int conversion out of range (UB), and of 2^40 a silent wrap. For an integer type
// (or a list of them) every number must be an integer in the type's range.
template <typename T>
bool json_integers_fit(const nlohmann::json& value) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    if (!value.is_number())
      return true;  // get<T>() refuses it with a type_error
    if (!value.is_number_integer())
      return false;
    if (value.is_number_unsigned())
      return value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max());
    int64_t number = value.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>)
      return number >= 0;
    else
      return number >= std::numeric_limits<T>::min() && number <= std::numeric_limits<T>::max();
  } else if constexpr (requires { typename T::value_type; } && !std::is_same_v<T, std::string>) {
    if (!value.is_array())
      return true;
    for (const nlohmann::json& item : value)
      if (!json_integers_fit<typename T::value_type>(item))
        return false;
    return true;
  } else {
    return true;
  }
}

// Reads a JSON object field by field, turning every missing or mistyped field into one Error that
// names the field and `where`.
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string where)
      : object_(object), where_(std::move(where)) {
    if (!object_.is_object())
      throw Error("expected a JSON object, got " + std::string(object_.type_name()), where_);
  }

  template <typename T>
  T required(const char* key) const {
    auto found = object_.find(key);
    if (found == object_.end())
      throw Error(std::string("missing field '") + key + "'", where_);
    return convert<T>(*found, key);
  }

  // The field's value, or `fallback` where it is absent or null.
  template <typename T>
  T optional(const char* key, T fallback) const {
    auto found = object_.find(key);
    if (found == object_.end() || found->is_null())
      return fallback;
    return convert<T>(*found, key);
  }

  const nlohmann::json& raw(const char* key) const {
    auto found = object_.find(key);
    if (found == object_.end())
      throw Error(std::string("missing field '") + key + "'", where_);
    return *found;
  }
  bool has(const char* key) const { return object_.contains(key); }
  const std::string& where() const { return where_; }

 private:
  template <typename T>
  T convert(const nlohmann::json& value, const char* key) const {
    if (!json_integers_fit<T>(value))
      throw Error(std::string("field '") + key + "' holds a number out of range or not an integer",
                  where_);
    try {
      return value.get<T>();
    } catch (const nlohmann::json::exception&) {
      throw Error(std::string("field '") + key + "' has the wrong type (" + value.type_name() + ")",
                  where_);
    }
  }

  const nlohmann::json& object_;
  std::string where_;
};

}  // namespace kforge
