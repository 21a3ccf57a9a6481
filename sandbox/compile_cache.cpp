#include "sandbox/compile_cache.hpp"

#include <unistd.h>

#include <atomic>
#include <nlohmann/json.hpp>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/hash.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace fs = std::filesystem;
namespace {

// Bump when the entry layout or what a result holds changes.
constexpr std::string_view kCacheFormat = "kforge-compile-cache-1";

CompileResult with_entry_paths(CompileResult result, const fs::path& entry) {
  if (!result.cubin_path.empty())
    result.cubin_path = entry / result.cubin_path.filename();
  if (!result.ptx_path.empty())
    result.ptx_path = entry / result.ptx_path.filename();
  return result;
}

// A file's SHA-256, or "" when it cannot be read.
std::string file_hash(const fs::path& path) {
  std::error_code failure;
  if (path.empty() || !fs::is_regular_file(path, failure))
    return {};
  return sha256_hex(files::read(path));
}

// The CUBIN and PTX an entry names are there and are the bytes stored with it: an output that
// was emptied, truncated or edited since is not trusted (the compile runs again and the entry
// is rewritten). Entries stored before hashes were kept have none, and are compiled again too.
bool outputs_intact(const CompileResult& result, const nlohmann::json& document) {
  std::string cubin = document.value("cubin_sha256", "");
  std::string ptx = document.value("ptx_sha256", "");
  if (cubin.empty() || ptx.empty())
    return false;
  return file_hash(result.cubin_path) == cubin && file_hash(result.ptx_path) == ptx;
}

}  // namespace

CompileCache::CompileCache(fs::path root) : root_(std::move(root)) {
  files::ensure_directory(root_ / "staging");
}

std::string CompileCache::key(const CompileRequest& request, const std::string& nvrtc_version) {
  nlohmann::json defines = request.defines;
  return sha256_hex_fields({kCacheFormat, request.source, defines.dump(), request.arch,
                            strings::join(request.options, "\n"), request.name, nvrtc_version});
}

fs::path CompileCache::entry_dir(const std::string& key) const {
  return root_ / key.substr(0, 2) / key;
}

std::optional<CompileResult> CompileCache::find(const std::string& key) const {
  fs::path entry = entry_dir(key);
  std::error_code failure;
  if (!fs::exists(entry / "result.json", failure))
    return std::nullopt;
  try {
    nlohmann::json document = nlohmann::json::parse(files::read(entry / "result.json"));
    CompileResult result = compile_result_from_json(document);
    result = with_entry_paths(std::move(result), entry);
    if (result.ok() && !outputs_intact(result, document))
      return std::nullopt;
    result.from_cache = true;
    result.cache_key = key;
    return result;
  } catch (const std::exception&) {
    return std::nullopt;  // a damaged entry is compiled again and overwritten
  }
}

fs::path CompileCache::new_staging_dir() {
  static std::atomic<uint64_t> counter{0};
  fs::path dir =
      root_ / "staging" / (std::to_string(::getpid()) + "-" + std::to_string(counter.fetch_add(1)));
  fs::remove_all(dir);
  files::ensure_directory(dir);
  return dir;
}

CompileResult CompileCache::store(const std::string& key, const CompileResult& result,
                                  const fs::path& staging) {
  fs::path entry = entry_dir(key);
  CompileResult stored = with_entry_paths(result, entry);
  stored.cache_key = key;
  nlohmann::json document = compile_result_to_json(stored);
  document["cubin"] = stored.cubin_path.empty() ? "" : stored.cubin_path.filename().string();
  document["ptx"] = stored.ptx_path.empty() ? "" : stored.ptx_path.filename().string();
  if (result.ok()) {
    document["cubin_sha256"] = file_hash(result.cubin_path);
    document["ptx_sha256"] = file_hash(result.ptx_path);
  }
  // result.json goes in last, through write_atomic: an entry without it does not exist.
  files::write_atomic(staging / "result.json",
                      document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  files::ensure_directory(entry.parent_path());
  std::error_code failure;
  if (auto existing = find(key)) {
    fs::remove_all(staging, failure);  // the same compile, stored by another caller first
    existing->from_cache = false;
    return *existing;
  }
  fs::remove_all(entry, failure);  // a damaged entry that find() refused
  fs::rename(staging, entry, failure);
  if (failure) {
    fs::remove_all(staging, failure);
    if (auto existing = find(key))
      return *existing;
    throw Error("cannot store a compile in the cache: " + failure.message(), entry.string());
  }
  return stored;
}

}  // namespace kforge
