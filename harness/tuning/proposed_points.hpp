// Points proposed from outside the search (an LLM's start of a tuning run), checked against a
// space before a strategy is told them. A proposal is untrusted JSON: each point must be an
// object giving every parameter one of its declared values, satisfy every restriction, and lie
// in the points the strategies search (a huge space is searched on a sample of it). A point that
// does not is dropped with the reason, never an error, so a wrong proposal costs nothing but
// itself.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/tuning/constrained_space.hpp"
#include "harness/tuning/space.hpp"

namespace kforge::tuning {

struct DroppedPoint {
  size_t index = 0;    // its place in the proposal, from 0
  std::string point;   // as proposed (JSON), cut to a few hundred bytes
  std::string reason;  // one line: the name, value or restriction at fault
};

struct CheckedProposal {
  std::vector<PointId> accepted;  // in proposal order, each once
  std::vector<DroppedPoint> dropped;
};

// Checks the points of `proposed` (a JSON array; anything else is one dropped entry saying so)
// against `declared` and the points `searched` holds (materialised from `declared`, so the same
// parameters). Only the first `limit` entries are considered; the rest are one dropped entry,
// over the limit. `noun` names a parameter in the reasons ("define").
CheckedProposal check_proposed_points(const ConstrainedSpace& declared, const TuningSpace& searched,
                                      const nlohmann::json& proposed, size_t limit,
                                      const std::string& noun = "parameter");

}  // namespace kforge::tuning
