#include "cli/context.hpp"

namespace kforge::cli {

Workspace& Context::workspace() {
  if (!workspace_) {
    WorkspaceOptions paths;
    if (!options.workspace.empty())
      paths.root = options.workspace;
    if (!options.db.empty())
      paths.db_path = options.db;
    workspace_ = std::make_unique<Workspace>(paths);
    if (!options.python.empty())
      workspace_->config().set("python", options.python);
  }
  return *workspace_;
}

void Context::progress(const std::string& line) const {
  if (!options.quiet)
    std::cerr << line << std::endl;
}

void Context::print_json(const nlohmann::json& document) {
  std::cout << document.dump(2) << "\n";
}

}  // namespace kforge::cli
