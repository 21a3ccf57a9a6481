#include "harness/tuning/kernel_tuner_cache.hpp"

#include "harness/tuning/tuning_results.hpp"

#include <zlib.h>

#include <algorithm>

#include "harness/util/error.hpp"
#include "harness/util/files.hpp"

namespace kforge::tuning {

namespace {

// The largest cache file read, and the largest it may inflate to: the hub's biggest spaces
// are tens of MB compressed.
constexpr size_t kMaxFileBytes = size_t{512} << 20;
constexpr size_t kMaxInflatedBytes = size_t{2} << 30;

bool is_gzip(const std::string& bytes) {
  return bytes.size() >= 2 && static_cast<unsigned char>(bytes[0]) == 0x1f &&
         static_cast<unsigned char>(bytes[1]) == 0x8b;
}

std::string gunzip(const std::string& bytes, const std::string& where) {
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK)  // 15-bit window, gzip header
    throw Error("zlib inflateInit2 failed", where);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  std::string out;
  int result = Z_OK;
  char buffer[1 << 16];
  while (result != Z_STREAM_END) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    result = inflate(&stream, Z_NO_FLUSH);
    if (result != Z_OK && result != Z_STREAM_END) {
      std::string message = stream.msg ? stream.msg : "truncated data";
      inflateEnd(&stream);
      throw Error("the gzip data is damaged: " + message, where);
    }
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > kMaxInflatedBytes) {
      inflateEnd(&stream);
      throw Error("the file inflates to more than 2 GiB", where);
    }
    if (result == Z_OK && stream.avail_in == 0 && stream.avail_out != 0) {
      inflateEnd(&stream);
      throw Error("the gzip data is damaged: truncated data", where);
    }
  }
  inflateEnd(&stream);
  return out;
}

const nlohmann::json& field(const nlohmann::json& object, const std::string& key,
                            nlohmann::json::value_t type, const std::string& where) {
  auto found = object.find(key);
  if (found == object.end())
    throw Error("not a Kernel Tuner cache: no '" + key + "'", where);
  if (found->type() != type &&
      !(type == nlohmann::json::value_t::number_float && found->is_number()))
    throw Error("not a Kernel Tuner cache: '" + key + "' is a " + found->type_name(), where);
  return *found;
}

// How Python's str() writes a parameter value, which Kernel Tuner joins into the cache keys.
std::string python_text(const nlohmann::json& value) {
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_boolean())
    return value.get<bool>() ? "True" : "False";
  return value.dump();
}

// The file's bytes as JSON, inflated first where they are gzip'd.
nlohmann::json parse_space_file(std::string bytes, const std::string& where, const char* what) {
  if (is_gzip(bytes))
    bytes = gunzip(bytes, where);
  try {
    return nlohmann::json::parse(bytes);
  } catch (const nlohmann::json::parse_error& error) {
    throw Error(
        std::string(what) + ": the JSON does not parse at byte " + std::to_string(error.byte),
        where);
  } catch (const nlohmann::json::exception& error) {  // a number too large for a double
    throw Error(std::string(what) + ": the JSON does not parse: " + error.what(), where);
  }
}

}  // namespace

RecordedSpace read_kernel_tuner_cache(const std::filesystem::path& path) {
  return recorded_space_from_kernel_tuner_cache(
      parse_space_file(files::read(path, kMaxFileBytes), path.string(), "not a Kernel Tuner cache"),
      path.string());
}

RecordedSpace read_recorded_space(const std::filesystem::path& path) {
  return recorded_space_from_bytes(files::read(path, kMaxFileBytes), path.string());
}

RecordedSpace recorded_space_from_bytes(std::string bytes, const std::string& where) {
  nlohmann::json document =
      parse_space_file(std::move(bytes), where, "not a Kernel Tuner cache or T4 results");
  if (is_t4_results(document))
    return recorded_space_from_t4(document, where);
  return recorded_space_from_kernel_tuner_cache(document, where);
}

RecordedSpace recorded_space_from_kernel_tuner_cache(const nlohmann::json& document,
                                                     const std::string& where) {
  if (!document.is_object())
    throw Error("not a Kernel Tuner cache: not a JSON object", where);
  using Type = nlohmann::json::value_t;
  const nlohmann::json& keys = field(document, "tune_params_keys", Type::array, where);
  const nlohmann::json& values = field(document, "tune_params", Type::object, where);
  const nlohmann::json& cache = field(document, "cache", Type::object, where);
  std::string objective = "time";
  if (document.contains("objective"))
    objective = field(document, "objective", Type::string, where).get<std::string>();

  std::vector<Parameter> parameters;
  for (const nlohmann::json& key : keys) {
    if (!key.is_string())
      throw Error("not a Kernel Tuner cache: a parameter name is not a string",
                  where + ": tune_params_keys");
    std::string name = key.get<std::string>();
    for (const Parameter& earlier : parameters)
      if (earlier.name == name)
        throw Error("a parameter is named twice: '" + name + "'", where + ": tune_params_keys");
    const nlohmann::json& list = field(values, name, Type::array, where + ": tune_params");
    parameters.push_back({name, std::vector<nlohmann::json>(list.begin(), list.end())});
    if (list.empty())
      throw Error("a tuning parameter has no values", where + ": tune_params." + name);
  }
  if (parameters.empty())
    throw Error("the tuning space is empty: no parameters", where + ": tune_params_keys");

  std::vector<Point> points;
  std::vector<Outcome> outcomes;
  for (const auto& [key, entry] : cache.items()) {
    const std::string entry_where = where + ": cache[\"" + key + "\"]";
    if (!entry.is_object())
      throw Error("a configuration is not a JSON object", entry_where);
    Point point;
    for (const Parameter& parameter : parameters) {
      auto value = entry.find(parameter.name);
      if (value == entry.end())
        throw Error("a configuration has no value for '" + parameter.name + "'", entry_where);
      auto position = std::find(parameter.values.begin(), parameter.values.end(), *value);
      if (position == parameter.values.end())
        throw Error("a configuration's value " + value->dump() + " of '" + parameter.name +
                        "' is not among its tune_params",
                    entry_where);
      point.push_back(static_cast<uint32_t>(position - parameter.values.begin()));
    }
    auto time = entry.find(objective);
    if (time == entry.end())
      throw Error("a configuration has no '" + objective + "'", entry_where);
    if (time->is_number())
      outcomes.push_back(time->get<double>());
    else if (time->is_string())
      outcomes.push_back(std::nullopt);  // a failed configuration
    else
      throw Error("a configuration's '" + objective + "' is neither a number nor a failure",
                  entry_where);
    points.push_back(std::move(point));
  }
  if (points.empty())
    throw Error("the tuning space is empty: no configurations in 'cache'", where);

  nlohmann::json header = nlohmann::json::object();
  for (const char* key : {"device_name", "kernel_name", "problem_size"})
    if (document.contains(key))
      header[key] = document[key];
  try {
    return {TuningSpace(std::move(parameters), std::move(points)), std::move(outcomes), objective,
            header};
  } catch (const Error& error) {
    throw error.within(where);
  }
}

std::string kernel_tuner_cache_text(const RecordedSpace& recorded,
                                    const std::vector<PointId>& evaluated) {
  return kernel_tuner_cache_text(tuning_results_of(recorded, evaluated));
}

std::string kernel_tuner_cache_text(const TuningResults& results) {
  // Ordered, so that `cache` comes last: Kernel Tuner takes a file that does not end in the
  // cache's closing braces for one a killed run left open.
  nlohmann::ordered_json document = nlohmann::ordered_json::object();
  document["device_name"] = results.device_name;
  document["kernel_name"] = results.kernel_name;
  document["problem_size"] = results.problem_size;
  nlohmann::ordered_json keys = nlohmann::ordered_json::array();
  nlohmann::ordered_json values = nlohmann::ordered_json::object();
  for (const Parameter& parameter : results.parameters) {
    keys.push_back(parameter.name);
    values[parameter.name] = parameter.values;
  }
  document["tune_params_keys"] = keys;
  document["tune_params"] = values;
  document["objective"] = results.objective;
  nlohmann::ordered_json cache = nlohmann::ordered_json::object();
  for (const ResultEntry& result : results.results) {
    nlohmann::ordered_json entry = nlohmann::ordered_json::object();
    std::string key;
    for (const Parameter& parameter : results.parameters) {
      auto value = result.configuration.find(parameter.name);
      if (value == result.configuration.end())
        throw Error("a result has no value for '" + parameter.name + "'",
                    result.configuration.dump());
      key += (key.empty() ? "" : ",") + python_text(*value);
      entry[parameter.name] = *value;
    }
    if (cache.contains(key))
      continue;  // evaluated twice: the first result stands
    if (result.time_ms)
      entry[results.objective] = *result.time_ms;
    else
      entry[results.objective] = kernel_tuner_failure_name(result.invalidity);
    entry["times"] = result.runtimes_ms;
    entry["compile_time"] = result.compilation_ms;
    entry["verification_time"] = result.validation_ms;
    entry["benchmark_time"] = result.benchmark_ms;
    entry["strategy_time"] = result.search_algorithm_ms;
    entry["framework_time"] = result.framework_ms;
    if (!result.timestamp.empty())
      entry["timestamp"] = result.timestamp;
    cache[key] = std::move(entry);
  }
  document["cache"] = std::move(cache);
  return document.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace kforge::tuning
