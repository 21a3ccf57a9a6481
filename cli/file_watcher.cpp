#include "cli/file_watcher.hpp"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "harness/util/error.hpp"

namespace kforge::cli {

FileWatcher::FileWatcher(const std::filesystem::path& file) : name_(file.filename().string()) {
  std::filesystem::path folder = file.parent_path().empty() ? "." : file.parent_path();
  descriptor_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (descriptor_ < 0)
    throw Error(std::string("inotify_init1 failed: ") + std::strerror(errno), folder.string());
  if (::inotify_add_watch(descriptor_, folder.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) <
      0) {
    int failure = errno;
    ::close(descriptor_);
    throw Error(std::string("cannot watch the folder: ") + std::strerror(failure), folder.string());
  }
}

FileWatcher::~FileWatcher() {
  if (descriptor_ >= 0)
    ::close(descriptor_);
}

bool FileWatcher::wait_for_save(std::chrono::milliseconds timeout) {
  pollfd wait{descriptor_, POLLIN, 0};
  if (::poll(&wait, 1, static_cast<int>(timeout.count())) <= 0)
    return false;  // nothing, or a signal (EINTR)
  bool saved = false;
  alignas(inotify_event) char buffer[16384];
  while (true) {
    ssize_t got = ::read(descriptor_, buffer, sizeof(buffer));
    if (got <= 0)
      break;  // EAGAIN: every queued event is read
    for (ssize_t at = 0; at < got;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      if (event->len > 0 && name_ == event->name)
        saved = true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return saved;
}

}  // namespace kforge::cli
