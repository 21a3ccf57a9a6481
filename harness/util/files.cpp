#include "harness/util/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <optional>
#include <random>

#include "harness/util/error.hpp"

namespace kforge::files {

namespace {

// Opens without blocking (a FIFO's open waits for a writer otherwise) and refuses anything but
// a regular file before reading a byte of it.
std::string read_regular_file(const fs::path& path, std::optional<size_t> max_bytes) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    throw Error("cannot read file: " + std::string(std::strerror(errno)), path.string());
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat status {};
  if (::fstat(fd, &status) != 0)
    throw Error("cannot read file: " + std::string(std::strerror(errno)), path.string());
  if (!S_ISREG(status.st_mode)) {
    std::string kind = S_ISDIR(status.st_mode)    ? "a directory"
                       : S_ISFIFO(status.st_mode) ? "a FIFO"
                       : S_ISCHR(status.st_mode)  ? "a character device"
                       : S_ISBLK(status.st_mode)  ? "a block device"
                       : S_ISSOCK(status.st_mode) ? "a socket"
                                                  : "not a regular file";
    throw Error("cannot read file: it is " + kind + ", not a regular file", path.string());
  }
  auto size = static_cast<size_t>(status.st_size);
  if (max_bytes && size > *max_bytes) {
    throw Error("file is " + std::to_string(size) + " bytes, over the limit of " +
                    std::to_string(*max_bytes),
                path.string());
  }
  std::string contents;
  contents.resize(size);
  size_t filled = 0;
  // A file that grows while it is read is read up to the limit plus one byte, so that growth
  // past the limit is seen without reading on forever.
  size_t cap = max_bytes ? *max_bytes + 1 : SIZE_MAX;
  while (filled < cap) {
    if (filled == contents.size())
      contents.resize(std::min(cap, std::max<size_t>(contents.size() * 2, 4096)));
    ssize_t got = ::read(fd, contents.data() + filled, contents.size() - filled);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      throw Error("error while reading file: " + std::string(std::strerror(errno)), path.string());
    }
    if (got == 0)
      break;
    filled += static_cast<size_t>(got);
  }
  contents.resize(filled);
  if (max_bytes && filled > *max_bytes) {
    throw Error("file grew past the limit of " + std::to_string(*max_bytes) + " bytes while read",
                path.string());
  }
  return contents;
}

}  // namespace

std::string read(const fs::path& path) {
  return read_regular_file(path, std::nullopt);
}

std::string read(const fs::path& path, size_t max_bytes) {
  return read_regular_file(path, max_bytes);
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
