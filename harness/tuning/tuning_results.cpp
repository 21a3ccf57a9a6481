#include "harness/tuning/tuning_results.hpp"

#include <algorithm>
#include <map>

#include "harness/util/error.hpp"

namespace kforge::tuning {

namespace {

struct InvalidityEntry {
  Invalidity invalidity;
  std::string_view name;
  std::string_view kernel_tuner_failure;
};

constexpr InvalidityEntry kInvalidities[] = {
    {Invalidity::kCorrect, "correct", ""},
    {Invalidity::kCompile, "compile", "CompilationFailedConfig"},
    {Invalidity::kRuntime, "runtime", "RuntimeFailedConfig"},
    {Invalidity::kTimeout, "timeout", "RuntimeFailedConfig"},
    {Invalidity::kCorrectness, "correctness", "RuntimeFailedConfig"},
    {Invalidity::kConstraints, "constraints", "InvalidConfig"},
};

const InvalidityEntry& entry_of(Invalidity invalidity) {
  for (const InvalidityEntry& entry : kInvalidities)
    if (entry.invalidity == invalidity)
      return entry;
  return kInvalidities[0];
}

// The numeric value of the measurement named `objective`, if there is one.
std::optional<double> objective_value(const nlohmann::json& result, const std::string& objective,
                                      const std::string& where) {
  auto measurements = result.find("measurements");
  if (measurements == result.end())
    return std::nullopt;
  if (!measurements->is_array())
    throw Error("not T4 results: 'measurements' is a " + std::string(measurements->type_name()),
                where);
  for (const nlohmann::json& measurement : *measurements) {
    if (!measurement.is_object())
      throw Error("not T4 results: a measurement is not a JSON object", where);
    auto name = measurement.find("name");
    if (name == measurement.end() || !name->is_string() || name->get<std::string>() != objective)
      continue;
    auto value = measurement.find("value");
    if (value != measurement.end() && value->is_number())
      return value->get<double>();
    return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::string_view invalidity_name(Invalidity invalidity) {
  return entry_of(invalidity).name;
}

std::optional<Invalidity> invalidity_from_name(std::string_view name) {
  for (const InvalidityEntry& entry : kInvalidities)
    if (entry.name == name)
      return entry.invalidity;
  return std::nullopt;
}

std::string_view kernel_tuner_failure_name(Invalidity invalidity) {
  return entry_of(invalidity).kernel_tuner_failure;
}

nlohmann::json t4_results_json(const TuningResults& results) {
  nlohmann::json entries = nlohmann::json::array();
  for (const ResultEntry& result : results.results) {
    nlohmann::json value = result.time_ms
                               ? nlohmann::json(*result.time_ms)
                               : nlohmann::json(kernel_tuner_failure_name(result.invalidity));
    nlohmann::json entry = {
        {"configuration", result.configuration},
        {"times",
         {{"compilation", result.compilation_ms},
          {"benchmark", result.benchmark_ms},
          {"framework", result.framework_ms},
          {"search_algorithm", result.search_algorithm_ms},
          {"validation", result.validation_ms},
          {"runtimes", result.runtimes_ms}}},
        {"invalidity", invalidity_name(result.invalidity)},
        {"correctness", result.invalidity == Invalidity::kCorrectness ? 0 : 1},
        {"measurements",
         nlohmann::json::array({{{"name", results.objective}, {"value", value}, {"unit", "ms"}}})},
        {"objectives", nlohmann::json::array({results.objective})}};
    if (!result.timestamp.empty())
      entry["timestamp"] = result.timestamp;
    entries.push_back(std::move(entry));
  }
  return {{"schema_version", kT4SchemaVersion}, {"results", entries}};
}

std::string t4_results_text(const TuningResults& results) {
  return t4_results_json(results).dump(1, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

TuningResults tuning_results_of(const RecordedSpace& recorded,
                                const std::vector<PointId>& evaluated) {
  TuningResults results;
  results.parameters = recorded.space.parameters();
  results.objective = recorded.objective;
  auto header_text = [&recorded](const char* key) {
    auto found = recorded.header.find(key);
    return found != recorded.header.end() && found->is_string() ? found->get<std::string>() : "";
  };
  results.device_name = header_text("device_name");
  results.kernel_name = header_text("kernel_name");
  if (recorded.header.contains("problem_size"))
    results.problem_size = recorded.header["problem_size"];
  for (PointId id : evaluated) {
    ResultEntry entry;
    entry.configuration = recorded.space.describe(id);
    entry.time_ms = recorded.outcomes[id];
    entry.invalidity = entry.time_ms ? Invalidity::kCorrect : Invalidity::kRuntime;
    results.results.push_back(std::move(entry));
  }
  return results;
}

bool is_t4_results(const nlohmann::json& document) {
  return document.is_object() && document.contains("results") && document["results"].is_array();
}

RecordedSpace recorded_space_from_t4(const nlohmann::json& document, const std::string& where) {
  if (!is_t4_results(document))
    throw Error("not T4 results: no 'results' array", where);
  if (document.contains("schema_version") && !document["schema_version"].is_string())
    throw Error("not T4 results: 'schema_version' is not a string", where);
  const nlohmann::json& results = document["results"];
  if (results.empty())
    throw Error("the tuning space is empty: no results", where);

  std::string objective = "time";
  const nlohmann::json& first = results.front();
  if (first.is_object() && first.contains("objectives")) {
    const nlohmann::json& objectives = first["objectives"];
    if (!objectives.is_array() || (!objectives.empty() && !objectives.front().is_string()))
      throw Error("not T4 results: 'objectives' is not a list of names", where + ": results[0]");
    if (!objectives.empty())
      objective = objectives.front().get<std::string>();
  }

  // First pass: every result's configuration and outcome; the parameters are the first
  // configuration's keys, which every other must have exactly.
  std::vector<std::string> names;
  std::vector<std::vector<nlohmann::json>> configurations;
  std::vector<Outcome> outcomes;
  for (size_t index = 0; index < results.size(); ++index) {
    const std::string result_where = where + ": results[" + std::to_string(index) + "]";
    const nlohmann::json& result = results[index];
    if (!result.is_object())
      throw Error("not T4 results: a result is not a JSON object", result_where);
    auto configuration = result.find("configuration");
    if (configuration == result.end() || !configuration->is_object())
      throw Error("not T4 results: a result has no 'configuration' object", result_where);
    auto invalidity_field = result.find("invalidity");
    if (invalidity_field == result.end() || !invalidity_field->is_string())
      throw Error("not T4 results: a result has no 'invalidity'", result_where);
    std::optional<Invalidity> invalidity =
        invalidity_from_name(invalidity_field->get<std::string>());
    if (!invalidity)
      throw Error("not T4 results: unknown invalidity " + invalidity_field->dump(), result_where);
    if (index == 0) {
      for (const auto& [name, value] : configuration->items())
        names.push_back(name);
      if (names.empty())
        throw Error("the tuning space is empty: no parameters", result_where);
    }
    if (configuration->size() != names.size())
      throw Error("a result's configuration has other parameters than the first's", result_where);
    std::vector<nlohmann::json> values;
    for (const std::string& name : names) {
      auto value = configuration->find(name);
      if (value == configuration->end())
        throw Error("a result's configuration has no value for '" + name + "'", result_where);
      if (value->is_structured() || value->is_null())
        throw Error("a configuration's value of '" + name + "' is not a number, string or boolean",
                    result_where);
      values.push_back(*value);
    }
    configurations.push_back(std::move(values));
    std::optional<double> time = objective_value(result, objective, result_where);
    outcomes.push_back(*invalidity == Invalidity::kCorrect ? time : std::nullopt);
  }

  std::vector<Parameter> parameters;
  for (size_t p = 0; p < names.size(); ++p) {
    std::vector<nlohmann::json> values;
    for (const std::vector<nlohmann::json>& configuration : configurations)
      values.push_back(configuration[p]);
    std::sort(values.begin(), values.end());
    values.erase(std::unique(values.begin(), values.end()), values.end());
    parameters.push_back({names[p], std::move(values)});
  }

  std::vector<Point> points;
  std::vector<Outcome> kept;
  std::map<Point, size_t> seen;
  for (size_t index = 0; index < configurations.size(); ++index) {
    Point point;
    for (size_t p = 0; p < names.size(); ++p) {
      const std::vector<nlohmann::json>& values = parameters[p].values;
      auto position = std::lower_bound(values.begin(), values.end(), configurations[index][p]);
      point.push_back(static_cast<uint32_t>(position - values.begin()));
    }
    if (!seen.emplace(point, index).second)
      continue;  // evaluated again: the first result stands
    points.push_back(std::move(point));
    kept.push_back(outcomes[index]);
  }

  nlohmann::json header = nlohmann::json::object();
  try {
    return {TuningSpace(std::move(parameters), std::move(points)), std::move(kept), objective,
            header};
  } catch (const Error& error) {
    throw error.within(where);
  }
}

}  // namespace kforge::tuning
