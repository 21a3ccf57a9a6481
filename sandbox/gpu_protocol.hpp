// The GPU worker protocol: what the parent (`GpuWorkerClient`, sandbox/gpu_worker_client.hpp)
// and a `kforge worker gpu` process say to each other. One JSON object per line on the worker's
// stdin and one reply line per request on its stdout; tensors never travel through the pipe but
// as safetensors files in a job folder the parent names. The worker writes nothing else to that
// stdout: it moves the protocol to a private descriptor before CUDA starts, so a candidate's
// device printf cannot corrupt it.
//
// The trust boundary, from DESIGN.md: the worker runs candidate code, so it is told only what it
// must do (load this cubin, launch this resolved plan on these inputs) and never holds reference
// outputs. It returns the candidate's outputs and the inputs as they were after the launches;
// the parent compares both.
//
// Requests (field "op"):
//   hello    → the device the worker owns and what it can measure with (DeviceDescription).
//   run      → RunRequest: poison outputs and scratch, launch the plan, copy outputs back;
//              `repeats` times on the same inputs (a second run catches races).
//   time     → TimeRequest: warm up, then timed iterations with the L2 flushed before each,
//              rotating input sets, until the spread target or the cap; one timed iteration
//              uses an input set the kernel has not seen before, and its outputs come back.
//   measure  → DeviceMeasurement: copy bandwidth and peak arithmetic rate, once per GPU.
//   exit     → the worker ends.
// Every reply has "ok"; a failed request has "failure" (WorkerFailure). After a failure with
// `context_lost`, the worker exits and the parent starts a new one.
//
// On the wire (one line each):
//   {"op":"hello","id":1}  → {"id":1,"ok":true,"protocol":1,"device":{DeviceDescription}}
//                          or {"id":1,"ok":false,"error":"no CUDA driver: ..."} (no usable GPU;
//                          the worker then exits with code 1)
//   {"op":"run","id":2,...RunRequest}   → {"id":2,"ok":true,...RunReply fields}
//   {"op":"time","id":3,...TimeRequest} → {"id":3,"ok":true,...TimeReply fields}
//   {"op":"measure","id":4}             → {"id":4,"ok":true,...DeviceMeasurement fields}
//   any request                         → {"id":N,"ok":false,"failure":{WorkerFailure}}
//   {"op":"exit"}                       → no reply; the worker ends
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kforge {

inline constexpr int kGpuProtocolVersion = 1;
// Set to "1" by a client with `allow_test_faults`: only then does a test worker
// (tests/support/misbehaving_gpu_worker.py) obey a plan's "test_fault" field.
inline constexpr const char* kGpuWorkerFaultsVariable = "KFORGE_GPU_WORKER_FAULTS";

// What a worker reports about its GPU (hello).
struct DeviceDescription {
  int ordinal = 0;
  std::string name;  // "NVIDIA H100 80GB HBM3"
  std::string arch;  // "sm_90"
  int sm_count = 0;
  int64_t memory_bytes = 0;
  int64_t l2_bytes = 0;
  int shared_memory_per_block_optin = 0;
  int clock_khz = 0;  // SM clock where readable, else 0
  int memory_clock_khz = 0;
  int memory_bus_width_bits = 0;
  std::string driver_version;   // "580.65.06" where readable, else the CUDA driver API's
  int cuda_driver_version = 0;  // cuDriverGetVersion: 13000
  bool cupti = false;           // device timing is available
  std::string cupti_version;

  nlohmann::json to_json() const;
  static DeviceDescription from_json(const nlohmann::json& json, const std::string& where);
};

// Why a request failed. `kind` decides the verdict in the parent:
//   launch_error    — the launch was refused (too many resources, bad configuration)
//   runtime_error   — a fault during the kernel (illegal address, misaligned access, trap,
//                     assertion, illegal instruction); `cuda_error` names it
//   timeout         — the watchdog fired (set by the parent; a worker never says it)
//   out_of_memory   — an allocation the plan needs failed
//   worker_crashed  — the worker died, wrote something that is not a reply, or too much
//                     (set by the parent)
//   bad_request     — the worker could not do what was asked (missing file, unknown op):
//                     kforge's fault, not the candidate's
struct WorkerFailure {
  std::string kind;
  std::string cuda_error;  // "CUDA_ERROR_ILLEGAL_ADDRESS", where there is one
  std::string message;     // one line
  std::string kernel;      // the launch that failed, where known
  bool context_lost = false;
  std::string stderr_tail;  // the worker's last stderr lines (set by the parent)

  nlohmann::json to_json() const;
  static WorkerFailure from_json(const nlohmann::json& json, const std::string& where);
};

// One buffer the worker allocates for the candidate's outputs: filled with poison (0xFF bytes,
// a NaN pattern for every float type) before every launch.
struct OutputSpec {
  std::string name;   // "out", "out0", ...
  std::string dtype;  // safetensors name: "F32", "F16", "BF16", "I64", ...
  std::vector<int64_t> shape;
};

struct RunRequest {
  uint64_t id = 0;
  std::filesystem::path cubin;
  nlohmann::json plan;            // ResolvedPlan::to_json()
  std::filesystem::path tensors;  // safetensors: every input and parameter by name
  std::vector<OutputSpec> outputs;
  int repeats = 2;                // runs on the same inputs, each after fresh poison
  std::filesystem::path out_dir;  // where the worker writes its files

  nlohmann::json to_json() const;
  static RunRequest from_json(const nlohmann::json& json, const std::string& where);
};

struct RunReply {
  // One safetensors file per repeat with the outputs, in order.
  std::vector<std::filesystem::path> outputs;
  // The inputs and parameters as they were after the last repeat, for the bit-for-bit check.
  std::filesystem::path inputs_after;

  nlohmann::json to_json() const;
  static RunReply from_json(const nlohmann::json& json, const std::string& where);
};

struct TimeRequest {
  uint64_t id = 0;
  std::filesystem::path cubin;
  nlohmann::json plan;
  std::vector<std::filesystem::path> input_sets;  // rotated among, one per iteration
  // Inputs never used before timing began. One timed iteration (not a warm-up one), chosen by
  // the worker after at least half of `min_samples`, runs on them; its outputs come back.
  std::filesystem::path fresh_inputs;
  std::vector<OutputSpec> outputs;
  int warmup = 10;
  int min_samples = 20;
  int max_samples = 1000;
  double target_spread = 0.02;  // stop when (p90 - p10) / median is at most this
  double time_cap_ms = 2000;    // stop after this much wall time in timed iterations
  bool flush_l2 = true;
  std::filesystem::path out_dir;

  nlohmann::json to_json() const;
  static TimeRequest from_json(const nlohmann::json& json, const std::string& where);
};

struct TimeReply {
  // Per timed iteration: the sum of the durations of the candidate's own kernels (CUPTI
  // activity records), and the span from the first kernel's start to the last one's end, in µs.
  std::vector<double> device_us;
  std::vector<double> span_us;
  int kernels_per_iteration = 0;  // kernel records seen per iteration (must equal the plan's)
  int fresh_iteration = -1;       // which timed iteration ran on `fresh_inputs`
  std::filesystem::path fresh_outputs;
  bool hit_time_cap = false;

  nlohmann::json to_json() const;
  static TimeReply from_json(const nlohmann::json& json, const std::string& where);
};

// Measured once per GPU and cached by the parent (store table device_measurements).
struct DeviceMeasurement {
  double copy_bandwidth_bytes_per_s = 0;    // device-to-device copy: bytes read + bytes written
  double peak_fp32_flops_per_s = 0;         // FMA-bound kernel, 2 FLOPs per FMA
  double peak_fp16_tensor_flops_per_s = 0;  // 0 where not measured
  nlohmann::json details = nlohmann::json::object();  // sizes, samples, method

  nlohmann::json to_json() const;
  static DeviceMeasurement from_json(const nlohmann::json& json, const std::string& where);
};

}  // namespace kforge
