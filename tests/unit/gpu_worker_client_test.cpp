// sandbox/gpu_worker_client and sandbox/gpu_protocol: the supervision of GPU workers, on the CPU,
// with a test worker that speaks the real protocol and misbehaves on command
// (tests/support/misbehaving_gpu_worker.py). Each misbehaviour is followed by a request that
// must succeed on a fresh worker.
#include <gtest/gtest.h>

#include <thread>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "sandbox/gpu_worker_client.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

fs::path python() {
  // The system Python; any python3 runs the test worker, which needs nothing beyond the
  // standard library.
  return fs::exists("/usr/bin/python3") ? fs::path("/usr/bin/python3") : fs::path("python3");
}

GpuWorkerOptions test_options(const fs::path& job_dir, std::vector<std::string> extra = {}) {
  GpuWorkerOptions options;
  options.job_dir = job_dir;
  options.run_limit = milliseconds(1500);
  options.time_limit = milliseconds(1500);
  options.start_limit = milliseconds(10000);
  options.worker_program = python();
  options.worker_arguments = {
      (testing::source_dir() / "tests/support/misbehaving_gpu_worker.py").string()};
  for (std::string& argument : extra)
    options.worker_arguments.push_back(std::move(argument));
  return options;
}

RunRequest run_request(GpuWorkerClient& client, const std::string& fault = "") {
  RunRequest request;
  request.cubin = "/nonexistent/candidate.cubin";
  request.plan = nlohmann::json{{"launches", nlohmann::json::array()}};
  if (!fault.empty())
    request.plan["test_fault"] = fault;
  request.tensors = "/nonexistent/inputs.safetensors";
  request.outputs = {OutputSpec{"out", "F32", {4, 8}}};
  request.out_dir = client.new_job_directory();
  return request;
}

void expect_run_succeeds(GpuWorkerClient& client) {
  auto reply = client.run(run_request(client));
  auto* ok = std::get_if<RunReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  EXPECT_EQ(ok->outputs.size(), 2u);
  EXPECT_EQ(ok->inputs_after.filename(), "inputs_after.safetensors");
}

WorkerFailure expect_failure(const GpuResult<RunReply>& reply) {
  auto* failure = std::get_if<WorkerFailure>(&reply);
  EXPECT_NE(failure, nullptr) << "the request succeeded";
  return failure ? *failure : WorkerFailure{};
}

class GpuWorkerClientTest : public ::testing::Test {
 protected:
  testing::TemporaryDirectory directory_;
};

TEST_F(GpuWorkerClientTest, HelloDescribesTheDevice) {
  GpuWorkerClient client(test_options(directory_.path()));
  EXPECT_EQ(client.device().name, "kforge test worker (no GPU)");
  EXPECT_EQ(client.device().arch, "sm_90");
  EXPECT_EQ(client.workers_replaced(), 0);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, WorkerWithoutGpuMakesTheConstructorThrowItsLine) {
  try {
    GpuWorkerClient client(test_options(directory_.path(), {"--no-gpu"}));
    FAIL() << "the constructor did not throw";
  } catch (const Error& error) {
    EXPECT_EQ(error.message(), "no CUDA driver: libcuda.so.1 could not be opened");
  }
}

TEST_F(GpuWorkerClientTest, WorkerThatExitsBeforeHelloIsAnErrorWithItsStderr) {
  try {
    GpuWorkerClient client(test_options(directory_.path(), {"--exit-before-hello"}));
    FAIL() << "the constructor did not throw";
  } catch (const Error& error) {
    EXPECT_NE(error.message().find("ended before answering hello"), std::string::npos)
        << error.what();
    EXPECT_NE(error.message().find("exited with code 3"), std::string::npos) << error.what();
    EXPECT_NE(error.message().find("leaving before hello"), std::string::npos) << error.what();
  }
}

// The hello's error with `fields` (NAME=JSON each) set in the test worker's hello reply.
std::string hello_error(const fs::path& job_dir, const std::vector<std::string>& fields) {
  std::vector<std::string> extra;
  for (const std::string& field : fields) {
    extra.push_back("--hello-field");
    extra.push_back(field);
  }
  try {
    GpuWorkerClient client(test_options(job_dir, extra));
  } catch (const Error& error) {
    return error.what();
  }
  return "(the worker started)";
}

TEST_F(GpuWorkerClientTest, MistypedHelloFieldsAreOneErrorNamingTheField) {
  auto expect = [&](const std::vector<std::string>& fields, const std::string& part) {
    std::string error = hello_error(directory_.path(), fields);
    EXPECT_NE(error.find(part), std::string::npos) << error;
  };
  expect({"ok=\"yes\""}, "hello is malformed: field 'ok' has the wrong type (string)");
  expect({"protocol=\"2\""}, "hello is malformed: field 'protocol' has the wrong type (string)");
  expect({"protocol=2.5"}, "field 'protocol' holds a number out of range or not an integer");
  expect({"ok=false", "error=5"}, "hello is malformed: field 'error' has the wrong type (number)");
  expect({"device=null"}, "hello has a malformed device: expected a JSON object, got null");
  expect({"device={\"name\": 7, \"arch\": \"sm_90\"}"},
         "hello has a malformed device: field 'name' has the wrong type (number)");
  expect({"device=[1]"}, "hello has a malformed device");
  // The error names the worker and what its stderr said, as every failed start does.
  expect({"ok=\"yes\""}, "misbehaving_gpu_worker.py");
  // Well-typed answers keep their meaning.
  expect({"ok=false", "error=\"no device\""}, "no device");
  expect({"protocol=2"}, "the GPU worker speaks another protocol version");
  EXPECT_EQ(hello_error(directory_.path(), {"cupti_version=1"}), "(the worker started)");
}

TEST_F(GpuWorkerClientTest, ProgramThatCannotStartIsAnError) {
  GpuWorkerOptions options = test_options(directory_.path());
  options.worker_program = directory_.path() / "no-such-worker";
  EXPECT_THROW(GpuWorkerClient client(options), Error);
}

TEST_F(GpuWorkerClientTest, NoJobFolderIsAnError) {
  GpuWorkerOptions options = test_options(directory_.path());
  options.job_dir.clear();
  EXPECT_THROW(GpuWorkerClient client(options), Error);
}

TEST_F(GpuWorkerClientTest, CrashIsWorkerCrashedWithStderrTailAndTheNextRequestWorks) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "crash")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_NE(failure.message.find("signal 11"), std::string::npos) << failure.message;
  EXPECT_NE(failure.stderr_tail.find("about to crash"), std::string::npos) << failure.stderr_tail;
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
  EXPECT_EQ(client.workers_replaced(), 1);
}

TEST_F(GpuWorkerClientTest, HangIsTimeoutAndTheWorkerIsKilled) {
  GpuWorkerClient client(test_options(directory_.path()));
  auto started = std::chrono::steady_clock::now();
  WorkerFailure failure = expect_failure(client.run(run_request(client, "hang")));
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(failure.kind, WorkerFailureKind::kTimeout);
  EXPECT_FALSE(failure.context_lost);
  EXPECT_GE(waited, milliseconds(1500));
  EXPECT_LT(waited, milliseconds(6000));
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, TimeRequestsUseTheTimeLimit) {
  GpuWorkerOptions options = test_options(directory_.path());
  options.run_limit = milliseconds(200);
  options.time_limit = milliseconds(3000);
  GpuWorkerClient client(options);
  TimeRequest request;
  request.plan = {{"test_fault", "slow:600"}};
  request.input_sets = {"/nonexistent/set0.safetensors"};
  request.out_dir = client.new_job_directory();
  auto reply = client.time(request);
  auto* ok = std::get_if<TimeReply>(&reply);
  ASSERT_NE(ok, nullptr) << std::get<WorkerFailure>(reply).message;
  EXPECT_EQ(ok->device_us.size(), 20u);
  EXPECT_EQ(ok->fresh_iteration, 10);
  // The same delay under the run limit is a timeout.
  WorkerFailure failure = expect_failure(client.run(run_request(client, "slow:600")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kTimeout);
}

TEST_F(GpuWorkerClientTest, SlowWithinTheLimitSucceeds) {
  GpuWorkerClient client(test_options(directory_.path()));
  auto reply = client.run(run_request(client, "slow:300"));
  EXPECT_TRUE(std::holds_alternative<RunReply>(reply));
  EXPECT_EQ(client.workers_replaced(), 0);
}

TEST_F(GpuWorkerClientTest, GarbageLineIsWorkerCrashed) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "garbage")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_NE(failure.message.find("this is not a reply"), std::string::npos) << failure.message;
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, HugeLineIsWorkerCrashed) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "huge")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_NE(failure.message.find("without ending a line"), std::string::npos) << failure.message;
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, DeathMidLineIsWorkerCrashed) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "partial")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_NE(failure.message.find("died during the request"), std::string::npos) << failure.message;
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, WrongReplyIdIsWorkerCrashed) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "wrong_id")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_NE(failure.message.find("with the reply to"), std::string::npos) << failure.message;
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, ContextLostReplacesTheWorkerAndKeepsTheCudaError) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "context_lost")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kRuntimeError);
  EXPECT_TRUE(failure.context_lost);
  EXPECT_EQ(failure.cuda_error, "CUDA_ERROR_ILLEGAL_ADDRESS");
  EXPECT_EQ(failure.kernel, "bad_kernel");
  EXPECT_NE(failure.stderr_tail.find("the context is lost"), std::string::npos);
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, FailureWithoutLostContextKeepsTheWorker) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "launch_error")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kLaunchError);
  EXPECT_FALSE(failure.context_lost);
  EXPECT_EQ(client.workers_replaced(), 0);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, OutOfMemoryKeepsTheWorker) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "out_of_memory")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kOutOfMemory);
  EXPECT_EQ(failure.cuda_error, "CUDA_ERROR_OUT_OF_MEMORY");
  EXPECT_FALSE(failure.context_lost);
  EXPECT_EQ(client.workers_replaced(), 0);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, BadRequestIsReportedAndKeepsTheWorker) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "bad_request")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kBadRequest);
  EXPECT_NE(failure.message.find("cannot read the cubin"), std::string::npos) << failure.message;
  EXPECT_EQ(client.workers_replaced(), 0);
  expect_run_succeeds(client);
}

// A failure of a kind the protocol does not have is a malformed reply, like garbage: the worker
// is replaced and the candidate's request ends as worker_crashed.
TEST_F(GpuWorkerClientTest, FailureOfAnUnknownKindIsWorkerCrashed) {
  GpuWorkerClient client(test_options(directory_.path()));
  WorkerFailure failure = expect_failure(client.run(run_request(client, "unknown_kind")));
  EXPECT_EQ(failure.kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_NE(failure.message.find("failure reply is malformed"), std::string::npos)
      << failure.message;
  EXPECT_NE(failure.message.find("names no failure kind: 'melted'"), std::string::npos)
      << failure.message;
  EXPECT_EQ(client.workers_replaced(), 1);
  expect_run_succeeds(client);
}

// Fault injection lives in the test worker alone: nothing kforge ships (the client, the
// worker, the CLI that starts it) names the test worker's fault field or a switch for it. The
// shipped worker's behaviour on such a plan is checked on a GPU
// (gpu_worker_device_test.cpp, TheShippedWorkerObeysNoTestFault).
TEST(GpuWorkerFaults, NoShippedSourceHasAFaultHook) {
  std::vector<std::string> found;
  for (const char* folder : {"sandbox", "cli", "harness", "profiler", "kernels"}) {
    for (const auto& entry : fs::recursive_directory_iterator(testing::source_dir() / folder)) {
      std::string extension = entry.path().extension().string();
      if (!entry.is_regular_file() || (extension != ".cpp" && extension != ".hpp"))
        continue;
      std::string text = files::read(entry.path());
      for (const char* hook : {"test_fault", "allow_test_faults", "GPU_WORKER_FAULTS"}) {
        if (text.find(hook) != std::string::npos)
          found.push_back(entry.path().string() + ": " + hook);
      }
    }
  }
  EXPECT_TRUE(found.empty()) << ::testing::PrintToString(found);
}

TEST_F(GpuWorkerClientTest, MeasureRepliesAndMeasureCrashes) {
  {
    GpuWorkerClient client(test_options(directory_.path()));
    auto reply = client.measure();
    auto* ok = std::get_if<DeviceMeasurement>(&reply);
    ASSERT_NE(ok, nullptr);
    EXPECT_EQ(ok->copy_bandwidth_bytes_per_s, 1.0e12);
    EXPECT_EQ(ok->details.value("method", ""), "test worker");
  }
  GpuWorkerClient client(test_options(directory_.path(), {"--measure-fault", "crash"}));
  auto reply = client.measure();
  auto* failure = std::get_if<WorkerFailure>(&reply);
  ASSERT_NE(failure, nullptr);
  EXPECT_EQ(failure->kind, WorkerFailureKind::kWorkerCrashed);
  EXPECT_EQ(client.workers_replaced(), 1);
}

TEST_F(GpuWorkerClientTest, WorkerKilledWhileIdleIsReplacedForTheNextRequestOnlyOnce) {
  GpuWorkerClient client(test_options(directory_.path()));
  expect_run_succeeds(client);
  // Several faults in a row: each request ends with its own failure, and each needs a new worker.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(expect_failure(client.run(run_request(client, "crash"))).kind,
              WorkerFailureKind::kWorkerCrashed);
  EXPECT_EQ(client.workers_replaced(), 3);
  expect_run_succeeds(client);
}

TEST_F(GpuWorkerClientTest, WorkerThatDiedWhileIdleIsReplacedAndTheRequestSentAgain) {
  GpuWorkerClient client(test_options(directory_.path()));
  EXPECT_TRUE(
      std::holds_alternative<RunReply>(client.run(run_request(client, "exit_after_reply"))));
  std::this_thread::sleep_for(milliseconds(500));  // let it exit
  expect_run_succeeds(client);
  EXPECT_EQ(client.workers_replaced(), 1);
}

TEST_F(GpuWorkerClientTest, JobDirectoriesAreFreshAndExist) {
  GpuWorkerClient client(test_options(directory_.path()));
  fs::path first = client.new_job_directory();
  fs::path second = client.new_job_directory();
  EXPECT_NE(first, second);
  EXPECT_TRUE(fs::is_directory(first));
  EXPECT_TRUE(fs::is_directory(second));
  EXPECT_EQ(first.parent_path(), directory_.path());
}

TEST(GpuProtocol, RequestsAndRepliesRoundTrip) {
  RunRequest run;
  run.id = 7;
  run.cubin = "/a/b.cubin";
  run.plan = {{"launches", nlohmann::json::array()}};
  run.tensors = "/a/in.safetensors";
  run.outputs = {OutputSpec{"out0", "BF16", {2, 3}}};
  run.repeats = 3;
  run.out_dir = "/a/out";
  RunRequest run_back = RunRequest::from_json(run.to_json(), "test");
  EXPECT_EQ(run_back.to_json(), run.to_json());
  EXPECT_EQ(run.to_json()["op"], "run");

  TimeRequest time;
  time.id = 9;
  time.input_sets = {"/a/0", "/a/1"};
  time.fresh_inputs = "/a/fresh";
  time.out_dir = "/a/out";
  time.flush_l2 = false;
  EXPECT_EQ(TimeRequest::from_json(time.to_json(), "test").to_json(), time.to_json());

  TimeReply reply;
  reply.device_us = {1.5, 2.5};
  reply.span_us = {1.75, 2.75};
  reply.fresh_iteration = 1;
  reply.kernels_per_iteration = 2;
  EXPECT_EQ(TimeReply::from_json(reply.to_json(), "test").to_json(), reply.to_json());

  WorkerFailure failure{
      WorkerFailureKind::kRuntimeError, "CUDA_ERROR_ILLEGAL_ADDRESS", "bad", "k", true, ""};
  EXPECT_EQ(WorkerFailure::from_json(failure.to_json(), "test").to_json(), failure.to_json());

  DeviceDescription device;
  device.name = "GPU";
  device.arch = "sm_90";
  device.l2_bytes = 50 << 20;
  EXPECT_EQ(DeviceDescription::from_json(device.to_json(), "test").to_json(), device.to_json());
}

// The stored and printed text of every kind, which must not change: evidence already stored
// holds it.
TEST(GpuProtocol, EveryFailureKindHasOneNameBothWays) {
  const std::vector<std::pair<WorkerFailureKind, std::string>> kinds = {
      {WorkerFailureKind::kLaunchError, "launch_error"},
      {WorkerFailureKind::kRuntimeError, "runtime_error"},
      {WorkerFailureKind::kTimeout, "timeout"},
      {WorkerFailureKind::kOutOfMemory, "out_of_memory"},
      {WorkerFailureKind::kWorkerCrashed, "worker_crashed"},
      {WorkerFailureKind::kBadRequest, "bad_request"}};
  for (const auto& [kind, name] : kinds) {
    EXPECT_EQ(worker_failure_kind_name(kind), name);
    EXPECT_EQ(worker_failure_kind_from_name(name), kind) << name;
    WorkerFailure failure;
    failure.kind = kind;
    EXPECT_EQ(failure.to_json()["kind"], name);
    EXPECT_EQ(WorkerFailure::from_json(failure.to_json(), "test").kind, kind) << name;
  }
  EXPECT_EQ(worker_failure_kind_from_name("Timeout"), std::nullopt);
  EXPECT_EQ(worker_failure_kind_from_name(""), std::nullopt);
  try {
    WorkerFailure::from_json({{"kind", "melted"}}, "reply 3");
    FAIL() << "an unknown kind was read";
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), "field 'kind' names no failure kind: 'melted' (reply 3)");
  }
}

TEST(GpuProtocol, MalformedMessagesNameTheField) {
  try {
    RunRequest::from_json({{"id", 1}, {"cubin", 3}}, "request 1");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(std::string(error.what()), "field 'cubin' has the wrong type (number) (request 1)");
  }
  try {
    TimeReply::from_json(nlohmann::json::object(), "reply");
    FAIL();
  } catch (const Error& error) {
    EXPECT_EQ(error.message(), "missing field 'device_us'");
  }
  EXPECT_THROW(WorkerFailure::from_json(nlohmann::json::array(), "x"), Error);
  nlohmann::json bad_outputs = RunRequest{}.to_json();
  bad_outputs["outputs"] = {{{"name", "out"}}};
  EXPECT_THROW(RunRequest::from_json(bad_outputs, "x"), Error);
}

}  // namespace
}  // namespace kforge
