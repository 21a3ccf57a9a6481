#include "harness/util/files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "harness/util/error.hpp"

namespace kforge::files {

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot read file: " + std::string(std::strerror(errno)), path.string());
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad())
    throw Error("error while reading file", path.string());
  return std::move(contents).str();
}

void write_atomic(const fs::path& path, std::string_view contents) {
  if (path.has_parent_path())
    ensure_directory(path.parent_path());
  std::random_device entropy;
  fs::path temporary = path;
  temporary += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(entropy());
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw Error("cannot create file: " + std::string(std::strerror(errno)), temporary);
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t written = ::write(fd, data, left);
    if (written < 0) {
      if (errno == EINTR)
        continue;
      std::string reason = std::strerror(errno);
      ::close(fd);
      ::unlink(temporary.c_str());
      throw Error("cannot write file: " + reason, temporary);
    }
    data += written;
    left -= static_cast<size_t>(written);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(temporary.c_str());
    throw Error("cannot flush file: " + std::string(std::strerror(errno)), temporary);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    std::string reason = std::strerror(errno);
    ::unlink(temporary.c_str());
    throw Error("cannot rename file into place: " + reason, path.string());
  }
}

void ensure_directory(const fs::path& dir) {
  std::error_code failure;
  fs::create_directories(dir, failure);
  if (failure)
    throw Error("cannot create directory: " + failure.message(), dir.string());
}

std::string tail(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes)
    return std::string(text);
  size_t start = text.size() - max_bytes;
  size_t line_start = text.find('\n', start);
  if (line_start != std::string_view::npos && line_start + 1 < text.size())
    start = line_start + 1;
  return "[... " + std::to_string(start) + " bytes cut ...]\n" + std::string(text.substr(start));
}

}  // namespace kforge::files
