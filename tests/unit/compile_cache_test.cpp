// The compile cache trusts nothing it reads back: an output emptied, truncated or edited after
// it was stored is a miss, and storing the compile again rewrites the entry.
#include "sandbox/compile_cache.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harness/util/files.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;

CompileResult compiled_into(const fs::path& staging, const std::string& ptx) {
  files::write_atomic(staging / "candidate.cubin", std::string("\x7f"
                                                               "ELF cubin bytes",
                                                               15));
  files::write_atomic(staging / "candidate.ptx", ptx);
  CompileResult result;
  result.status = CompileStatus::kOk;
  result.arch = "sm_90";
  result.cubin_path = staging / "candidate.cubin";
  result.ptx_path = staging / "candidate.ptx";
  return result;
}

TEST(CompileCache, DamagedOutputsAreMissesAndAreRewritten) {
  testing::TemporaryDirectory dir;
  CompileCache cache(dir.path());
  CompileRequest request;
  request.source = "extern \"C\" __global__ void k() {}";
  std::string key = CompileCache::key(request, "13.0");
  std::string ptx = ".version 9.0\n.target sm_90\n.visible .entry k()\n{\n ret;\n}\n";
  fs::path staging = cache.new_staging_dir();
  cache.store(key, compiled_into(staging, ptx), staging);
  auto hit = cache.find(key);
  ASSERT_TRUE(hit);
  EXPECT_TRUE(hit->from_cache);
  EXPECT_EQ(files::read(hit->ptx_path), ptx);

  for (std::string damage : {std::string(), std::string("garbage"), ptx.substr(0, 10)}) {
    files::write_atomic(hit->ptx_path, damage);
    EXPECT_FALSE(cache.find(key)) << "a damaged PTX was trusted: '" << damage << "'";
    fs::path again = cache.new_staging_dir();
    CompileResult stored = cache.store(key, compiled_into(again, ptx), again);
    EXPECT_EQ(files::read(stored.ptx_path), ptx);
    ASSERT_TRUE(cache.find(key));
  }
  files::write_atomic(hit->cubin_path, "edited");
  EXPECT_FALSE(cache.find(key));

  // An entry stored without hashes (by an older kforge) is compiled again rather than trusted.
  fs::path again = cache.new_staging_dir();
  cache.store(key, compiled_into(again, ptx), again);
  fs::path result_json = cache.entry_dir(key) / "result.json";
  auto document = nlohmann::json::parse(files::read(result_json));
  document.erase("ptx_sha256");
  files::write_atomic(result_json, document.dump());
  EXPECT_FALSE(cache.find(key));
}

}  // namespace
}  // namespace kforge
