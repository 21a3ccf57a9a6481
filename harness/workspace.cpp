#include "harness/workspace.hpp"

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "harness/util/store_url.hpp"

namespace kforge {

namespace fs = std::filesystem;

namespace {

bool readable_by_others(const fs::path& path) {
  auto permissions = fs::status(path).permissions();
  return (permissions & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none;
}

}  // namespace

void refuse_command_line_password(const std::string& location) {
  // The command line is seen by every user of the machine (ps) and kept in shell history.
  if (store_url::has_password(location)) {
    throw Error(
        "a password in the store URL on the command line is refused (others see it in "
        "the process list); use PGPASSWORD, a password file (PGPASSFILE or ~/.pgpass, "
        "mode 600) or store.url in a kforge.toml that only its owner may read",
        store_url::without_password(location));
  }
}

Workspace::Workspace(const WorkspaceOptions& options) {
  root_ = fs::absolute(options.root.value_or(fs::current_path())).lexically_normal();
  if (!fs::is_directory(root_))
    throw Error("workspace folder does not exist", root_.string());
  if (fs::exists(config_path()))
    config_ = Config::load(config_path());
  if (options.db_path && store_url::is_postgres(options.db_path->string())) {
    store_url_ = options.db_path->string();
    refuse_command_line_password(store_url_);
  } else if (!options.db_path && config_.has("store.url") && !config_.string("store.url").empty()) {
    std::string url = config_.string("store.url");
    if (store_url::is_postgres(url)) {
      store_url_ = url;
      if (store_url::has_password(url) && readable_by_others(config_path())) {
        throw Error(
            "store.url holds a password but others may read this kforge.toml: allow its "
            "owner only (chmod 600), or use PGPASSWORD or a password file instead",
            config_path().string());
      }
    } else {
      db_path_ = fs::absolute(root_ / url);
    }
  }
  if (!store_url_.empty())
    db_path_ = store_url::without_password(store_url_);
  else if (db_path_.empty())
    db_path_ = options.db_path ? fs::absolute(*options.db_path) : root_ / "kforge.db";
}

fs::path Workspace::cache_dir(const std::string& name) const {
  fs::path dir = root_ / ".kforge" / name;
  files::ensure_directory(dir);
  return dir;
}

Store& Workspace::store() {
  if (!store_) {
    if (store_url_.empty()) {
      store_ = Store::open(db_path_);
    } else {
      store_ = Store::open_location(
          store_url_, {.retry_seconds = static_cast<double>(config_.integer("store.retry_s"))});
    }
  }
  return *store_;
}

}  // namespace kforge
