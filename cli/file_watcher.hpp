// Saves of one file, seen through inotify on its folder: editors save by writing in place
// (IN_CLOSE_WRITE) or by writing another file and renaming it over the old one (IN_MOVED_TO,
// vim and most IDEs), which a watch on the file itself would lose after the first save.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace kforge::cli {

class FileWatcher {
 public:
  // Throws Error naming the folder when inotify cannot watch it.
  explicit FileWatcher(const std::filesystem::path& file);
  ~FileWatcher();
  FileWatcher(const FileWatcher&) = delete;
  FileWatcher& operator=(const FileWatcher&) = delete;

  // Waits up to `timeout` for events; true when at least one said the file was saved (written
  // and closed, renamed into place, or created). Returns early, false, when a signal arrives.
  bool wait_for_save(std::chrono::milliseconds timeout);

 private:
  int descriptor_ = -1;
  std::string name_;  // the file's name in its folder
};

}  // namespace kforge::cli
