#include "harness/autotune/library_tuning.hpp"

#include "harness/evaluation/evaluation_service.hpp"
#include "harness/library/manifest.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge::autotune {

TuneReport tune_library_kernel(Store& store, EvaluationService& service, const Task& task,
                               const std::filesystem::path& folder, TuneRequest request,
                               const TuneProgress& progress) {
  const std::filesystem::path manifest_path = folder / "manifest.json";
  nlohmann::json manifest = read_manifest(manifest_path);
  request.task = task.name;
  request.source = files::read(folder / "kernel.cu");
  request.file_name = (folder.filename() / "kernel.cu").string();
  TuneReport report = tune(store, service, task, request, progress);
  std::vector<const TunedPoint*> ranked = report.ranked();
  if (ranked.empty())
    return report;
  const TunedPoint& best = *ranked.front();
  nlohmann::json tuned = {{"defines", best.defines},
                          {"device_time_us", *best.time_us},
                          {"gpu", report.gpu},
                          {"strategy", report.request.strategy},
                          {"points", report.points.size()},
                          {"run_id", report.run_id},
                          {"candidate_id", best.candidate_id},
                          {"tuned_at", utc_now()}};
  if (best.speedup_eager)
    tuned["speedup_eager"] = *best.speedup_eager;
  if (!manifest.contains("tuned") || !manifest["tuned"].is_object())
    manifest["tuned"] = nlohmann::json::object();
  manifest["tuned"][service.arch()] = tuned;
  files::write_atomic(manifest_path, manifest.dump(2) + "\n");
  return report;
}

bool library_kernel_tuned(const nlohmann::json& manifest, const std::string& arch) {
  return manifest.is_object() && manifest.contains("tuned") && manifest["tuned"].is_object() &&
         manifest["tuned"].contains(arch);
}

}  // namespace kforge::autotune
