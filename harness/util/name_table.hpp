// An enum's names as one table read both ways: the text a status has on the wire, in the store
// and in messages, and the value read back from that text. The table is the enum's only
// spelling, so the two directions cannot drift apart.
//
//   constexpr std::array kNames = std::to_array<std::pair<Kind, std::string_view>>({...});
//   std::string_view text = name_in(kNames, kind);        // "unknown" for a value not listed
//   std::optional<Kind> kind = value_named(kNames, text);  // nullopt for a text not listed
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <utility>

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

}  // namespace kforge
