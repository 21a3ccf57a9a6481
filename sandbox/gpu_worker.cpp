// The GPU worker's protocol dispatch: the request loop (one JSON line in, one out, on a private
// descriptor), hello (opening the driver, the device, its context, stream and device timing),
// and the mapping of CUresults to the protocol's failure kinds. Running, timing and measuring
// are in gpu_worker_run.cpp, gpu_worker_time.cpp and gpu_worker_measure.cpp; see
// gpu_worker_internal.hpp for the parts.
#include "sandbox/gpu_worker.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>
#include <fstream>

#include "harness/util/error.hpp"
#include "sandbox/gpu_worker_internal.hpp"

namespace kforge {
namespace gpu_worker {
namespace {

bool is_fault(CUresult result) {
  switch (result) {
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
    case CUDA_ERROR_ECC_UNCORRECTABLE:
      return true;
    default:
      return false;
  }
}

}  // namespace

WorkerFailure failure_from(const CudaCallFailed& failed, const CudaDriverApi& api) {
  WorkerFailure failure;
  const char* name = nullptr;
  const char* text = nullptr;
  api.cuGetErrorName(failed.result, &name);
  api.cuGetErrorString(failed.result, &text);
  failure.cuda_error = name ? name : std::to_string(failed.result);
  failure.message = failed.function + " failed: " + (text ? text : failure.cuda_error);
  failure.kernel = failed.kernel;
  if (is_fault(failed.result)) {
    failure.kind = WorkerFailureKind::kRuntimeError;
    failure.context_lost = true;
  } else if (failed.result == CUDA_ERROR_OUT_OF_MEMORY) {
    failure.kind = WorkerFailureKind::kOutOfMemory;
  } else if (failed.at_launch) {
    failure.kind = WorkerFailureKind::kLaunchError;
  } else {
    // Anything else outside a launch leaves the context in a state nobody should trust.
    failure.kind = WorkerFailureKind::kRuntimeError;
    failure.context_lost = true;
  }
  return failure;
}

bool Worker::hello(const json& request) {
  json reply = {{"id", request.value("id", json(0))}};
  try {
    driver_ = &CudaDriver::instance();
  } catch (const Error& missing) {
    reply["ok"] = false;
    reply["error"] = std::string("no CUDA driver: ") + missing.what();
    send(reply);
    return false;
  }
  try {
    open_device();
  } catch (const CudaCallFailed& failed) {
    WorkerFailure failure = failure_from(failed, api());
    reply["ok"] = false;
    reply["error"] = "no usable GPU: " + failure.message + " (" + failure.cuda_error + ")";
    send(reply);
    return false;
  } catch (const BadRequest& bad) {
    reply["ok"] = false;
    reply["error"] = "no usable GPU: " + bad.message;
    send(reply);
    return false;
  }
  reply["ok"] = true;
  reply["protocol"] = kGpuProtocolVersion;
  reply["device"] = device_.to_json();
  send(reply);
  return true;
}

bool Worker::serve(const json& request) {
  json id = request.value("id", json(0));
  std::string op = request.value("op", "");
  try {
    if (!driver_)
      throw BadRequest{"the first request must be hello"};
    json body;
    if (op == "run")
      body = run(RunRequest::from_json(request, "run request")).to_json();
    else if (op == "time")
      body = time(TimeRequest::from_json(request, "time request")).to_json();
    else if (op == "measure")
      body = measure().to_json();
    else if (op == "profile")
      body = profile(ProfileRequest::from_json(request, "profile request")).to_json();
    else if (op == "replay")
      body = replay(ProfileRequest::from_json(request, "replay request"));
    else
      throw BadRequest{"unknown op '" + op + "'"};
    body["id"] = id;
    body["ok"] = true;
    send(body);
    return true;
  } catch (const CudaCallFailed& failed) {
    WorkerFailure failure = failure_from(failed, api());
    context_lost_ = context_lost_ || failure.context_lost;
    return send_failure(id, failure);
  } catch (const BadRequest& bad) {
    return send_failure(
        id, WorkerFailure{WorkerFailureKind::kBadRequest, "", bad.message, "", false, ""});
  } catch (const Error& error) {
    return send_failure(
        id, WorkerFailure{WorkerFailureKind::kBadRequest, "", error.what(), "", false, ""});
  }
}

void Worker::send(const json& reply) const {
  std::string line = reply.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  size_t written = 0;
  while (written < line.size()) {
    ssize_t n = ::write(output_fd_, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      std::_Exit(2);  // the parent is gone
    written += static_cast<size_t>(n);
  }
}

bool Worker::send_failure(const json& id, WorkerFailure failure) {
  failure.context_lost = failure.context_lost || context_lost_;
  send({{"id", id}, {"ok", false}, {"failure", failure.to_json()}});
  return !failure.context_lost;
}

void Worker::open_device() {
  const CudaDriverApi& cuda = api();
  call(cuda.cuInit(0), "cuInit");
  int count = 0;
  call(cuda.cuDeviceGetCount(&count), "cuDeviceGetCount");
  if (setup_.device < 0 || setup_.device >= count) {
    throw BadRequest{"no GPU with ordinal " + std::to_string(setup_.device) + " (" +
                     std::to_string(count) + " found)"};
  }
  call(cuda.cuDeviceGet(&device_handle_, setup_.device), "cuDeviceGet");
  call(cuda.cuDevicePrimaryCtxRetain(&context_, device_handle_), "cuDevicePrimaryCtxRetain");
  call(cuda.cuCtxSetCurrent(context_), "cuCtxSetCurrent");
  // Before any module loads: a kernel that prints without end fills this and stops there.
  call(cuda.cuCtxSetLimit(CU_LIMIT_PRINTF_FIFO_SIZE, kPrintfFifoBytes), "cuCtxSetLimit");
  call(cuda.cuStreamCreate(&stream_, CU_STREAM_NON_BLOCKING), "cuStreamCreate");

  auto attribute = [&](CUdevice_attribute which) {
    int value = 0;
    if (cuda.cuDeviceGetAttribute(&value, which, device_handle_) != CUDA_SUCCESS)
      return 0;
    return value;
  };
  char name[256] = {};
  call(cuda.cuDeviceGetName(name, sizeof name, device_handle_), "cuDeviceGetName");
  size_t memory = 0;
  call(cuda.cuDeviceTotalMem(&memory, device_handle_), "cuDeviceTotalMem");
  device_.ordinal = setup_.device;
  device_.name = name;
  device_.arch = "sm_" + std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)) +
                 std::to_string(attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR));
  device_.sm_count = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  device_.memory_bytes = static_cast<int64_t>(memory);
  device_.l2_bytes = attribute(CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
  device_.shared_memory_per_block_optin =
      attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  device_.clock_khz = attribute(CU_DEVICE_ATTRIBUTE_CLOCK_RATE);
  device_.memory_clock_khz = attribute(CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE);
  device_.memory_bus_width_bits = attribute(CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH);
  cuda.cuDriverGetVersion(&device_.cuda_driver_version);
  device_.driver_version = read_driver_version();
  if (device_.driver_version.empty()) {
    device_.driver_version = std::to_string(device_.cuda_driver_version / 1000) + "." +
                             std::to_string(device_.cuda_driver_version % 1000 / 10);
  }
  if (setup_.open_timing) {
    try {
      timing_ = setup_.open_timing();
      device_.cupti = true;
      device_.cupti_version = timing_->version();
    } catch (const Error& missing) {
      timing_error_ = missing.what();
    }
  } else {
    timing_error_ = "this worker was built without device timing";
  }
}

std::string Worker::read_driver_version() {
  // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.65.06  Sun Jul 27 ..."
  std::ifstream file("/proc/driver/nvidia/version");
  std::string line;
  if (!std::getline(file, line))
    return {};
  size_t module = line.find("Kernel Module");
  if (module == std::string::npos)
    return {};
  size_t start = line.find_first_not_of(' ', module + 13);
  size_t end = line.find(' ', start);
  return start == std::string::npos ? std::string() : line.substr(start, end - start);
}

}  // namespace gpu_worker

using nlohmann::json;

namespace {

// Reads one line (without its newline) from `fd`; false at the end of input.
bool read_line(int fd, std::string& buffer, std::string& line) {
  for (;;) {
    size_t newline = buffer.find('\n');
    if (newline != std::string::npos) {
      line = buffer.substr(0, newline);
      buffer.erase(0, newline + 1);
      return true;
    }
    char chunk[65536];
    ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace

int move_protocol_off_stdout() {
  std::fflush(stdout);
  int protocol = ::dup(STDOUT_FILENO);
  if (protocol < 0)
    throw Error(std::string("cannot duplicate stdout: ") + std::strerror(errno), "GPU worker");
  ::dup2(STDERR_FILENO, STDOUT_FILENO);
  return protocol;
}

int run_gpu_worker(int input_fd, int output_fd, const GpuWorkerSetup& setup) {
  // Ctrl-C in kforge's terminal reaches the worker too; the parent decides what it means (the
  // candidate on the GPU finishes), and the worker ends when its stdin closes.
  std::signal(SIGINT, SIG_IGN);
  gpu_worker::Worker worker(output_fd, setup);
  std::string buffer, line;
  bool greeted = false;
  while (read_line(input_fd, buffer, line)) {
    json request = json::parse(line, nullptr, false);
    if (!request.is_object()) {
      worker.send({{"id", 0},
                   {"ok", false},
                   {"failure", WorkerFailure{WorkerFailureKind::kBadRequest, "",
                                             "a request line is not a JSON "
                                             "object",
                                             "", false, ""}
                                   .to_json()}});
      continue;
    }
    std::string op = request.value("op", "");
    if (op == "exit")
      return 0;
    if (op == "hello") {
      if (!worker.hello(request))
        return 1;
      greeted = true;
      continue;
    }
    if (!greeted) {
      worker.send({{"id", request.value("id", json(0))},
                   {"ok", false},
                   {"failure", WorkerFailure{WorkerFailureKind::kBadRequest, "",
                                             "the first request must be hello", "", false, ""}
                                   .to_json()}});
      continue;
    }
    if (!worker.serve(request))
      return 3;  // the context is lost: the parent starts a new worker
  }
  return 0;
}

}  // namespace kforge
