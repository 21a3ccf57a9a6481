#include "tests/fuzz/fuzz_support.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace kforge::fuzz {

MemoryFile::MemoryFile(const char* name) : fd_(memfd_create(name, 0)) {
  if (fd_ < 0)
    throw std::runtime_error("memfd_create failed");
  path_ = "/proc/self/fd/" + std::to_string(fd_);
}

MemoryFile::~MemoryFile() {
  close(fd_);
}

void MemoryFile::write(std::string_view bytes) {
  if (ftruncate(fd_, 0) != 0 ||
      pwrite(fd_, bytes.data(), bytes.size(), 0) != static_cast<ssize_t>(bytes.size()))
    std::abort();  // the harness itself failed: not a finding in the parser
}

bool valid_utf8(std::string_view text) {
  try {
    (void)nlohmann::json(std::string(text)).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

void store_message(const std::string& message, std::string_view input) {
  if (valid_utf8(input))
    (void)nlohmann::json(message).dump();
}

std::string_view part(std::string_view input, size_t index, std::string_view separator) {
  for (size_t i = 0; i < index; ++i) {
    size_t at = input.find(separator);
    if (at == std::string_view::npos)
      return {};
    input.remove_prefix(at + separator.size());
  }
  return input.substr(0, input.find(separator));
}

}  // namespace kforge::fuzz
