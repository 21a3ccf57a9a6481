// The store's schema history. Each migration moves the schema from version N-1 to N and is
// never edited once released: a change to the schema is a new migration at the end.
#pragma once

#include <span>
#include <string_view>

namespace kforge {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

std::span<const Migration> migrations();

}  // namespace kforge
