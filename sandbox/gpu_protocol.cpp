#include "sandbox/gpu_protocol.hpp"

#include <array>
#include <utility>

#include "harness/util/error.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/name_table.hpp"

namespace kforge {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Every reply and request field is read through JsonFields (harness/util/json_fields.hpp).
using Fields = JsonFields;

constexpr std::array kFailureKindNames =
    std::to_array<std::pair<WorkerFailureKind, std::string_view>>({
        {WorkerFailureKind::kLaunchError, "launch_error"},
        {WorkerFailureKind::kRuntimeError, "runtime_error"},
        {WorkerFailureKind::kTimeout, "timeout"},
        {WorkerFailureKind::kOutOfMemory, "out_of_memory"},
        {WorkerFailureKind::kWorkerCrashed, "worker_crashed"},
        {WorkerFailureKind::kBadRequest, "bad_request"},
    });

std::vector<fs::path> paths_from(const std::vector<std::string>& texts) {
  return {texts.begin(), texts.end()};
}

std::vector<std::string> texts_from(const std::vector<fs::path>& paths) {
  std::vector<std::string> texts;
  for (const fs::path& path : paths)
    texts.push_back(path.string());
  return texts;
}

json outputs_to_json(const std::vector<OutputSpec>& outputs) {
  json array = json::array();
  for (const OutputSpec& output : outputs)
    array.push_back({{"name", output.name}, {"dtype", output.dtype}, {"shape", output.shape}});
  return array;
}

std::vector<OutputSpec> outputs_from_json(const json& array, const std::string& where) {
  if (!array.is_array())
    throw Error("field 'outputs' is not an array", where);
  std::vector<OutputSpec> outputs;
  for (size_t i = 0; i < array.size(); ++i) {
    Fields fields(array[i], where + ": outputs[" + std::to_string(i) + "]");
    OutputSpec output;
    output.name = fields.required<std::string>("name");
    output.dtype = fields.required<std::string>("dtype");
    output.shape = fields.required<std::vector<int64_t>>("shape");
    outputs.push_back(std::move(output));
  }
  return outputs;
}

json violations_to_json(const std::vector<GuardViolation>& violations) {
  json array = json::array();
  for (const GuardViolation& violation : violations)
    array.push_back(violation.to_json());
  return array;
}

std::vector<GuardViolation> violations_from_json(const Fields& fields, const std::string& where) {
  std::vector<GuardViolation> violations;
  if (!fields.has("guard_violations"))
    return violations;
  const json& array = fields.raw("guard_violations");
  if (!array.is_array())
    throw Error("field 'guard_violations' is not an array", where);
  for (size_t i = 0; i < array.size(); ++i) {
    violations.push_back(GuardViolation::from_json(
        array[i], where + ": guard_violations[" + std::to_string(i) + "]"));
  }
  return violations;
}

}  // namespace

json DeviceDescription::to_json() const {
  return {{"ordinal", ordinal},
          {"name", name},
          {"arch", arch},
          {"sm_count", sm_count},
          {"memory_bytes", memory_bytes},
          {"l2_bytes", l2_bytes},
          {"shared_memory_per_block_optin", shared_memory_per_block_optin},
          {"clock_khz", clock_khz},
          {"memory_clock_khz", memory_clock_khz},
          {"memory_bus_width_bits", memory_bus_width_bits},
          {"driver_version", driver_version},
          {"cuda_driver_version", cuda_driver_version},
          {"cupti", cupti},
          {"cupti_version", cupti_version}};
}

DeviceDescription DeviceDescription::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  DeviceDescription device;
  device.ordinal = fields.optional<int>("ordinal", 0);
  device.name = fields.required<std::string>("name");
  device.arch = fields.required<std::string>("arch");
  device.sm_count = fields.optional<int>("sm_count", 0);
  device.memory_bytes = fields.optional<int64_t>("memory_bytes", 0);
  device.l2_bytes = fields.optional<int64_t>("l2_bytes", 0);
  device.shared_memory_per_block_optin = fields.optional<int>("shared_memory_per_block_optin", 0);
  device.clock_khz = fields.optional<int>("clock_khz", 0);
  device.memory_clock_khz = fields.optional<int>("memory_clock_khz", 0);
  device.memory_bus_width_bits = fields.optional<int>("memory_bus_width_bits", 0);
  device.driver_version = fields.optional<std::string>("driver_version", "");
  device.cuda_driver_version = fields.optional<int>("cuda_driver_version", 0);
  device.cupti = fields.optional<bool>("cupti", false);
  device.cupti_version = fields.optional<std::string>("cupti_version", "");
  return device;
}

std::string_view worker_failure_kind_name(WorkerFailureKind kind) {
  return name_in(kFailureKindNames, kind);
}

std::optional<WorkerFailureKind> worker_failure_kind_from_name(std::string_view name) {
  return value_named(kFailureKindNames, name);
}

json WorkerFailure::to_json() const {
  json out = {{"kind", worker_failure_kind_name(kind)},
              {"message", message},
              {"context_lost", context_lost}};
  if (!cuda_error.empty())
    out["cuda_error"] = cuda_error;
  if (!kernel.empty())
    out["kernel"] = kernel;
  if (!stderr_tail.empty())
    out["stderr_tail"] = stderr_tail;
  return out;
}

WorkerFailure WorkerFailure::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  WorkerFailure failure;
  std::string kind = fields.required<std::string>("kind");
  auto known = worker_failure_kind_from_name(kind);
  if (!known)
    throw Error("field 'kind' names no failure kind: '" + kind + "'", where);
  failure.kind = *known;
  failure.cuda_error = fields.optional<std::string>("cuda_error", "");
  failure.message = fields.optional<std::string>("message", "");
  failure.kernel = fields.optional<std::string>("kernel", "");
  failure.context_lost = fields.optional<bool>("context_lost", false);
  failure.stderr_tail = fields.optional<std::string>("stderr_tail", "");
  return failure;
}

json RunRequest::to_json() const {
  return {{"op", "run"},
          {"id", id},
          {"cubin", cubin.string()},
          {"plan", plan},
          {"tensors", tensors.string()},
          {"outputs", outputs_to_json(outputs)},
          {"repeats", repeats},
          {"out_dir", out_dir.string()}};
}

RunRequest RunRequest::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  RunRequest request;
  request.id = fields.required<uint64_t>("id");
  request.cubin = fields.required<std::string>("cubin");
  request.plan = fields.raw("plan");
  request.tensors = fields.required<std::string>("tensors");
  request.outputs = outputs_from_json(fields.raw("outputs"), where);
  request.repeats = fields.optional<int>("repeats", 2);
  request.out_dir = fields.required<std::string>("out_dir");
  if (request.repeats < 1)
    throw Error("field 'repeats' must be at least 1", where);
  return request;
}

json GuardViolation::to_json() const {
  return {{"tensor", tensor}, {"side", side},
          {"offset", offset}, {"changed_bytes", changed_bytes},
          {"kernel", kernel}, {"repeat", repeat}};
}

GuardViolation GuardViolation::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  GuardViolation violation;
  violation.tensor = fields.required<std::string>("tensor");
  violation.side = fields.required<std::string>("side");
  if (violation.side != "before" && violation.side != "after")
    throw Error("field 'side' must be \"before\" or \"after\"", where);
  violation.offset = fields.optional<int64_t>("offset", 0);
  violation.changed_bytes = fields.optional<int64_t>("changed_bytes", 0);
  violation.kernel = fields.optional<std::string>("kernel", "");
  violation.repeat = fields.optional<int>("repeat", -1);
  return violation;
}

json RunReply::to_json() const {
  return {{"outputs", texts_from(outputs)},
          {"inputs_after", inputs_after.string()},
          {"poison_bytes", poison_bytes},
          {"guard_violations", violations_to_json(guard_violations)}};
}

RunReply RunReply::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  RunReply reply;
  reply.outputs = paths_from(fields.required<std::vector<std::string>>("outputs"));
  reply.inputs_after = fields.required<std::string>("inputs_after");
  reply.poison_bytes = fields.optional<std::vector<int>>("poison_bytes", {});
  reply.guard_violations = violations_from_json(fields, where);
  return reply;
}

json TimeRequest::to_json() const {
  return {{"op", "time"},
          {"id", id},
          {"cubin", cubin.string()},
          {"plan", plan},
          {"input_sets", texts_from(input_sets)},
          {"fresh_inputs", fresh_inputs.string()},
          {"outputs", outputs_to_json(outputs)},
          {"warmup", warmup},
          {"min_samples", min_samples},
          {"max_samples", max_samples},
          {"target_spread", target_spread},
          {"time_cap_ms", time_cap_ms},
          {"flush_l2", flush_l2},
          {"out_dir", out_dir.string()}};
}

TimeRequest TimeRequest::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  TimeRequest request;
  request.id = fields.required<uint64_t>("id");
  request.cubin = fields.required<std::string>("cubin");
  request.plan = fields.raw("plan");
  request.input_sets = paths_from(fields.required<std::vector<std::string>>("input_sets"));
  request.fresh_inputs = fields.optional<std::string>("fresh_inputs", "");
  request.outputs = outputs_from_json(fields.raw("outputs"), where);
  request.warmup = fields.optional<int>("warmup", request.warmup);
  request.min_samples = fields.optional<int>("min_samples", request.min_samples);
  request.max_samples = fields.optional<int>("max_samples", request.max_samples);
  request.target_spread = fields.optional<double>("target_spread", request.target_spread);
  request.time_cap_ms = fields.optional<double>("time_cap_ms", request.time_cap_ms);
  request.flush_l2 = fields.optional<bool>("flush_l2", request.flush_l2);
  request.out_dir = fields.required<std::string>("out_dir");
  if (request.input_sets.empty())
    throw Error("field 'input_sets' is empty", where);
  if (request.warmup < 0 || request.min_samples < 1 || request.max_samples < request.min_samples)
    throw Error("warmup must be >= 0 and 1 <= min_samples <= max_samples", where);
  return request;
}

json TimeReply::to_json() const {
  return {{"device_us", device_us},
          {"span_us", span_us},
          {"kernels_per_iteration", kernels_per_iteration},
          {"fresh_iteration", fresh_iteration},
          {"fresh_outputs", fresh_outputs.string()},
          {"hit_time_cap", hit_time_cap},
          {"guard_violations", violations_to_json(guard_violations)}};
}

TimeReply TimeReply::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  TimeReply reply;
  reply.device_us = fields.required<std::vector<double>>("device_us");
  reply.span_us = fields.optional<std::vector<double>>("span_us", {});
  reply.kernels_per_iteration = fields.optional<int>("kernels_per_iteration", 0);
  reply.fresh_iteration = fields.optional<int>("fresh_iteration", -1);
  reply.fresh_outputs = fields.optional<std::string>("fresh_outputs", "");
  reply.hit_time_cap = fields.optional<bool>("hit_time_cap", false);
  reply.guard_violations = violations_from_json(fields, where);
  return reply;
}

json DeviceMeasurement::to_json() const {
  return {{"copy_bandwidth_bytes_per_s", copy_bandwidth_bytes_per_s},
          {"read_bandwidth_bytes_per_s", read_bandwidth_bytes_per_s},
          {"write_bandwidth_bytes_per_s", write_bandwidth_bytes_per_s},
          {"kernel_copy_bandwidth_bytes_per_s", kernel_copy_bandwidth_bytes_per_s},
          {"theoretical_bandwidth_bytes_per_s", theoretical_bandwidth_bytes_per_s},
          {"peak_fp32_flops_per_s", peak_fp32_flops_per_s},
          {"peak_fp16_tensor_flops_per_s", peak_fp16_tensor_flops_per_s},
          {"peak_bf16_tensor_flops_per_s", peak_bf16_tensor_flops_per_s},
          {"tensor_full_rate", tensor_full_rate},
          {"details", details}};
}

DeviceMeasurement DeviceMeasurement::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  DeviceMeasurement measurement;
  measurement.copy_bandwidth_bytes_per_s = fields.required<double>("copy_bandwidth_bytes_per_s");
  measurement.peak_fp32_flops_per_s = fields.required<double>("peak_fp32_flops_per_s");
  measurement.read_bandwidth_bytes_per_s =
      fields.optional<double>("read_bandwidth_bytes_per_s", 0.0);
  measurement.write_bandwidth_bytes_per_s =
      fields.optional<double>("write_bandwidth_bytes_per_s", 0.0);
  measurement.kernel_copy_bandwidth_bytes_per_s =
      fields.optional<double>("kernel_copy_bandwidth_bytes_per_s", 0.0);
  measurement.theoretical_bandwidth_bytes_per_s =
      fields.optional<double>("theoretical_bandwidth_bytes_per_s", 0.0);
  measurement.peak_fp16_tensor_flops_per_s =
      fields.optional<double>("peak_fp16_tensor_flops_per_s", 0.0);
  measurement.peak_bf16_tensor_flops_per_s =
      fields.optional<double>("peak_bf16_tensor_flops_per_s", 0.0);
  measurement.tensor_full_rate = fields.optional<bool>("tensor_full_rate", false);
  measurement.details = fields.optional<nlohmann::json>("details", json::object());
  return measurement;
}

json ProfileRequest::to_json() const {
  return {{"op", "profile"},
          {"id", id},
          {"cubin", cubin.string()},
          {"plan", plan},
          {"tensors", tensors.string()},
          {"outputs", outputs_to_json(outputs)},
          {"metrics", metrics},
          {"out_dir", out_dir.string()}};
}

ProfileRequest ProfileRequest::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  ProfileRequest request;
  request.id = fields.required<uint64_t>("id");
  request.cubin = fields.required<std::string>("cubin");
  request.plan = fields.raw("plan");
  request.tensors = fields.required<std::string>("tensors");
  request.outputs = outputs_from_json(fields.raw("outputs"), where);
  request.metrics = fields.required<std::vector<std::string>>("metrics");
  request.out_dir = fields.required<std::string>("out_dir");
  return request;
}

json KernelCounters::to_json() const {
  return {{"launch", launch}, {"kernel", kernel}, {"metrics", metrics}};
}

KernelCounters KernelCounters::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  KernelCounters counters;
  counters.launch = fields.required<int>("launch");
  counters.kernel = fields.required<std::string>("kernel");
  counters.metrics = fields.required<std::map<std::string, double>>("metrics");
  return counters;
}

json ProfileReply::to_json() const {
  json list = json::array();
  for (const KernelCounters& counters : kernels)
    list.push_back(counters.to_json());
  return {{"status", profile_status_name(status)},
          {"reason", reason_name()},
          {"detail", detail},
          {"profiler", profiler},
          {"chip", chip},
          {"passes", passes},
          {"overhead_ms", overhead_ms},
          {"kernels", std::move(list)}};
}

ProfileReply ProfileReply::from_json(const json& json, const std::string& where) {
  Fields fields(json, where);
  ProfileReply reply;
  std::string status = fields.required<std::string>("status");
  if (std::optional<ProfileStatus> known = profile_status_named(status))
    reply.status = *known;
  else
    throw Error("field 'status' must be \"collected\" or \"unavailable\", not '" + status + "'",
                where);
  if (std::string reason = fields.optional<std::string>("reason", ""); !reason.empty()) {
    reply.reason = profile_unavailable_reason_named(reason);
    if (!reply.reason)
      throw Error("field 'reason' is '" + reason + "', not a reason a profile is unavailable",
                  where);
  }
  reply.detail = fields.optional<std::string>("detail", "");
  reply.profiler = fields.optional<std::string>("profiler", "cupti");
  reply.chip = fields.optional<std::string>("chip", "");
  reply.passes = fields.optional<int>("passes", 0);
  reply.overhead_ms = fields.optional<double>("overhead_ms", 0.0);
  if (fields.has("kernels")) {
    const nlohmann::json& kernels = fields.raw("kernels");
    if (!kernels.is_array())
      throw Error("field 'kernels' is not an array", where);
    for (size_t i = 0; i < kernels.size(); ++i)
      reply.kernels.push_back(
          KernelCounters::from_json(kernels[i], where + ": kernels[" + std::to_string(i) + "]"));
  }
  if (reply.status == ProfileStatus::kUnavailable && !reply.reason)
    throw Error("an unavailable profile must say why (field 'reason')", where);
  return reply;
}

}  // namespace kforge
