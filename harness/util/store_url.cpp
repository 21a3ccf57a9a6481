#include "harness/util/store_url.hpp"

#include <utility>
#include <vector>

namespace kforge::store_url {
namespace {

constexpr std::string_view kMask = "***";

// Where the user part ends ('@' before the host), or npos.
size_t user_end(std::string_view url, size_t start) {
  size_t stop = url.find_first_of("/?", start);
  size_t at = url.rfind('@', stop == std::string_view::npos ? url.size() : stop);
  if (at == std::string_view::npos || at < start)
    return std::string_view::npos;
  return at;
}

// Calls visit(begin, end) for the value of every password= parameter.
template <typename Visit>
void for_each_password_parameter(std::string_view url, Visit visit) {
  size_t query = url.find('?');
  while (query != std::string_view::npos) {
    size_t start = query + 1;
    size_t end = url.find('&', start);
    std::string_view pair =
        url.substr(start, (end == std::string_view::npos ? url.size() : end) - start);
    if (pair.substr(0, 9) == "password=")
      visit(start + 9, start + pair.size());
    query = end;
  }
}

}  // namespace

bool is_postgres(std::string_view location) {
  return location.substr(0, 13) == "postgresql://" || location.substr(0, 11) == "postgres://";
}

bool has_password(std::string_view url) {
  if (!is_postgres(url))
    return false;
  size_t start = url.find("://") + 3;
  size_t at = user_end(url, start);
  if (at != std::string_view::npos && url.substr(start, at - start).find(':') != std::string::npos)
    return true;
  bool found = false;
  for_each_password_parameter(url, [&](size_t, size_t) { found = true; });
  return found;
}

std::string without_password(std::string_view location) {
  if (!is_postgres(location))
    return std::string(location);
  std::string url(location);
  size_t start = url.find("://") + 3;
  size_t at = user_end(url, start);
  if (at != std::string::npos) {
    size_t colon = url.find(':', start);
    if (colon != std::string::npos && colon < at)
      url.replace(colon + 1, at - colon - 1, kMask);
  }
  // Replaced from the last to the first, so earlier positions stay valid.
  std::string copy = url;
  std::vector<std::pair<size_t, size_t>> values;
  for_each_password_parameter(copy,
                              [&](size_t begin, size_t end) { values.emplace_back(begin, end); });
  for (auto it = values.rbegin(); it != values.rend(); ++it)
    url.replace(it->first, it->second - it->first, kMask);
  return url;
}

}  // namespace kforge::store_url
