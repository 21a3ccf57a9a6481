// The real GPU worker (`kforge worker gpu`) under the real GpuWorkerClient, with kernels compiled
// by the real compile pool. Where there is no GPU the constructor throws the worker's one line
// (checked first); every test that needs a device then skips, saying why. scripts/gpu-check.sh
// runs these on the device machine.
#include <gtest/gtest.h>

#include <cstring>

#include "harness/util/error.hpp"
#include "harness/util/safetensors.hpp"
#include "sandbox/compile_pool.hpp"
#include "sandbox/gpu_worker_client.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kKernels = R"(
extern "C" __global__ void scale(const float* x, float* out, long n) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  if (i < n) out[i] = 2.0f * x[i];
}
extern "C" __global__ void wild_write(float* out, long n) {
  float* nowhere = (float*)0x10;
  nowhere[threadIdx.x] = 1.0f;
}
extern "C" __global__ void writes_nothing(float* out, long n) {}
extern "C" __global__ void writes_past_end(const float* x, float* out, long n) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  if (i <= n) out[i] = 2.0f * x[i < n ? i : 0];  // one element too many
}
extern "C" __global__ void writes_before_start(const float* x, float* out, long n) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  if (i < n) out[i - 1] = 2.0f * x[i];  // from out[-1]
}
extern "C" __global__ void fmax_into_output(const float* x, float* out, long n) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  if (i < n) out[i] = fmaxf(out[i], 2.0f * x[i]);  // folds in whatever was there
}
extern "C" __global__ void chatty(const float* x, float* out, long n) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  printf("{\"id\": 1, \"ok\": true} thread %ld\n", i);
  if (i < n) out[i] = 2.0f * x[i];
}
)";

std::string hex_of_int64(int64_t value) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (int i = 0; i < 8; ++i) {
    auto byte = static_cast<unsigned char>(static_cast<uint64_t>(value) >> (8 * i));
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 15]);
  }
  return hex;
}

// A plan in ResolvedPlan::to_json() form: one launch over n elements.
json one_launch(const std::string& kernel, int64_t n, int64_t block, bool reads_x = true) {
  json args = json::array();
  if (reads_x)
    args.push_back({{"kind", "tensor"}, {"tensor", "x"}, {"role", "input"}});
  args.push_back({{"kind", "tensor"}, {"tensor", "out"}, {"role", "output"}});
  args.push_back({{"kind", "integer"},
                  {"type", "int64"},
                  {"width", 8},
                  {"value", n},
                  {"bytes", hex_of_int64(n)}});
  json launch = {{"kernel", kernel},
                 {"grid", {(n + block - 1) / block, 1, 1}},
                 {"block", {block, 1, 1}},
                 {"shared_bytes", 0},
                 {"args", args}};
  return {{"launches", {launch}}, {"scratch", json::array()}, {"defines", json::object()}};
}

void write_input(const fs::path& path, int64_t n, float offset) {
  SafetensorsFile file;
  Tensor x;
  x.dtype = DType::kF32;
  x.shape = {n};
  x.bytes.resize(static_cast<size_t>(n) * 4);
  for (int64_t i = 0; i < n; ++i) {
    float value = static_cast<float>(i) * 0.5f + offset;
    std::memcpy(x.bytes.data() + i * 4, &value, 4);
  }
  file.tensors["x"] = x;
  write_safetensors(path, file);
}

float element(const Tensor& tensor, int64_t i) {
  float value = 0;
  std::memcpy(&value, tensor.bytes.data() + i * 4, 4);
  return value;
}

GpuWorkerOptions real_options(const fs::path& job_dir) {
  GpuWorkerOptions options;
  options.job_dir = job_dir;
  options.worker_program = testing::kforge_binary();
  options.run_limit = std::chrono::seconds(20);
  options.time_limit = std::chrono::seconds(60);
  return options;
}

TEST(GpuWorkerDevice, WithoutAGpuTheClientThrowsTheWorkersOneLine) {
  testing::TemporaryDirectory directory;
  try {
    GpuWorkerClient client(real_options(directory.path()));
    GTEST_SKIP() << "this machine has a GPU (" << client.device().name << ")";
  } catch (const Error& error) {
    std::string message = error.message();
    EXPECT_TRUE(message.starts_with("no CUDA driver: ") || message.starts_with("no usable GPU: "))
        << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

class GpuWorkerDeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      client_ = std::make_unique<GpuWorkerClient>(real_options(directory_ / "jobs"));
    } catch (const Error& error) {
      GTEST_SKIP() << "no GPU worker on this machine: " << error.message();
    }
    CompilePoolOptions compile;
    compile.workers = 1;
    compile.cache_dir = directory_ / "compile";
    compile.worker_program = testing::kforge_binary();
    CompilePool pool(compile);
    CompileRequest request;
    request.source = kKernels;
    request.arch = client_->device().arch;
    CompileResult result = pool.compile(request);
    ASSERT_TRUE(result.ok()) << result.detail << "\n" << result.log;
    cubin_ = result.cubin_path;
  }

  RunRequest run_request(const json& plan, int64_t n) {
    RunRequest request;
    request.cubin = cubin_;
    request.plan = plan;
    request.out_dir = client_->new_job_directory();
    request.tensors = request.out_dir / "inputs.safetensors";
    write_input(request.tensors, n, 1.0f);
    request.outputs = {OutputSpec{"out", "F32", {n}}};
    return request;
  }

  testing::TemporaryDirectory directory_;
  std::unique_ptr<GpuWorkerClient> client_;
  fs::path cubin_;
};

TEST_F(GpuWorkerDeviceTest, RunsATrivialKernelAndReturnsOutputsAndInputs) {
  const int64_t n = 1000;  // not a multiple of the block
  auto reply = client_->run(run_request(one_launch("scale", n, 128), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  ASSERT_EQ(ok->outputs.size(), 2u);
  for (const fs::path& path : ok->outputs) {
    Tensor out = read_safetensors(path).tensors.at("out");
    for (int64_t i : {int64_t{0}, int64_t{1}, n - 1})
      EXPECT_EQ(element(out, i), 2.0f * (static_cast<float>(i) * 0.5f + 1.0f));
  }
  Tensor after = read_safetensors(ok->inputs_after).tensors.at("x");
  EXPECT_EQ(element(after, n - 1), static_cast<float>(n - 1) * 0.5f + 1.0f);
}

// The shipped worker has no fault injection: the plan field the test worker
// (tests/support/misbehaving_gpu_worker.py) crashes on changes nothing here.
TEST_F(GpuWorkerDeviceTest, TheShippedWorkerObeysNoTestFault) {
  const int64_t n = 256;
  json plan = one_launch("scale", n, 128);
  plan["test_fault"] = "crash";
  auto reply = client_->run(run_request(plan, n));
  ASSERT_TRUE(std::holds_alternative<RunReply>(reply)) << std::get<WorkerFailure>(reply).message;
  EXPECT_EQ(client_->workers_replaced(), 0);
}

TEST_F(GpuWorkerDeviceTest, UnwrittenOutputsComeBackPoisoned) {
  const int64_t n = 256;
  auto reply = client_->run(run_request(one_launch("writes_nothing", n, 128, false), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  Tensor out = read_safetensors(ok->outputs.at(0)).tensors.at("out");
  EXPECT_EQ(out.bytes, std::string(out.bytes.size(), '\xff'));
}

TEST_F(GpuWorkerDeviceTest, IllegalAddressLosesTheContextAndAFreshWorkerRunsTheNextKernel) {
  const int64_t n = 256;
  auto bad = client_->run(run_request(one_launch("wild_write", n, 128, false), n));
  auto* failure = std::get_if<WorkerFailure>(&bad);
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->kind, WorkerFailureKind::kRuntimeError) << failure->message;
  EXPECT_TRUE(failure->context_lost);
  EXPECT_EQ(failure->kernel, "wild_write");
  EXPECT_FALSE(failure->cuda_error.empty());
  EXPECT_EQ(client_->workers_replaced(), 1);
  auto good = client_->run(run_request(one_launch("scale", n, 128), n));
  EXPECT_TRUE(std::holds_alternative<RunReply>(good)) << std::get<WorkerFailure>(good).message;
}

TEST_F(GpuWorkerDeviceTest, RefusedLaunchIsALaunchErrorAndKeepsTheWorker) {
  const int64_t n = 4096;
  auto reply = client_->run(run_request(one_launch("scale", n, 2048), n));  // over 1024 threads
  auto* failure = std::get_if<WorkerFailure>(&reply);
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->kind, WorkerFailureKind::kLaunchError) << failure->message;
  EXPECT_FALSE(failure->context_lost);
  EXPECT_EQ(client_->workers_replaced(), 0);
}

TEST_F(GpuWorkerDeviceTest, DevicePrintfCannotCorruptReplies) {
  const int64_t n = 1 << 16;
  auto reply = client_->run(run_request(one_launch("chatty", n, 256), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  EXPECT_EQ(client_->workers_replaced(), 0);
}

TEST_F(GpuWorkerDeviceTest, TimesAKernelWithRotationAndFreshInputs) {
  if (!client_->device().cupti)
    GTEST_SKIP() << "the worker found no CUPTI";
  const int64_t n = 1 << 22;
  TimeRequest request;
  request.cubin = cubin_;
  request.plan = one_launch("scale", n, 256);
  request.out_dir = client_->new_job_directory();
  for (int set = 0; set < 3; ++set) {
    request.input_sets.push_back(request.out_dir / ("set" + std::to_string(set) + ".safetensors"));
    write_input(request.input_sets.back(), n, static_cast<float>(set));
  }
  request.fresh_inputs = request.out_dir / "fresh.safetensors";
  write_input(request.fresh_inputs, n, 100.0f);
  request.outputs = {OutputSpec{"out", "F32", {n}}};
  request.min_samples = 20;
  request.max_samples = 200;
  auto reply = client_->time(request);
  auto* ok = std::get_if<TimeReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  EXPECT_EQ(ok->kernels_per_iteration, 1);
  EXPECT_GE(ok->device_us.size(), 20u);
  EXPECT_EQ(ok->device_us.size(), ok->span_us.size());
  for (double sample : ok->device_us)
    EXPECT_GT(sample, 0.0);
  EXPECT_GE(ok->fresh_iteration, 10);
  Tensor out = read_safetensors(ok->fresh_outputs).tensors.at("out");
  EXPECT_EQ(element(out, 7), 2.0f * (7 * 0.5f + 100.0f));
}

TEST_F(GpuWorkerDeviceTest, MeasuresCopyBandwidthAndFp32Rate) {
  if (!client_->device().cupti)
    GTEST_SKIP() << "the worker found no CUPTI";
  auto reply = client_->measure();
  auto* ok = std::get_if<DeviceMeasurement>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  // Loose bounds: any GPU kforge targets copies faster than 100 GB/s and does over 1 TFLOP/s.
  EXPECT_GT(ok->copy_bandwidth_bytes_per_s, 1e11);
  EXPECT_GT(ok->peak_fp32_flops_per_s, 1e12);
  EXPECT_EQ(ok->details["copy"]["samples_bytes_per_s"].size(), 10u);
  std::cout << "measure: " << ok->to_json().dump() << "\n";
}

TEST_F(GpuWorkerDeviceTest, InputsAreOnTheDeviceBeforeTheFirstLaunchReadsThem) {
  // 64 MiB uploaded and read by the very next launch: with the upload on another stream than
  // the launch, the first repeat could read memory not yet copied.
  const int64_t n = int64_t{1} << 24;
  auto reply = client_->run(run_request(one_launch("scale", n, 256), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  EXPECT_TRUE(ok->guard_violations.empty());
  for (const fs::path& path : ok->outputs) {
    Tensor out = read_safetensors(path).tensors.at("out");
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i)
      wrong += element(out, i) != 2.0f * (static_cast<float>(i) * 0.5f + 1.0f);
    EXPECT_EQ(wrong, 0) << path;
  }
}

TEST_F(GpuWorkerDeviceTest, RepeatsArePoisonedWithNanThenALargeFiniteValue) {
  const int64_t n = 256;
  auto reply = client_->run(run_request(one_launch("writes_nothing", n, 128, false), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  ASSERT_EQ(ok->outputs.size(), 2u);
  EXPECT_EQ(ok->poison_bytes, (std::vector<int>{0xFF, 0x7B}));
  EXPECT_EQ(read_safetensors(ok->outputs[0]).tensors.at("out").bytes, std::string(n * 4, '\xff'));
  EXPECT_EQ(read_safetensors(ok->outputs[1]).tensors.at("out").bytes, std::string(n * 4, '\x7b'));
}

TEST_F(GpuWorkerDeviceTest, FmaxOverTheOutputShowsTheFinitePoison) {
  const int64_t n = 1000;
  auto reply = client_->run(run_request(one_launch("fmax_into_output", n, 128), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  Tensor first = read_safetensors(ok->outputs[0]).tensors.at("out");
  Tensor second = read_safetensors(ok->outputs[1]).tensors.at("out");
  EXPECT_EQ(element(first, 5), 2.0f * (5 * 0.5f + 1.0f));         // fmaxf(NaN, v) = v
  EXPECT_EQ(second.bytes.substr(20, 4), std::string(4, '\x7b'));  // fmaxf(1.3e36, v)
}

TEST_F(GpuWorkerDeviceTest, AWriteJustPastAnOutputIsAGuardViolation) {
  const int64_t n = 1000;
  auto reply = client_->run(run_request(one_launch("writes_past_end", n, 128), n));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  ASSERT_EQ(ok->guard_violations.size(), 2u);  // once per repeat: the zone is filled again
  for (int repeat = 0; repeat < 2; ++repeat) {
    const GuardViolation& violation = ok->guard_violations[repeat];
    EXPECT_EQ(violation.tensor, "out");
    EXPECT_EQ(violation.side, "after");
    EXPECT_EQ(violation.offset, 0);
    EXPECT_EQ(violation.changed_bytes, 4);
    EXPECT_EQ(violation.kernel, "writes_past_end");
    EXPECT_EQ(violation.repeat, repeat);
  }
  auto before = client_->run(run_request(one_launch("writes_before_start", n, 128), n));
  auto* before_ok = std::get_if<RunReply>(&before);
  ASSERT_NE(before_ok, nullptr) << std::get<WorkerFailure>(before).message;
  ASSERT_FALSE(before_ok->guard_violations.empty());
  EXPECT_EQ(before_ok->guard_violations[0].side, "before");
  EXPECT_EQ(before_ok->guard_violations[0].offset, 0);
  EXPECT_EQ(client_->workers_replaced(), 0);
}

TEST_F(GpuWorkerDeviceTest, TimingReportsGuardViolationsAndPoisonsTheFreshIterationFinite) {
  if (!client_->device().cupti)
    GTEST_SKIP() << "the worker found no CUPTI";
  const int64_t n = (1 << 16) + 1;  // off the block size, so a thread has i == n
  for (const char* kernel : {"writes_past_end", "writes_nothing"}) {
    TimeRequest request;
    request.cubin = cubin_;
    request.plan = one_launch(kernel, n, 256, std::string(kernel) != "writes_nothing");
    request.out_dir = client_->new_job_directory();
    request.input_sets = {request.out_dir / "set.safetensors"};
    write_input(request.input_sets[0], n, 0.0f);
    request.fresh_inputs = request.out_dir / "fresh.safetensors";
    write_input(request.fresh_inputs, n, 9.0f);
    request.outputs = {OutputSpec{"out", "F32", {n}}};
    request.min_samples = 6;
    request.max_samples = 6;
    auto reply = client_->time(request);
    auto* ok = std::get_if<TimeReply>(&reply);
    ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
    if (std::string(kernel) == "writes_past_end") {
      ASSERT_EQ(ok->guard_violations.size(), 1u);
      EXPECT_EQ(ok->guard_violations[0].tensor, "out");
    } else {
      EXPECT_TRUE(ok->guard_violations.empty());
      EXPECT_EQ(read_safetensors(ok->fresh_outputs).tensors.at("out").bytes,
                std::string(n * 4, '\x7b'));
    }
    for (double sample : ok->device_us)
      EXPECT_GT(sample, 0.0);  // never a 0 µs record
  }
}

TEST_F(GpuWorkerDeviceTest, MeasuresKernelBandwidthsAndTensorPeaks) {
  if (!client_->device().cupti)
    GTEST_SKIP() << "the worker found no CUPTI";
  auto reply = client_->measure();
  auto* ok = std::get_if<DeviceMeasurement>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  for (double rate : {ok->read_bandwidth_bytes_per_s, ok->write_bandwidth_bytes_per_s,
                      ok->kernel_copy_bandwidth_bytes_per_s})
    EXPECT_GT(rate, 1e11);
  // No kernel moves bytes faster than the bus (10% for how the attributes round).
  if (ok->theoretical_bandwidth_bytes_per_s > 0) {
    EXPECT_LT(ok->read_bandwidth_bytes_per_s, ok->theoretical_bandwidth_bytes_per_s * 1.1);
  }
  EXPECT_EQ(ok->details["bandwidth"]["read_samples_bytes_per_s"].size(), 10u);
  const std::string& arch = client_->device().arch;
  if (arch >= "sm_80" || arch.size() > 5) {
    // Tensor cores beat the fp32 FMA pipes wherever mma.sync exists.
    EXPECT_GT(ok->peak_fp16_tensor_flops_per_s, ok->peak_fp32_flops_per_s);
    EXPECT_GT(ok->peak_bf16_tensor_flops_per_s, ok->peak_fp32_flops_per_s);
    EXPECT_EQ(ok->tensor_full_rate, arch < "sm_90" && arch.size() == 5);
  }
  std::cout << "measure: " << ok->to_json().dump() << "\n";
}

}  // namespace
}  // namespace kforge
