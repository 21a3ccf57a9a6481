// What a hostile user tried on the landed build (issue 11, items 9 and 11), through the real
// binary on a real workspace and store: each ends in a verdict or a one-line error, never a
// crash, a hang or a leak, and the store stays intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "datasets/sqlite.hpp"
#include "tests/support/fake_llm_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

const std::string kRelu = R"cu(/* kforge:launch
{
  "kernels": [
    {"name": "relu", "grid": ["ceil_div(x.numel, BLOCK)"], "block": ["BLOCK"],
     "shared_bytes": "0", "args": ["x", "out", ARG]}
  ],
  "defines": {DEFINE: {"default": 256, "values": [128, 256, 512]}}
}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
)cu";

// The ReLU candidate with its third argument and its define's name replaced.
std::string relu(const std::string& argument = "\"x.numel\"",
                 const std::string& define = "\"BLOCK\"") {
  std::string text = kRelu;
  text.replace(text.find("ARG"), 3, argument);
  text.replace(text.find("DEFINE"), 6, define);
  return text;
}

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { workspace_ = new testing::TemporaryDirectory(); }
  static void TearDownTestSuite() { delete workspace_; }

  static fs::path write(const std::string& name, const std::string& text) {
    fs::path path = *workspace_ / name;
    testing::write_text(path, text);
    return path;
  }

  static ProcessResult eval(const fs::path& file, std::vector<std::string> extra = {}) {
    std::vector<std::string> arguments = {"--python",    "/usr/bin/python3", "eval",
                                          file.string(), "--task",           "builtin/relu"};
    arguments.insert(arguments.end(), extra.begin(), extra.end());
    return run_kforge(arguments, workspace_->path(), {}, 120);
  }

  static nlohmann::json eval_json(const fs::path& file, std::vector<std::string> extra = {}) {
    extra.push_back("--json");
    ProcessResult result = eval(file, extra);
    EXPECT_EQ(result.exit_code, 0) << result.standard_error;
    EXPECT_EQ(result.standard_error.find("internal error"), std::string::npos)
        << result.standard_error;
    return result.exit_code == 0 ? nlohmann::json::parse(result.standard_output)
                                 : nlohmann::json::object();
  }

  static int64_t count(const std::string& sql) {
    sql::Connection db((workspace_->path() / "kforge.db").string(), false);
    auto query = db.prepare(sql);
    return query.step() ? query.integer(0) : -1;
  }

  static std::string stage_status(const nlohmann::json& report, const std::string& name) {
    for (const auto& stage : report["stages"]) {
      if (stage["name"] == name)
        return stage["status"];
    }
    return "absent";
  }

  static testing::TemporaryDirectory* workspace_;
};

testing::TemporaryDirectory* HostileInputTest::workspace_ = nullptr;

// `"x.numel × 1"` was `kforge: internal error: [json.exception.type_error.316] invalid UTF-8`
// with nothing stored: the message quoted half of the '×'.
TEST_F(HostileInputTest, NonAsciiInAPlanExpressionIsAStoredPlanError) {
  for (const std::string& argument :
       {std::string("\"x.numel \xc3\x97 1\""), std::string("\"x\xc3\xa9\"")}) {
    SCOPED_TRACE(argument);
    nlohmann::json report = eval_json(write("unicode.cu", relu(argument)));
    EXPECT_EQ(report["verdict"], "plan_error") << report.dump();
    EXPECT_NE(report["detail"].get<std::string>().find("unexpected '\xc3"), std::string::npos)
        << report["detail"];
    EXPECT_EQ(count("SELECT count(*) FROM evaluations WHERE id = " +
                    std::to_string(report["evaluation_id"].get<int64_t>()) +
                    " AND verdict = 'plan_error'"),
              1);
  }
}

TEST_F(HostileInputTest, SourceThatIsNotUtf8IsRefusedBeforeParsing) {
  nlohmann::json report = eval_json(write("latin1.cu", relu("\"x.numel\xd7\"")));
  EXPECT_EQ(report["verdict"], "compile_error");
  EXPECT_EQ(report["reason"], "not_utf8");
  EXPECT_EQ(stage_status(report, "parse"), "skipped");
}

// 40 MB kept `kforge eval` busy for over 4 minutes (quadratic passes before the size check).
TEST_F(HostileInputTest, OversizedSourceGetsItsVerdictAtOnce) {
  std::string text = relu();
  text += std::string(40 << 20, '\n');
  fs::path file = write("huge.cu", text);
  auto started = std::chrono::steady_clock::now();
  nlohmann::json report = eval_json(file);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(report["verdict"], "compile_error");
  EXPECT_EQ(report["reason"], "too_large");
  EXPECT_EQ(stage_status(report, "parse"), "skipped");
  // The store keeps its size, its hash and its first 4 KiB, not 40 MB nobody read.
  EXPECT_EQ(report["evidence"]["source_bytes"], text.size());
  std::string candidate = std::to_string(report["candidate_id"].get<int64_t>());
  EXPECT_EQ(count("SELECT length(source) FROM candidates WHERE id = " + candidate), 4096);
  EXPECT_EQ(count("SELECT length(source_hash) FROM candidates WHERE id = " + candidate), 64);
  // The whole process, start-up and store included; kforge's own part is measured in
  // bench/hostile_sizes.sh (docs/hostile-sizes.md).
  EXPECT_LT(seconds, 10) << seconds;
}

// /dev/zero grew kforge to 11.6 GB in 20 s; a FIFO blocked it forever.
TEST_F(HostileInputTest, DevicesAndFifosAreRefusedWithOneLine) {
  ASSERT_EQ(::mkfifo((*workspace_ / "pipe.cu").c_str(), 0600), 0);
  for (const fs::path& file : {fs::path("/dev/zero"), *workspace_ / "pipe.cu"}) {
    SCOPED_TRACE(file.string());
    ProcessResult result =
        run_kforge({"eval", file.string(), "--task", "builtin/relu"}, workspace_->path(), {}, 20);
    EXPECT_FALSE(result.timed_out);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(result.standard_error.rfind("kforge: error: cannot read file: it is a", 0), 0u)
        << result.standard_error;
    EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1);
  }
}

// `--define 'BLOCK=256 -I/etc'` and unknown names were stored plan_errors with exit 0.
TEST_F(HostileInputTest, BadDefinesAreUsageErrors) {
  fs::path file = write("relu.cu", relu());
  eval_json(file);  // the task is analysed and the store exists before counting
  int64_t runs_before = count("SELECT count(*) FROM runs");
  for (const auto& [define, words] :
       std::vector<std::pair<std::string, std::string>>{{"BLOCK=256 -I/etc", "64-bit integer"},
                                                        {"BLOK=128", "did you mean 'BLOCK'"},
                                                        {"BLOCK=", "64-bit integer"},
                                                        {"-I=1", "not a C identifier"},
                                                        {"BLOCK", "NAME=VALUE"}}) {
    SCOPED_TRACE(define);
    ProcessResult result = eval(file, {"--define", define});
    EXPECT_EQ(result.exit_code, 2) << result.standard_output;
    EXPECT_EQ(result.standard_error.rfind("kforge: usage error: --define: ", 0), 0u)
        << result.standard_error;
    EXPECT_NE(result.standard_error.find(words), std::string::npos) << result.standard_error;
    EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1);
  }
  EXPECT_EQ(count("SELECT count(*) FROM runs"), runs_before);
  EXPECT_EQ(eval_json(file, {"--define", "BLOCK=512"})["defines"]["BLOCK"], 512);
}

// A define named like an input was compiled as `-Dx=256` and failed in NVRTC.
TEST_F(HostileInputTest, DefineNamedLikeAnInputIsAPlanError) {
  std::string text = relu("\"x.numel\"", "\"x\"");
  text.replace(text.find("[\"BLOCK\"]"), 9, "[\"x\"]");
  nlohmann::json report = eval_json(write("clash.cu", text));
  EXPECT_EQ(report["verdict"], "plan_error") << report.dump();
  EXPECT_NE(report["detail"].get<std::string>().find("has the name of the task's input 'x'"),
            std::string::npos)
      << report["detail"];
  EXPECT_EQ(stage_status(report, "compile"), "skipped");
}

// A UTF-8 byte order mark failed in NVRTC; it is dropped, and positions stay as editors show.
TEST_F(HostileInputTest, ByteOrderMarkIsDropped) {
  const std::string bom = "\xef\xbb\xbf";
  EXPECT_EQ(eval_json(write("bom.cu", bom + relu()))["verdict"], "compiled");
  std::string broken = relu("\"x.numel +\"");
  std::string with = eval_json(write("b.cu", bom + broken))["detail"];
  std::string without = eval_json(write("b.cu", broken))["detail"];
  EXPECT_EQ(with, without);
  EXPECT_NE(with.find("b.cu:5:"), std::string::npos) << with;
}

// `#define CAT(a,b) a##b` and `#if CAT(__has_,include)("/etc/passwd")` let NVRTC answer
// whether any host file exists.
TEST_F(HostileInputTest, PastedIncludeProbeIsForbidden) {
  std::string probe =
      "#define CAT(a,b) a##b\n#if CAT(__has_,include)(\"/etc/passwd\")\n#define SEEN 1\n#endif\n";
  nlohmann::json report = eval_json(write("probe.cu", relu() + probe));
  EXPECT_EQ(report["verdict"], "compile_error");
  EXPECT_EQ(report["reason"], "forbidden_include") << report.dump();
}

// Escape sequences in a compile log (here from #error) and in a file name reach the terminal
// as visible text, never raw.
TEST_F(HostileInputTest, EscapeSequencesNeverReachTheTerminal) {
  fs::path file = write("esc\x1b]0;owned\x07.cu", relu() + "#error \"\x1b[2J\x1b]0;pwned\x07\"\n");
  ProcessResult result = eval(file);
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_NE(result.standard_output.find("verdict: compile_error"), std::string::npos)
      << result.standard_output;
  EXPECT_EQ(result.standard_output.find('\x1b'), std::string::npos) << result.standard_output;
  EXPECT_EQ(result.standard_output.find('\x07'), std::string::npos);
  EXPECT_NE(result.standard_output.find("esc\\x1b]0;owned\\x07.cu"), std::string::npos)
      << result.standard_output;
}

// A file name that is not UTF-8 went into the run's JSON and ended in an internal error.
TEST_F(HostileInputTest, FileNameThatIsNotUtf8IsStored) {
  nlohmann::json report = eval_json(write("k\xff.cu", relu()));
  EXPECT_EQ(report["verdict"], "compiled");
}

// An LLM answer with a non-ASCII plan killed `optimize`, left the run `running`, and
// `--resume` died on the same stored answer every time.
TEST_F(HostileInputTest, OptimizeGoesOnPastNonAsciiAnswersAndResumes) {
  testing::FakeLlmServer server({"--nonascii"});
  auto arguments = [&](const std::string& model) {
    return std::vector<std::string>{"--python",      "/usr/bin/python3",
                                    "optimize",      "builtin/relu",
                                    "--agent",       "llm",
                                    "--base-url",    server.base_url(),
                                    "--model",       model,
                                    "--strategy",    "sample",
                                    "--concurrency", "2",
                                    "--samples",     "2",
                                    "--iterations",  "2",
                                    "--json"};
  };
  ProcessResult result = run_kforge(arguments("ok/unicode"), workspace_->path(), {}, 120);
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  nlohmann::json report = nlohmann::json::parse(result.standard_output);
  std::string run = std::to_string(report["run_id"].get<int64_t>());
  EXPECT_EQ(report["status"], "completed");
  EXPECT_EQ(report["tasks"][0]["verdicts"]["plan_error"], 4) << report.dump();
  EXPECT_EQ(
      count("SELECT count(*) FROM evaluations WHERE verdict = 'plan_error' AND run_id = " + run),
      4);

  // Killed while answers are stored and more are in flight, then resumed: the stored
  // non-ASCII answers are told again from the store and the rest asked, to completion.
  std::vector<std::string> slow = arguments("slowx3/unicode");
  slow.pop_back();  // no --json: the background run's output is not read
  pid_t child = ::fork();
  if (child == 0) {
    ::setpgid(0, 0);
    if (::chdir(workspace_->path().c_str()) != 0)
      ::_exit(126);
    std::vector<std::string> words = {testing::kforge_binary().string(), "--quiet"};
    words.insert(words.end(), slow.begin(), slow.end());
    std::vector<char*> argv;
    for (std::string& word : words)
      argv.push_back(word.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ASSERT_GT(child, 0);
  int64_t killed_run = -1;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (killed_run < 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    try {
      int64_t latest = count("SELECT max(id) FROM runs WHERE model = 'slowx3/unicode'");
      if (latest > 0 &&
          count("SELECT count(*) FROM candidates WHERE run_id = " + std::to_string(latest)) >= 2)
        killed_run = latest;
    } catch (const std::exception&) {
    }
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ASSERT_GT(killed_run, 0);
  std::string id = std::to_string(killed_run);
  ProcessResult resumed =
      run_kforge({"--python", "/usr/bin/python3", "optimize", "--resume", id, "--json"},
                 workspace_->path(), {}, 120);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.standard_error;
  nlohmann::json after = nlohmann::json::parse(resumed.standard_output);
  EXPECT_EQ(after["status"], "completed");
  EXPECT_EQ(after["tasks"][0]["verdicts"]["plan_error"], 4) << after.dump();
  EXPECT_EQ(
      count("SELECT count(*) FROM evaluations WHERE verdict = 'plan_error' AND run_id = " + id), 4);
  EXPECT_EQ(count("SELECT count(*) FROM runs WHERE status = 'running'"), 0);
}

}  // namespace
}  // namespace kforge
