#include "harness/nightly/night_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "datasets/night_records.hpp"
#include "harness/library/manifest.hpp"
#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::nightly {

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0)
    return "";
  return name;
}

std::filesystem::path NightLock::path_for(const std::filesystem::path& store_path) {
  return std::filesystem::path(store_path.string() + ".nightly.lock");
}

NightLock::NightLock(const std::filesystem::path& store_path) : path_(path_for(store_path)) {
  lock_file();
}

NightLock::NightLock(Store& store, const std::filesystem::path& store_path) {
  if (!nightly_lock_is_the_databases(store)) {
    path_ = path_for(store_path);
    lock_file();
    return;
  }
  if (!try_lock_nightly(store)) {
    std::string who = "another process";
    if (std::optional<NightRow> running = find_unfinished_night(store); running && running->pid)
      who = "night " + running->name + ", pid " + std::to_string(*running->pid) + " on " +
            running->host.value_or("");
    throw Error(
        "another kforge nightly is running on this store (" + strings::printable_line(who) + ")",
        store_path.string());
  }
  store_ = &store;
}

bool NightLock::held(const Store& store, const std::filesystem::path& store_path) {
  if (nightly_lock_is_the_databases(store))
    return nightly_lock_held(store);
  const int descriptor = ::open(path_for(store_path).c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0)
    return false;  // no nightly ever ran here
  const bool free = ::flock(descriptor, LOCK_SH | LOCK_NB) == 0;
  ::close(descriptor);  // drops the shared lock, if taken
  return !free;
}

void NightLock::lock_file() {
  descriptor_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (descriptor_ < 0)
    throw Error(std::string("cannot open the nightly lock: ") + std::strerror(errno),
                path_.string());
  if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
    const int failure = errno;
    char holder[512] = {};
    const ssize_t length = ::pread(descriptor_, holder, sizeof(holder) - 1, 0);
    ::close(descriptor_);
    descriptor_ = -1;
    if (failure == EWOULDBLOCK) {
      const std::string who = length > 0 ? std::string(strings::trim(holder)) : "another process";
      throw Error(
          "another kforge nightly is running on this store (" + strings::printable_line(who) + ")",
          path_.string());
    }
    throw Error(std::string("cannot lock: ") + std::strerror(failure), path_.string());
  }
  const std::string holder =
      "pid " + std::to_string(::getpid()) + " on " + host_name() + " since " + utc_now() + "\n";
  if (::ftruncate(descriptor_, 0) != 0 || ::pwrite(descriptor_, holder.data(), holder.size(), 0) !=
                                              static_cast<ssize_t>(holder.size())) {
    // The lock is held all the same; the holder's line is only for messages.
  }
}

NightLock::~NightLock() {
  if (descriptor_ >= 0)
    ::close(descriptor_);
  if (store_ != nullptr) {
    try {
      unlock_nightly(*store_);
    } catch (const Error&) {
      // The server drops the lock with the connection all the same.
    }
  }
}

}  // namespace kforge::nightly
