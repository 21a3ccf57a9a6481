// The compile worker: the child side of the compile pool, run as the hidden subcommand
// `kforge worker compile`. It speaks line-delimited JSON on stdin/stdout:
//
//   first line out:  {"hello":"kforge-compile-worker","protocol":1,"nvrtc_version":"13.0",...}
//                    or {"hello":...,"error":"NVRTC not found; ..."} and exit code 1
//   request in:      {"id":7,"source":"...","name":"candidate.cu","defines":{"BLOCK":"256"},
//                     "arch":"sm_90","options":[],"output_dir":"/abs/folder",
//                     "max_source_bytes":1048576}
//   reply out:       {"id":7,"status":"ok"|"nvrtc_error"|...,"detail":"...","log":"...",
//                     "cubin":"/abs/folder/candidate.cubin","ptx":"...","kernels":[...],
//                     "compile_ms":41.2,"nvrtc_version":"13.0","arch":"sm_90"}
//   a request it cannot serve (bad JSON, bad field, NVRTC failing): {"id":7,"error":"..."}
//
// CUBIN and PTX go to files in output_dir, never through the pipe. The worker exits when
// stdin closes. It never initialises CUDA, so its parent may limit its address space.
//
// The shipped worker obeys no test hooks. The pool's supervision is tested against
// tests/support/misbehaving_compile_worker.cpp, which serves requests with a CompileWorker and
// crashes, hangs or answers garbage on command.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace kforge {

inline constexpr int kCompileProtocolVersion = 1;

// The worker's side of the protocol, line by line.
class CompileWorker {
 public:
  // Opens NVRTC; the hello says what it found, or why it could not.
  CompileWorker();

  const nlohmann::json& hello() const { return hello_; }
  bool ready() const { return !hello_.contains("error"); }
  // The reply to one request line: a compile result, or {"id", "error"} for a request it
  // cannot serve.
  nlohmann::json serve(const std::string& line) const;

 private:
  nlohmann::json hello_;
  std::vector<std::filesystem::path> include_roots_;
};

// Writes one protocol line (bytes that are not UTF-8 replaced) and flushes.
void write_worker_line(std::ostream& out, const nlohmann::json& message);

// Serves requests until `in` ends; returns the process exit code.
int run_compile_worker(std::istream& in, std::ostream& out);

}  // namespace kforge
