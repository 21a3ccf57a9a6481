// Compile latency and throughput: the sandboxed pool against NVRTC in-process and nvcc -cubin,
// on the same sources and options, on this machine.
//
// Method: four kernels (elementwise, shared-memory reduction, tiled matmul, half-precision
// softmax with CCCL headers), each compiled for sm_90 with ptxas's verbose report, as kforge
// compiles candidates. Every path gets one untimed warm-up compile per source first (NVRTC's
// first compile in a process loads its builtins: ~0.3 s). Latency = wall time of one compile
// call as its caller sees it, repeated --repetitions times per source, median over all.
//   in-process: compile_with_nvrtc() in this process (policy check, NVRTC, files written).
//   pool:       CompilePool with one worker, cache off: the same, plus the JSON request and
//               reply over the pipe and the supervision.
//   nvcc:       `nvcc -cubin -arch=sm_90 -Xptxas -v` as a child process, per compile.
// Throughput: 2 workers, 2 submitting threads, 8 distinct sources per thread, cache off;
// compiles per second of wall time. Cache hit: the same request again with the cache on.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>
#include <string>
#include <vector>

#include "harness/util/files.hpp"
#include "harness/util/subprocess.hpp"
#include "sandbox/compile_pool.hpp"
#include "sandbox/nvrtc_api.hpp"
#include "sandbox/nvrtc_compiler.hpp"

namespace kforge {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::vector<std::pair<std::string, std::string>> kSources = {
    {"elementwise", R"(
extern "C" __global__ void scale(const float* x, float* out, long n) {
  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;
  if (i < n) out[i] = 2.0f * x[i] + 1.0f;
})"},
    {"reduction", R"(
extern "C" __global__ void row_sum(const float* x, float* out, int cols) {
  __shared__ float partial[BLOCK];
  const float* row = x + (long)blockIdx.x * cols;
  float sum = 0.0f;
  for (int c = threadIdx.x; c < cols; c += BLOCK) sum += row[c];
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = BLOCK / 2; stride > 0; stride /= 2) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = partial[0];
})"},
    {"matmul", R"(
#define TILE 32
extern "C" __global__ void matmul(const float* a, const float* b, float* c, int n, int k, int m) {
  __shared__ float as[TILE][TILE + 1];
  __shared__ float bs[TILE][TILE + 1];
  int row = blockIdx.y * TILE + threadIdx.y, col = blockIdx.x * TILE + threadIdx.x;
  float acc = 0.0f;
  for (int t = 0; t < k; t += TILE) {
    as[threadIdx.y][threadIdx.x] = (row < n && t + threadIdx.x < k) ? a[row * k + t + threadIdx.x] : 0.0f;
    bs[threadIdx.y][threadIdx.x] = (col < m && t + threadIdx.y < k) ? b[(t + threadIdx.y) * m + col] : 0.0f;
    __syncthreads();
#pragma unroll
    for (int i = 0; i < TILE; ++i) acc += as[threadIdx.y][i] * bs[i][threadIdx.x];
    __syncthreads();
  }
  if (row < n && col < m) c[row * m + col] = acc;
})"},
    {"softmax_half", R"(
#include <cuda_fp16.h>
#include <cuda/std/cstdint>
#include <cuda/std/limits>
extern "C" __global__ void softmax(const __half* x, __half* out, cuda::std::int32_t cols) {
  __shared__ float scratch[BLOCK];
  const __half* row = x + (long)blockIdx.x * cols;
  float best = -cuda::std::numeric_limits<float>::infinity();
  for (int c = threadIdx.x; c < cols; c += BLOCK) best = fmaxf(best, __half2float(row[c]));
  scratch[threadIdx.x] = best;
  __syncthreads();
  for (int s = BLOCK / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) scratch[threadIdx.x] = fmaxf(scratch[threadIdx.x], scratch[threadIdx.x + s]);
    __syncthreads();
  }
  best = scratch[0];
  __syncthreads();
  float sum = 0.0f;
  for (int c = threadIdx.x; c < cols; c += BLOCK) sum += __expf(__half2float(row[c]) - best);
  scratch[threadIdx.x] = sum;
  __syncthreads();
  for (int s = BLOCK / 2; s > 0; s /= 2) {
    if (threadIdx.x < s) scratch[threadIdx.x] += scratch[threadIdx.x + s];
    __syncthreads();
  }
  for (int c = threadIdx.x; c < cols; c += BLOCK)
    out[(long)blockIdx.x * cols + c] = __float2half(__expf(__half2float(row[c]) - best) / scratch[0]);
})"},
};

CompileRequest request_for(const std::string& source, int variant = 0) {
  CompileRequest request;
  request.source = source;
  if (variant != 0)
    request.source += "\n// variant " + std::to_string(variant) + "\n";
  request.defines = {{"BLOCK", "256"}};
  request.arch = "sm_90";
  return request;
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void require_ok(const CompileResult& result, const std::string& what) {
  if (!result.ok()) {
    std::cerr << what << ": " << compile_status_name(result.status) << " " << result.detail
              << "\n" << result.log << "\n";
    std::exit(1);
  }
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find('\n'));
}

int main_bench(int argc, char** argv) {
  int repetitions = argc > 1 ? std::atoi(argv[1]) : 10;
  int nvcc_repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
  fs::path scratch = fs::temp_directory_path() / ("kforge-bench-" + std::to_string(::getpid()));
  fs::remove_all(scratch);
  files::ensure_directory(scratch);

  NvrtcCompileSettings settings;
  settings.output_dir = scratch / "in-process";
  settings.include_roots = cuda_include_roots();

  CompilePoolOptions options;
  options.workers = 1;
  options.cache_dir = scratch / "pool-cache";
  options.use_cache = false;
  options.worker_program = KFORGE_BINARY;
  CompilePool pool(options);

  std::vector<double> in_process, sandboxed, nvcc;
  std::vector<std::string> rows;
  auto nvcc_path = find_on_path("nvcc");
  if (!nvcc_path && fs::exists("/usr/local/cuda/bin/nvcc"))
    nvcc_path = "/usr/local/cuda/bin/nvcc";
  for (const auto& [name, source] : kSources) {
    require_ok(compile_with_nvrtc(request_for(source), settings), name + " in-process");
    require_ok(pool.compile(request_for(source)), name + " pool");
    std::vector<double> mine_in, mine_pool, mine_nvcc;
    // Interleaved, so that load from other processes on the machine hits both alike.
    for (int r = 0; r < repetitions; ++r) {
      auto start = Clock::now();
      require_ok(compile_with_nvrtc(request_for(source), settings), name);
      mine_in.push_back(milliseconds_since(start));
      start = Clock::now();
      require_ok(pool.compile(request_for(source)), name);
      mine_pool.push_back(milliseconds_since(start));
    }
    if (nvcc_path) {
      fs::path file = scratch / (name + ".cu");
      files::write_atomic(file, source);
      ProcessSpec spec;
      spec.program = *nvcc_path;
      spec.arguments = {"-cubin", "-arch=sm_90", "-Xptxas", "-v", "-DBLOCK=256",
                        "-o", (scratch / (name + ".cubin")).string(), file.string()};
      for (int r = 0; r <= nvcc_repetitions; ++r) {
        ProcessResult result = run_process(spec);
        if (!result.succeeded()) {
          std::cerr << "nvcc failed on " << name << ": " << result.standard_error << "\n";
          return 1;
        }
        if (r > 0)  // the first run warms the file cache
          mine_nvcc.push_back(static_cast<double>(result.duration.count()));
      }
    }
    in_process.insert(in_process.end(), mine_in.begin(), mine_in.end());
    sandboxed.insert(sandboxed.end(), mine_pool.begin(), mine_pool.end());
    nvcc.insert(nvcc.end(), mine_nvcc.begin(), mine_nvcc.end());
    char row[256];
    std::snprintf(row, sizeof row, "| %s | %.1f | %.1f | %+.1f%% | %s |", name.c_str(),
                  median(mine_in), median(mine_pool),
                  100.0 * (median(mine_pool) / median(mine_in) - 1.0),
                  mine_nvcc.empty() ? "n/a" : std::to_string(int(median(mine_nvcc))).c_str());
    rows.push_back(row);
  }

  // Throughput: 2 workers, 2 threads, distinct sources (no cache).
  CompilePoolOptions two = options;
  two.workers = 2;
  two.cache_dir = scratch / "pool2-cache";
  CompilePool pool2(two);
  for (int w = 0; w < 2; ++w)  // warm both workers
    pool2.compile(request_for(kSources[0].second, 1000 + w));
  const int per_thread = 8;
  auto start = Clock::now();
  std::vector<std::future<void>> threads;
  for (int t = 0; t < 2; ++t) {
    threads.push_back(std::async(std::launch::async, [&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const auto& source = kSources[static_cast<size_t>(i) % kSources.size()].second;
        require_ok(pool2.compile(request_for(source, 1 + t * per_thread + i)), "throughput");
      }
    }));
  }
  for (auto& thread : threads)
    thread.get();
  double pool_seconds = milliseconds_since(start) / 1000.0;
  start = Clock::now();
  for (int i = 0; i < 2 * per_thread; ++i) {
    const auto& source = kSources[static_cast<size_t>(i) % kSources.size()].second;
    require_ok(compile_with_nvrtc(request_for(source, 100 + i), settings), "throughput");
  }
  double serial_seconds = milliseconds_since(start) / 1000.0;

  // Cache hits.
  CompilePoolOptions cached = options;
  cached.use_cache = true;
  cached.cache_dir = scratch / "cached";
  CompilePool cached_pool(cached);
  require_ok(cached_pool.compile(request_for(kSources[3].second)), "cache fill");
  std::vector<double> hits;
  for (int i = 0; i < 100; ++i) {
    auto hit_start = Clock::now();
    CompileResult hit = cached_pool.compile(request_for(kSources[3].second));
    hits.push_back(milliseconds_since(hit_start));
    if (!hit.from_cache) {
      std::cerr << "expected a cache hit\n";
      return 1;
    }
  }
  std::sort(hits.begin(), hits.end());

  utsname machine{};
  uname(&machine);
  std::string cpu = "unknown";
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.starts_with("model name")) {
      cpu = line.substr(line.find(':') + 2);
      break;
    }
  }
  std::string nvcc_version = "not found";
  if (nvcc_path) {
    ProcessSpec version_spec;
    version_spec.program = *nvcc_path;
    version_spec.arguments = {"--version"};
    std::string out = run_process(version_spec).standard_output;
    size_t at = out.find("release");
    nvcc_version = at == std::string::npos ? first_line(out) : first_line(out.substr(at));
  }

  std::printf("machine: %s, %ld cores online, %s %s\n", cpu.c_str(), sysconf(_SC_NPROCESSORS_ONLN),
              machine.sysname, machine.release);
  std::printf("NVRTC %s (%s); nvcc %s\n", Nvrtc::instance().version().c_str(),
              Nvrtc::instance().library_path().c_str(), nvcc_version.c_str());
  std::printf("repetitions: %d per source (NVRTC paths), %d per source (nvcc)\n\n", repetitions,
              nvcc_repetitions);
  std::printf("| source | in-process NVRTC, ms | sandboxed pool, ms | pool overhead | nvcc -cubin, ms |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const std::string& row : rows)
    std::printf("%s\n", row.c_str());
  std::printf("| **all (median)** | %.1f | %.1f | %+.1f%% | %s |\n\n", median(in_process),
              median(sandboxed), 100.0 * (median(sandboxed) / median(in_process) - 1.0),
              nvcc.empty() ? "n/a" : std::to_string(int(median(nvcc))).c_str());
  std::printf("throughput, 16 distinct compiles: pool with 2 workers and 2 threads %.2f s "
              "(%.1f compiles/s); in-process, one thread %.2f s (%.1f compiles/s)\n",
              pool_seconds, 16 / pool_seconds, serial_seconds, 16 / serial_seconds);
  std::printf("cache hit (100 lookups): median %.3f ms, max %.3f ms\n", median(hits),
              hits.back());
  fs::remove_all(scratch);
  return 0;
}

}  // namespace
}  // namespace kforge

int main(int argc, char** argv) {
  return kforge::main_bench(argc, argv);
}
