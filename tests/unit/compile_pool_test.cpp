// sandbox/compile_pool: real `kforge worker compile` processes running real NVRTC. Failures and
// misbehaving workers first; each is followed by a compile that must still work.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "sandbox/compile_pool.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

constexpr const char* kScale = R"(
extern "C" __global__ void scale(const float* x, float* out, long n) {
  __shared__ float tile[BLOCK];
  long i = blockIdx.x * (long)BLOCK + threadIdx.x;
  tile[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  if (i < n) out[i] = 2.0f * tile[threadIdx.x];
}
)";

bool have_nvrtc() {
  try {
    Nvrtc::instance();
    return true;
  } catch (const Error&) {
    return false;
  }
}

CompilePoolOptions test_options(const std::filesystem::path& cache) {
  CompilePoolOptions options;
  options.workers = 2;
  options.time_limit = std::chrono::seconds(3);
  options.memory_mb = 1024;
  options.cache_dir = cache;
  // Serves compiles with the real worker code and NVRTC, and misbehaves on command.
  options.worker_program = KFORGE_MISBEHAVING_COMPILE_WORKER;
  options.worker_arguments = {};
  return options;
}

// A request the misbehaving worker answers with `fault` (see its header).
CompileRequest with_fault_marker(CompileRequest request, const std::string& fault) {
  request.source += "// kforge-test-fault: " + fault + "\n";
  return request;
}

CompileRequest scale_request(int block = 256) {
  CompileRequest request;
  request.source = kScale;
  request.defines = {{"BLOCK", std::to_string(block)}};
  return request;
}

class CompilePoolTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!have_nvrtc())
      return;
    directory_ = new testing::TemporaryDirectory();
    pool_ = new CompilePool(test_options(directory_->path() / "cache"));
  }
  static void TearDownTestSuite() {
    delete pool_;
    delete directory_;
    pool_ = nullptr;
  }
  void SetUp() override {
    if (pool_ == nullptr)
      GTEST_SKIP() << "NVRTC is not installed on this machine";
  }

  CompileResult with_fault(const std::string& fault) {
    return pool_->compile(with_fault_marker(scale_request(), fault));
  }

  // The pool must still compile after whatever the test did to it.
  void expect_pool_still_works() {
    CompileResult result = pool_->compile(scale_request(128));
    EXPECT_EQ(result.status, CompileStatus::kOk) << result.detail << result.log;
  }

  static testing::TemporaryDirectory* directory_;
  static CompilePool* pool_;
};
testing::TemporaryDirectory* CompilePoolTest::directory_ = nullptr;
CompilePool* CompilePoolTest::pool_ = nullptr;

TEST_F(CompilePoolTest, CrashingWorkerIsReplaced) {
  int replaced = pool_->workers_replaced();
  CompileResult crash = with_fault("crash");
  EXPECT_EQ(crash.status, CompileStatus::kWorkerCrashed);
  EXPECT_NE(crash.detail.find("signal 11"), std::string::npos) << crash.detail;
  CompileResult abort = with_fault("abort");
  EXPECT_EQ(abort.status, CompileStatus::kWorkerCrashed);
  EXPECT_NE(abort.detail.find("signal 6"), std::string::npos) << abort.detail;
  EXPECT_EQ(pool_->workers_replaced(), replaced + 2);
  expect_pool_still_works();
}

TEST_F(CompilePoolTest, HangingWorkerIsKilledAtTheTimeLimit) {
  auto started = std::chrono::steady_clock::now();
  CompileResult result = with_fault("hang");
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(result.status, CompileStatus::kTimeLimit);
  EXPECT_NE(result.detail.find("time limit of 3 s"), std::string::npos) << result.detail;
  EXPECT_GE(seconds, 2.9);
  EXPECT_LT(seconds, 8.0);
  expect_pool_still_works();
}

TEST_F(CompilePoolTest, GarbageHalfRepliesAndWrongIdsAreCrashes) {
  CompileResult garbage = with_fault("garbage");
  EXPECT_EQ(garbage.status, CompileStatus::kWorkerCrashed);
  EXPECT_NE(garbage.detail.find("this is not a JSON reply"), std::string::npos) << garbage.detail;
  CompileResult partial = with_fault("partial");
  EXPECT_EQ(partial.status, CompileStatus::kWorkerCrashed);
  EXPECT_NE(partial.detail.find("died during the compile"), std::string::npos) << partial.detail;
  CompileResult wrong = with_fault("wrong_id");
  EXPECT_EQ(wrong.status, CompileStatus::kWorkerCrashed);
  expect_pool_still_works();
}

TEST_F(CompilePoolTest, HostileSourcesEndAsFailuresWithReasons) {
  CompileRequest escape;
  escape.source = "#include \"/etc/passwd\"\nextern \"C\" __global__ void k() {}\n";
  CompileResult forbidden = pool_->compile(escape);
  EXPECT_EQ(forbidden.status, CompileStatus::kForbiddenInclude);
  EXPECT_NE(forbidden.detail.find("candidate.cu:1:1"), std::string::npos) << forbidden.detail;

  CompileRequest giant;
  giant.source = std::string(kDefaultMaxSourceBytes + 1, ' ');
  EXPECT_EQ(pool_->compile(giant).status, CompileStatus::kTooLarge);

  CompileRequest latin1;
  latin1.source = "// caf\xe9\nextern \"C\" __global__ void k() {}\n";
  EXPECT_EQ(pool_->compile(latin1).status, CompileStatus::kNotUtf8);

  CompileRequest recursion;
  recursion.source =
      "template <int N> struct R { static constexpr int v = R<N - 1>::v + 1; };\n"
      "template <> struct R<0> { static constexpr int v = 0; };\n"
      "extern \"C\" __global__ void k(int* x) { x[0] = R<100000>::v; }\n";
  CompileResult deep = pool_->compile(recursion);
  EXPECT_EQ(deep.status, CompileStatus::kNvrtcError);
  EXPECT_NE(deep.log.find("excessive recursion"), std::string::npos) << deep.log;
  EXPECT_LE(deep.log.size(), 17u * 1024);
  expect_pool_still_works();
}

TEST_F(CompilePoolTest, HugeUnrollHitsTheTimeLimit) {
  CompileRequest unroll;
  unroll.source =
      "extern \"C\" __global__ void k(float* x, int n) {\n  float s = 0;\n"
      "#pragma unroll 65536\n  for (int i = 0; i < 65536; i++) s += x[i * n] * i;\n"
      "  x[threadIdx.x] = s;\n}\n";
  CompileResult result = pool_->compile(unroll);
  EXPECT_EQ(result.status, CompileStatus::kTimeLimit) << result.detail;
  expect_pool_still_works();
}

TEST_F(CompilePoolTest, EnormousLocalArrayCompilesAndReportsItsLocalMemory) {
  CompileRequest request;
  request.source =
      "extern \"C\" __global__ void k(float* x, int n) {\n  float a[1 << 20];\n"
      "  for (int i = 0; i < n; i++) a[(i * 7) & ((1 << 20) - 1)] = x[i];\n"
      "  x[threadIdx.x] = a[(threadIdx.x * n) & ((1 << 20) - 1)];\n}\n";
  CompileResult result = pool_->compile(request);
  ASSERT_EQ(result.status, CompileStatus::kOk) << result.detail << result.log;
  ASSERT_EQ(result.kernels.size(), 1u);
  EXPECT_GE(result.kernels[0].local_bytes, 4 << 20);
  EXPECT_GE(result.kernels[0].stack_frame_bytes, 4 << 20);
}

TEST_F(CompilePoolTest, OptionsAndArchitecturesOutsideTheRulesAreErrors) {
  CompileRequest request = scale_request();
  request.options = {"-I/etc"};
  EXPECT_THROW(pool_->compile(request), Error);
  request.options = {};
  request.arch = "compute_90; rm -rf /";
  EXPECT_THROW(pool_->compile(request), Error);
}

TEST_F(CompilePoolTest, GoodKernelGivesCubinPtxAndResourcesThenHitsTheCache) {
  CompileResult first = pool_->compile(scale_request(512));
  ASSERT_EQ(first.status, CompileStatus::kOk) << first.detail << first.log;
  EXPECT_FALSE(first.from_cache);
  EXPECT_EQ(first.nvrtc_version, pool_->nvrtc_version());
  EXPECT_EQ(files::read(first.cubin_path).substr(0, 4),
            "\x7f"
            "ELF");
  EXPECT_NE(files::read(first.ptx_path).find(".entry scale"), std::string::npos);
  ASSERT_EQ(first.kernels.size(), 1u);
  EXPECT_EQ(first.kernels[0].name, "scale");
  EXPECT_EQ(first.kernels[0].shared_bytes, 512 * 4);  // the define reached NVRTC
  EXPECT_GT(first.kernels[0].registers, 0);
  EXPECT_GT(first.compile_ms, 0);

  CompileResult again = pool_->compile(scale_request(512));
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.cubin_path, first.cubin_path);
  // The best of a few, so that a busy machine's scheduling does not fail the test.
  double fastest = again.wall_ms;
  for (int i = 0; i < 4; ++i)
    fastest = std::min(fastest, pool_->compile(scale_request(512)).wall_ms);
  EXPECT_LE(fastest, 5.0);
  EXPECT_EQ(again.kernels[0].shared_bytes, 512 * 4);

  CompileResult other = pool_->compile(scale_request(64));
  EXPECT_FALSE(other.from_cache);
  EXPECT_EQ(other.kernels[0].shared_bytes, 64 * 4);
}

TEST_F(CompilePoolTest, CompilesFromSeveralThreadsAtOnce) {
  std::vector<std::future<CompileResult>> results;
  for (int i = 0; i < 4; ++i) {
    results.push_back(std::async(std::launch::async, [this, i] {
      CompileRequest request = scale_request(32 * (i + 1));
      request.source += "// thread " + std::to_string(i) + "\n";
      return pool_->compile(request);
    }));
  }
  for (int i = 0; i < 4; ++i) {
    CompileResult result = results[i].get();
    EXPECT_EQ(result.status, CompileStatus::kOk) << result.detail;
    EXPECT_EQ(result.kernels.at(0).shared_bytes, 32 * (i + 1) * 4);
  }
}

// A small limit keeps these quick: NVRTC takes seconds to fill a large one.
TEST(CompilePoolMemory, ExhaustingTheAddressSpaceLimitIsAMemoryFailure) {
  if (!have_nvrtc())
    GTEST_SKIP() << "NVRTC is not installed on this machine";
  testing::TemporaryDirectory directory;
  CompilePoolOptions options = test_options(directory.path());
  options.workers = 1;
  options.memory_mb = 384;
  options.time_limit = std::chrono::seconds(60);  // the bomb is slow on a busy machine
  CompilePool pool(options);

  CompileResult died = pool.compile(with_fault_marker(scale_request(), "allocate"));
  EXPECT_EQ(died.status, CompileStatus::kMemoryLimit) << died.detail;
  EXPECT_NE(died.detail.find("384 MiB"), std::string::npos) << died.detail;

  CompileRequest bomb;
  bomb.source =
      "#define A0(x) x x x x\n#define A1(x) A0(A0(x))\n#define A2(x) A1(A1(x))\n"
      "#define A3(x) A2(A2(x))\n#define A4(x) A3(A3(x))\n"
      "extern \"C\" __global__ void k(float* x) { float s = 0; A4(s += x[threadIdx.x];) "
      "x[0] = s; }\n";
  CompileResult exhausted = pool.compile(bomb);
  EXPECT_EQ(exhausted.status, CompileStatus::kMemoryLimit) << exhausted.detail << exhausted.log;

  EXPECT_EQ(pool.compile(scale_request()).status, CompileStatus::kOk);
}

// The shipped worker (`kforge worker compile`, the pool's default) obeys no fault marker: the
// request the test worker crashes on compiles there.
TEST(CompilePoolStart, TheShippedWorkerHasNoFaultInjection) {
  if (!have_nvrtc())
    GTEST_SKIP() << "NVRTC is not installed on this machine";
  testing::TemporaryDirectory directory;
  CompilePoolOptions options = test_options(directory.path());
  options.workers = 1;
  options.worker_program = testing::kforge_binary();
  options.worker_arguments = {"worker", "compile"};
  CompilePool pool(options);
  CompileResult result = pool.compile(with_fault_marker(scale_request(), "crash"));
  EXPECT_EQ(result.status, CompileStatus::kOk) << result.detail << result.log;
  EXPECT_EQ(pool.workers_replaced(), 0);
}

TEST(CompilePoolStart, WorkerThatIsNotAWorkerIsAnError) {
  testing::TemporaryDirectory directory;
  CompilePoolOptions options = test_options(directory.path());
  options.workers = 1;
  options.worker_program = "/bin/echo";
  options.worker_arguments = {"hello"};
  try {
    CompilePool pool(options);
    FAIL() << "a pool of /bin/echo started";
  } catch (const Error& error) {
    EXPECT_NE(std::string(error.what()).find("greeted with 'hello'"), std::string::npos)
        << error.what();
  }
  options.worker_program = "/bin/false";
  options.worker_arguments = {};
  EXPECT_THROW(CompilePool pool(options), Error);
}

// A compile worker that greets with `hello` (a JSON line) and answers its first request with
// `reply` (a Python expression of `request`), as a real process speaking the pool's protocol.
CompilePoolOptions scripted_worker(const std::filesystem::path& cache, const std::string& hello,
                                   const std::string& reply = "{}") {
  CompilePoolOptions options = test_options(cache);
  options.workers = 1;
  options.worker_program = "/usr/bin/python3";
  options.worker_arguments = {
      "-c", "import json, sys\nprint(" + hello +
                ", flush=True)\nrequest = json.loads(sys.stdin.readline())\nprint(json.dumps(" +
                reply + "), flush=True)\nsys.stdin.readline()\n"};
  return options;
}

std::string start_error(const CompilePoolOptions& options) {
  try {
    CompilePool pool(options);
  } catch (const Error& error) {
    return error.what();
  }
  return "(the pool started)";
}

TEST(CompilePoolStart, MistypedHelloFieldsAreOneErrorNamingTheField) {
  testing::TemporaryDirectory directory;
  auto with = [&](const std::string& fields) {
    return start_error(scripted_worker(directory.path(),
                                       "'{\"hello\": \"kforge-compile-worker\", " + fields + "}'"));
  };
  EXPECT_NE(start_error(scripted_worker(directory.path(), "'{\"hello\": 5}'")).find("greeted with"),
            std::string::npos);
  EXPECT_NE(with("\"protocol\": \"1\"").find("field 'protocol' has the wrong type (string)"),
            std::string::npos)
      << with("\"protocol\": \"1\"");
  EXPECT_NE(with("\"protocol\": 1, \"nvrtc_version\": 13").find("field 'nvrtc_version'"),
            std::string::npos);
  EXPECT_NE(with("\"protocol\": 1, \"include_roots\": \"/usr\"").find("field 'include_roots'"),
            std::string::npos);
  EXPECT_NE(with("\"protocol\": 1, \"include_roots\": [\"/usr\", 7]").find("field 'include_roots'"),
            std::string::npos);
  EXPECT_NE(with("\"error\": {\"no\": \"text\"}").find("field 'error' has the wrong type (object)"),
            std::string::npos);
  EXPECT_NE(with("\"protocol\": 1e300").find("field 'protocol' holds a number out of range"),
            std::string::npos);
  // Well-typed fields still mean what they meant.
  EXPECT_NE(with("\"error\": \"no NVRTC here\"").find("no NVRTC here"), std::string::npos);
  EXPECT_NE(with("\"protocol\": 2").find("another protocol version"), std::string::npos);
}

TEST(CompilePoolCompile, ReplyWithAnErrorThatIsNotTextReplacesTheWorker) {
  testing::TemporaryDirectory directory;
  CompilePool pool(scripted_worker(
      directory.path(),
      "'{\"hello\": \"kforge-compile-worker\", \"protocol\": 1, \"nvrtc_version\": \"0.0\"}'",
      "{\"id\": request[\"id\"], \"error\": [1, 2]}"));
  CompileResult result = pool.compile(scale_request());
  EXPECT_EQ(result.status, CompileStatus::kWorkerCrashed);
  EXPECT_NE(result.detail.find("its error is not text (array)"), std::string::npos)
      << result.detail;
}

}  // namespace
}  // namespace kforge
