// The shape of every format's records, as a table of fields per format (a small JSON Schema:
// name, type, required, nullable), and a checker that lists what a record gets wrong. The tests
// run every exported line through it; docs/dataset-formats.md describes the same fields.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kforge::dataset {

enum class FieldType { kString, kInteger, kNumber, kBoolean, kObject, kArray, kAny };

struct FieldSchema {
  std::string name;  // "metadata.task" reaches into a nested object
  FieldType type;
  bool nullable = false;
};

// The fields every record of `format` has (all required; `nullable` ones may be null).
const std::vector<FieldSchema>& record_schema(const std::string& format);

// Problems with `record` ("metadata.task: missing", "verdict: expected string"); empty if none.
std::vector<std::string> check_record(const std::string& format, const nlohmann::json& record);

}  // namespace kforge::dataset
