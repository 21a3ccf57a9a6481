// The part of JSON Schema (2020-12) that kforge's MCP tools declare for their arguments, checked
// before a tool runs: `type` (one name or a list; "integer" is a number without a fraction),
// `properties`, `required`, `additionalProperties` (false or a schema), `items`, `enum`,
// `minimum`, `maximum`, `minLength`, `maxLength`. Any other keyword is ignored, so a schema
// using one would pass what it should refuse: keep the tools' schemas inside this list
// (tests/unit/mcp_json_schema_test.cpp checks every tool's schema against it).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace kforge::mcp {

// The first way `value` breaks `schema`, as one sentence naming where ("arguments.defines.BLOCK
// must be an integer"); nothing when it conforms. `where` names the root.
std::optional<std::string> schema_violation(const nlohmann::json& schema,
                                            const nlohmann::json& value,
                                            const std::string& where = "arguments");

// The keywords schema_violation understands, and whether `schema` uses only those (with the
// annotations `description`, `title`, `default`, `examples`, `$schema`): the first keyword it
// would ignore, with where it is.
std::optional<std::string> unsupported_schema_keyword(const nlohmann::json& schema,
                                                      const std::string& where = "schema");

}  // namespace kforge::mcp
