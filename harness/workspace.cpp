#include "harness/workspace.hpp"

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge {

namespace fs = std::filesystem;

Workspace::Workspace(const WorkspaceOptions& options) {
  root_ = fs::absolute(options.root.value_or(fs::current_path())).lexically_normal();
  if (!fs::is_directory(root_))
    throw Error("workspace folder does not exist", root_.string());
  db_path_ = options.db_path ? fs::absolute(*options.db_path) : root_ / "kforge.db";
  if (fs::exists(config_path()))
    config_ = Config::load(config_path());
}

fs::path Workspace::cache_dir(const std::string& name) const {
  fs::path dir = root_ / ".kforge" / name;
  files::ensure_directory(dir);
  return dir;
}

Store& Workspace::store() {
  if (!store_)
    store_ = Store::open(db_path_);
  return *store_;
}

}  // namespace kforge
