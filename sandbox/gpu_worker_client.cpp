#include "sandbox/gpu_worker_client.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/json_text.hpp"
#include "sandbox/worker_process.hpp"

namespace kforge {
namespace fs = std::filesystem;
using nlohmann::json;
using Clock = WorkerProcess::Clock;

namespace {

std::string seconds_text(std::chrono::milliseconds limit) {
  char text[32];
  std::snprintf(text, sizeof text, "%.3g s", std::chrono::duration<double>(limit).count());
  return text;
}

// The reply's own fields, without the envelope, for the typed from_json.
json reply_body(const json& reply) {
  json body = reply;
  body.erase("id");
  body.erase("ok");
  return body;
}

template <typename T>
GpuResult<T> typed(GpuResult<json> reply, const std::string& where) {
  if (auto* failure = std::get_if<WorkerFailure>(&reply))
    return *failure;
  return T::from_json(reply_body(std::get<json>(reply)), where);
}

}  // namespace

class GpuWorkerClient::Worker : public WorkerProcess {
 public:
  using WorkerProcess::WorkerProcess;
};

GpuWorkerClient::GpuWorkerClient(GpuWorkerOptions options) : options_(std::move(options)) {
  if (options_.job_dir.empty())
    throw Error("the GPU worker client needs a job folder");
  // A worker that dies while we write its request must not take this process with it.
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.worker_program.empty())
    options_.worker_program = this_executable();
  if (options_.worker_arguments.empty())
    options_.worker_arguments = {"worker", "gpu", "--device", std::to_string(options_.device)};
  files::ensure_directory(options_.job_dir);
  start_worker();
}

GpuWorkerClient::~GpuWorkerClient() {
  if (!worker_)
    return;
  // A polite end first, so the driver tears the context down in order; reap() kills a worker
  // that does not leave within two seconds.
  if (worker_->send(json{{"op", "exit"}}.dump()))
    worker_->reap();
  worker_.reset();
}

int GpuWorkerClient::workers_replaced() const {
  return replaced_.load();
}

std::string GpuWorkerClient::ensure_worker() {
  std::lock_guard lock(mutex_);
  if (worker_)
    return {};
  try {
    start_worker();
  } catch (const Error& failure) {
    return failure.what();
  }
  return {};
}

fs::path GpuWorkerClient::new_job_directory() {
  // Numbered across every client of this process: the clients of a GPU pool share job_dir, and
  // one's folder must never be another's (a client removes its folder when done with it).
  static std::atomic<uint64_t> jobs{0};
  uint64_t job = ++jobs;
  fs::path directory =
      options_.job_dir / ("job-" + std::to_string(::getpid()) + "-" + std::to_string(job));
  files::ensure_directory(directory);
  return directory;
}

void GpuWorkerClient::start_worker() {
  WorkerProcessOptions process;
  process.program = options_.worker_program;
  process.arguments = options_.worker_arguments;
  process.directory = options_.job_dir;
  // One file per client (each new worker truncates it): its tail belongs to the latest worker.
  static std::atomic<int> clients{0};
  if (stderr_name_.empty())
    stderr_name_ =
        "worker-" + std::to_string(::getpid()) + "-" + std::to_string(++clients) + ".stderr";
  process.stderr_path = options_.job_dir / stderr_name_;
  process.address_space_bytes = 0;  // CUDA reserves huge virtual ranges: no address-space limit
  process.max_line_bytes = options_.max_reply_bytes;
  process.what = "GPU worker";
  std::string where = options_.worker_program.string();
  for (const std::string& argument : options_.worker_arguments)
    where += " " + argument;

  auto worker = std::make_unique<Worker>(std::move(process));
  uint64_t id = next_id_++;
  auto gone = [&](const std::string& what) -> Error {
    int status = worker->kill();
    std::string tail = worker->stderr_tail(400);
    std::string text = what + " (" + describe_wait_status(status) + ")";
    if (!tail.empty())
      text += "; its stderr ends: " + printable_prefix(tail, 400);
    return Error(text, where);
  };
  if (!worker->send(json{{"op", "hello"}, {"id", id}}.dump()))
    throw gone("the GPU worker ended before answering hello");
  std::string line;
  switch (worker->read_line(Clock::now() + options_.start_limit, line)) {
    case WorkerProcess::Read::kTimeout:
      throw gone("the GPU worker did not answer hello within " +
                 seconds_text(options_.start_limit));
    case WorkerProcess::Read::kEnded:
      throw gone("the GPU worker ended before answering hello");
    case WorkerProcess::Read::kTooLong:
      throw gone("the GPU worker answered hello with an over-long line");
    case WorkerProcess::Read::kLine:
      break;
  }
  json hello = json::parse(line, nullptr, false);
  if (!hello.is_object() || hello.value("id", json()) != json(id) || !hello.contains("ok"))
    throw gone("the GPU worker greeted with '" + printable_prefix(line) + "'");
  // Every field through JsonFields: a mistyped one is an error naming it, with the worker's
  // stderr (never a json exception), and the worker is ended either way.
  bool ok = false;
  std::string error;
  int64_t protocol = 0;
  try {
    JsonFields fields(hello, where + ": hello");
    ok = fields.required<bool>("ok");
    error = fields.optional<std::string>("error", "the GPU worker refused hello");
    protocol = fields.optional<int64_t>("protocol", 0);
  } catch (const Error& bad) {
    throw gone("the GPU worker's hello is malformed: " + bad.message());
  }
  if (!ok) {
    // The machine's answer (no libcuda, no device): one line, as the worker wrote it.
    worker->reap();
    throw Error(error, where);
  }
  if (protocol != kGpuProtocolVersion) {
    worker->kill();
    throw Error("the GPU worker speaks another protocol version", where);
  }
  if (!hello.contains("device"))
    throw gone("the GPU worker's hello has no device");
  try {
    device_ = DeviceDescription::from_json(hello["device"], where + ": hello");
  } catch (const Error& bad) {
    throw gone("the GPU worker's hello has a malformed device: " + bad.message());
  }
  worker_ = std::move(worker);
}

WorkerFailure GpuWorkerClient::replace_worker(WorkerFailureKind kind, std::string message) {
  WorkerFailure failure;
  failure.kind = kind;
  failure.message = std::move(message);
  if (worker_) {
    worker_->kill();
    failure.stderr_tail = worker_->stderr_tail();
    worker_.reset();
  }
  ++replaced_;
  return failure;
}

GpuResult<json> GpuWorkerClient::exchange(json request, std::chrono::milliseconds limit) {
  // Replacements start lazily, here: the request that killed a worker ends at once with its
  // failure, and a worker that cannot start again is an Error for the next request, not a
  // verdict for the last candidate.
  if (!worker_)
    start_worker();
  uint64_t id = next_id_++;
  request["id"] = id;
  std::string line = json_text(request);
  if (!worker_->send(line)) {
    // A worker found dead when handed a request (killed while idle, say) is replaced and the
    // request sent again, once: that death is not this request's doing.
    worker_->kill();
    worker_.reset();
    ++replaced_;
    start_worker();
    if (!worker_->send(line)) {
      int status = worker_->kill();
      return replace_worker(
          WorkerFailureKind::kWorkerCrashed,
          "the GPU worker closed its input (" + describe_wait_status(status) + ")");
    }
  }
  switch (worker_->read_line(Clock::now() + limit, line)) {
    case WorkerProcess::Read::kTimeout:
      return replace_worker(
          WorkerFailureKind::kTimeout,
          "the GPU worker did not answer within " + seconds_text(limit) + " and was killed");
    case WorkerProcess::Read::kTooLong:
      return replace_worker(WorkerFailureKind::kWorkerCrashed,
                            "the GPU worker wrote over " +
                                std::to_string(options_.max_reply_bytes) +
                                " bytes without ending a line");
    case WorkerProcess::Read::kEnded: {
      int status = worker_->reap();
      return replace_worker(
          WorkerFailureKind::kWorkerCrashed,
          "the GPU worker died during the request (" + describe_wait_status(status) + ")");
    }
    case WorkerProcess::Read::kLine:
      break;
  }
  json reply = json::parse(line, nullptr, false);
  if (!reply.is_object() || !reply.contains("ok") || !reply["ok"].is_boolean()) {
    return replace_worker(WorkerFailureKind::kWorkerCrashed,
                          "the GPU worker answered with something that is not a reply: '" +
                              printable_prefix(line) + "'");
  }
  if (reply.value("id", json()) != json(id)) {
    return replace_worker(WorkerFailureKind::kWorkerCrashed,
                          "the GPU worker answered request " + std::to_string(id) +
                              " with the reply to '" +
                              printable_prefix(reply.value("id", json()).dump()) + "'");
  }
  if (reply["ok"].get<bool>())
    return reply;
  WorkerFailure failure;
  try {
    failure = WorkerFailure::from_json(reply.at("failure"), "GPU worker reply");
  } catch (const std::exception& bad) {
    return replace_worker(
        WorkerFailureKind::kWorkerCrashed,
        std::string("the GPU worker's failure reply is malformed: ") + bad.what());
  }
  if (failure.context_lost) {
    // The worker leaves by itself after a lost context; reap it (killing it if it lingers).
    worker_->reap();
    failure.stderr_tail = worker_->stderr_tail();
    worker_.reset();
    ++replaced_;
  }
  return failure;
}

GpuResult<RunReply> GpuWorkerClient::run(const RunRequest& request) {
  std::lock_guard lock(mutex_);
  auto reply = exchange(request.to_json(), options_.run_limit);
  try {
    return typed<RunReply>(std::move(reply), "GPU worker run reply");
  } catch (const Error& bad) {
    return replace_worker(WorkerFailureKind::kWorkerCrashed,
                          std::string("the GPU worker's reply is malformed: ") + bad.what());
  }
}

GpuResult<TimeReply> GpuWorkerClient::time(const TimeRequest& request) {
  std::lock_guard lock(mutex_);
  auto reply = exchange(request.to_json(), options_.time_limit);
  try {
    return typed<TimeReply>(std::move(reply), "GPU worker time reply");
  } catch (const Error& bad) {
    return replace_worker(WorkerFailureKind::kWorkerCrashed,
                          std::string("the GPU worker's reply is malformed: ") + bad.what());
  }
}

GpuResult<DeviceMeasurement> GpuWorkerClient::measure() {
  std::lock_guard lock(mutex_);
  auto reply = exchange(json{{"op", "measure"}}, options_.time_limit);
  try {
    return typed<DeviceMeasurement>(std::move(reply), "GPU worker measure reply");
  } catch (const Error& bad) {
    return replace_worker(WorkerFailureKind::kWorkerCrashed,
                          std::string("the GPU worker's reply is malformed: ") + bad.what());
  }
}

GpuResult<ProfileReply> GpuWorkerClient::profile(const ProfileRequest& request) {
  std::lock_guard lock(mutex_);
  auto reply = exchange(request.to_json(), options_.time_limit);
  try {
    return typed<ProfileReply>(std::move(reply), "GPU worker profile reply");
  } catch (const Error& bad) {
    return replace_worker(WorkerFailureKind::kWorkerCrashed,
                          std::string("the GPU worker's reply is malformed: ") + bad.what());
  }
}

}  // namespace kforge
