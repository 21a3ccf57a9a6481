#include "sandbox/compile_pool.hpp"

#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/json_text.hpp"
#include "sandbox/compile_worker.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"
#include "sandbox/worker_process.hpp"

namespace kforge {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kMaxReplyBytes = 8 << 20;  // a log is truncated to 16 KiB; 8 MiB is garbage
constexpr auto kStartLimit = std::chrono::seconds(30);

}  // namespace

CompilePool::CompilePool(CompilePoolOptions options)
    : options_(std::move(options)),
      cache_((options_.cache_dir.empty() ? throw Error("the compile pool needs a cache folder")
                                         : options_.cache_dir)) {
  // A worker that dies while we write its request must not take this process with it.
  std::signal(SIGPIPE, SIG_IGN);
  if (options_.worker_program.empty())
    options_.worker_program = this_executable();
  int count = options_.workers > 0
                  ? options_.workers
                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  worker_directory_ = options_.cache_dir / "worker";
  files::ensure_directory(worker_directory_);
  slots_.resize(static_cast<size_t>(count));
  for (Slot& slot : slots_)
    slot.worker = start_worker();
}

CompilePool::~CompilePool() = default;

int CompilePool::workers_replaced() const {
  std::lock_guard lock(mutex_);
  return replaced_;
}

std::unique_ptr<WorkerProcess> CompilePool::start_worker() {
  WorkerProcessOptions process;
  process.program = options_.worker_program;
  process.arguments = options_.worker_arguments;
  process.directory = worker_directory_;
  process.stderr_path = worker_directory_ / "worker.stderr";
  process.address_space_bytes = static_cast<uint64_t>(options_.memory_mb) << 20;
  process.max_line_bytes = kMaxReplyBytes;
  process.what = "compile worker";
  auto worker = std::make_unique<WorkerProcess>(std::move(process));
  std::string line;
  auto read = worker->read_line(Clock::now() + kStartLimit, line);
  std::string where = options_.worker_program.string() + " worker compile";
  if (read != WorkerProcess::Read::kLine) {
    int status = worker->kill();
    throw Error("the compile worker did not start (" + describe_wait_status(status) + ")", where);
  }
  nlohmann::json hello = nlohmann::json::parse(line, nullptr, false);
  if (!hello.is_object() || hello.value("hello", nlohmann::json()) != "kforge-compile-worker") {
    worker->kill();
    throw Error("the compile worker greeted with '" + printable_prefix(line) + "'", where);
  }
  // Every other field through JsonFields: a mistyped one is an Error naming it, and the worker
  // is ended either way.
  std::string version;
  std::vector<std::string> roots;
  try {
    JsonFields fields(hello, where + ": hello");
    if (fields.has("error"))
      throw Error(fields.required<std::string>("error"), where);
    if (fields.optional<int64_t>("protocol", 0) != kCompileProtocolVersion)
      throw Error("the compile worker speaks another protocol version", where);
    version = fields.optional<std::string>("nvrtc_version", "");
    roots = fields.optional<std::vector<std::string>>("include_roots", {});
  } catch (const Error&) {
    worker->kill();
    throw;
  }
  // Set while the constructor starts the first worker, and only read afterwards: compile()
  // reads it without the lock.
  if (nvrtc_version_.empty()) {
    nvrtc_version_ = version;
    // The header folders of the NVRTC the worker opened: this process does not open NVRTC, and
    // its policy check must allow exactly the headers the worker's compile will see.
    include_roots_.assign(roots.begin(), roots.end());
  } else if (version != nvrtc_version_) {
    worker->kill();
    throw Error("a new compile worker found NVRTC " + version + ", not " + nvrtc_version_, where);
  }
  return worker;
}

size_t CompilePool::acquire() {
  std::unique_lock lock(mutex_);
  for (;;) {
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].busy) {
        slots_[i].busy = true;
        return i;
      }
    }
    slot_freed_.wait(lock);
  }
}

void CompilePool::release(size_t slot) {
  {
    std::lock_guard lock(mutex_);
    slots_[slot].busy = false;
  }
  slot_freed_.notify_one();
}

CompileResult CompilePool::compile(const CompileRequest& request) {
  auto started = Clock::now();
  auto finish = [&](CompileResult result) {
    result.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return result;
  };
  if (!is_valid_arch(request.arch))
    throw Error("architecture '" + request.arch + "' is not of the form sm_XX", "compile request");
  check_nvrtc_options(request.options);
  // Checked here as well as in the worker: a 1 GiB or non-UTF-8 source never reaches the pipe.
  if (auto violation = check_compile_request(request, include_roots_, options_.max_source_bytes)) {
    CompileResult result;
    result.status = violation->status;
    result.detail = violation->detail;
    result.arch = request.arch;
    result.nvrtc_version = nvrtc_version_;
    return finish(result);
  }
  std::string key = CompileCache::key(request, nvrtc_version_);
  bool cacheable = options_.use_cache;
  if (cacheable) {
    if (auto hit = cache_.find(key))
      return finish(*hit);
  }

  fs::path staging = cache_.new_staging_dir();
  size_t index = acquire();
  CompileResult result;
  try {
    result = compile_in_worker(slots_[index], request, staging);
  } catch (...) {
    release(index);
    std::error_code ignored;
    fs::remove_all(staging, ignored);
    throw;
  }
  release(index);

  std::error_code ignored;
  bool deterministic =
      result.status == CompileStatus::kOk || result.status == CompileStatus::kNvrtcError;
  if (cacheable && deterministic) {
    try {
      result = cache_.store(key, result, staging);
    } catch (const Error&) {
      fs::remove_all(staging, ignored);  // a full disk leaves no half-stored compile behind
      throw;
    }
  } else if (!result.ok()) {
    fs::remove_all(staging, ignored);
  } else if (!options_.use_cache) {
    // Uncached outputs stay where the worker wrote them; the caller owns that folder.
  }
  result.cache_key = key;
  return finish(result);
}

CompileResult CompilePool::compile_in_worker(Slot& slot, const CompileRequest& request,
                                             const fs::path& output_dir) {
  uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
  }
  nlohmann::json message = {{"id", id},
                            {"source", request.source},
                            {"name", request.name},
                            {"defines", request.defines},
                            {"arch", request.arch},
                            {"options", request.options},
                            {"output_dir", output_dir.string()},
                            {"max_source_bytes", options_.max_source_bytes}};
  std::string line = json_text(message);

  CompileResult failure;
  failure.arch = request.arch;
  failure.nvrtc_version = nvrtc_version_;
  auto replace = [&](CompileStatus status, std::string detail) {
    slot.worker.reset();
    {
      std::lock_guard lock(mutex_);
      ++replaced_;
    }
    failure.status = status;
    failure.detail = std::move(detail);
    slot.worker = start_worker();
    return failure;
  };

  // A worker found dead when we hand it a request (killed while idle, say) is replaced and the
  // request sent again, once: that death is not this candidate's doing.
  bool sent = slot.worker && slot.worker->send(line);
  if (!sent) {
    slot.worker = start_worker();
    if (!slot.worker->send(line))
      return replace(CompileStatus::kWorkerCrashed, "the compile worker closed its input");
  }

  auto deadline = Clock::now() + options_.time_limit;
  std::string reply_line;
  switch (slot.worker->read_line(deadline, reply_line)) {
    case WorkerProcess::Read::kTimeout: {
      slot.worker->kill();
      double seconds = std::chrono::duration<double>(options_.time_limit).count();
      char text[64];
      std::snprintf(text, sizeof text, "%.3g s", seconds);
      return replace(CompileStatus::kTimeLimit,
                     std::string("the compile ran past the time limit of ") + text +
                         " and its worker was killed");
    }
    case WorkerProcess::Read::kTooLong:
      slot.worker->kill();
      return replace(CompileStatus::kWorkerCrashed, "the compile worker wrote over " +
                                                        std::to_string(kMaxReplyBytes >> 20) +
                                                        " MiB without ending a line");
    case WorkerProcess::Read::kEnded: {
      int status = slot.worker->reap();
      bool memory =
          slot.worker->near_memory_limit() || (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
      std::string how = describe_wait_status(status);
      if (memory) {
        return replace(CompileStatus::kMemoryLimit,
                       "the compile worker died near its memory limit of " +
                           std::to_string(options_.memory_mb) + " MiB (" + how + ")");
      }
      return replace(CompileStatus::kWorkerCrashed,
                     "the compile worker died during the compile (" + how + ")");
    }
    case WorkerProcess::Read::kLine:
      break;
  }

  nlohmann::json reply = nlohmann::json::parse(reply_line, nullptr, false);
  if (!reply.is_object() || reply.value("id", nlohmann::json()) != nlohmann::json(id)) {
    slot.worker->kill();
    return replace(CompileStatus::kWorkerCrashed,
                   "the compile worker answered with something that is not its reply: '" +
                       printable_prefix(reply_line) + "'");
  }
  if (reply.contains("error")) {
    if (!reply["error"].is_string()) {
      slot.worker->kill();
      return replace(CompileStatus::kWorkerCrashed,
                     "the compile worker's reply is malformed: its error is not text (" +
                         std::string(reply["error"].type_name()) + ")");
    }
    throw Error(reply["error"].get<std::string>(), "compile worker");
  }
  try {
    return compile_result_from_json(reply);
  } catch (const Error& bad) {
    slot.worker->kill();
    return replace(CompileStatus::kWorkerCrashed,
                   "the compile worker's reply is malformed: " + bad.message());
  }
}

}  // namespace kforge
