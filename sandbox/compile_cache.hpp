// The compile cache: one folder per compile under the workspace's cache folder, named by a hash
// of everything that decides NVRTC's output (source, defines, options, architecture, NVRTC
// version, the cache format). Holds result.json (with the SHA-256 of each output, checked on
// every hit: an edited, emptied or truncated output is a miss, compiled again and rewritten),
// candidate.cubin and candidate.ptx. Only deterministic outcomes are kept (ok, nvrtc_error): a
// time or memory limit depends on the machine and the limits, and is tried again.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "sandbox/compile_types.hpp"

namespace kforge {

class CompileCache {
 public:
  explicit CompileCache(std::filesystem::path root);

  static std::string key(const CompileRequest& request, const std::string& nvrtc_version);

  // The stored result, with paths inside the entry, or nullopt (absent or unreadable).
  std::optional<CompileResult> find(const std::string& key) const;

  // A fresh empty folder for a worker to write into.
  std::filesystem::path new_staging_dir();

  // Moves a compile's staging folder into the entry for `key` and writes result.json; returns
  // the result with its paths in the entry. When another compile stored the same key first,
  // its entry is kept and returned.
  CompileResult store(const std::string& key, const CompileResult& result,
                      const std::filesystem::path& staging);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path entry_dir(const std::string& key) const;

 private:
  std::filesystem::path root_;
};

}  // namespace kforge
