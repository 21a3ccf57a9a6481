// The night's snapshot of its environment: the GPU, its driver and CUDA (as the GPU worker
// reports them), NVRTC, torch (the reference runner's interpreter) and kforge, and what changed
// against an earlier snapshot.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/nightly/night_report.hpp"

namespace kforge {
class Workspace;
}

namespace kforge::nightly {

// The keys in their order.
const std::vector<std::string>& environment_keys();

// {"gpu", "driver", "cuda", "nvrtc", "torch", "kforge"}; "none" where a piece is missing (no
// GPU), with the reason beside it under "<key>_note" where one is known.
nlohmann::json environment_snapshot(Workspace& workspace, const std::optional<std::string>& gpu,
                                    const std::optional<std::string>& driver,
                                    const std::optional<std::string>& cuda);

// Every key of `after` with its value in `before` ("" where `before` has none).
std::vector<EnvironmentChange> environment_changes(const nlohmann::json& before,
                                                   const nlohmann::json& after);

}  // namespace kforge::nightly
