#include "harness/nightly/night_environment.hpp"

#include "harness/environment.hpp"
#include "harness/reference_runner.hpp"
#include "harness/util/error.hpp"
#include "harness/util/version.hpp"

namespace kforge::nightly {

const std::vector<std::string>& environment_keys() {
  static const std::vector<std::string> keys = {"gpu",   "driver", "cuda",
                                                "nvrtc", "torch",  "kforge"};
  return keys;
}

nlohmann::json environment_snapshot(Workspace& workspace, const std::optional<std::string>& gpu,
                                    const std::optional<std::string>& driver,
                                    const std::optional<std::string>& cuda) {
  nlohmann::json snapshot = {{"gpu", gpu.value_or("none")},
                             {"driver", driver.value_or("none")},
                             {"cuda", cuda.value_or("none")}};
  const Component nvrtc = probe_nvrtc();
  snapshot["nvrtc"] = nvrtc.found ? nvrtc.version : "none";
  try {
    ReferenceRunner runner = ReferenceRunner::for_workspace(workspace);
    snapshot["torch"] = runner.python().torch_version;
  } catch (const Error& failure) {
    snapshot["torch"] = "none";
    snapshot["torch_note"] = failure.what();
  }
  snapshot["kforge"] = std::string(kVersion) + " (" + kGitCommit + ")";
  return snapshot;
}

std::vector<EnvironmentChange> environment_changes(const nlohmann::json& before,
                                                   const nlohmann::json& after) {
  std::vector<EnvironmentChange> changes;
  for (const std::string& key : environment_keys()) {
    auto text = [&](const nlohmann::json& snapshot) {
      return snapshot.is_object() && snapshot.contains(key) && snapshot[key].is_string()
                 ? snapshot[key].get<std::string>()
                 : std::string();
    };
    changes.push_back({key, text(before), text(after)});
  }
  return changes;
}

}  // namespace kforge::nightly
