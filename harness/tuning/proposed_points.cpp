#include "harness/tuning/proposed_points.hpp"

#include <map>
#include <optional>

#include "harness/util/json_text.hpp"
#include "harness/util/strings.hpp"

namespace kforge::tuning {
namespace {

// A proposed value or point as one short line: an answer may hold anything.
std::string shown(const nlohmann::json& value, size_t most = 200) {
  std::string text = json_text(value);
  if (text.size() > most)
    text = text.substr(0, most) + "...";
  return text;
}

std::string values_text(const Parameter& parameter) {
  std::vector<std::string> values;
  for (const nlohmann::json& value : parameter.values)
    values.push_back(shown(value, 40));
  return strings::join(values, ", ");
}

// The point's value indices, or why it has none.
std::string to_point(const ConstrainedSpace& declared, const nlohmann::json& proposal,
                     const std::string& noun, Point& point) {
  const std::vector<Parameter>& parameters = declared.parameters();
  if (!proposal.is_object())
    return "not an object giving each " + noun + " a value";
  std::vector<std::string> names;
  for (const Parameter& parameter : parameters)
    names.push_back(parameter.name);
  for (const auto& [name, value] : proposal.items()) {
    bool known = false;
    for (const Parameter& parameter : parameters)
      known = known || parameter.name == name;
    if (!known)
      return strings::unknown_name_message(
          noun, strings::printable_line(strings::to_valid_utf8(name.substr(0, 60))), names);
  }
  point.assign(parameters.size(), 0);
  for (size_t p = 0; p < parameters.size(); ++p) {
    auto given = proposal.find(parameters[p].name);
    if (given == proposal.end())
      return "gives no value for " + noun + " " + parameters[p].name;
    bool found = false;
    for (size_t v = 0; v < parameters[p].values.size() && !found; ++v) {
      // JSON numbers compare by value (256 and 256.0 are one value); a string never equals one.
      if (*given == parameters[p].values[v]) {
        point[p] = static_cast<uint32_t>(v);
        found = true;
      }
    }
    if (!found)
      return noun + " " + parameters[p].name + " = " + shown(*given, 40) +
             " is not one of its values (" + values_text(parameters[p]) + ")";
  }
  if (const Restriction* broken = declared.broken_restriction(point))
    return "breaks " + broken->text;
  return "";
}

}  // namespace

CheckedProposal check_proposed_points(const ConstrainedSpace& declared, const TuningSpace& searched,
                                      const nlohmann::json& proposed, size_t limit,
                                      const std::string& noun) {
  CheckedProposal checked;
  if (!proposed.is_array()) {
    checked.dropped.push_back({0, shown(proposed), "not a list of points"});
    return checked;
  }
  std::map<PointId, size_t> first_at;  // accepted point -> its place in the proposal
  for (size_t index = 0; index < proposed.size(); ++index) {
    const nlohmann::json& proposal = proposed[index];
    auto drop = [&](std::string reason) {
      checked.dropped.push_back({index, shown(proposal), std::move(reason)});
    };
    if (index >= limit) {
      // The rest at once: an answer may list any number of them.
      const size_t rest = proposed.size() - index;
      checked.dropped.push_back(
          {index, rest == 1 ? shown(proposal) : "(" + std::to_string(rest) + " points)",
           "beyond the " + std::to_string(limit) + " point" + (limit == 1 ? "" : "s") +
               " asked for"});
      break;
    }
    Point point;
    if (std::string reason = to_point(declared, proposal, noun, point); !reason.empty()) {
      drop(std::move(reason));
      continue;
    }
    std::optional<PointId> id = searched.find(point);
    if (!id) {
      drop("valid, but not among the " + std::to_string(searched.size()) +
           " points searched (a sample of a larger space)");
      continue;
    }
    if (auto earlier = first_at.find(*id); earlier != first_at.end()) {
      drop("the same point as point " + std::to_string(earlier->second + 1) + " of the proposal");
      continue;
    }
    first_at.emplace(*id, index);
    checked.accepted.push_back(*id);
  }
  return checked;
}

}  // namespace kforge::tuning
