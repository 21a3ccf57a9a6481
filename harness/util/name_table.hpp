// An enum's names as one table read both ways: the text a status has on the wire, in the store
// and in messages, and the value read back from that text. The table is the enum's only
// spelling, so the two directions cannot drift apart.
//
//   constexpr std::array kNames = std::to_array<std::pair<Kind, std::string_view>>({...});
//   std::string_view text = name_in(kNames, kind);        // "unknown" for a value not listed
//   std::optional<Kind> kind = value_named(kNames, text);  // nullopt for a text not listed
//   Kind kind = value_named_or_error(kNames, text, "run status", "runs row 7");  // or an Error
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "harness/util/error.hpp"

namespace kforge {

template <typename Enum, size_t N>
constexpr std::string_view name_in(const std::array<std::pair<Enum, std::string_view>, N>& table,
                                   Enum value) {
  for (const auto& [known, name] : table) {
    if (known == value)
      return name;
  }
  return "unknown";
}

template <typename Enum, size_t N>
constexpr std::optional<Enum> value_named(
    const std::array<std::pair<Enum, std::string_view>, N>& table, std::string_view name) {
  for (const auto& [value, known] : table) {
    if (known == name)
      return value;
  }
  return std::nullopt;
}

// Every name of `table`, in its order, joined by ", ": the allowed list an error shows.
template <typename Enum, size_t N>
std::string names_of(const std::array<std::pair<Enum, std::string_view>, N>& table) {
  std::string names;
  for (const auto& [value, name] : table) {
    if (!names.empty())
      names += ", ";
    names += name;
  }
  return names;
}

// The value `name` names in `table`, or an Error at `where` naming the text and the allowed
// ones: "unknown run status 'paused' (one of: running, completed, failed, interrupted)".
template <typename Enum, size_t N>
Enum value_named_or_error(const std::array<std::pair<Enum, std::string_view>, N>& table,
                          std::string_view name, std::string_view what, const std::string& where) {
  if (std::optional<Enum> value = value_named(table, name))
    return *value;
  throw Error("unknown " + std::string(what) + " '" + std::string(name) +
                  "' (one of: " + names_of(table) + ")",
              where);
}

}  // namespace kforge
