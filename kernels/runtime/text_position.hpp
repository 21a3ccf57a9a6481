// Within the kernel library only: how its readers name a place in a text and show a character.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kforge::kernels {

// "file:line:column" of byte `offset` of `text` (both counted from 1).
std::string file_position(const std::string& file_name, std::string_view text, size_t offset);

// The character at `at` as printable ASCII, or \xNN.
std::string shown_character(std::string_view text, size_t at);

}  // namespace kforge::kernels
