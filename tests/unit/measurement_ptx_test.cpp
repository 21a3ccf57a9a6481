// The GPU worker's measurement kernels (sandbox/ptx/*.ptx) travel inside the binary and are
// JIT-compiled by the driver on the device. Here: they are embedded, they define every entry the
// worker launches (sandbox/gpu_worker_measure.cpp), and, where ptxas is installed, they assemble
// for every architecture kforge targets (what the driver's JIT will do on a GPU).
#include <gtest/gtest.h>

#include <filesystem>

#include "harness/util/embedded.hpp"
#include "harness/util/files.hpp"
#include "harness/util/subprocess.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

struct PtxFile {
  const char* path;
  std::vector<const char*> entries;
  std::vector<const char*> architectures;
};

const std::vector<PtxFile>& ptx_files() {
  static const std::vector<PtxFile> files = {
      {"sandbox/ptx/bandwidth.ptx",
       {"kforge_read_bandwidth", "kforge_write_bandwidth", "kforge_copy_bandwidth"},
       {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100"}},
      {"sandbox/ptx/fma_peak.ptx",
       {"kforge_fma_peak"},
       {"sm_75", "sm_80", "sm_86", "sm_89", "sm_90", "sm_100"}},
      {"sandbox/ptx/tensor_peak.ptx",
       {"kforge_mma_f16_f32", "kforge_mma_f16_f16", "kforge_mma_bf16_f32"},
       {"sm_80", "sm_86", "sm_89", "sm_90", "sm_100"}},
  };
  return files;
}

TEST(MeasurementPtx, IsEmbeddedWithEveryEntryTheWorkerLaunches) {
  for (const PtxFile& file : ptx_files()) {
    auto text = embedded::find(file.path);
    ASSERT_TRUE(text) << file.path << " is not embedded";
    for (const char* entry : file.entries) {
      EXPECT_NE(text->find(std::string(".visible .entry ") + entry + "("), std::string::npos)
          << file.path << " lacks " << entry;
    }
  }
}

TEST(MeasurementPtx, AssemblesForEveryTargetArchitecture) {
  std::optional<fs::path> ptxas = find_on_path("ptxas");
  if (!ptxas && fs::exists("/usr/local/cuda/bin/ptxas"))
    ptxas = "/usr/local/cuda/bin/ptxas";
  if (!ptxas)
    GTEST_SKIP() << "no ptxas on this machine (the CUDA toolkit is not installed)";
  testing::TemporaryDirectory directory;
  for (const PtxFile& file : ptx_files()) {
    fs::path source = directory.path() / fs::path(file.path).filename();
    files::write_atomic(source, *embedded::find(file.path));
    for (const char* arch : file.architectures) {
      ProcessResult result =
          run_process({.program = *ptxas,
                       .arguments = {"-arch=" + std::string(arch), source.string(), "-o",
                                     (directory.path() / "out.cubin").string()},
                       .time_limit = std::chrono::seconds(60)});
      EXPECT_TRUE(result.succeeded())
          << file.path << " for " << arch << ": " << result.describe_end() << "\n"
          << result.standard_error;
    }
  }
}

}  // namespace
}  // namespace kforge
