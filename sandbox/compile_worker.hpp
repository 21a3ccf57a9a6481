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
// For tests of the supervision only: when the environment has KFORGE_COMPILE_WORKER_FAULTS=1,
// a request's "fault" field makes the worker misbehave on command: "crash" (SIGSEGV), "abort",
// "hang", "garbage" (a line that is not JSON), "partial" (half a reply, then exit), "wrong_id",
// "allocate" (allocate memory until the limit stops it).
#pragma once

#include <iosfwd>

namespace kforge {

inline constexpr int kCompileProtocolVersion = 1;
inline constexpr const char* kCompileWorkerFaultsVariable = "KFORGE_COMPILE_WORKER_FAULTS";

// Serves requests until `in` ends; returns the process exit code.
int run_compile_worker(std::istream& in, std::ostream& out);

}  // namespace kforge
