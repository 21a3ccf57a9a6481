// kforge's side of the launch plan's JSON reader. The reader itself, which remembers where every
// value starts and refuses duplicate keys, is the kernel library's
// (kforge/kernels/located_json.hpp), so that the shipped runtime reads a plan exactly as kforge
// checked it; this header names its problems in kforge's words: a PlanError
// "<file:line:column>: launch plan: <what>", with "did you mean" for an unknown name.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>

#include "harness/candidate/source_text.hpp"
#include "kforge/kernels/located_json.hpp"

namespace kforge {

using LocatedJson = kernels::LocatedJson;
using LocatedJsonMember = kernels::LocatedJsonMember;

// Parses the JSON text at [begin, end) of `source`; nothing but whitespace may follow it.
// Throws PlanError naming file:line:column for a syntax error or a duplicate key.
LocatedJson parse_located_json(const std::shared_ptr<const SourceText>& source, size_t begin,
                               size_t end);

// The same tree for JSON that has no file (a plan read back from the store): no positions.
LocatedJson located_from_json(const nlohmann::json& json);

// Throws the PlanError of a problem the kernel library's plan readers found in the text of
// `source` (null: a tree without a file, named "launch plan").
[[noreturn]] void throw_plan_problem(const kernels::PlanProblem& problem,
                                     const std::shared_ptr<const SourceText>& source);

}  // namespace kforge
