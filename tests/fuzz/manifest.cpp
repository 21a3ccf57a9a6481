// A shipped kernel's manifest.json, read by both of its readers: kforge's own (harness/library:
// read_manifest, then check_manifest against the relu seed kernel and its task, as
// `kforge library check` does) and the standalone runtime's (kernels/runtime/library.cpp,
// through Library::scan of a library folder holding it, then choose()).
// Allowed failures: kforge::Error from read_manifest (bad JSON), KernelError from the runtime.
// check_manifest returns problems as text and must not throw. Anything else is a finding.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "harness/library/manifest.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "kforge/kernels/error.hpp"
#include "kforge/kernels/library.hpp"
#include "tests/fuzz/fuzz_support.hpp"

namespace {

namespace fs = std::filesystem;
using namespace kforge;

const char* const kSeed = KFORGE_SOURCE_DIR "/kernels/seeds/relu/vectorized/kernel.cu";

const Task& relu_task() {
  static const Task task = [] {
    Task t;
    t.name = "builtin/relu";
    t.source_hash = "0000";
    TaskAnalysis analysis;
    TensorSpec x;
    x.name = "x";
    x.shape = {4096};
    TensorSpec out = x;
    out.name = "out";
    analysis.benchmark.inputs = {x};
    analysis.benchmark.outputs = {out};
    t.analysis = analysis;
    return t;
  }();
  return task;
}

// <library>/relu/fuzzed/{kernel.cu, manifest.json}, in memory where /dev/shm exists.
struct LibraryFolder {
  fs::path root;
  fs::path manifest;
  LibraryFolder() {
    fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    root = base / ("kforge-fuzz-library-" + std::to_string(getpid()));
    fs::create_directories(root / "relu" / "fuzzed");
    fs::copy_file(kSeed, root / "relu" / "fuzzed" / "kernel.cu",
                  fs::copy_options::overwrite_existing);
    manifest = root / "relu" / "fuzzed" / "manifest.json";
  }
  ~LibraryFolder() {
    std::error_code ignored;
    fs::remove_all(root, ignored);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string seed_source = files::read(kSeed);
  static fuzz::MemoryFile file("manifest.json");
  static LibraryFolder library;
  std::string_view text = fuzz::as_text(data, size);

  file.write(text);
  try {
    nlohmann::json manifest = read_manifest(file.path());
    for (const std::string& problem : check_manifest(manifest, seed_source, relu_task()))
      (void)problem;
  } catch (const Error& error) {
    (void)error.what();
  }

  {
    std::ofstream out(library.manifest, std::ios::binary | std::ios::trunc);
    out.write(text.data(), static_cast<std::streamsize>(text.size()));
  }
  try {
    kernels::Library scanned = kernels::Library::scan(library.root);
    (void)scanned.tasks();
    const kernels::ShippedKernel& chosen = scanned.choose("relu", 90);
    (void)chosen.verified_on(90);
  } catch (const kernels::KernelError& error) {
    (void)error.what();
  }
  return 0;
}
