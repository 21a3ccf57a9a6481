#include "sandbox/nvrtc_compiler.hpp"

#include <sys/resource.h>

#include <cctype>
#include <chrono>
#include <cstring>
#include <fstream>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/ptxas_report.hpp"

namespace kforge {
namespace fs = std::filesystem;
namespace {

// The process's peak virtual size (VmPeak), in bytes; 0 if unreadable.
uint64_t peak_virtual_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmPeak:"))
      return std::stoull(line.substr(7)) * 1024;
  }
  return 0;
}

// NVRTC reports running out of memory as a compilation error whose log says so; there is no
// result code for it. Without matching that text, a failed compile counts as out of memory
// when the process's address space grew past half of its limit: an ordinary compile stays
// near 130 MiB, and an allocation refused at the limit leaves the peak below it.
bool near_memory_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return false;
  return peak_virtual_bytes() * 2 >= limit.rlim_cur;
}

class Program {
 public:
  Program(const Nvrtc& nvrtc, const CompileRequest& request) : nvrtc_(nvrtc) {
    nvrtcResult result = nvrtc.api().create_program(&program_, request.source.c_str(),
                                                    request.name.c_str(), 0, nullptr, nullptr);
    if (result == NVRTC_ERROR_OUT_OF_MEMORY)
      out_of_memory_ = true;
    else
      nvrtc.check(result, "nvrtcCreateProgram");
  }
  ~Program() {
    if (program_ != nullptr)
      nvrtc_.api().destroy_program(&program_);
  }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;

  nvrtcProgram get() const { return program_; }
  bool out_of_memory() const { return out_of_memory_; }

 private:
  const Nvrtc& nvrtc_;
  nvrtcProgram program_ = nullptr;
  bool out_of_memory_ = false;
};

std::string cubin(const Nvrtc& nvrtc, nvrtcProgram program) {
  size_t size = 0;
  nvrtc.check(nvrtc.api().get_cubin_size(program, &size), "nvrtcGetCUBINSize", program);
  std::string bytes(size, '\0');
  nvrtc.check(nvrtc.api().get_cubin(program, bytes.data()), "nvrtcGetCUBIN", program);
  return bytes;
}

std::string ptx(const Nvrtc& nvrtc, nvrtcProgram program) {
  size_t size = 0;
  nvrtc.check(nvrtc.api().get_ptx_size(program, &size), "nvrtcGetPTXSize", program);
  std::string text(size, '\0');
  nvrtc.check(nvrtc.api().get_ptx(program, text.data()), "nvrtcGetPTX", program);
  while (!text.empty() && text.back() == '\0')
    text.pop_back();
  return text;
}

// Compile outputs are a cache that can be rebuilt, so no fsync (it cost more than the compile
// of a small kernel here); the rename still means a reader never sees half a file.
void write_output(const fs::path& path, const std::string& bytes) {
  fs::path temporary = path;
  temporary += ".partial";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) {
      std::string reason = std::strerror(errno);
      out.close();
      std::error_code ignored;
      fs::remove(temporary, ignored);  // no .partial left behind on a full disk
      throw Error("cannot write a compile output: " + reason, temporary.string());
    }
  }
  std::error_code failure;
  fs::rename(temporary, path, failure);
  if (failure) {
    std::error_code ignored;
    fs::remove(temporary, ignored);
    throw Error("cannot write a compile output: " + failure.message(), path.string());
  }
}

}  // namespace

bool is_valid_arch(std::string_view arch) {
  if (!arch.starts_with("sm_"))
    return false;
  std::string_view rest = arch.substr(3);
  size_t digits = 0;
  while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits])))
    ++digits;
  if (digits < 2 || digits > 3)
    return false;
  std::string_view suffix = rest.substr(digits);
  return suffix.empty() || suffix == "a" || suffix == "f";
}

std::vector<std::string> nvrtc_options(const CompileRequest& request,
                                       const std::vector<fs::path>& include_roots) {
  std::vector<std::string> options = {"-arch=" + request.arch, "--ptxas-options=--verbose"};
  for (const fs::path& root : include_roots)
    options.push_back("--include-path=" + root.string());
  for (const auto& [name, value] : request.defines)
    options.push_back("-D" + name + "=" + value);
  options.insert(options.end(), request.options.begin(), request.options.end());
  return options;
}

CompileResult compile_with_nvrtc(const CompileRequest& request,
                                 const NvrtcCompileSettings& settings) {
  const Nvrtc& nvrtc = Nvrtc::instance();
  CompileResult result;
  result.nvrtc_version = nvrtc.version();
  result.arch = request.arch;
  if (!is_valid_arch(request.arch))
    throw Error("architecture '" + request.arch + "' is not of the form sm_XX", "compile request");
  check_nvrtc_options(request.options);
  if (auto violation =
          check_compile_request(request, settings.include_roots, settings.max_source_bytes)) {
    result.status = violation->status;
    result.detail = violation->detail;
    return result;
  }

  std::vector<std::string> options = nvrtc_options(request, settings.include_roots);
  std::vector<const char*> option_pointers;
  for (const std::string& option : options)
    option_pointers.push_back(option.c_str());

  Program program(nvrtc, request);
  if (program.out_of_memory()) {
    result.status = CompileStatus::kMemoryLimit;
    result.detail = "NVRTC ran out of memory creating the program";
    return result;
  }
  auto started = std::chrono::steady_clock::now();
  nvrtcResult compiled = nvrtc.api().compile_program(
      program.get(), static_cast<int>(option_pointers.size()), option_pointers.data());
  result.compile_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  std::string log = nvrtc.program_log(program.get());
  result.log_bytes = log.size();
  result.log = truncate_log(log);

  if (compiled == NVRTC_ERROR_OUT_OF_MEMORY ||
      (compiled == NVRTC_ERROR_COMPILATION && near_memory_limit())) {
    result.status = CompileStatus::kMemoryLimit;
    result.detail = "the compile ran out of memory (address-space limit of the compile worker)";
    return result;
  }
  if (compiled == NVRTC_ERROR_COMPILATION) {
    result.status = CompileStatus::kNvrtcError;
    result.detail = "NVRTC rejected the source; see the log";
    return result;
  }
  nvrtc.check(compiled, "nvrtcCompileProgram", program.get());

  files::ensure_directory(settings.output_dir);
  result.cubin_path = settings.output_dir / "candidate.cubin";
  result.ptx_path = settings.output_dir / "candidate.ptx";
  write_output(result.cubin_path, cubin(nvrtc, program.get()));
  write_output(result.ptx_path, ptx(nvrtc, program.get()));
  result.kernels = parse_ptxas_report(log);
  result.status = CompileStatus::kOk;
  return result;
}

}  // namespace kforge
