#include "tests/fuzz/fuzz_support.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
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
