#include "kforge/kernels/plan_reader.hpp"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <unordered_set>

#include "kforge/kernels/launch.hpp"

namespace kforge::kernels {
namespace {

using Kind = LocatedJson::Kind;

std::string joined(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names)
    text += (text.empty() ? "" : ", ") + name;
  return text;
}

// Messages name the offending value's position and quote keys in double quotes, as they are
// written in the JSON.
class PlanReader {
 public:
  explicit PlanReader(const LocatedJson& root) : root_(root) {}

  CheckedPlan read() {
    if (root_.kind != Kind::kObject)
      fail(root_, "the plan must be a JSON object, not " + root_.kind_name());
    check_keys(root_, {"kernels", "scratch", "defines", "arch", "constraints"}, "launch plan key");
    CheckedPlan plan;
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
      for (const PlanDefine& define : plan.defines)
        define_names.insert(define.name);
      std::unordered_set<std::string> scratch_names;
      for (const LocatedJson& entry : scratch->items)
        plan.scratch.push_back(read_scratch(entry, define_names, scratch_names));
    }
    for (const LocatedJson& entry : kernels->items)
      plan.kernels.push_back(read_kernel(entry));
    if (const LocatedJson* arch = root_.find("arch")) {
      plan.arch = read_arch(*arch);
      plan.arch_offset = arch->offset;
    }
    if (const LocatedJson* constraints = root_.find("constraints"))
      plan.constraints = read_constraints(*constraints, plan.defines);
    return plan;
  }

 private:
  [[noreturn]] static void fail(size_t offset, const std::string& message) {
    PlanProblem problem;
    problem.offset = offset;
    problem.what = message;
    throw problem;
  }
  [[noreturn]] static void fail(const LocatedJson& at, const std::string& message) {
    fail(at.offset, message);
  }
  [[noreturn]] static void fail_unknown(size_t offset, const std::string& name_kind,
                                        const std::string& unknown,
                                        const std::vector<std::string>& allowed) {
    PlanProblem problem;
    problem.kind = PlanProblem::Kind::kUnknownName;
    problem.offset = offset;
    problem.name_kind = name_kind;
    problem.unknown = unknown;
    problem.allowed = allowed;
    problem.what = "unknown " + name_kind + " '" + unknown + "' (allowed: " + joined(allowed) + ")";
    throw problem;
  }

  static void check_keys(const LocatedJson& object, const std::vector<std::string>& allowed,
                         const char* kind) {
    for (const LocatedJsonMember& member : object.members) {
      if (std::find(allowed.begin(), allowed.end(), member.key) == allowed.end())
        fail_unknown(member.key_offset, kind, member.key, allowed);
    }
  }

  static bool is_identifier(const std::string& name) {
    if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_'))
      return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
  }

  static std::string identifier(const LocatedJson& object, const char* key, const char* what) {
    const LocatedJson* value = object.find(key);
    if (!value)
      fail(object, std::string(what) + " lacks \"" + key + "\"");
    if (value->kind != Kind::kString || !is_identifier(value->string))
      fail(*value, std::string("\"") + key + "\" must be a C identifier in a string");
    return value->string;
  }

  static PlanExpression expression(const LocatedJson& value, const std::string& context) {
    PlanExpression parsed;
    parsed.context = context;
    if (value.kind == Kind::kInteger) {
      parsed.text = std::to_string(value.integer);
      for (size_t i = 0; i <= parsed.text.size(); ++i)
        parsed.offsets.push_back(value.offset + i);
    } else if (value.kind == Kind::kString) {
      parsed.text = value.string;
      parsed.offsets = value.string_offsets;
    } else {
      fail(value, context + " must be an expression in a string, not " + value.kind_name());
    }
    return parsed_tree(std::move(parsed));
  }

  static PlanExpression parsed_tree(PlanExpression parsed, bool condition = false) {
    try {
      parsed.tree = condition ? ExpressionTree::parse_condition(parsed.text)
                              : ExpressionTree::parse(parsed.text);
    } catch (const ExpressionFailure& failure) {
      std::string what = failure.what;
      if (failure.kind == ExpressionFailure::Kind::kUnknownFunction)
        what += " (allowed: " + joined(failure.known) + ")";
      throw expression_problem(std::move(parsed), failure, what);
    }
    return parsed;
  }

  // A problem with expression `parsed`, at character `failure.at` of its text; `what` in this
  // library's words.
  static PlanProblem expression_problem(PlanExpression parsed, const ExpressionFailure& failure,
                                        const std::string& what) {
    PlanProblem problem;
    problem.kind = PlanProblem::Kind::kExpression;
    if (!parsed.offsets.empty())
      problem.offset = parsed.offsets[std::min(failure.at, parsed.offsets.size() - 1)];
    problem.what = parsed.context + " \"" + parsed.text + "\": " + what;
    problem.expression = std::move(parsed);
    problem.failure = failure;
    return problem;
  }

  static std::vector<PlanExpression> dimensions(const LocatedJson& kernel, const char* key,
                                                const std::string& kernel_context) {
    const LocatedJson* value = kernel.find(key);
    if (!value)
      fail(kernel, kernel_context + " lacks \"" + key + "\"");
    std::string rule = std::string("\"") + key + "\" must be an array of 1 to 3 expressions";
    if (value->kind != Kind::kArray || value->items.empty() || value->items.size() > 3)
      fail(*value, rule);
    std::vector<PlanExpression> expressions;
    for (size_t i = 0; i < value->items.size(); ++i)
      expressions.push_back(
          expression(value->items[i], kernel_context + " " + key + "[" + std::to_string(i) + "]"));
    return expressions;
  }

  static PlanKernel read_kernel(const LocatedJson& entry) {
    if (entry.kind != Kind::kObject)
      fail(entry,
           "each kernel launch must be an object with \"name\", \"grid\", \"block\", "
           "\"shared_bytes\" and \"args\"");
    check_keys(entry, {"name", "grid", "block", "shared_bytes", "args"}, "kernel launch key");
    PlanKernel launch;
    launch.offset = entry.offset;
    launch.name = identifier(entry, "name", "kernel launch");
    std::string context = "kernel '" + launch.name + "'";
    launch.grid = dimensions(entry, "grid", context);
    launch.block = dimensions(entry, "block", context);
    if (const LocatedJson* shared = entry.find("shared_bytes"))
      launch.shared_bytes = expression(*shared, context + " shared_bytes");
    else
      launch.shared_bytes = parsed_tree({"0", context + " shared_bytes", {}, {}});
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

  static PlanScratch read_scratch(const LocatedJson& entry,
                                  const std::unordered_set<std::string>& define_names,
                                  std::unordered_set<std::string>& scratch_names) {
    if (entry.kind != Kind::kObject)
      fail(entry, "each scratch buffer must be an object with \"name\", \"dtype\", \"numel\"");
    check_keys(entry, {"name", "dtype", "numel"}, "scratch key");
    PlanScratch buffer;
    buffer.offset = entry.offset;
    buffer.name = identifier(entry, "name", "scratch buffer");
    if (!scratch_names.insert(buffer.name).second)
      fail(*entry.find("name"), "scratch buffer '" + buffer.name + "' is declared twice");
    if (define_names.count(buffer.name))
      fail(*entry.find("name"), "scratch buffer '" + buffer.name + "' has the name of a define");
    const LocatedJson* dtype = entry.find("dtype");
    if (!dtype)
      fail(entry, "scratch buffer '" + buffer.name + "' lacks \"dtype\"");
    const std::vector<std::string>& known_dtypes = dtype_names();
    if (dtype->kind != Kind::kString)
      fail(*dtype, "\"dtype\" must be a string (" + joined(known_dtypes) + ")");
    std::string_view name = dtype->string;
    if (name.starts_with("torch."))
      name.remove_prefix(6);
    if (std::find(known_dtypes.begin(), known_dtypes.end(), name) == known_dtypes.end())
      fail_unknown(dtype->offset, "dtype", dtype->string, known_dtypes);
    buffer.dtype = std::string(name);
    const LocatedJson* numel = entry.find("numel");
    if (!numel)
      fail(entry, "scratch buffer '" + buffer.name + "' lacks \"numel\"");
    buffer.numel = expression(*numel, "scratch '" + buffer.name + "' numel");
    return buffer;
  }

  static std::vector<std::string> read_arch(const LocatedJson& arch) {
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

  static std::vector<PlanDefine> read_defines(const LocatedJson& defines) {
    if (defines.kind != Kind::kObject)
      fail(defines,
           "\"defines\" must be an object {\"NAME\": {\"default\": N, \"values\": [...]}}");
    std::vector<PlanDefine> specs;
    for (const LocatedJsonMember& member : defines.members) {
      PlanDefine spec;
      spec.name = member.key;
      spec.offset = member.key_offset;
      if (!is_identifier(spec.name))
        fail(member.key_offset, "define name '" + spec.name + "' is not a C identifier");
      if (spec.name == "ceil_div" || spec.name == "min" || spec.name == "max")
        fail(member.key_offset,
             "define name '" + spec.name + "' is a function of the expression language");
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

  // Conditions every point of the define space must satisfy. A name read as a value must be a
  // define; tensor sizes are the call's, read when the plan meets a shape.
  static std::vector<PlanExpression> read_constraints(const LocatedJson& constraints,
                                                      const std::vector<PlanDefine>& defines) {
    if (constraints.kind != Kind::kArray)
      fail(constraints, "\"constraints\" must be an array of conditions in strings");
    std::vector<std::string> define_names;
    for (const PlanDefine& define : defines)
      define_names.push_back(define.name);
    std::vector<PlanExpression> conditions;
    for (size_t i = 0; i < constraints.items.size(); ++i) {
      const LocatedJson& item = constraints.items[i];
      const std::string context = "constraint " + std::to_string(i + 1);
      if (item.kind != Kind::kString)
        fail(item, context + " must be a condition in a string, not " + item.kind_name());
      PlanExpression condition = parsed_tree({item.string, context, item.string_offsets, {}}, true);
      for (const std::string& name : condition.tree.value_names()) {
        if (std::find(define_names.begin(), define_names.end(), name) != define_names.end())
          continue;
        // About the whole condition: at its first character.
        ExpressionFailure failure;
        failure.what =
            define_names.empty()
                ? "'" + name + "' is not a define, and the plan declares none"
                : "unknown define '" + name + "' (allowed: " + joined(define_names) + ")";
        PlanProblem problem = expression_problem(std::move(condition), failure, failure.what);
        if (!define_names.empty()) {  // kforge words it with "did you mean"
          problem.name_kind = "define";
          problem.unknown = name;
          problem.allowed = define_names;
        }
        throw problem;
      }
      conditions.push_back(std::move(condition));
    }
    return conditions;
  }

  const LocatedJson& root_;
};

}  // namespace

CheckedPlan read_launch_plan(const LocatedJson& plan) {
  return PlanReader(plan).read();
}

}  // namespace kforge::kernels
