#include "datasets/export/export_options.hpp"

#include <algorithm>
#include <array>
#include <regex>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::dataset {
namespace {

const std::vector<std::string> kVerdicts = {"compile_error", "plan_error", "launch_error",
                                            "runtime_error", "timeout",    "incorrect",
                                            "suspicious",    "correct",    "compiled"};
const std::vector<std::string> kOrigins = {"llm", "tune", "human", "replay", "seed", "mcp"};

void check_names(const std::vector<std::string>& given, const std::vector<std::string>& allowed,
                 const std::string& flag, const std::string& kind) {
  for (const std::string& name : given) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      throw Error(strings::unknown_name_message(kind, name, allowed), flag);
  }
}

void check_date(const std::optional<std::string>& date, const std::string& flag) {
  static const std::regex kDate(R"(\d{4}-\d{2}-\d{2}(T\d{2}(:\d{2}(:\d{2})?)?)?)");
  if (date && !std::regex_match(*date, kDate))
    throw Error("'" + *date + "' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS], UTC)", flag);
}

}  // namespace

void Filters::validate() const {
  check_names(verdicts, kVerdicts, "--verdict", "verdict");
  check_names(origins, kOrigins, "--origin", "origin");
  check_date(since, "--since");
  check_date(until, "--until");
}

nlohmann::json Filters::to_json() const {
  nlohmann::json json = nlohmann::json::object();
  auto list = [&](const char* key, const std::vector<std::string>& values) {
    if (!values.empty())
      json[key] = values;
  };
  list("verdict", verdicts);
  list("gpu", gpus);
  list("arch", arches);
  list("suite", suites);
  list("task", tasks);
  list("origin", origins);
  list("model", models);
  if (min_speedup_eager)
    json["min_speedup_eager"] = *min_speedup_eager;
  if (min_speedup_compile)
    json["min_speedup_compile"] = *min_speedup_compile;
  if (since)
    json["since"] = *since;
  if (until)
    json["until"] = *until;
  return json;
}

SplitRatios SplitRatios::parse(const std::string& text) {
  std::vector<std::string> parts = strings::split(text, ',');
  std::array<int, 3> values{};
  bool ok = parts.size() == 3;
  for (size_t i = 0; ok && i < 3; ++i) {
    std::string part(strings::trim(parts[i]));
    ok = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit) && part.size() <= 3;
    if (ok)
      values[i] = std::stoi(part);
  }
  if (!ok || values[0] + values[1] + values[2] != 100)
    throw Error("'" + text + "' is not three percentages summing to 100 (train,validation,test)",
                "--split");
  return {values[0], values[1], values[2]};
}

std::string dedup_mode_name(DedupMode mode) {
  switch (mode) {
    case DedupMode::kNone:
      return "none";
    case DedupMode::kExact:
      return "exact";
    case DedupMode::kNear:
      return "near";
  }
  return "near";
}

DedupMode dedup_mode_from_name(const std::string& name) {
  if (name == "none")
    return DedupMode::kNone;
  if (name == "exact")
    return DedupMode::kExact;
  if (name == "near")
    return DedupMode::kNear;
  static const std::vector<std::string> kModes = {"none", "exact", "near"};
  throw Error(strings::unknown_name_message("deduplication mode", name, kModes), "--dedup");
}

}  // namespace kforge::dataset
