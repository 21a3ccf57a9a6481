#include "harness/util/child_process.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string_view>
#include <thread>

extern char** environ;

namespace kforge {
namespace {

// The allowed list: exact names, then prefixes. Everything else stays in kforge.
constexpr std::array<std::string_view, 24> kAllowedNames = {
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "TEMP",
    "TMP",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUSERBASE",
    "PYTHONNOUSERSITE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "LD_LIBRARY_PATH",
    "XDG_CACHE_HOME",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TERM",
    "SHELL",
    "NO_COLOR",
};
constexpr std::array<std::string_view, 9> kAllowedPrefixes = {
    "LC_",      "CUDA_",   "NVIDIA_", "KFORGE_", "TORCH_", "TORCHINDUCTOR_",
    "PYTORCH_", "TRITON_", "CUPTI_",
};
constexpr std::array<std::string_view, 6> kSecretWords = {"KEY",      "TOKEN",      "SECRET",
                                                          "PASSWORD", "CREDENTIAL", "PASSWD"};

std::string upper(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// One thread, started on first use and never joined: its state is leaked on purpose so that it
// is never destroyed under the thread at exit.
class SpawningThread {
 public:
  SpawningThread() {
    std::thread([this] { loop(); }).detach();
  }

  void run(const std::function<void()>& start) {
    struct Job {
      const std::function<void()>* start;
      std::exception_ptr failure;
      bool done = false;
    } job{&start, nullptr, false};
    std::unique_lock lock(mutex_);
    jobs_.push_back([&job] {
      try {
        (*job.start)();
      } catch (...) {
        job.failure = std::current_exception();
      }
      job.done = true;
    });
    wake_.notify_all();
    finished_.wait(lock, [&job] { return job.done; });
    if (job.failure)
      std::rethrow_exception(job.failure);
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return !jobs_.empty(); });
      auto job = std::move(jobs_.front());
      jobs_.pop_front();
      job();  // under the lock: one start at a time, and `done` is read under it too
      finished_.notify_all();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable finished_;
  std::deque<std::function<void()>> jobs_;
};

}  // namespace

bool is_allowed_in_child_environment(const std::string& name) {
  std::string loud = upper(name);
  for (std::string_view word : kSecretWords) {
    if (loud.find(word) != std::string::npos)
      return false;
  }
  if (std::find(kAllowedNames.begin(), kAllowedNames.end(), name) != kAllowedNames.end())
    return true;
  return std::any_of(kAllowedPrefixes.begin(), kAllowedPrefixes.end(),
                     [&](std::string_view prefix) { return name.starts_with(prefix); });
}

std::map<std::string, std::string> minimal_environment(
    const std::vector<std::string>& also_refused) {
  std::map<std::string, std::string> environment;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text(*entry);
    size_t equals = text.find('=');
    if (equals == std::string_view::npos || equals == 0)
      continue;
    std::string name(text.substr(0, equals));
    if (!is_allowed_in_child_environment(name))
      continue;
    if (std::find(also_refused.begin(), also_refused.end(), name) != also_refused.end())
      continue;
    environment[name] = std::string(text.substr(equals + 1));
  }
  return environment;
}

void start_child_on_spawning_thread(const std::function<void()>& start) {
  static SpawningThread* spawning = new SpawningThread();
  spawning->run(start);
}

}  // namespace kforge
