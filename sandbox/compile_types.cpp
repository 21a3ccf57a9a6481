#include "sandbox/compile_types.hpp"

#include <array>
#include <utility>

#include "harness/util/error.hpp"
#include "harness/util/json_fields.hpp"
#include "harness/util/name_table.hpp"

namespace kforge {
namespace {

constexpr std::array kStatusNames = std::to_array<std::pair<CompileStatus, std::string_view>>({
    {CompileStatus::kOk, "ok"},
    {CompileStatus::kNvrtcError, "nvrtc_error"},
    {CompileStatus::kTimeLimit, "time_limit"},
    {CompileStatus::kMemoryLimit, "memory_limit"},
    {CompileStatus::kForbiddenInclude, "forbidden_include"},
    {CompileStatus::kTooLarge, "too_large"},
    {CompileStatus::kNotUtf8, "not_utf8"},
    {CompileStatus::kInvalidDefine, "invalid_define"},
    {CompileStatus::kWorkerCrashed, "worker_crashed"},
});

// A field of a compile reply (or of its kernels' entries), `fallback` where it is absent or
// null; a mistyped one, or an integer out of its type's range, is an Error naming it.
template <typename Value>
Value field(const nlohmann::json& document, const char* name, Value fallback) {
  if (!document.is_object())
    return fallback;
  return JsonFields(document, "compile reply").optional<Value>(name, std::move(fallback));
}

}  // namespace

std::string_view compile_status_name(CompileStatus status) {
  return name_in(kStatusNames, status);
}

std::optional<CompileStatus> compile_status_from_name(std::string_view name) {
  return value_named(kStatusNames, name);
}

std::string truncate_log(std::string_view log, size_t max_bytes) {
  if (log.size() <= max_bytes)
    return std::string(log);
  size_t head = max_bytes / 2;
  size_t tail = max_bytes - head;
  // Cut at line boundaries so that neither part starts or ends mid-line.
  size_t head_end = log.rfind('\n', head);
  head_end = (head_end == std::string_view::npos || head_end == 0) ? head : head_end + 1;
  size_t tail_begin = log.find('\n', log.size() - tail);
  tail_begin = (tail_begin == std::string_view::npos) ? log.size() - tail : tail_begin + 1;
  size_t omitted = tail_begin - head_end;
  return std::string(log.substr(0, head_end)) + "[... " + std::to_string(omitted) +
         " bytes of the log omitted ...]\n" + std::string(log.substr(tail_begin));
}

nlohmann::json resources_to_json(const KernelResources& kernel) {
  return {{"name", kernel.name},
          {"registers", kernel.registers},
          {"barriers", kernel.barriers},
          {"shared_bytes", kernel.shared_bytes},
          {"constant_bytes", kernel.constant_bytes},
          {"stack_frame_bytes", kernel.stack_frame_bytes},
          {"spill_store_bytes", kernel.spill_store_bytes},
          {"spill_load_bytes", kernel.spill_load_bytes},
          {"local_bytes", kernel.local_bytes}};
}

KernelResources resources_from_json(const nlohmann::json& document) {
  KernelResources kernel;
  kernel.name = field<std::string>(document, "name", "");
  kernel.registers = field<int>(document, "registers", -1);
  kernel.barriers = field<int>(document, "barriers", -1);
  kernel.shared_bytes = field<int64_t>(document, "shared_bytes", -1);
  kernel.constant_bytes = field<int64_t>(document, "constant_bytes", -1);
  kernel.stack_frame_bytes = field<int64_t>(document, "stack_frame_bytes", -1);
  kernel.spill_store_bytes = field<int64_t>(document, "spill_store_bytes", -1);
  kernel.spill_load_bytes = field<int64_t>(document, "spill_load_bytes", -1);
  kernel.local_bytes = field<int64_t>(document, "local_bytes", -1);
  return kernel;
}

nlohmann::json compile_result_to_json(const CompileResult& result) {
  nlohmann::json kernels = nlohmann::json::array();
  for (const KernelResources& kernel : result.kernels)
    kernels.push_back(resources_to_json(kernel));
  return {{"status", compile_status_name(result.status)},
          {"detail", result.detail},
          {"log", result.log},
          {"log_bytes", result.log_bytes},
          {"cubin", result.cubin_path.string()},
          {"ptx", result.ptx_path.string()},
          {"kernels", kernels},
          {"compile_ms", result.compile_ms},
          {"nvrtc_version", result.nvrtc_version},
          {"arch", result.arch}};
}

CompileResult compile_result_from_json(const nlohmann::json& document) {
  if (!document.is_object())
    throw Error("a compile reply must be a JSON object", "compile reply");
  CompileResult result;
  std::string status = field<std::string>(document, "status", "");
  auto parsed = compile_status_from_name(status);
  if (!parsed)
    throw Error("unknown compile status '" + status + "'", "compile reply");
  result.status = *parsed;
  result.detail = field<std::string>(document, "detail", "");
  result.log = field<std::string>(document, "log", "");
  result.log_bytes = field<size_t>(document, "log_bytes", result.log.size());
  result.cubin_path = field<std::string>(document, "cubin", "");
  result.ptx_path = field<std::string>(document, "ptx", "");
  result.compile_ms = field<double>(document, "compile_ms", 0.0);
  result.nvrtc_version = field<std::string>(document, "nvrtc_version", "");
  result.arch = field<std::string>(document, "arch", "");
  auto kernels = document.find("kernels");
  if (kernels != document.end() && kernels->is_array()) {
    for (const auto& kernel : *kernels) {
      if (!kernel.is_object())
        throw Error("each entry of 'kernels' must be an object", "compile reply");
      result.kernels.push_back(resources_from_json(kernel));
    }
  }
  return result;
}

}  // namespace kforge
