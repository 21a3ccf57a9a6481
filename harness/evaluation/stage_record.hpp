// One named stage of an evaluation as it is recorded: its status, how long it took, and a line
// saying what it did or why it failed or was skipped.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace kforge {

enum class StageStatus { kOk, kFailed, kSkipped };

// "ok", "failed", "skipped": the names the JSON form and people see.
std::string_view stage_status_name(StageStatus status);
std::optional<StageStatus> stage_status_from_name(std::string_view name);

struct StageRecord {
  std::string name;
  StageStatus status = StageStatus::kOk;
  double ms = 0;
  std::string detail;

  nlohmann::json to_json() const;
};

}  // namespace kforge
