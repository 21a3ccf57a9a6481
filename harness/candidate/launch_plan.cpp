#include "harness/candidate/launch_plan.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "harness/candidate/plan_error.hpp"
#include "harness/util/strings.hpp"
#include "kforge/kernels/plan_reader.hpp"

namespace kforge {
namespace {

std::vector<Expression> expressions(const std::vector<kernels::PlanExpression>& parsed,
                                    const std::shared_ptr<const SourceText>& source) {
  std::vector<Expression> out;
  for (const kernels::PlanExpression& expression : parsed)
    out.push_back(Expression::from_plan(expression, source));
  return out;
}

}  // namespace

const DefineSpec* LaunchPlan::find_define(const std::string& name) const {
  for (const DefineSpec& spec : defines) {
    if (spec.name == name)
      return &spec;
  }
  return nullptr;
}

nlohmann::json LaunchPlan::to_json() const {
  nlohmann::json json = {{"kernels", nlohmann::json::array()},
                         {"scratch", nlohmann::json::array()},
                         {"defines", nlohmann::json::object()}};
  auto texts = [](const std::vector<Expression>& expressions) {
    nlohmann::json list = nlohmann::json::array();
    for (const Expression& expression : expressions)
      list.push_back(expression.text());
    return list;
  };
  for (const KernelLaunch& kernel : kernels) {
    json["kernels"].push_back({{"name", kernel.name},
                               {"grid", texts(kernel.grid)},
                               {"block", texts(kernel.block)},
                               {"shared_bytes", kernel.shared_bytes.text()},
                               {"args", texts(kernel.args)}});
  }
  for (const ScratchBuffer& buffer : scratch) {
    json["scratch"].push_back({{"name", buffer.name},
                               {"dtype", dtype_torch_name(buffer.dtype)},
                               {"numel", buffer.numel.text()}});
  }
  for (const DefineSpec& spec : defines)
    json["defines"][spec.name] = {{"default", spec.default_value}, {"values", spec.values}};
  if (!arch.empty())  // absent otherwise, so that plans without it are stored as before
    json["arch"] = arch;
  if (!constraints.empty())  // the same
    json["constraints"] = texts(constraints);
  return json;
}

LaunchPlan LaunchPlan::from_json(const nlohmann::json& json) {
  return from_located(located_from_json(json), nullptr);
}

LaunchPlan LaunchPlan::from_located(const LocatedJson& json,
                                    std::shared_ptr<const SourceText> source) {
  // The structure is checked by the kernel library's plan reader, the one the shipped runtime
  // reads kernels with; kforge keeps the positions for its messages and the parsed expressions.
  kernels::CheckedPlan checked;
  try {
    checked = kernels::read_launch_plan(json);
  } catch (const kernels::PlanProblem& problem) {
    throw_plan_problem(problem, source);
  }
  LaunchPlan plan;
  for (const kernels::PlanKernel& kernel : checked.kernels)
    plan.kernels.push_back({kernel.name, expressions(kernel.grid, source),
                            expressions(kernel.block, source),
                            Expression::from_plan(kernel.shared_bytes, source),
                            expressions(kernel.args, source), plan_where(source, kernel.offset)});
  plan.scratch.reserve(checked.scratch.size());
  for (const kernels::PlanScratch& buffer : checked.scratch) {
    const std::optional<DType> dtype = dtype_from_torch_name(buffer.dtype);
    if (!dtype)  // the reader knows exactly kforge's dtypes: a mismatch is a bug here
      throw Error("the plan reader accepted a dtype kforge does not know", buffer.dtype);
    plan.scratch.push_back({buffer.name, *dtype, Expression::from_plan(buffer.numel, source),
                            plan_where(source, buffer.offset)});
  }
  plan.defines.reserve(checked.defines.size());
  for (kernels::PlanDefine& define : checked.defines)
    plan.defines.push_back({std::move(define.name), define.default_value, std::move(define.values),
                            plan_where(source, define.offset)});
  if (!checked.arch.empty()) {
    plan.arch = checked.arch;
    plan.arch_where = plan_where(source, checked.arch_offset);
  }
  plan.constraints = expressions(checked.constraints, source);
  return plan;
}

void check_constraints(const LaunchPlan& plan, const ExpressionEnvironment& environment,
                       const std::map<std::string, int64_t>& define_values) {
  for (const Expression& constraint : plan.constraints) {
    if (constraint.evaluate(environment) != 0)
      continue;
    std::vector<std::string> values;
    for (const auto& [name, value] : define_values)
      values.push_back(name + "=" + std::to_string(value));
    constraint.fail("does not hold for " + strings::join(values, ", "));
  }
}

std::map<std::string, int64_t> choose_define_values(
    const LaunchPlan& plan, const std::map<std::string, std::string>& overrides) {
  std::map<std::string, int64_t> values;
  std::vector<std::string> names;
  for (const DefineSpec& spec : plan.defines) {
    values[spec.name] = spec.default_value;
    names.push_back(spec.name);
  }
  for (const auto& [name, text] : overrides) {
    if (!values.count(name)) {
      if (names.empty())
        throw PlanError("define '" + name + "' is given a value, but the plan declares no defines");
      throw PlanError(strings::unknown_name_message("define", name, names));
    }
    int64_t value = 0;
    auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || status != std::errc() || end != text.data() + text.size())
      throw PlanError("value '" + text + "' of define '" + name + "' is not a 64-bit integer");
    values[name] = value;
  }
  return values;
}

std::string choose_compile_arch(const LaunchPlan& plan, const std::string& gpu_arch) {
  if (plan.arch.empty())
    return gpu_arch;
  // sm_90 -> 90 (a trailing a or f of the target itself is ignored).
  auto number = [](std::string_view name) {
    std::string_view digits = name.substr(3);
    while (!digits.empty() && !std::isdigit(static_cast<unsigned char>(digits.back())))
      digits.remove_suffix(1);
    int value = 0;
    std::from_chars(digits.data(), digits.data() + digits.size(), value);
    return value;
  };
  const int gpu = gpu_arch.starts_with("sm_") ? number(gpu_arch) : 0;
  for (const std::string& target : plan.arch) {
    const int wanted = number(target);
    // "a": that exact compute capability; "f": its family (same major, minor at least).
    if (target.back() == 'a' && wanted == gpu)
      return target;
    if (target.back() == 'f' && wanted / 10 == gpu / 10 && wanted % 10 <= gpu % 10)
      return target;
  }
  std::string where = plan.arch_where.empty() ? "launch plan" : plan.arch_where;
  std::string capability =
      gpu > 0 ? std::to_string(gpu / 10) + "." + std::to_string(gpu % 10) : "unknown";
  throw PlanError(where + ": \"arch\" asks for " + strings::join(plan.arch, ", ") +
                  ", architecture-specific code that runs only on the GPU it names, and this "
                  "evaluation targets " +
                  gpu_arch + " (compute capability " + capability +
                  "); leave \"arch\" out to compile for " + gpu_arch + ", or list a target for it");
}

std::vector<std::string> define_options(const std::map<std::string, int64_t>& values) {
  std::vector<std::string> options;
  for (const auto& [name, value] : values)
    options.push_back("-D" + name + "=" + std::to_string(value));
  return options;
}

}  // namespace kforge
