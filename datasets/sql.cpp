#include "datasets/sql.hpp"

namespace kforge::sql {

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column))
    return std::nullopt;
  return text(column);
}
std::optional<int64_t> Statement::optional_integer(int column) const {
  if (is_null(column))
    return std::nullopt;
  return integer(column);
}
std::optional<double> Statement::optional_real(int column) const {
  if (is_null(column))
    return std::nullopt;
  return real(column);
}

std::string shorten(std::string_view sql) {
  std::string out;
  for (char c : sql)
    out += (c == '\n' || c == '\t') ? ' ' : c;
  return out.size() > 120 ? out.substr(0, 117) + "..." : out;
}

}  // namespace kforge::sql
