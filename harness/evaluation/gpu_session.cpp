#include "harness/evaluation/gpu_session.hpp"

#include "datasets/store.hpp"
#include "harness/config.hpp"
#include "harness/evaluation/store_connections.hpp"
#include "harness/options/gpu_worker_options.hpp"
#include "harness/reference_runner.hpp"
#include "harness/util/error.hpp"
#include "harness/workspace.hpp"
#include "sandbox/gpu_worker_client.hpp"

namespace kforge {

std::vector<int> GpuSession::chosen_devices(const Config& config, int visible_gpus) {
  const std::string where = "configuration key " + std::string(kGpuDevicesKey);
  const std::string text = config.has(kGpuDevicesKey) ? config.string(kGpuDevicesKey) : "";
  if (text.empty())
    return {static_cast<int>(config.integer("gpu.device"))};
  std::optional<std::vector<int>> listed = parse_gpu_devices(text, where);
  if (listed)
    return *listed;
  if (visible_gpus <= 0)
    return {static_cast<int>(config.integer("gpu.device"))};
  std::vector<int> all;
  for (int device = 0; device < visible_gpus; ++device)
    all.push_back(device);
  return all;
}

GpuSession::GpuSession(Workspace& workspace, int visible_gpus,
                       const std::vector<std::string>& worker_command) {
  const Config& config = workspace.config();
  settings_ = RunSettings::from_config(config);
  const std::vector<int> devices = chosen_devices(config, visible_gpus);
  if (worker_command.empty() && visible_gpus <= 0) {
    no_run_reason_ = "no GPU visible: the candidate compiled and its plan fits; nothing ran";
    return;
  }
  // A PostgreSQL store's URL as opened (store.url may hold its password), waited for as long as
  // store.retry_s says.
  auto pool =
      std::make_unique<GpuPool>(store_location(workspace), another_store_options(workspace));
  std::string failures;
  for (int device : devices) {
    GpuWorkerOptions options;
    options.device = device;
    options.job_dir = workspace.cache_dir("gpu");
    options.run_limit = std::chrono::seconds(config.integer("gpu.run_limit_s"));
    options.time_limit = std::chrono::seconds(config.integer("gpu.time_limit_s"));
    if (!worker_command.empty()) {
      // The replacement is told its device as the real worker is (`worker gpu --device N`).
      options.worker_program = worker_command.front();
      options.worker_arguments.assign(worker_command.begin() + 1, worker_command.end());
      options.worker_arguments.insert(options.worker_arguments.end(),
                                      {"--device", std::to_string(device)});
    }
    try {
      pool->add(device, std::make_unique<GpuWorkerClient>(options),
                std::make_unique<ReferenceRunner>(ReferenceRunner::for_workspace(workspace)));
    } catch (const Error& failure) {
      not_started_.push_back({device, failure.message()});
      pool->add_lost(device, failure.message());
      failures += (failures.empty() ? "" : "; ") + failure.message();
    }
  }
  if (pool->size() == 0) {
    no_run_reason_ = "a GPU is visible, but its GPU worker did not start (" + failures +
                     "): the candidate compiled and its plan fits; nothing ran";
    return;
  }
  pool_ = std::move(pool);
}

GpuSession::~GpuSession() = default;

std::string GpuSession::arch() const {
  GpuWorkerClient* first = gpu();
  return first ? first->device().arch : std::string();
}

void GpuSession::configure(EvaluatorOptions& options) {
  options.run = settings_;
  if (pool_) {
    options.gpus = pool_.get();
  } else {
    options.no_run_reason = no_run_reason_;
  }
}

}  // namespace kforge
