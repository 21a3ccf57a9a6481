// One nightly per store: an exclusive flock(2) on `<store>.nightly.lock`, a file beside the
// store. The kernel drops the lock when the process ends however it ends (kill -9 included), so
// a crashed night never leaves it stuck: the next nightly simply takes it. The file holds the
// holder's pid, host and start time, for the refusal's message only; it is never removed (a
// removal would race with a process taking it). The descriptor is close-on-exec, so workers
// started by the night do not hold the lock after it ends. flock is local to one machine: a
// store on a network file system shared by several machines needs one nightly host.
// A PostgreSQL store has no file beside it: its lock is the database's advisory lock
// (datasets/night_records.hpp: try_lock_nightly), held by the store's connection and dropped by
// the server when that connection ends, however it ends; it holds across machines.
#pragma once

#include <filesystem>
#include <string>

namespace kforge {
class Store;
}

namespace kforge::nightly {

class NightLock {
 public:
  // Takes the lock of the store at `store_path`, or throws Error naming the holder and the lock
  // file when another process holds it.
  explicit NightLock(const std::filesystem::path& store_path);
  // The lock of `store`, opened at `store_path`: the file beside a SQLite store, the advisory
  // lock of a PostgreSQL one (a refusal names the running night's process).
  NightLock(Store& store, const std::filesystem::path& store_path);
  ~NightLock();
  NightLock(const NightLock&) = delete;
  NightLock& operator=(const NightLock&) = delete;

  // Whether a process holds the lock of `store` now: a look that takes nothing for PostgreSQL
  // (pg_locks); for SQLite a shared flock tried and dropped at once (a process taking the lock in
  // that instant is refused as if a night ran, and says so).
  static bool held(const Store& store, const std::filesystem::path& store_path);

  const std::filesystem::path& path() const { return path_; }
  static std::filesystem::path path_for(const std::filesystem::path& store_path);

 private:
  void lock_file();

  std::filesystem::path path_;
  int descriptor_ = -1;
  Store* store_ = nullptr;  // the PostgreSQL store whose advisory lock this holds
};

// This machine's host name ("" where unreadable).
std::string host_name();

}  // namespace kforge::nightly
