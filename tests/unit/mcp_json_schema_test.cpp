#include "cli/mcp/json_schema.hpp"

#include <gtest/gtest.h>

#include "cli/mcp/kforge_tools.hpp"
#include "harness/workspace.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::mcp {
namespace {

using nlohmann::json;

const json kSchema = {
    {"type", "object"},
    {"properties",
     {{"task", {{"type", "string"}, {"minLength", 1}}},
      {"limit", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
      {"mode", {{"enum", {"fast", "slow"}}}},
      {"ids", {{"type", "array"}, {"items", {{"type", "integer"}}}}},
      {"defines", {{"type", "object"}, {"additionalProperties", {{"type", "integer"}}}}}}},
    {"required", {"task"}},
    {"additionalProperties", false}};

TEST(McpJsonSchema, AcceptsWhatConforms) {
  EXPECT_FALSE(schema_violation(kSchema, {{"task", "a"}}));
  EXPECT_FALSE(schema_violation(kSchema, {{"task", "a"},
                                          {"limit", 5.0},
                                          {"mode", "fast"},
                                          {"ids", {1, 2}},
                                          {"defines", {{"BLOCK", 128}}}}));
}

TEST(McpJsonSchema, NamesTheFirstViolationWithItsPath) {
  EXPECT_EQ(schema_violation(kSchema, json::object()), "arguments.task is required");
  EXPECT_EQ(schema_violation(kSchema, {{"task", 5}}), "arguments.task must be a string");
  EXPECT_EQ(schema_violation(kSchema, {{"task", ""}}),
            "arguments.task must be at least 1 characters long");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"limit", 1.5}}),
            "arguments.limit must be an integer");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"limit", 0}}),
            "arguments.limit must be at least 1");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"limit", 101}}),
            "arguments.limit must be at most 100");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"mode", "medium"}}),
            "arguments.mode must be one of [\"fast\",\"slow\"]");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"ids", {1, "two"}}}),
            "arguments.ids[1] must be an integer");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"defines", {{"BLOCK", "big"}}}}),
            "arguments.defines.BLOCK must be an integer");
  EXPECT_EQ(schema_violation(kSchema, {{"task", "a"}, {"tsak", "b"}}),
            "arguments has no property 'tsak' (it takes defines, ids, limit, mode, task)");
  EXPECT_EQ(schema_violation(kSchema, json::array()), "arguments must be a object");
}

TEST(McpJsonSchema, TypeListsAcceptAnyOfTheirTypes) {
  json schema = {{"type", {"number", "null"}}};
  EXPECT_FALSE(schema_violation(schema, nullptr));
  EXPECT_FALSE(schema_violation(schema, 2.5));
  EXPECT_EQ(schema_violation(schema, "x", "value"), "value must be a number or null");
}

TEST(McpJsonSchema, RefusesKeywordsItWouldIgnore) {
  EXPECT_FALSE(unsupported_schema_keyword(kSchema));
  EXPECT_EQ(unsupported_schema_keyword(
                {{"type", "object"}, {"properties", {{"a", {{"pattern", "^x"}}}}}}),
            "schema.properties.a.pattern");
  EXPECT_EQ(unsupported_schema_keyword({{"oneOf", json::array()}}), "schema.oneOf");
}

// Every schema kforge's tools declare uses only what the checker enforces, so no argument
// passes a keyword the server silently ignored.
TEST(McpJsonSchema, EveryKforgeToolSchemaIsInTheCheckedSubset) {
  testing::TemporaryDirectory dir;
  Workspace workspace(WorkspaceOptions{.root = dir.path()});
  KforgeTools tools(workspace, "");
  ASSERT_FALSE(tools.tools().empty());
  for (const Tool& tool : tools.tools()) {
    EXPECT_EQ(tool.input_schema["type"], "object") << tool.name;
    EXPECT_EQ(unsupported_schema_keyword(tool.input_schema, tool.name + ".inputSchema"),
              std::nullopt);
    if (!tool.output_schema.is_null()) {
      EXPECT_EQ(tool.output_schema["type"], "object") << tool.name;
      EXPECT_EQ(unsupported_schema_keyword(tool.output_schema, tool.name + ".outputSchema"),
                std::nullopt);
    }
  }
}

}  // namespace
}  // namespace kforge::mcp
