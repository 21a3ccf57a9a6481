// The GPU worker protocol: what the parent (`GpuWorkerClient`, sandbox/gpu_worker_client.hpp)
// and a `kforge worker gpu` process say to each other. One JSON object per line on the worker's
// stdin and one reply line per request on its stdout; tensors never travel through the pipe but
// as safetensors files in a job folder the parent names. The worker writes nothing else to that
// stdout: it moves the protocol to a private descriptor before CUDA starts, so a candidate's
// device printf cannot corrupt it.
//
// The trust boundary (docs/design.md): the worker runs candidate code, so it is told only what it
// must do (load this cubin, launch this resolved plan on these inputs) and never holds reference
// outputs. It returns the candidate's outputs and the inputs as they were after the launches;
// the parent compares both.
//
// Requests (field "op"):
//   hello    → the device the worker owns and what it can measure with (DeviceDescription).
//   run      → RunRequest: poison outputs and scratch, launch the plan, copy outputs back;
//              `repeats` times on the same inputs (a second run catches races). Repeat r is
//              poisoned with poison_byte_for_repeat(r) (the poison rule below), and the guard
//              zones around every buffer are checked after every launch.
//   time     → TimeRequest: warm up, then timed iterations with the L2 flushed before each,
//              rotating input sets, until the spread target or the cap; one timed iteration
//              uses an input set the kernel has not seen before, and its outputs come back.
//   measure  → DeviceMeasurement: read, write and copy bandwidth and peak arithmetic rates
//              (fp32 FMA, fp16/bf16 tensor cores), once per GPU.
//   profile  → ProfileRequest: hardware counters (CUPTI range profiler) for each launch of the
//              plan, one range per launch, replayed for as many passes as the metrics need; a
//              pass of its own after `time`, never timed. Counters the machine does not allow
//              (no profiling permission, MIG, a virtual GPU, no libcupti) are a ProfileReply
//              with status `unavailable` and the reason, not a failure.
//   replay   → a ProfileRequest with op "replay": the plan run twice on the input set, untimed
//              and uncounted, outputs and scratch poisoned before each pass; the reply is
//              {"launches": N}, the launches per pass. For a profiler outside the worker: Nsight
//              Compute's CLI starts a one-shot worker (`--requests FILE`: hello, replay, exit
//              read from FILE) and counts the second pass (--launch-skip N --launch-count N),
//              harness/evaluation/ncu_profile.hpp.
//   exit     → the worker ends.
// Every reply has "ok"; a failed request has "failure" (WorkerFailure). After a failure with
// `context_lost`, the worker exits and the parent starts a new one.
//
// On the wire (one line each):
//   {"op":"hello","id":1}  → {"id":1,"ok":true,"protocol":3,"device":{DeviceDescription}}
//                          or {"id":1,"ok":false,"error":"no CUDA driver: ..."} (no usable GPU;
//                          the worker then exits with code 1)
//   {"op":"run","id":2,...RunRequest}   → {"id":2,"ok":true,...RunReply fields}
//   {"op":"time","id":3,...TimeRequest} → {"id":3,"ok":true,...TimeReply fields}
//   {"op":"measure","id":4}             → {"id":4,"ok":true,...DeviceMeasurement fields}
//   {"op":"profile","id":5,...ProfileRequest} → {"id":5,"ok":true,...ProfileReply fields}
//   {"op":"replay","id":6,...ProfileRequest}  → {"id":6,"ok":true,"launches":N}
//   any request                         → {"id":N,"ok":false,"failure":{WorkerFailure}}
//   {"op":"exit"}                       → no reply; the worker ends
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness/options/timing_settings.hpp"
#include "harness/util/profile_status.hpp"

namespace kforge {

// 2: two poison patterns, guard zones and their violations, the kernel-measured bandwidths and
// tensor-core peaks. 3: `profile`.
inline constexpr int kGpuProtocolVersion = 3;

// The poison rule, fixed so that both sides know it without saying it: before repeat r of a
// `run`, every output and scratch byte is set to poison_byte_for_repeat(r): 0xFF on even
// repeats (a NaN in every float type, -1 in signed integers) and 0x7B on odd ones (a large
// finite value in every type: 1.3e36 in float32 and bfloat16, 61280 in float16, about 1e287 in
// float64, 2071690107 in int32, 123 in int8). A kernel that leaves an element unwritten, or
// folds the old contents in (`fmaxf(out, x)` passes under NaN, which fmaxf ignores), fails
// under one of the two. `time` poisons the outputs of its fresh iteration with the odd-repeat
// byte. The parent compares repeat r's outputs with poison_byte_for_repeat(r)
// (harness/verification/compare.hpp).
inline constexpr uint8_t kPoisonBytes[2] = {0xFF, 0x7B};
inline constexpr uint8_t poison_byte_for_repeat(int repeat) {
  return kPoisonBytes[repeat % 2];
}
inline constexpr uint8_t kFreshPoisonByte = kPoisonBytes[1];

// Guard zones: every input, parameter, output and scratch buffer is allocated with
// kGuardBytes before and after it, filled with the 32-bit word kGuardWord (little-endian), and
// the worker checks them after every launch of a `run` and at the end of a `time`. A changed
// guard byte is a write out of bounds (GuardViolation), which the parent turns into
// `incorrect` / `out_of_bounds_write`. Buffers keep cuMemAlloc's alignment (kGuardBytes is a
// multiple of 256). Writes further away than kGuardBytes, and reads, are not seen.
inline constexpr size_t kGuardBytes = 4096;
inline constexpr uint32_t kGuardWord = 0x6B1D5EA5u;

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

// Why a request failed. The kind decides the verdict in the parent (run_stage.hpp); on the wire
// and in the store it is the name beside it:
enum class WorkerFailureKind {
  // "launch_error": the launch was refused (too many resources, bad configuration)
  kLaunchError,
  // "runtime_error": a fault during the kernel (illegal address, misaligned access, trap,
  // assertion, illegal instruction); `cuda_error` names it
  kRuntimeError,
  // "timeout": the watchdog fired (set by the parent; a worker never says it)
  kTimeout,
  // "out_of_memory": an allocation the plan needs failed
  kOutOfMemory,
  // "worker_crashed": the worker died, wrote something that is not a reply (a line that is not
  // JSON, a reply to another request, a malformed reply or failure), or too much (set by the
  // parent)
  kWorkerCrashed,
  // "bad_request": the worker could not do what was asked (missing file, unknown op): kforge's
  // fault, not the candidate's
  kBadRequest,
};

// The one mapping between a kind and its text (the protocol's and the stored evidence's).
std::string_view worker_failure_kind_name(WorkerFailureKind kind);
std::optional<WorkerFailureKind> worker_failure_kind_from_name(std::string_view name);

struct WorkerFailure {
  WorkerFailureKind kind = WorkerFailureKind::kWorkerCrashed;
  std::string cuda_error;  // "CUDA_ERROR_ILLEGAL_ADDRESS", where there is one
  std::string message;     // one line
  std::string kernel;      // the launch that failed, where known
  bool context_lost = false;
  std::string stderr_tail;  // the worker's last stderr lines (set by the parent)

  nlohmann::json to_json() const;
  // A kind outside the table is a malformed failure: an Error naming the field.
  static WorkerFailure from_json(const nlohmann::json& json, const std::string& where);
};

// One buffer the worker allocates for the candidate's outputs: filled with poison (the poison
// rule above) before every launch.
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

// A guard zone found changed after a launch: some kernel wrote outside a buffer.
struct GuardViolation {
  std::string tensor;         // the buffer's name: an input, parameter, output or scratch buffer
  std::string side;           // "before" or "after" the buffer
  int64_t offset = 0;         // of the changed byte nearest the buffer, counted from its edge (0 =
                              // the byte just past the end, or just before the start)
  int64_t changed_bytes = 0;  // guard bytes changed on that side
  std::string kernel;         // the launch after which it was seen ("" in `time`)
  int repeat = -1;            // the run's repeat (-1 in `time`)

  nlohmann::json to_json() const;
  static GuardViolation from_json(const nlohmann::json& json, const std::string& where);
};

struct RunReply {
  // One safetensors file per repeat with the outputs, in order.
  std::vector<std::filesystem::path> outputs;
  // The inputs and parameters as they were after the last repeat, for the bit-for-bit check.
  std::filesystem::path inputs_after;
  // The poison byte each repeat used (the poison rule; sent back as evidence).
  std::vector<int> poison_bytes;
  // Every guard zone found changed, in the order seen (at most kMaxGuardViolations).
  std::vector<GuardViolation> guard_violations;
  static constexpr size_t kMaxGuardViolations = 16;

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
  // How it is timed (harness/options/timing_settings.hpp has the meanings and the defaults).
  int warmup = kDefaultTiming.warmup;
  int min_samples = kDefaultTiming.min_samples;
  int max_samples = kDefaultTiming.max_samples;
  double target_spread = kDefaultTiming.target_spread;
  double time_cap_ms = kDefaultTiming.time_cap_ms;
  bool flush_l2 = kDefaultTiming.flush_l2;
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
  // Guard zones found changed at the end of timing (they are not refilled while timing, so a
  // write out of bounds in any iteration shows).
  std::vector<GuardViolation> guard_violations;

  nlohmann::json to_json() const;
  static TimeReply from_json(const nlohmann::json& json, const std::string& where);
};

// Measured once per GPU and cached by the parent (store table device_measurements). Rates are
// medians of CUPTI-timed repeats; 0 means not measured. The physical floor
// (profiler/statistics.hpp) takes the highest bandwidth and the peak for the task's dtype.
struct DeviceMeasurement {
  double copy_bandwidth_bytes_per_s = 0;         // cuMemcpyDtoD: bytes read + bytes written
  double read_bandwidth_bytes_per_s = 0;         // read-only kernel (sandbox/ptx/bandwidth.ptx)
  double write_bandwidth_bytes_per_s = 0;        // write-only kernel
  double kernel_copy_bandwidth_bytes_per_s = 0;  // copy kernel: bytes read + bytes written
  // Memory clock x bus width x 2 (double data rate), from the device attributes; 0 where not
  // readable. Not measured, but no kernel can move DRAM bytes faster.
  double theoretical_bandwidth_bytes_per_s = 0;
  double peak_fp32_flops_per_s = 0;         // FMA-bound kernel, 2 FLOPs per FMA
  double peak_fp16_tensor_flops_per_s = 0;  // mma.sync fp16 (best of f32 and f16 accumulate)
  double peak_bf16_tensor_flops_per_s = 0;  // mma.sync bf16, f32 accumulate
  // Whether mma.sync is this GPU's fastest tensor-core path (sm_80 to sm_89). On sm_90 and
  // newer (wgmma, tcgen05) the mma.sync rates are measured but are not the peak, so the floor
  // must not use them.
  bool tensor_full_rate = false;
  nlohmann::json details = nlohmann::json::object();  // sizes, samples, method

  nlohmann::json to_json() const;
  static DeviceMeasurement from_json(const nlohmann::json& json, const std::string& where);
};

// Counters for each launch of a plan, on one input set at the benchmark shape. The worker runs
// the plan once untimed (warm caches and module loads), then once per replay pass with one
// profiler range around each launch; outputs and scratch are poisoned before each pass as
// before a repeat of `run`, since the plan may read what it wrote.
struct ProfileRequest {
  uint64_t id = 0;
  std::filesystem::path cubin;
  nlohmann::json plan;            // ResolvedPlan::to_json()
  std::filesystem::path tensors;  // one input set
  std::vector<OutputSpec> outputs;
  std::vector<std::string> metrics;  // counters, by Nsight Compute name (profiler/metric_set.hpp)
  std::filesystem::path out_dir;

  nlohmann::json to_json() const;
  static ProfileRequest from_json(const nlohmann::json& json, const std::string& where);
};

// One launch of the plan and its metric values, keyed by Nsight Compute metric name: the
// requested counters and the launch metrics the worker computes (launch__*, theoretical
// occupancy; profiler/launch_metrics.hpp).
struct KernelCounters {
  int launch = 0;  // the launch's index in the plan
  std::string kernel;
  std::map<std::string, double> metrics;

  nlohmann::json to_json() const;
  static KernelCounters from_json(const nlohmann::json& json, const std::string& where);
};

struct ProfileReply {
  ProfileStatus status = ProfileStatus::kUnavailable;
  // Why counters are unavailable: set exactly when status is kUnavailable
  // (harness/util/profile_status.hpp; "reason" in the JSON, "" when collected).
  std::optional<ProfileUnavailableReason> reason;
  // The reason's name, "" when there is none: for messages.
  std::string_view reason_name() const {
    return reason ? profile_unavailable_reason_name(*reason) : std::string_view();
  }
  std::string detail;  // one line: the CUPTI call and result, or what was missing
  std::string profiler = "cupti";
  std::string chip;  // "GH100"
  int passes = 0;    // replay passes of the plan the counters needed
  // Wall time of the whole profile request in the worker (replays, configuration, evaluation),
  // in milliseconds: what profiling added to the candidate's evaluation.
  double overhead_ms = 0;
  std::vector<KernelCounters> kernels;

  nlohmann::json to_json() const;
  static ProfileReply from_json(const nlohmann::json& json, const std::string& where);
};

}  // namespace kforge
