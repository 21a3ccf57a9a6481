#include "harness/candidate/launch_plan.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <unordered_set>

#include "harness/candidate/plan_error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace {

using Kind = LocatedJson::Kind;

// Messages name the offending value's position and quote keys in double quotes, as they are
// written in the JSON.
class PlanReader {
 public:
  PlanReader(const LocatedJson& root, std::shared_ptr<const SourceText> source)
      : root_(root), source_(std::move(source)) {}

  LaunchPlan read() {
    if (root_.kind != Kind::kObject)
      fail(root_, "the plan must be a JSON object, not " + root_.kind_name());
    check_keys(root_, {"kernels", "scratch", "defines", "arch", "constraints"}, "launch plan key");
    LaunchPlan plan;
    const LocatedJson* kernels = root_.find("kernels");
    if (!kernels)
      fail(root_, "\"kernels\" is missing: list at least one kernel to launch");
    if (kernels->kind != Kind::kArray || kernels->items.empty())
      fail(*kernels, "\"kernels\" must be a non-empty array of kernel launches");
    if (const LocatedJson* defines = root_.find("defines"))
      plan.defines = read_defines(*defines);
    if (const LocatedJson* scratch = root_.find("scratch")) {
      if (scratch->kind != Kind::kArray)
        fail(*scratch, "\"scratch\" must be an array of {\"name\", \"dtype\", \"numel\"}");
      // Names in hash sets, so that a plan of n entries is read in O(n), however hostile.
      std::unordered_set<std::string> define_names;
      for (const DefineSpec& spec : plan.defines)
        define_names.insert(spec.name);
      std::unordered_set<std::string> scratch_names;
      for (const LocatedJson& entry : scratch->items)
        plan.scratch.push_back(read_scratch(entry, define_names, scratch_names));
    }
    for (const LocatedJson& entry : kernels->items)
      plan.kernels.push_back(read_kernel(entry));
    if (const LocatedJson* arch = root_.find("arch")) {
      plan.arch = read_arch(*arch);
      plan.arch_where = where(arch->offset);
    }
    if (const LocatedJson* constraints = root_.find("constraints"))
      plan.constraints = read_constraints(*constraints, plan.defines);
    return plan;
  }

 private:
  std::string where(size_t offset) const { return plan_where(source_, offset); }

  [[noreturn]] void fail(const LocatedJson& at, const std::string& message) const {
    throw PlanError(where(at.offset) + ": " + message);
  }

  void check_keys(const LocatedJson& object, const std::vector<std::string>& allowed,
                  const char* kind) const {
    for (const LocatedJsonMember& member : object.members) {
      if (std::find(allowed.begin(), allowed.end(), member.key) == allowed.end())
        throw PlanError(where(member.key_offset) + ": " +
                        strings::unknown_name_message(kind, member.key, allowed));
    }
  }

  static bool is_identifier(const std::string& name) {
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
      return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  }

  std::string identifier(const LocatedJson& object, const char* key, const char* what) const {
    const LocatedJson* value = object.find(key);
    if (!value)
      fail(object, std::string(what) + " lacks \"" + key + "\"");
    if (value->kind != Kind::kString || !is_identifier(value->string))
      fail(*value, std::string("\"") + key + "\" must be a C identifier in a string");
    return value->string;
  }

  Expression expression(const LocatedJson& value, const std::string& context) const {
    if (value.kind == Kind::kInteger) {
      TextOrigin origin;
      origin.source = source_;
      std::string text = std::to_string(value.integer);
      for (size_t i = 0; i <= text.size(); ++i)
        origin.offsets.push_back(value.offset + i);
      return Expression::parse(text, context, origin);
    }
    if (value.kind != Kind::kString)
      fail(value, context + " must be an expression in a string, not " + value.kind_name());
    return Expression::parse(value.string, context, value.string_origin);
  }

  std::vector<Expression> dimensions(const LocatedJson& kernel, const char* key,
                                     const std::string& kernel_context) const {
    const LocatedJson* value = kernel.find(key);
    if (!value)
      fail(kernel, kernel_context + " lacks \"" + key + "\"");
    std::string rule = std::string("\"") + key + "\" must be an array of 1 to 3 expressions";
    if (value->kind != Kind::kArray || value->items.empty() || value->items.size() > 3)
      fail(*value, rule);
    std::vector<Expression> expressions;
    for (size_t i = 0; i < value->items.size(); ++i)
      expressions.push_back(
          expression(value->items[i], kernel_context + " " + key + "[" + std::to_string(i) + "]"));
    return expressions;
  }

  KernelLaunch read_kernel(const LocatedJson& entry) {
    if (entry.kind != Kind::kObject)
      fail(entry,
           "each kernel launch must be an object with \"name\", \"grid\", \"block\", "
           "\"shared_bytes\" and \"args\"");
    check_keys(entry, {"name", "grid", "block", "shared_bytes", "args"}, "kernel launch key");
    KernelLaunch launch;
    launch.where = where(entry.offset);
    launch.name = identifier(entry, "name", "kernel launch");
    std::string context = "kernel '" + launch.name + "'";
    launch.grid = dimensions(entry, "grid", context);
    launch.block = dimensions(entry, "block", context);
    if (const LocatedJson* shared = entry.find("shared_bytes"))
      launch.shared_bytes = expression(*shared, context + " shared_bytes");
    else
      launch.shared_bytes = Expression::parse("0", context + " shared_bytes");
    const LocatedJson* args = entry.find("args");
    if (!args)
      fail(entry, context + " lacks \"args\" (use [] for a kernel without parameters)");
    if (args->kind != Kind::kArray)
      fail(*args, "\"args\" must be an array of names or expressions");
    for (size_t i = 0; i < args->items.size(); ++i)
      launch.args.push_back(
          expression(args->items[i], context + " argument " + std::to_string(i + 1)));
    return launch;
  }

  ScratchBuffer read_scratch(const LocatedJson& entry,
                             const std::unordered_set<std::string>& define_names,
                             std::unordered_set<std::string>& scratch_names) {
    if (entry.kind != Kind::kObject)
      fail(entry, "each scratch buffer must be an object with \"name\", \"dtype\", \"numel\"");
    check_keys(entry, {"name", "dtype", "numel"}, "scratch key");
    ScratchBuffer buffer;
    buffer.where = where(entry.offset);
    buffer.name = identifier(entry, "name", "scratch buffer");
    if (!scratch_names.insert(buffer.name).second)
      fail(*entry.find("name"), "scratch buffer '" + buffer.name + "' is declared twice");
    if (define_names.count(buffer.name))
      fail(*entry.find("name"), "scratch buffer '" + buffer.name + "' has the name of a define");
    const LocatedJson* dtype = entry.find("dtype");
    if (!dtype)
      fail(entry, "scratch buffer '" + buffer.name + "' lacks \"dtype\"");
    std::vector<std::string> dtype_names;
    for (DType known : {DType::kF64, DType::kF32, DType::kF16, DType::kBF16, DType::kI64,
                        DType::kI32, DType::kI16, DType::kI8, DType::kU8, DType::kBool})
      dtype_names.emplace_back(dtype_torch_name(known));
    if (dtype->kind != Kind::kString)
      fail(*dtype, "\"dtype\" must be a string (" + strings::join(dtype_names, ", ") + ")");
    auto parsed = dtype_from_torch_name(dtype->string);
    if (!parsed)
      fail(*dtype, strings::unknown_name_message("dtype", dtype->string, dtype_names));
    buffer.dtype = *parsed;
    const LocatedJson* numel = entry.find("numel");
    if (!numel)
      fail(entry, "scratch buffer '" + buffer.name + "' lacks \"numel\"");
    buffer.numel = expression(*numel, "scratch '" + buffer.name + "' numel");
    return buffer;
  }

  std::vector<std::string> read_arch(const LocatedJson& arch) const {
    static const char* kRule =
        "\"arch\" must be an architecture-specific target such as \"sm_90a\" (wgmma, TMA) or "
        "\"sm_100a\" (tcgen05), a family target such as \"sm_100f\", or a list of them";
    std::vector<const LocatedJson*> targets;
    if (arch.kind == Kind::kString) {
      targets.push_back(&arch);
    } else if (arch.kind == Kind::kArray && !arch.items.empty()) {
      for (const LocatedJson& item : arch.items)
        targets.push_back(&item);
    } else {
      fail(arch, kRule);
    }
    std::vector<std::string> names;
    for (const LocatedJson* target : targets) {
      if (target->kind != Kind::kString)
        fail(*target, kRule + std::string(", not ") + target->kind_name());
      if (!is_specific_target(target->string)) {
        std::string hint = is_plain_target(target->string)
                               ? " (a plain target needs no \"arch\": every candidate is "
                                 "compiled for the GPU's own sm_XY)"
                               : "";
        fail(*target, "'" + target->string + "' is not a target: " + kRule + hint);
      }
      if (std::find(names.begin(), names.end(), target->string) != names.end())
        fail(*target, "\"arch\" lists '" + target->string + "' twice");
      names.push_back(target->string);
    }
    return names;
  }

  // sm_ and two or three digits.
  static bool is_plain_target(std::string_view name) {
    if (!name.starts_with("sm_"))
      return false;
    std::string_view digits = name.substr(3);
    return (digits.size() == 2 || digits.size() == 3) && digits.front() != '0' &&
           std::all_of(digits.begin(), digits.end(),
                       [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  }
  // sm_90a, sm_100a, sm_100f, ...
  static bool is_specific_target(std::string_view name) {
    return name.size() > 3 && (name.back() == 'a' || name.back() == 'f') &&
           is_plain_target(name.substr(0, name.size() - 1));
  }

  std::vector<DefineSpec> read_defines(const LocatedJson& defines) {
    if (defines.kind != Kind::kObject)
      fail(defines,
           "\"defines\" must be an object {\"NAME\": {\"default\": N, \"values\": [...]}}");
    std::vector<DefineSpec> specs;
    for (const LocatedJsonMember& member : defines.members) {
      DefineSpec spec;
      spec.name = member.key;
      spec.where = where(member.key_offset);
      if (!is_identifier(spec.name))
        throw PlanError(where(member.key_offset) + ": define name '" + spec.name +
                        "' is not a C identifier");
      if (spec.name == "ceil_div" || spec.name == "min" || spec.name == "max")
        throw PlanError(where(member.key_offset) + ": define name '" + spec.name +
                        "' is a function of the expression language");
      const LocatedJson& body = member.value;
      if (body.kind != Kind::kObject)
        fail(body,
             "define '" + spec.name + "' must be an object {\"default\": N, \"values\": [...]}");
      check_keys(body, {"default", "values"}, "define key");
      const LocatedJson* default_value = body.find("default");
      if (!default_value)
        fail(body, "define '" + spec.name + "' lacks \"default\"");
      if (default_value->kind != Kind::kInteger)
        fail(*default_value, "the default of define '" + spec.name + "' must be an integer, not " +
                                 default_value->kind_name());
      spec.default_value = default_value->integer;
      if (const LocatedJson* values = body.find("values")) {
        if (values->kind != Kind::kArray || values->items.empty())
          fail(*values,
               "\"values\" of define '" + spec.name + "' must be a non-empty array of integers");
        std::unordered_set<int64_t> seen;
        for (const LocatedJson& value : values->items) {
          if (value.kind != Kind::kInteger)
            fail(value, "\"values\" of define '" + spec.name + "' must hold integers, not " +
                            value.kind_name());
          if (!seen.insert(value.integer).second)
            fail(value, "define '" + spec.name + "' lists the value " +
                            std::to_string(value.integer) + " twice");
          spec.values.push_back(value.integer);
        }
        if (std::find(spec.values.begin(), spec.values.end(), spec.default_value) ==
            spec.values.end())
          fail(*default_value, "the default " + std::to_string(spec.default_value) +
                                   " of define '" + spec.name + "' is not one of its \"values\"");
      } else {
        spec.values = {spec.default_value};
      }
      specs.push_back(std::move(spec));
    }
    return specs;
  }

  std::vector<Expression> read_constraints(const LocatedJson& constraints,
                                           const std::vector<DefineSpec>& defines) const {
    if (constraints.kind != Kind::kArray)
      fail(constraints, "\"constraints\" must be an array of conditions in strings");
    std::vector<std::string> define_names;
    for (const DefineSpec& spec : defines)
      define_names.push_back(spec.name);
    std::vector<Expression> conditions;
    for (size_t i = 0; i < constraints.items.size(); ++i) {
      const LocatedJson& item = constraints.items[i];
      if (item.kind != Kind::kString)
        fail(item, "constraint " + std::to_string(i + 1) +
                       " must be a condition in a string, not " + item.kind_name());
      Expression condition = Expression::parse_condition(
          item.string, "constraint " + std::to_string(i + 1), item.string_origin);
      for (const std::string& name : condition.value_names()) {
        if (std::find(define_names.begin(), define_names.end(), name) == define_names.end())
          condition.fail(define_names.empty()
                             ? "'" + name + "' is not a define, and the plan declares none"
                             : strings::unknown_name_message("define", name, define_names));
      }
      conditions.push_back(std::move(condition));
    }
    return conditions;
  }

  const LocatedJson& root_;
  std::shared_ptr<const SourceText> source_;
};

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
  return PlanReader(json, std::move(source)).read();
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
