// kforge's tools and resources for the MCP server (server.hpp), each a call into the service the
// matching command uses: the task store and import (`tasks list|show|import`), the evaluation
// service (`eval`), the promoter (`promote`), the store's queries (`show`, `runs`). Evaluations
// go into the workspace's store as `kforge eval`'s do, with origin `mcp` and the run's agent
// `mcp:<client name>`.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cli/mcp/tool.hpp"

namespace kforge {
class EvaluationService;
class Workspace;
}  // namespace kforge

namespace kforge::mcp {

class KforgeTools : public ServerContent {
 public:
  // `arch`: what to compile for unless a call names one ("" as `kforge eval` decides).
  // `gpu_worker_command`: the GPU worker to start instead of kforge's own (the CLI reads it from
  // $KFORGE_GPU_WORKER once); empty for kforge's own.
  KforgeTools(Workspace& workspace, std::string arch,
              std::vector<std::string> gpu_worker_command = {});
  ~KforgeTools() override;

  const std::vector<Tool>& tools() const override { return tools_; }
  std::vector<Resource> resources() override;
  std::optional<ResourceText> read_resource(const std::string& uri) override;

 private:
  ToolResult list_tasks(const nlohmann::json& arguments);
  ToolResult show_task(const nlohmann::json& arguments);
  ToolResult import_task(const nlohmann::json& arguments);
  ToolResult evaluate(const nlohmann::json& arguments, CallContext& context);
  ToolResult compare(const nlohmann::json& arguments);
  ToolResult best_candidates(const nlohmann::json& arguments);
  ToolResult candidate_history(const nlohmann::json& arguments);
  ToolResult promote(const nlohmann::json& arguments);
  ToolResult profile(const nlohmann::json& arguments);
  ToolResult tune(const nlohmann::json& arguments, CallContext& context);
  EvaluationService& service(const std::string& arch);

  Workspace& workspace_;
  std::string arch_;
  std::vector<std::string> gpu_worker_command_;
  std::vector<Tool> tools_;
  // Started by the first evaluation (GPU session, compile workers), kept for the next ones.
  std::unique_ptr<EvaluationService> service_;
  std::string service_arch_;
};

}  // namespace kforge::mcp
