// Content hashes (SHA-256, lowercase hex) for caches and task versions.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace kforge {

std::string sha256_hex(std::string_view data);

// A hash of several fields that cannot collide by moving bytes between fields: each field is
// hashed with its length in front.
std::string sha256_hex_fields(std::initializer_list<std::string_view> fields);

}  // namespace kforge
