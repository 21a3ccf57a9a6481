#include "harness/task.hpp"

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace {

SizeConstants constants_from_json(const nlohmann::json& json, const std::string& where) {
  SizeConstants constants;
  if (!json.is_object())
    throw Error("constants are not an object", where);
  for (const auto& [name, value] : json.items()) {
    if (!value.is_number_integer())
      throw Error("constant '" + name + "' is not an integer", where);
    constants[name] = value.get<int64_t>();
  }
  return constants;
}

nlohmann::json check_shape_to_json(const CheckShape& shape) {
  nlohmann::json scaled = nlohmann::json::object();
  for (const auto& [name, values] : shape.scaled)
    scaled[name] = {values.first, values.second};
  return {{"name", shape.name},
          {"constants", shape.constants},
          {"scaled", scaled},
          {"signature", shape.signature.to_json()}};
}

CheckShape check_shape_from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object() || !json.contains("name") || !json["name"].is_string())
    throw Error("check shape lacks a name", where);
  CheckShape shape;
  shape.name = json["name"].get<std::string>();
  std::string at = where + ": check shape '" + shape.name + "'";
  shape.constants = constants_from_json(json.value("constants", nlohmann::json::object()), at);
  nlohmann::json scaled = json.value("scaled", nlohmann::json::object());
  for (const auto& [name, pair] : scaled.items()) {
    if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number_integer() ||
        !pair[1].is_number_integer())
      throw Error("scaled constant '" + name + "' is not a [from, to] pair", at);
    shape.scaled[name] = {pair[0].get<int64_t>(), pair[1].get<int64_t>()};
  }
  if (!json.contains("signature"))
    throw Error("check shape lacks a signature", at);
  shape.signature = Signature::from_json(json["signature"], at);
  return shape;
}

std::vector<CheckShape> check_shapes_from_json(const nlohmann::json& json,
                                               const std::string& where) {
  if (!json.is_array())
    throw Error("check shapes are not an array", where);
  std::vector<CheckShape> shapes;
  for (const auto& entry : json)
    shapes.push_back(check_shape_from_json(entry, where));
  return shapes;
}

std::string first_docstring_line(const std::string& source) {
  size_t model = source.find("class Model");
  if (model == std::string::npos)
    return {};
  size_t colon = source.find(':', model);
  if (colon == std::string::npos)
    return {};
  size_t start = source.find_first_not_of(" \t\r\n", colon + 1);
  if (start == std::string::npos)
    return {};
  for (const char* quote : {"\"\"\"", "'''"}) {
    if (source.compare(start, 3, quote) == 0) {
      size_t end = source.find(quote, start + 3);
      if (end == std::string::npos)
        return {};
      std::string body = source.substr(start + 3, end - start - 3);
      for (const std::string& line : strings::split(body, '\n')) {
        auto trimmed = strings::trim(line);
        if (!trimmed.empty())
          return std::string(trimmed);
      }
    }
  }
  return {};
}

}  // namespace

TaskAnalysis TaskAnalysis::from_reply(const nlohmann::json& reply, const std::string& where) {
  try {
    TaskAnalysis analysis;
    const auto& benchmark = reply.at("benchmark");
    analysis.constants = constants_from_json(benchmark.at("constants"), where);
    analysis.benchmark_method = benchmark.value("method", "run");
    analysis.benchmark = Signature::from_json(benchmark.at("signature"), where + ": benchmark");
    analysis.check_shapes = check_shapes_from_json(reply.at("check_shapes"), where);
    analysis.check_note = reply.value("check_note", "");
    analysis.degenerate = reply.value("degenerate", false);
    analysis.degenerate_reason = reply.value("degenerate_reason", "");
    analysis.torch_version = reply.value("torch_version", "");
    return analysis;
  } catch (const nlohmann::json::exception& failure) {
    throw Error(std::string("malformed analysis: ") + failure.what(), where);
  }
}

TaskHeader parse_task_header(const std::string& source) {
  TaskHeader header;
  for (const std::string& line : strings::split(source, '\n')) {
    auto text = strings::trim(line);
    if (!text.starts_with("#"))
      continue;
    text = strings::trim(text.substr(1));
    if (text.starts_with("description:") && header.description.empty()) {
      header.description = std::string(strings::trim(text.substr(12)));
    } else if (text.starts_with("tags:") && header.tags.empty()) {
      for (const std::string& tag : strings::split(text.substr(5), ',')) {
        auto trimmed = strings::trim(tag);
        if (!trimmed.empty())
          header.tags.emplace_back(trimmed);
      }
    }
  }
  if (header.description.empty())
    header.description = first_docstring_line(source);
  return header;
}

Task Task::from_record(const TaskRow& record) {
  Task task;
  task.id = record.id;
  task.name = record.name;
  task.suite = record.suite;
  task.version = record.version;
  task.source = record.source;
  task.source_hash = record.source_hash;
  task.origin_path = record.origin_path;
  task.description = record.description;
  task.tags = record.tags;
  if (record.signature_json) {
    std::string where = record.name + " v" + std::to_string(record.version);
    TaskAnalysis analysis;
    analysis.benchmark = Signature::from_json(nlohmann::json::parse(*record.signature_json), where);
    if (record.check_shapes_json) {
      analysis.check_shapes =
          check_shapes_from_json(nlohmann::json::parse(*record.check_shapes_json), where);
    }
    analysis.degenerate = record.degenerate;
    analysis.degenerate_reason = record.degenerate_reason.value_or("");
    auto extra = nlohmann::json::parse(record.analysis_json, nullptr, false);
    if (extra.is_object()) {
      analysis.constants =
          constants_from_json(extra.value("constants", nlohmann::json::object()), where);
      analysis.benchmark_method = extra.value("benchmark_method", "");
      analysis.check_note = extra.value("check_note", "");
      analysis.torch_version = extra.value("torch_version", "");
    }
    task.analysis = std::move(analysis);
  }
  return task;
}

TaskRow Task::to_record() const {
  TaskRow record;
  record.id = id;
  record.name = name;
  record.suite = suite;
  record.version = version;
  record.source = source;
  record.source_hash = source_hash;
  record.origin_path = origin_path;
  record.description = description;
  record.tags = tags;
  if (analysis) {
    record.signature_json = analysis->benchmark.to_json().dump();
    nlohmann::json shapes = nlohmann::json::array();
    for (const CheckShape& shape : analysis->check_shapes)
      shapes.push_back(check_shape_to_json(shape));
    record.check_shapes_json = shapes.dump();
    record.degenerate = analysis->degenerate;
    if (analysis->degenerate)
      record.degenerate_reason = analysis->degenerate_reason;
    record.analysis_json = nlohmann::json{{"constants", analysis->constants},
                                          {"benchmark_method", analysis->benchmark_method},
                                          {"check_note", analysis->check_note},
                                          {"torch_version", analysis->torch_version}}
                               .dump();
  }
  return record;
}

nlohmann::json Task::to_json(bool full) const {
  nlohmann::json json = {
      {"name", name},
      {"suite", suite},
      {"version", version},
      {"description", description},
      {"tags", tags},
      {"analysed", analysis.has_value()},
      {"degenerate", analysis ? nlohmann::json(analysis->degenerate) : nlohmann::json(nullptr)}};
  if (analysis && analysis->degenerate)
    json["degenerate_reason"] = analysis->degenerate_reason;
  if (!full)
    return json;
  json["source_hash"] = source_hash;
  json["origin_path"] = origin_path ? nlohmann::json(*origin_path) : nlohmann::json(nullptr);
  if (analysis) {
    json["benchmark"] = {{"constants", analysis->constants},
                         {"method", analysis->benchmark_method},
                         {"signature", analysis->benchmark.to_json()}};
    json["check_shapes"] = nlohmann::json::array();
    for (const CheckShape& shape : analysis->check_shapes)
      json["check_shapes"].push_back(check_shape_to_json(shape));
    json["check_note"] = analysis->check_note;
    json["torch_version"] = analysis->torch_version;
  }
  json["source"] = source;
  return json;
}

bool valid_suite_name(const std::string& suite) {
  if (suite.empty() || suite.size() > 64)
    return false;
  for (char c : suite) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok)
      return false;
  }
  return suite != "." && suite != "..";
}

std::string task_name(const std::string& suite, const std::string& stem) {
  return suite + "/" + stem;
}

}  // namespace kforge
