// What a hostile user found in processes, the store, the configuration and the caches, each
// through the real binary on real files, a real store and a real Python with torch
// (/usr/bin/python3, or KFORGE_TEST_PYTHON): every case ends in a verdict or a one-line error,
// never a crash, a stuck run or a leaked process.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "datasets/sqlite.hpp"
#include "datasets/store.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

extern char** environ;

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;
using testing::write_text;
using Clock = std::chrono::steady_clock;

std::string python() {
  const char* configured = std::getenv("KFORGE_TEST_PYTHON");
  return configured != nullptr ? configured : "/usr/bin/python3";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A tiny task; `prelude` runs at module level before the model.
std::string task_file(const std::string& prelude = "") {
  return "import torch\nimport torch.nn as nn\n" + prelude +
         "n = 64\n"
         "class Model(nn.Module):\n    def forward(self, x):\n        return torch.relu(x)\n"
         "def get_inputs():\n    return [torch.randn(n, n)]\n"
         "def get_init_inputs():\n    return []\n";
}

int64_t query_integer(const fs::path& db, const std::string& sql) {
  sql::Connection connection(db.string(), false);
  auto query = connection.prepare(sql);
  return query.step() ? query.integer(0) : -1;
}

std::string query_text(const fs::path& db, const std::string& sql) {
  sql::Connection connection(db.string(), false);
  auto query = connection.prepare(sql);
  return query.step() ? query.text(0) : std::string();
}

// The real binary started without waiting for it, so that a test can kill it.
class RunningKforge {
 public:
  RunningKforge(const std::vector<std::string>& arguments, const fs::path& directory)
      : log_(directory / "kforge.log") {
    // The callers pass the workspace with --workspace (the child is not started in `directory`).
    pid_ = testing::spawn_kforge(arguments, {}, log_);
    EXPECT_GT(pid_, 0);
  }
  ~RunningKforge() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  void kill_and_reap(int signal) {
    ::kill(pid_, signal);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  std::string log() const { return files::read(log_); }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

struct ProcessInfo {
  pid_t pid;
  pid_t parent;
  char state;
  std::string command;
  double cpu_seconds;  // user + system time so far
};

std::vector<ProcessInfo> all_processes() {
  std::vector<ProcessInfo> found;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0])))
      continue;
    std::ifstream stat(entry.path() / "stat");
    std::string text;
    std::getline(stat, text);
    size_t close = text.rfind(')');
    if (close == std::string::npos || close + 4 >= text.size())
      continue;
    ProcessInfo info;
    info.pid = std::stoi(name);
    info.command = text.substr(text.find('(') + 1, close - text.find('(') - 1);
    info.state = text[close + 2];
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    std::vector<std::string> values;
    while (fields >> field)
      values.push_back(field);
    if (values.size() < 14)
      continue;
    info.parent = std::stoi(values[1]);
    // utime and stime are the 14th and 15th fields of the line; values[0] is the 3rd.
    info.cpu_seconds = static_cast<double>(std::stoll(values[11]) + std::stoll(values[12])) /
                       ::sysconf(_SC_CLK_TCK);
    found.push_back(info);
  }
  return found;
}

// Every live (not zombie) descendant of `root`.
std::set<pid_t> descendants(pid_t root) {
  auto processes = all_processes();
  std::set<pid_t> family = {root};
  bool grew = true;
  while (grew) {
    grew = false;
    for (const ProcessInfo& process : processes) {
      if (family.contains(process.parent) && !family.contains(process.pid) &&
          process.state != 'Z') {
        family.insert(process.pid);
        grew = true;
      }
    }
  }
  family.erase(root);
  return family;
}

bool alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!std::getline(stat, text))
    return false;
  size_t close = text.rfind(')');
  return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
}

// Waits until `ready` or the limit; false at the limit.
template <typename Ready>
bool wait_for(Ready ready, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (ready())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Kills kforge with `signal` once it has a child matching `is_busy_child`, then checks that
// every process it had started is gone within a few seconds.
void expect_children_die_with_kforge(RunningKforge& kforge, int signal,
                                     const std::function<bool(const ProcessInfo&)>& is_busy_child,
                                     std::chrono::seconds start_limit) {
  std::set<pid_t> family;
  bool busy = wait_for(
      [&] {
        family = descendants(kforge.pid());
        for (const ProcessInfo& process : all_processes()) {
          if (family.contains(process.pid) && is_busy_child(process))
            return true;
        }
        return false;
      },
      start_limit);
  ASSERT_TRUE(busy) << "kforge never started the child this test kills it under:\n" << kforge.log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well inside the work
  family = descendants(kforge.pid());
  ASSERT_FALSE(family.empty());
  kforge.kill_and_reap(signal);
  bool all_gone = wait_for(
      [&] {
        for (pid_t pid : family) {
          if (alive(pid))
            return false;
        }
        return true;
      },
      std::chrono::seconds(10));
  std::string survivors;
  for (pid_t pid : family) {
    if (alive(pid)) {
      survivors += " " + std::to_string(pid);
      ::kill(pid, SIGKILL);  // do not leave them to the next test
    }
  }
  EXPECT_TRUE(all_gone) << "children outlived kforge (signal " << signal << "):" << survivors;
}

// --- task files that are not UTF-8 -----------------------------------------------------------

TEST(HostileProcess, TaskFilesThatAreNotUtf8ImportOrFailAloneWithoutAborting) {
  testing::TemporaryDirectory dir;
  fs::path tasks = dir / "tasks";
  fs::create_directories(tasks);
  write_text(tasks / "a_good.py", task_file());
  // Valid Python: the declaration says Latin-1, and the description has an e-acute (0xE9).
  write_text(tasks / "b_latin.py", "# -*- coding: latin-1 -*-\n# description: caf\xE9 relu\n" +
                                       task_file("label = 'd\xE9j\xE0 vu'\n"));
  // Not UTF-8 and no declaration: Python refuses it too.
  write_text(tasks / "c_bytes.py", "# description: caf\xE9\n" + task_file());
  // Declared in an encoding kforge does not decode.
  write_text(tasks / "d_cp1252.py", "# coding: cp1252\n# \x93quoted\x94\n" + task_file());
  ProcessResult result = run_kforge(
      {"--python", python(), "tasks", "import", tasks.string(), "--suite", "enc"}, dir.path());
  EXPECT_EQ(result.signal, 0) << result.standard_error;
  EXPECT_NE(result.exit_code, 134);
  std::string output = result.standard_output + result.standard_error;
  EXPECT_TRUE(contains(output, "imported enc/a_good")) << output;
  EXPECT_TRUE(contains(output, "imported enc/b_latin")) << output;
  EXPECT_TRUE(contains(output, "failed enc/c_bytes")) << output;
  EXPECT_TRUE(contains(output, "not UTF-8")) << output;
  EXPECT_TRUE(contains(output, "failed enc/d_cp1252")) << output;
  EXPECT_TRUE(contains(output, "cp1252")) << output;

  // The Latin-1 file is stored as the UTF-8 text Python read, its declaration saying so.
  fs::path db = dir / "kforge.db";
  std::string stored = query_text(db, "SELECT source FROM tasks WHERE name = 'enc/b_latin'");
  EXPECT_TRUE(contains(stored, "# -*- coding: utf-8 -*-")) << stored;
  EXPECT_TRUE(contains(stored, "caf\xC3\xA9 relu")) << stored;
  EXPECT_TRUE(contains(stored, "d\xC3\xA9j\xC3\xA0 vu")) << stored;
  EXPECT_EQ(query_text(db, "SELECT description FROM tasks WHERE name = 'enc/b_latin'"),
            "caf\xC3\xA9 relu");
  // Importing again changes nothing: the decoded text hashes the same every time.
  ProcessResult again = run_kforge(
      {"--python", python(), "tasks", "import", tasks.string(), "--suite", "enc"}, dir.path());
  EXPECT_TRUE(contains(again.standard_output + again.standard_error, "unchanged enc/b_latin"))
      << again.standard_output << again.standard_error;
}

// --- children die with kforge --------------------------------------------------------------

TEST(HostileProcess, KillingTasksImportKillsItsReferenceRunners) {
  for (int signal : {SIGKILL, SIGTERM}) {
    testing::TemporaryDirectory dir;
    fs::path tasks = dir / "tasks";
    fs::create_directories(tasks);
    // Ignores the runner's alarm and never ends: only kforge's death may end it.
    write_text(tasks / "forever.py",
               task_file("import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                         "while True:\n    pass\n"));
    RunningKforge kforge({"--workspace", dir.path().string(), "--python", python(), "tasks",
                          "import", tasks.string(), "--suite", "hang"},
                         dir.path());
    expect_children_die_with_kforge(
        kforge, signal,
        [](const ProcessInfo& process) { return contains(process.command, "python"); },
        std::chrono::seconds(60));
  }
}

// A kernel NVRTC needs a long time for (a loop of 65536 loads, fully unrolled; the compile
// pool's own tests use it for the time limit): the compile is still running when kforge is
// killed.
std::string slow_candidate() {
  return R"candidate(/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", "x.numel"]}
  ],
  "scratch": [],
  "defines": {"BLOCK": {"default": 256, "values": [128, 256]}}
}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * BLOCK + threadIdx.x;
  if (i >= n) return;
  float v = x[i];
  float acc = 0.0f;
#pragma unroll 65536
  for (int k = 0; k < 65536; k++) acc += x[(k * n + i) % n] * k;
  out[i] = (v > 0.0f ? v : 0.0f) + acc * 0.0f;
}
)candidate";
}

TEST(HostileProcess, KillingEvalMidCompileKillsItsCompileWorker) {
  for (int signal : {SIGKILL, SIGTERM}) {
    testing::TemporaryDirectory dir;
    // The task's analysis first, so that the kill below lands in the compile.
    ProcessResult shown =
        run_kforge({"--python", python(), "tasks", "show", "builtin/relu"}, dir.path());
    ASSERT_EQ(shown.exit_code, 0) << shown.standard_error;
    write_text(dir / "slow.cu", slow_candidate());
    RunningKforge kforge({"--workspace", dir.path().string(), "--python", python(), "eval",
                          (dir / "slow.cu").string(), "--task", "builtin/relu"},
                         dir.path());
    // A compile worker is inside the compile once it has used more CPU than starting NVRTC
    // takes; then it no longer reads its input, and only kforge's death can end it.
    expect_children_die_with_kforge(
        kforge, signal,
        [](const ProcessInfo& process) {
          return process.command == "kforge" && process.cpu_seconds >= 1.5;
        },
        std::chrono::seconds(60));
  }
}

// --- the store ---------------------------------------------------------------------------------

TEST(HostileProcess, ManyProcessesOpeningANewWorkspaceAtOnceAllSucceed) {
  for (int round = 0; round < 3; ++round) {
    testing::TemporaryDirectory dir;
    std::vector<std::future<ProcessResult>> runs;
    for (int i = 0; i < 8; ++i) {
      runs.push_back(std::async(std::launch::async, [&dir] {
        return run_kforge({"tasks", "list", "--json"}, dir.path(), {}, 120);
      }));
    }
    for (auto& run : runs) {
      ProcessResult result = run.get();
      EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    }
    fs::path db = dir / "kforge.db";
    EXPECT_EQ(query_integer(db, "PRAGMA user_version"), Store::latest_schema_version());
    EXPECT_EQ(query_text(db, "PRAGMA integrity_check"), "ok");
    // Every built-in recorded once, however many processes recorded them at once.
    EXPECT_EQ(query_integer(db, "SELECT count(*) - count(DISTINCT name) FROM tasks"), 0);
  }
}

// Runs `command` inside a private mount namespace (unshare -m), where the test may mount; the
// result, or nullopt when this machine does not allow it (then the test says so and skips).
std::optional<ProcessResult> run_in_mount_namespace(const std::string& command) {
  ProcessSpec probe;
  probe.program = "unshare";
  probe.arguments = {"-m", "sh", "-c", "mount -t tmpfs tmpfs /mnt && umount /mnt"};
  probe.time_limit = std::chrono::seconds(20);
  try {
    if (!run_process(probe).succeeded())
      return std::nullopt;
  } catch (const Error&) {
    return std::nullopt;
  }
  ProcessSpec spec;
  spec.program = "unshare";
  spec.arguments = {"-m", "sh", "-c", command};
  spec.time_limit = std::chrono::seconds(300);
  return run_process(spec);
}

std::string quoted(const fs::path& path) {
  return "'" + path.string() + "'";
}

TEST(HostileProcess, AReadOnlyWorkspaceIsNotCalledDamaged) {
  testing::TemporaryDirectory dir;
  ProcessResult created = run_kforge({"tasks", "list"}, dir.path());
  ASSERT_EQ(created.exit_code, 0) << created.standard_error;
  testing::TemporaryDirectory empty;
  std::string kforge = quoted(testing::kforge_binary());
  auto read_only = [&](const fs::path& folder) {
    return "mount --bind -o ro " + quoted(folder) + " " + quoted(folder) + " && " + kforge +
           " --workspace " + quoted(folder) + " tasks list";
  };
  // A healthy store in a read-only folder: SQLite cannot create the -wal and -shm files a WAL
  // store needs even to be read, so kforge stops, saying the store is not damaged.
  auto existing = run_in_mount_namespace(read_only(dir.path()));
  if (!existing)
    GTEST_SKIP() << "this machine does not allow a private mount namespace (unshare -m)";
  EXPECT_NE(existing->exit_code, 0);
  EXPECT_FALSE(contains(existing->standard_error, "damaged one")) << existing->standard_error;
  EXPECT_TRUE(contains(existing->standard_error, "read-only")) << existing->standard_error;
  EXPECT_TRUE(contains(existing->standard_error, "not damaged")) << existing->standard_error;
  // A store that cannot be created there is a one-line error that does not call it damaged.
  auto fresh = run_in_mount_namespace(read_only(empty.path()));
  ASSERT_TRUE(fresh);
  EXPECT_NE(fresh->exit_code, 0);
  std::string error = fresh->standard_error;
  EXPECT_TRUE(contains(error, "kforge: error: ")) << error;
  EXPECT_FALSE(contains(error, "damaged one")) << error;
  EXPECT_TRUE(contains(error, "read-only")) << error;
  EXPECT_TRUE(contains(error, "nothing is damaged")) << error;
  // A file that is not a database is still called what it is.
  testing::TemporaryDirectory other;
  write_text(other / "kforge.db", std::string(4096, 'x'));
  ProcessResult damaged = run_kforge({"tasks", "list"}, other.path());
  EXPECT_NE(damaged.exit_code, 0);
  EXPECT_TRUE(contains(damaged.standard_error, "not a kforge store, or a damaged one"))
      << damaged.standard_error;
}

TEST(HostileProcess, AFullDiskFailsTheEvalRunAndLeavesNoPartialFiles) {
  testing::TemporaryDirectory dir;
  ProcessResult shown =
      run_kforge({"--python", python(), "tasks", "show", "builtin/relu"}, dir.path());
  ASSERT_EQ(shown.exit_code, 0) << shown.standard_error;
  fs::path compile = dir / ".kforge" / "compile";
  fs::create_directories(compile);
  fs::path candidate = testing::source_dir() / "tests/system/data/eval/relu_ok.cu";
  // The compile cache's disk is full (a tiny file system, filled up); the store's is not.
  auto result = run_in_mount_namespace(
      "mount -t tmpfs -o size=64k tmpfs " + quoted(compile) + " && mkdir -p " +
      quoted(compile / "staging") + " && (dd if=/dev/zero of=" + quoted(compile / "filler") +
      " bs=4k 2>/dev/null; true) && " + quoted(testing::kforge_binary()) + " --workspace " +
      quoted(dir.path()) + " --python " + python() + " eval " + quoted(candidate) +
      " --task builtin/relu --json; code=$?; echo \"partial files: $(find " + quoted(dir.path()) +
      " -name '*.partial*' | wc -l)\" >&2; exit $code");
  if (!result)
    GTEST_SKIP() << "this machine does not allow a private mount namespace (unshare -m)";
  std::string error = result->standard_error;
  EXPECT_NE(result->exit_code, 0) << result->standard_output;
  EXPECT_TRUE(contains(error, "kforge: error: ")) << error;
  EXPECT_FALSE(contains(error, "internal error")) << error;
  EXPECT_TRUE(contains(error, "partial files: 0")) << error;
  // No run is left `running`.
  fs::path db = dir / "kforge.db";
  EXPECT_EQ(query_integer(db, "SELECT count(*) FROM runs WHERE status = 'running'"), 0);
  EXPECT_EQ(query_integer(db, "SELECT count(*) FROM runs WHERE status = 'failed'"), 1);
}

// --- the configuration ---------------------------------------------------------------------

TEST(HostileProcess, OutOfRangeConfigurationIsRefusedNamingFileKeyValueAndRange) {
  struct Case {
    std::string line;
    std::string expected;
  };
  for (const Case& bad : std::vector<Case>{
           {"[compile]\nworkers = 100000\n",
            "compile.workers = 100000 is out of range: "
            "allowed 0 to 256"},
           {"[compile]\nmemory_mb = 17592186044417\n", "compile.memory_mb = 17592186044417"},
           {"[compile]\ntimeout_s = 0\n", "compile.timeout_s = 0 is out of range"},
           {"[reference]\ntimeout_s = -5\n", "reference.timeout_s = -5 is out of range"},
           {"[plan]\nmax_kernels = 0\n", "plan.max_kernels = 0 is out of range: allowed 1 to"},
           {"[timing]\ntarget_spread = -0.5\n", "timing.target_spread = -0.5 is out of range"},
       }) {
    testing::TemporaryDirectory dir;
    write_text(dir / "kforge.toml", bad.line);
    ProcessResult result = run_kforge({"tasks", "list"}, dir.path());
    EXPECT_EQ(result.exit_code, 1) << bad.line;
    std::string error = result.standard_error;
    EXPECT_TRUE(contains(error, "kforge: error: " + bad.expected)) << error;
    EXPECT_TRUE(contains(error, "kforge.toml:2")) << error;
    EXPECT_EQ(std::count(error.begin(), error.end(), '\n'), 1) << error;
    EXPECT_FALSE(fs::exists(dir / "kforge.db"));  // refused before anything was touched
  }
  // A typo still gets its suggestion.
  testing::TemporaryDirectory dir;
  write_text(dir / "kforge.toml", "[compile]\nworkerz = 2\n");
  ProcessResult typo = run_kforge({"tasks", "list"}, dir.path());
  EXPECT_TRUE(contains(typo.standard_error, "compile.workers")) << typo.standard_error;
}

// --- the reference runner: memory and environment -------------------------------------------

TEST(HostileProcess, AReferenceOverItsMemoryLimitFailsNamingTheTask) {
  testing::TemporaryDirectory dir;
  fs::path tasks = dir / "tasks";
  fs::create_directories(tasks);
  // 1.5 GiB held at module level (written, so resident); the limit is 1 GiB.
  write_text(tasks / "hog.py", task_file("buffer = b'x' * (1536 << 20)\n"));
  write_text(tasks / "small.py", task_file());
  write_text(dir / "kforge.toml", "[reference]\nmemory_mb = 1024\n");
  ProcessResult result = run_kforge(
      {"--python", python(), "tasks", "import", tasks.string(), "--suite", "mem"}, dir.path());
  std::string output = result.standard_output + result.standard_error;
  EXPECT_TRUE(contains(output, "failed mem/hog")) << output;
  EXPECT_TRUE(contains(output, "memory limit of 1024 MiB (reference.memory_mb")) << output;
  EXPECT_TRUE(contains(output, "imported mem/small")) << output;
}

TEST(HostileProcess, TaskCodeDoesNotSeeTheApiKey) {
  testing::TemporaryDirectory dir;
  fs::path tasks = dir / "tasks";
  fs::create_directories(tasks);
  // The task shows its whole environment in its error message.
  write_text(tasks / "spy.py",
             "import os\nraise RuntimeError('ENV ' + ' '.join(sorted(os.environ)) + ' VALUES ' + "
             "' '.join(os.environ.values()))\n");
  write_text(dir / "kforge.toml", "[llm]\napi_key_env = \"MY_LLM_AUTH\"\n");
  ProcessResult result = run_kforge(
      {"--python", python(), "tasks", "import", tasks.string(), "--suite", "env"}, dir.path(),
      {{"OPENAI_API_KEY", "sk-hostile-secret-1"},
       {"MY_LLM_AUTH", "hostile-secret-2"},
       {"KFORGE_TEST_KEY", "hostile-secret-3"},
       {"SOME_UNRELATED_VARIABLE", "hostile-secret-4"}});
  std::string output = result.standard_output + result.standard_error;
  ASSERT_TRUE(contains(output, "ENV ")) << output;  // the channel works
  EXPECT_TRUE(contains(output, "PATH")) << output;  // and the runner still has what it needs
  for (std::string secret : {"hostile-secret-1", "hostile-secret-2", "hostile-secret-3",
                             "hostile-secret-4", "OPENAI_API_KEY", "MY_LLM_AUTH"})
    EXPECT_FALSE(contains(output, secret)) << secret << " reached the task: " << output;
}

// --- caches ------------------------------------------------------------------------------------

TEST(HostileProcess, AnEditedReferenceRunnerIsReplacedBeforeItRuns) {
  testing::TemporaryDirectory dir;
  fs::path tasks = dir / "tasks";
  fs::create_directories(tasks);
  write_text(tasks / "first.py", task_file());
  ProcessResult first = run_kforge(
      {"--python", python(), "tasks", "import", tasks.string(), "--suite", "c"}, dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.standard_error;
  fs::path runner;
  for (const auto& entry : fs::directory_iterator(dir / ".kforge/reference/runner"))
    runner = entry.path();
  ASSERT_FALSE(runner.empty());
  std::string original = files::read(runner);
  write_text(runner, "import sys\nprint('{\"ok\": false}')\nsys.exit(3)\n");
  write_text(tasks / "second.py", task_file("m = 2\n"));
  ProcessResult second = run_kforge(
      {"--python", python(), "tasks", "import", tasks.string(), "--suite", "c"}, dir.path());
  EXPECT_EQ(second.exit_code, 0) << second.standard_output << second.standard_error;
  EXPECT_TRUE(contains(second.standard_output + second.standard_error, "imported c/second"));
  EXPECT_EQ(files::read(runner), original);
}

TEST(HostileProcess, DamagedCompileCacheEntriesAreCompiledAgain) {
  testing::TemporaryDirectory dir;
  fs::path candidate = testing::source_dir() / "tests/system/data/eval/relu_ok.cu";
  auto eval = [&] {
    ProcessResult result = run_kforge(
        {"--python", python(), "eval", candidate.string(), "--task", "builtin/relu", "--json"},
        dir.path());
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    return nlohmann::json::parse(result.standard_output, nullptr, false);
  };
  nlohmann::json clean = eval();
  ASSERT_EQ(clean.value("verdict", ""), "compiled") << clean.dump();
  std::vector<fs::path> ptx;
  for (const auto& entry : fs::recursive_directory_iterator(dir / ".kforge/compile")) {
    if (entry.path().filename() == "candidate.ptx")
      ptx.push_back(entry.path());
  }
  ASSERT_EQ(ptx.size(), 1u);
  std::string good = files::read(ptx[0]);
  for (std::string damage :
       {std::string(), std::string("garbage, not PTX\n"), good.substr(0, good.size() / 2)}) {
    write_text(ptx[0], damage);
    nlohmann::json again = eval();
    EXPECT_EQ(again.value("verdict", ""), "compiled") << again.dump();
    EXPECT_EQ(files::read(ptx[0]), good);  // the entry was written again
  }
}

}  // namespace
}  // namespace kforge
