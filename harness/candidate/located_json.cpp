#include "harness/candidate/located_json.hpp"

#include <cstdint>

#include "harness/candidate/expression.hpp"
#include "harness/candidate/plan_error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {

LocatedJson parse_located_json(const std::shared_ptr<const SourceText>& source, size_t begin,
                               size_t end) {
  try {
    return kernels::parse_located_json(source->text(), begin, end);
  } catch (const kernels::PlanProblem& problem) {
    throw_plan_problem(problem, source);
  }
}

void throw_plan_problem(const kernels::PlanProblem& problem,
                        const std::shared_ptr<const SourceText>& source) {
  using Kind = kernels::PlanProblem::Kind;
  std::string what = problem.what;
  switch (problem.kind) {
    case Kind::kUnknownName:
      what = strings::unknown_name_message(problem.name_kind, problem.unknown, problem.allowed);
      break;
    case Kind::kUnexpectedCharacter:
      if (source)
        what = problem.before + strings::character_at(source->text(), problem.character) +
               problem.after;
      break;
    case Kind::kExpression: {
      kernels::ExpressionFailure failure = problem.failure;
      if (!problem.unknown.empty())  // a name the plan lacks: said with "did you mean"
        failure.what =
            strings::unknown_name_message(problem.name_kind, problem.unknown, problem.allowed);
      Expression::refuse(problem.expression, source, failure);
    }
    case Kind::kOther:
      break;
  }
  throw PlanError(plan_where(source, problem.offset) + ": " + what);
}

LocatedJson located_from_json(const nlohmann::json& json) {
  LocatedJson value;
  if (json.is_null()) {
    value.kind = LocatedJson::Kind::kNull;
  } else if (json.is_boolean()) {
    value.kind = LocatedJson::Kind::kBoolean;
    value.boolean = json.get<bool>();
  } else if (json.is_number_integer() &&
             (json.is_number_unsigned() ? json.get<uint64_t>() <= INT64_MAX : true)) {
    value.kind = LocatedJson::Kind::kInteger;
    value.integer = json.get<int64_t>();
    value.number = static_cast<double>(value.integer);
  } else if (json.is_number()) {
    value.kind = LocatedJson::Kind::kNumber;
    value.number = json.get<double>();
  } else if (json.is_string()) {
    value.kind = LocatedJson::Kind::kString;
    value.string = json.get<std::string>();
  } else if (json.is_array()) {
    value.kind = LocatedJson::Kind::kArray;
    for (const auto& item : json)
      value.items.push_back(located_from_json(item));
  } else {
    value.kind = LocatedJson::Kind::kObject;
    for (const auto& [key, item] : json.items())
      value.members.push_back({key, 0, located_from_json(item)});
  }
  return value;
}

}  // namespace kforge
