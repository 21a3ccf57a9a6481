#include "datasets/export/record_schema.hpp"

#include <map>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge::dataset {

namespace {

using enum FieldType;

std::vector<FieldSchema> metadata_fields(const std::string& prefix) {
  return {{prefix + "candidate_id", kInteger},
          {prefix + "evaluation_id", kInteger},
          {prefix + "task", kString},
          {prefix + "task_source_hash", kString},
          {prefix + "suite", kString},
          {prefix + "verdict", kString},
          {prefix + "speedup_eager", kNumber, true},
          {prefix + "speedup_compile", kNumber, true},
          {prefix + "device_time_us", kNumber, true},
          {prefix + "gpu", kString, true},
          {prefix + "arch", kString, true},
          {prefix + "harness_version", kInteger},
          {prefix + "origin", kString},
          {prefix + "model", kString, true},
          {prefix + "license", kString}};
}

std::vector<FieldSchema> concat(std::vector<FieldSchema> a, const std::vector<FieldSchema>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

const std::map<std::string, std::vector<FieldSchema>>& schemas() {
  static const std::map<std::string, std::vector<FieldSchema>> kSchemas = {
      {"sft", concat({{"prompt", kString}, {"completion", kString}, {"metadata", kObject}},
                     metadata_fields("metadata."))},
      {"messages",
       concat({{"messages", kArray}, {"metadata", kObject}}, metadata_fields("metadata."))},
      {"trajectories",
       {{"task", kString},
        {"task_source_hash", kString},
        {"suite", kString},
        {"run_id", kInteger, true},
        {"gpu", kString, true},
        {"arch", kString, true},
        {"model", kString, true},
        {"agent", kString, true},
        {"strategy", kString, true},
        {"harness_version", kInteger},
        {"license", kString},
        {"messages", kArray},
        {"turns", kArray},
        {"attempts", kInteger},
        {"final_verdict", kString},
        {"final_speedup_eager", kNumber, true},
        {"final_speedup_compile", kNumber, true},
        {"best_speedup_eager", kNumber, true},
        {"best_speedup_compile", kNumber, true},
        {"best_candidate_id", kInteger, true}}},
      {"dpo",
       {{"prompt", kString},
        {"chosen", kString},
        {"rejected", kString},
        {"metadata", kObject},
        {"metadata.task", kString},
        {"metadata.task_source_hash", kString},
        {"metadata.gpu", kString, true},
        {"metadata.harness_version", kInteger},
        {"metadata.pair_reason", kString},
        {"metadata.license", kString},
        {"metadata.chosen.candidate_id", kInteger},
        {"metadata.chosen.verdict", kString},
        {"metadata.chosen.device_time_us", kNumber, true},
        {"metadata.chosen.time_interval_us", kArray, true},
        {"metadata.rejected.candidate_id", kInteger},
        {"metadata.rejected.verdict", kString},
        {"metadata.rejected.device_time_us", kNumber, true},
        {"metadata.rejected.time_interval_us", kArray, true}}},
      {"archive",
       {{"candidate_id", kInteger},
        {"evaluation_id", kInteger},
        {"task", kString},
        {"task_id", kInteger},
        {"task_version", kInteger},
        {"task_source_hash", kString},
        {"suite", kString},
        {"source", kString},
        {"source_hash", kString},
        {"plan", kObject, true},
        {"defines", kObject, true},
        {"origin", kString},
        {"parent_id", kInteger, true},
        {"run_id", kInteger, true},
        {"iteration", kInteger, true},
        {"created_at", kString},
        {"evaluated_at", kString},
        {"verdict", kString},
        {"reason", kString, true},
        {"evidence", kObject},
        {"max_abs_error", kNumber, true},
        {"max_rel_error", kNumber, true},
        {"mismatch_count", kNumber, true},
        {"atol", kNumber, true},
        {"rtol", kNumber, true},
        {"seeds", kAny, true},
        {"shapes", kAny, true},
        {"timing", kObject, true},
        {"timing_median_us", kNumber, true},
        {"timing_min_us", kNumber, true},
        {"timing_mean_us", kNumber, true},
        {"timing_p10_us", kNumber, true},
        {"timing_p90_us", kNumber, true},
        {"timing_cv", kNumber, true},
        {"timing_span_us", kNumber, true},
        {"timing_samples", kInteger, true},
        {"device_time_us", kNumber, true},
        {"speedup_eager", kNumber, true},
        {"speedup_compile", kNumber, true},
        {"baseline_eager_us", kNumber, true},
        {"baseline_compile_us", kNumber, true},
        {"baseline_torch_version", kString, true},
        {"compile", kObject, true},
        {"registers", kNumber, true},
        {"shared_bytes", kNumber, true},
        {"local_bytes", kNumber, true},
        {"spill_bytes", kNumber, true},
        {"compile_ms", kNumber, true},
        {"stages", kArray, true},
        {"gpu", kString, true},
        {"arch", kString, true},
        {"driver", kAny, true},
        {"cuda", kAny, true},
        {"nvrtc", kAny, true},
        {"torch", kAny, true},
        {"environment", kObject},
        {"harness_version", kInteger},
        {"run_kind", kString, true},
        {"agent", kString, true},
        {"strategy", kString, true},
        {"model", kString, true},
        {"provider", kString, true},
        {"prompt_tokens", kInteger, true},
        {"completion_tokens", kInteger, true},
        {"cost_usd", kNumber, true},
        {"latency_ms", kInteger, true},
        {"profile", kObject, true},
        {"license", kString}}},
      {"kernelbench", concat({{"module", kString}, {"reference", kString}}, metadata_fields(""))},
  };
  return kSchemas;
}

bool has_type(const nlohmann::json& value, FieldType type) {
  switch (type) {
    case kString:
      return value.is_string();
    case kInteger:
      return value.is_number_integer();
    case kNumber:
      return value.is_number();
    case kBoolean:
      return value.is_boolean();
    case kObject:
      return value.is_object();
    case kArray:
      return value.is_array();
    case kAny:
      return true;
  }
  return false;
}

const char* type_name(FieldType type) {
  switch (type) {
    case kString:
      return "string";
    case kInteger:
      return "integer";
    case kNumber:
      return "number";
    case kBoolean:
      return "boolean";
    case kObject:
      return "object";
    case kArray:
      return "array";
    case kAny:
      return "any";
  }
  return "?";
}

}  // namespace

const std::vector<FieldSchema>& record_schema(const std::string& format) {
  auto found = schemas().find(format);
  if (found == schemas().end())
    throw Error("no record schema for this format", format);
  return found->second;
}

std::vector<std::string> check_record(const std::string& format, const nlohmann::json& record) {
  std::vector<std::string> problems;
  if (!record.is_object())
    return {"record: expected an object"};
  for (const FieldSchema& field : record_schema(format)) {
    const nlohmann::json* value = &record;
    for (const std::string& part : strings::split(field.name, '.')) {
      if (!value->is_object() || !value->contains(part)) {
        value = nullptr;
        break;
      }
      value = &(*value)[part];
    }
    if (!value) {
      problems.push_back(field.name + ": missing");
    } else if (value->is_null()) {
      if (!field.nullable)
        problems.push_back(field.name + ": null where a value is required");
    } else if (!has_type(*value, field.type)) {
      problems.push_back(field.name + ": expected " + type_name(field.type) + ", got " +
                         value->type_name());
    }
  }
  if (format == "messages" || format == "trajectories") {
    for (const auto& message : record["messages"]) {
      if (!message.is_object() || !message.contains("role") || !message["role"].is_string() ||
          !message.contains("content") || !message["content"].is_string())
        problems.push_back("messages: each message needs string role and content");
    }
  }
  return problems;
}

}  // namespace kforge::dataset
