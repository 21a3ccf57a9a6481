// The parent side of sandboxed compilation: a pool of `kforge worker compile` processes
// (Boost.Process), each compile under a wall-clock limit and an address-space limit. A worker
// that crashes, hangs, runs out of memory, prints something that is not a reply or dies
// mid-reply is killed and replaced, and that compile gets a CompileResult with the reason;
// the pool goes on. compile() may be called from several threads at once.
//
//   CompilePoolOptions options;
//   options.cache_dir = workspace.cache_dir("compile");
//   CompilePool pool(options);
//   CompileResult result = pool.compile(CompileRequest{.source = text, .arch = "sm_90"});
#pragma once

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "harness/options/compile_pool_options.hpp"
#include "sandbox/compile_cache.hpp"
#include "sandbox/compile_types.hpp"
#include "sandbox/source_policy.hpp"

namespace kforge {

class WorkerProcess;

class CompilePool {
 public:
  // Starts the workers. Sets SIGPIPE to be ignored in this process, so that writing to a worker
  // that just died is an error to handle rather than the end of kforge. Throws Error when a worker
  // cannot start or reports that NVRTC is missing: without NVRTC nothing can compile, and that is
  // the tool's failure, not the candidate's.
  explicit CompilePool(CompilePoolOptions options);
  ~CompilePool();
  CompilePool(const CompilePool&) = delete;
  CompilePool& operator=(const CompilePool&) = delete;

  // Compiles one request (or finds it in the cache). A bad candidate is a result with a
  // status; Error only for infrastructure failures (an option kforge must not pass, a worker
  // that cannot be started, an output folder that cannot be written).
  CompileResult compile(const CompileRequest& request);

  const std::string& nvrtc_version() const { return nvrtc_version_; }
  size_t max_source_bytes() const { return options_.max_source_bytes; }
  int worker_count() const { return static_cast<int>(slots_.size()); }
  // Workers killed and replaced so far (crashes, hangs, garbage, limits).
  int workers_replaced() const;

 private:
  struct Slot {
    std::unique_ptr<WorkerProcess> worker;
    bool busy = false;
  };
  size_t acquire();
  void release(size_t slot);
  std::unique_ptr<WorkerProcess> start_worker();
  CompileResult compile_in_worker(Slot& slot, const CompileRequest& request,
                                  const std::filesystem::path& output_dir);

  CompilePoolOptions options_;
  CompileCache cache_;
  std::vector<std::filesystem::path> include_roots_;
  std::filesystem::path worker_directory_;
  std::string nvrtc_version_;
  std::vector<Slot> slots_;
  mutable std::mutex mutex_;
  std::condition_variable slot_freed_;
  int replaced_ = 0;
  uint64_t next_id_ = 1;
};

}  // namespace kforge
