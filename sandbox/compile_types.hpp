// What a compile is asked to do and what it produced, shared by the compile worker (which fills
// a CompileResult) and the pool in the parent (which receives it as one JSON line). A compile
// that fails because of the candidate is a CompileResult with a status, never an Error: those
// statuses become the reason of the `compile_error` verdict upstream.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kforge {

struct CompileRequest {
  std::string source;                          // the candidate's CUDA C++ text
  std::map<std::string, std::string> defines;  // passed as -DNAME=VALUE
  std::string arch = "sm_90";                  // sm_XX: CUBIN for that architecture
  std::vector<std::string> options;            // extra NVRTC options, from the allowed list
  std::string name = "candidate.cu";           // the file name NVRTC shows in its log
};

enum class CompileStatus {
  kOk,
  kNvrtcError,        // NVRTC rejected the source; the log says why
  kTimeLimit,         // the worker ran past the wall-clock limit and was killed
  kMemoryLimit,       // the compile ran out of the worker's address-space limit
  kForbiddenInclude,  // an #include or __has_include outside the CUDA and CCCL headers
  kTooLarge,          // the source is over the size limit
  kNotUtf8,           // the source is not UTF-8 text
  kInvalidDefine,     // a define name that is not an identifier, or a value that is not one line
  kWorkerCrashed,     // the worker died, or answered with something that is not a reply
};

std::string_view compile_status_name(CompileStatus status);
std::optional<CompileStatus> compile_status_from_name(std::string_view name);

// One kernel's resources from ptxas's verbose report. -1 where ptxas did not report a field.
struct KernelResources {
  std::string name;
  int registers = -1;
  int barriers = -1;
  int64_t shared_bytes = -1;    // static shared memory (smem)
  int64_t constant_bytes = -1;  // cmem[0], the kernel's parameter and constant bank
  int64_t stack_frame_bytes = -1;
  int64_t spill_store_bytes = -1;
  int64_t spill_load_bytes = -1;
  int64_t local_bytes = -1;  // lmem when reported, otherwise the cumulative stack size
};

struct CompileResult {
  CompileStatus status = CompileStatus::kWorkerCrashed;
  std::string detail;                // one line saying why, for every status but kOk
  std::string log;                   // NVRTC's log (ptxas report included), head and tail kept
  size_t log_bytes = 0;              // the log's full size before truncation
  std::filesystem::path cubin_path;  // set when status is kOk
  std::filesystem::path ptx_path;
  std::vector<KernelResources> kernels;
  double compile_ms = 0;      // nvrtcCompileProgram's duration, in the worker
  double wall_ms = 0;         // the whole call as its caller saw it (queueing, pipe, cache)
  std::string nvrtc_version;  // "13.0"
  std::string arch;
  bool from_cache = false;
  std::string cache_key;

  bool ok() const { return status == CompileStatus::kOk; }
};

// NVRTC logs can be megabytes (a template error repeated a thousand times). Keeps the first and
// the last part, where the first error and the ptxas summary are, with a marker between.
std::string truncate_log(std::string_view log, size_t max_bytes = 16 * 1024);

nlohmann::json resources_to_json(const KernelResources& kernel);
KernelResources resources_from_json(const nlohmann::json& document);

// The reply form of a result (paths as given); from_json throws Error naming the bad field.
nlohmann::json compile_result_to_json(const CompileResult& result);
CompileResult compile_result_from_json(const nlohmann::json& document);

}  // namespace kforge
