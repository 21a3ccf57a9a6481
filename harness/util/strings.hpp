// Small string helpers used across folders.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::strings {

std::string_view trim(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
std::string join(std::span<const std::string> parts, std::string_view separator);

// The entry of `choices` closest to `word` by edit distance, if one is close enough to be a
// plausible typo; for "did you mean" hints next to "unknown key" errors.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> choices);

// "unknown X 'word'; did you mean 'y'? (allowed: a, b, c)": one line for an unknown name.
std::string unknown_name_message(std::string_view kind, std::string_view word,
                                 std::span<const std::string> choices);

}  // namespace kforge::strings
