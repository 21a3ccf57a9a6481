// `kforge watch` through the real binary, a real store and real references, with the GPU emulated
// by tests/support/emulated_gpu_worker.py through KFORGE_GPU_WORKER (as the eval report tests
// do): an engineer's session of saves, a burst that is one evaluation, a broken version whose
// compile errors are shown as file:line:column, and Ctrl-C.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "datasets/sqlite.hpp"
#include "harness/util/files.hpp"
#include "tests/support/emulated_gpu_fixtures.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::emulated_candidate;
using testing::run_kforge;

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(workspace_.path() / "problems");
    testing::write_text(workspace_.path() / "problems/tiny_relu.py", testing::kTinyReluTask);
    testing::write_text(workspace_.path() / "kforge.toml",
                        "python = \"/usr/bin/python3\"\n"
                        "[verify]\nseeds = 1\n"
                        "[gpu]\nrun_limit_s = 5\n"
                        "[timing]\ninput_sets = 2\nwarmup = 1\nmin_samples = 4\n"
                        "max_samples = 4\n");
    ProcessResult imported =
        run_kforge({"tasks", "import", "problems", "--suite", "tiny"}, workspace_.path());
    ASSERT_EQ(imported.exit_code, 0) << imported.standard_error;
  }

  // Starts `kforge watch` in a process group of its own (as a shell job is), its stdout and
  // stderr into files.
  pid_t start_watch(const fs::path& file) {
    pid_t child = ::fork();
    if (child == 0) {
      ::setpgid(0, 0);
      if (::chdir(workspace_.path().c_str()) != 0)
        ::_exit(126);
      int out =
          ::open((workspace_.path() / "watch.out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      int err =
          ::open((workspace_.path() / "watch.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      ::dup2(out, STDOUT_FILENO);
      ::dup2(err, STDERR_FILENO);
      std::string worker =
          "/usr/bin/python3 " +
          (testing::source_dir() / "tests/support/emulated_gpu_worker.py").string();
      ::setenv("KFORGE_GPU_WORKER", worker.c_str(), 1);
      std::vector<std::string> words = {testing::kforge_binary().string(),
                                        "watch",
                                        file.string(),
                                        "--task",
                                        "tiny/tiny_relu",
                                        "--debounce-ms",
                                        "400"};
      std::vector<char*> argv;
      for (std::string& word : words)
        argv.push_back(word.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    return child;
  }

  std::vector<std::string> output_lines() const {
    std::vector<std::string> lines;
    if (!fs::exists(workspace_.path() / "watch.out"))
      return lines;  // the child has not opened it yet
    std::string text = files::read(workspace_.path() / "watch.out");
    for (size_t at = 0; at < text.size();) {
      size_t end = text.find('\n', at);
      if (end == std::string::npos)
        break;  // a line still being written
      lines.push_back(text.substr(at, end - at));
      at = end + 1;
    }
    return lines;
  }

  // Waits until watch has printed `count` lines; those lines (fewer on a timeout).
  std::vector<std::string> wait_for_lines(size_t count) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
    std::vector<std::string> lines;
    while (std::chrono::steady_clock::now() < deadline) {
      lines = output_lines();
      if (lines.size() >= count)
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return lines;
  }

  std::string stderr_text() const {
    fs::path path = workspace_.path() / "watch.err";
    return fs::exists(path) ? files::read(path) : std::string();
  }

  int64_t count(const std::string& sql) const {
    sql::Connection db((workspace_.path() / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    return query.step() ? query.integer(0) : -1;
  }
  std::string text(const std::string& sql) const {
    sql::Connection db((workspace_.path() / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    return query.step() ? query.text(0) : "";
  }

  testing::TemporaryDirectory workspace_;
};

// Saves as an editor that writes a new file and renames it over the old one does.
void save_by_rename(const fs::path& file, const std::string& text) {
  fs::path temporary = file.parent_path() / ("." + file.filename().string() + ".swp");
  testing::write_text(temporary, text);
  fs::rename(temporary, file);
}

TEST_F(WatchTest, EverySaveIsEvaluatedStoredAndComparedUntilCtrlC) {
  fs::path file = workspace_.path() / "watched.cu";
  testing::write_text(file, emulated_candidate("slow_relu"));
  pid_t child = start_watch(file);
  ASSERT_GT(child, 0);
  std::vector<std::string> lines = wait_for_lines(1);
  ASSERT_EQ(lines.size(), 1u) << stderr_text();
  EXPECT_EQ(lines[0].rfind("v1 ", 0), 0u) << lines[0];
  EXPECT_NE(lines[0].find(" correct  median "), std::string::npos) << lines[0];
  // The profile's top finding ends the line of a profiled version.
  EXPECT_NE(lines[0].find("  top finding: "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find(" in slow_relu: "), std::string::npos) << lines[0];

  // Two saves in quick succession, one in place and one by rename: one evaluation.
  testing::write_text(file, emulated_candidate("relu"));
  save_by_rename(file, emulated_candidate("relu") + "// saved again\n");
  lines = wait_for_lines(2);
  ASSERT_EQ(lines.size(), 2u) << stderr_text();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // past the debounce: nothing more
  ASSERT_EQ(output_lines().size(), 2u) << output_lines().back();
  // Three times faster than the slow version: the median moved, and the line says by how much.
  // (No speedup: the emulated worker times no PyTorch baseline, so there is none to compare.)
  EXPECT_EQ(lines[1].rfind("v2 ", 0), 0u) << lines[1];
  EXPECT_NE(lines[1].find(" correct  median "), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("(-66.7%)"), std::string::npos) << lines[1];
  EXPECT_EQ(lines[1].find("[was"), std::string::npos) << lines[1];  // the verdict did not change

  // A broken version: its compile errors as file:line:column.
  std::string broken = emulated_candidate("relu");
  broken.replace(broken.find("out[i] ="), 8, "out[i] = undeclared_name +");
  save_by_rename(file, broken);
  lines = wait_for_lines(3);
  ASSERT_EQ(lines.size(), 3u) << stderr_text();
  EXPECT_EQ(lines[2].rfind("v3 ", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("compile_error"), std::string::npos) << lines[2];
  EXPECT_NE(lines[2].find("[was correct]"), std::string::npos) << lines[2];
  EXPECT_EQ(lines[2].find("top finding"), std::string::npos) << lines[2];  // nothing ran
  EXPECT_NE(lines[2].find("watched.cu:8:23: error: identifier \"undeclared_name\" is undefined"),
            std::string::npos)
      << lines[2];

  // Saves during an evaluation queue one more: a kernel that hangs holds the evaluation until
  // the watchdog (5 s), and two saves made meanwhile become one evaluation after it.
  save_by_rename(file, emulated_candidate("hang"));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the debounce: running
  testing::write_text(file, emulated_candidate("relu") + "// during 1\n");
  save_by_rename(file, emulated_candidate("relu") + "// during 2\n");
  EXPECT_EQ(output_lines().size(), 3u) << "the hanging version ended before the saves";
  lines = wait_for_lines(5);
  ASSERT_EQ(lines.size(), 5u) << stderr_text();
  EXPECT_EQ(lines[3].rfind("v4 ", 0), 0u) << lines[3];
  EXPECT_NE(lines[3].find(" timeout"), std::string::npos) << lines[3];
  EXPECT_EQ(lines[4].rfind("v5 ", 0), 0u) << lines[4];
  EXPECT_NE(lines[4].find(" correct"), std::string::npos) << lines[4];
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(output_lines().size(), 5u);

  // Ctrl-C to the whole group, as a terminal sends it: a clean end.
  ::kill(-child, SIGINT);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << stderr_text();
  EXPECT_EQ(WEXITSTATUS(status), 0) << stderr_text();
  EXPECT_NE(stderr_text().find("stopped after 5 versions"), std::string::npos) << stderr_text();

  // The session is a trajectory in the store: one run, five versions, each the child of the one
  // before.
  int64_t run = count("SELECT id FROM runs WHERE kind = 'watch'");
  ASSERT_GT(run, 0);
  std::string in_run = " run_id = " + std::to_string(run);
  EXPECT_EQ(text("SELECT status FROM runs WHERE id = " + std::to_string(run)), "completed");
  EXPECT_EQ(count("SELECT count(*) FROM candidates WHERE origin = 'human' AND" + in_run), 5);
  EXPECT_EQ(count("SELECT count(*) FROM candidates c JOIN candidates p ON p.id = c.parent_id "
                  "WHERE p.iteration = c.iteration - 1 AND c." +
                  std::string(in_run.substr(1))),
            4);
  EXPECT_EQ(text("SELECT group_concat(verdict, ',') FROM (SELECT e.verdict FROM evaluations e "
                 "JOIN candidates c ON c.id = e.candidate_id WHERE c." +
                 std::string(in_run.substr(1)) + " ORDER BY c.iteration)"),
            "correct,correct,compile_error,timeout,correct");
  EXPECT_EQ(
      count("SELECT count(*) FROM candidates WHERE instr(source, 'saved again') > 0 AND" + in_run),
      1);
  EXPECT_EQ(text("PRAGMA integrity_check"), "ok");
}

TEST_F(WatchTest, AVersionWhoseCountersAreUnavailableSaysWhy) {
  fs::path file = workspace_.path() / "denied.cu";
  testing::write_text(file, emulated_candidate("relu_counters_denied"));
  pid_t child = start_watch(file);
  ASSERT_GT(child, 0);
  std::vector<std::string> lines = wait_for_lines(1);
  ::kill(-child, SIGINT);
  ::waitpid(child, nullptr, 0);
  ASSERT_EQ(lines.size(), 1u) << stderr_text();
  EXPECT_NE(lines[0].find(" correct  median "), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("  profile unavailable (insufficient_privileges)"), std::string::npos)
      << lines[0];
  EXPECT_EQ(lines[0].find("top finding"), std::string::npos) << lines[0];
}

TEST_F(WatchTest, AMissingFileOrTaskIsOneLine) {
  ProcessResult missing =
      run_kforge({"watch", "nowhere.cu", "--task", "tiny/tiny_relu"}, workspace_.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_EQ(missing.standard_error.rfind("kforge: error: ", 0), 0u) << missing.standard_error;
  EXPECT_NE(missing.standard_error.find("nowhere.cu"), std::string::npos);
  testing::write_text(workspace_.path() / "k.cu", emulated_candidate("relu"));
  ProcessResult no_task =
      run_kforge({"watch", "k.cu", "--task", "tiny/nothing"}, workspace_.path());
  EXPECT_EQ(no_task.exit_code, 1);
  EXPECT_EQ(no_task.standard_error.rfind("kforge: error: ", 0), 0u) << no_task.standard_error;
  EXPECT_EQ(count("SELECT count(*) FROM runs WHERE kind = 'watch'"), 0);
}

}  // namespace
}  // namespace kforge
