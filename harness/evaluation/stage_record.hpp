// One named stage of an evaluation as it is recorded: its status, how long it took, and a line
// saying what it did or why it failed or was skipped.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace kforge {

struct StageRecord {
  std::string name;
  std::string status;  // "ok", "failed", "skipped"
  double ms = 0;
  std::string detail;

  nlohmann::json to_json() const {
    return {{"name", name}, {"status", status}, {"ms", ms}, {"detail", detail}};
  }
};

}  // namespace kforge
