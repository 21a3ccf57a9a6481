// Files compiled into the binary (see cmake/KforgeEmbed.cmake): the Python reference runner,
// the built-in task suite, prompt templates. Looked up by their path in the source tree.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kforge::embedded {

// The contents of an embedded file, or nothing if no file of that path was embedded.
std::optional<std::string_view> find(std::string_view path);

// The paths of all embedded files under `folder` (a path prefix ending in '/'), sorted.
std::vector<std::string> list(std::string_view folder);

// Used by generated code only: registers files at static-initialisation time.
struct Registration {
  Registration(std::initializer_list<std::pair<const char*, std::string_view>> files);
};

}  // namespace kforge::embedded
