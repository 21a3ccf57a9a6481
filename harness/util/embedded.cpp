#include "harness/util/embedded.hpp"

#include <algorithm>
#include <map>

namespace kforge::embedded {
namespace {

std::map<std::string, std::string_view, std::less<>>& registry() {
  static std::map<std::string, std::string_view, std::less<>> files;
  return files;
}

}  // namespace

Registration::Registration(std::initializer_list<std::pair<const char*, std::string_view>> files) {
  for (const auto& [path, contents] : files)
    registry().emplace(path, contents);
}

std::optional<std::string_view> find(std::string_view path) {
  auto found = registry().find(path);
  if (found == registry().end())
    return std::nullopt;
  return found->second;
}

std::vector<std::string> list(std::string_view folder) {
  std::vector<std::string> paths;
  for (const auto& [path, contents] : registry()) {
    if (path.starts_with(folder))
      paths.push_back(path);
  }
  return paths;  // std::map keeps them sorted
}

}  // namespace kforge::embedded
