#include "harness/autotune/define_space.hpp"

#include <algorithm>
#include <memory>

#include "harness/candidate/plan_validation.hpp"
#include "harness/util/error.hpp"

namespace kforge::autotune {

tuning::ConstrainedSpace define_space(const CandidateFile& candidate, const Task& task) {
  const LaunchPlan& plan = candidate.plan;
  if (plan.defines.empty())
    throw Error("the candidate's plan declares no defines, so there is nothing to tune",
                candidate.file_name());
  if (!task.analysis)
    throw Error("the task is not analysed", task.name);
  std::vector<tuning::Parameter> parameters;
  for (const DefineSpec& spec : plan.defines) {
    tuning::Parameter parameter{spec.name, {}};
    for (int64_t value : spec.values)
      parameter.values.push_back(value);
    parameters.push_back(std::move(parameter));
  }
  // Every shape the evaluator binds at; a constraint must hold at each.
  auto signatures = std::make_shared<std::vector<const Signature*>>();
  signatures->push_back(&task.analysis->benchmark);
  for (const CheckShape& shape : task.analysis->check_shapes)
    signatures->push_back(&shape.signature);
  auto specs = std::make_shared<std::vector<DefineSpec>>(plan.defines);

  std::vector<tuning::Restriction> restrictions;
  for (size_t index = 0; index < plan.constraints.size(); ++index) {
    const Expression& constraint = plan.constraints[index];
    std::string text = "constraint " + std::to_string(index + 1) + " \"" + constraint.text() + "\"";
    std::vector<std::string> values = constraint.value_names();
    for (const std::string& name : constraint.names()) {
      if (std::find(values.begin(), values.end(), name) == values.end() &&
          !task.analysis->benchmark.find(name))
        throw Error(
            text + " reads the size of '" + name + "', which task " + task.name + " does not have",
            candidate.file_name());
    }
    tuning::Restriction restriction;
    restriction.text = text;
    for (size_t p = 0; p < specs->size(); ++p)
      if (std::find(values.begin(), values.end(), (*specs)[p].name) != values.end())
        restriction.reads.push_back(p);
    // The plan with this constraint alone, checked by the binder's own rules at every shape.
    auto single = std::make_shared<LaunchPlan>();
    single->defines = plan.defines;
    single->constraints = {constraint};
    restriction.holds = [single, signatures, specs](const tuning::Point& point) {
      std::map<std::string, int64_t> chosen;
      for (size_t p = 0; p < specs->size(); ++p)
        chosen[(*specs)[p].name] = (*specs)[p].values[point[p]];
      return std::all_of(signatures->begin(), signatures->end(), [&](const Signature* signature) {
        return check_plan_constraints(*single, *signature, chosen).ok();
      });
    };
    restrictions.push_back(std::move(restriction));
  }
  return tuning::ConstrainedSpace(std::move(parameters), std::move(restrictions));
}

std::map<std::string, int64_t> define_values(const tuning::TuningSpace& space,
                                             tuning::PointId point) {
  std::map<std::string, int64_t> values;
  const nlohmann::json described = space.describe(point);  // items() of a temporary would dangle
  for (const auto& [name, value] : described.items())
    values[name] = value.get<int64_t>();
  return values;
}

}  // namespace kforge::autotune
