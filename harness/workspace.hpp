// A workspace is a folder: kforge.toml (configuration), kforge.db (the store), .kforge/
// (reference and compile caches). The current folder unless --workspace says otherwise.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>

#include "datasets/store.hpp"
#include "harness/config.hpp"

namespace kforge {

struct WorkspaceOptions {
  std::optional<std::filesystem::path> root;     // --workspace
  std::optional<std::filesystem::path> db_path;  // --db
};

class Workspace {
 public:
  // Reads kforge.toml if present. Creates nothing yet.
  explicit Workspace(const WorkspaceOptions& options);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_path() const { return root_ / "kforge.toml"; }
  const std::filesystem::path& db_path() const { return db_path_; }
  // .kforge/<name>, created on first use.
  std::filesystem::path cache_dir(const std::string& name) const;

  Config& config() { return config_; }
  const Config& config() const { return config_; }

  // The store, opened (and created, migrated) on first use.
  Store& store();
  bool store_exists() const { return std::filesystem::exists(db_path_); }

 private:
  std::filesystem::path root_;
  std::filesystem::path db_path_;
  Config config_;
  std::unique_ptr<Store> store_;
};

}  // namespace kforge
