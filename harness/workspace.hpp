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
  std::optional<std::filesystem::path> db_path;  // --db: a SQLite file or a postgresql:// URL
};

// Refuses a PostgreSQL URL with a password given on the command line (others see it in the
// process list, and it lands in shell history), naming the URL without it.
void refuse_command_line_password(const std::string& location);

class Workspace {
 public:
  // Reads kforge.toml if present. Creates nothing yet.
  explicit Workspace(const WorkspaceOptions& options);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_path() const { return root_ / "kforge.toml"; }
  // The store's SQLite file, or its PostgreSQL URL without the password (for messages): --db,
  // else store.url in kforge.toml, else <workspace>/kforge.db.
  const std::filesystem::path& db_path() const { return db_path_; }
  bool store_is_postgres() const { return !store_url_.empty(); }
  // .kforge/<name>, created on first use.
  std::filesystem::path cache_dir(const std::string& name) const;

  Config& config() { return config_; }
  const Config& config() const { return config_; }

  // The store, opened (and created, migrated) on first use.
  Store& store();
  // A PostgreSQL store always "exists": opening it creates the schema when it is missing.
  bool store_exists() const { return store_is_postgres() || std::filesystem::exists(db_path_); }

 private:
  std::filesystem::path root_;
  std::filesystem::path db_path_;
  std::string store_url_;  // the PostgreSQL URL as given (it may hold a password); "" for SQLite
  Config config_;
  std::unique_ptr<Store> store_;
};

}  // namespace kforge
