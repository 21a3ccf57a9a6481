#include "harness/candidate/plan_validation.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>

#include "harness/util/error.hpp"
#include "harness/util/strings.hpp"

namespace kforge {
namespace {

const std::array<const char*, 3> kAxes = {"x", "y", "z"};

std::string integer_range(ScalarType type, int64_t& low, uint64_t& high) {
  size_t bits = scalar_type_size(type) * 8;
  if (type == ScalarType::kBool) {
    low = 0;
    high = 1;
    return "bool: 0 or 1";
  }
  if (scalar_type_is_signed(type)) {
    low = bits == 64 ? INT64_MIN : -(int64_t{1} << (bits - 1));
    high = bits == 64 ? uint64_t{INT64_MAX} : (uint64_t{1} << (bits - 1)) - 1;
    return std::to_string(bits) + "-bit signed: " + std::to_string(low) + " to " +
           std::to_string(high);
  }
  low = 0;
  high = bits == 64 ? UINT64_MAX : (uint64_t{1} << bits) - 1;
  return std::to_string(bits) + "-bit unsigned: 0 to " + std::to_string(high);
}

class Binder {
 public:
  Binder(const LaunchPlan& plan, const std::vector<KernelDeclaration>& kernels,
         const std::vector<PtxEntry>& entries, const Signature& signature,
         const std::map<std::string, int64_t>& define_values, const Limits& limits,
         const std::vector<KernelFootprint>& footprints)
      : plan_(plan),
        kernels_(kernels),
        entries_(entries),
        signature_(signature),
        define_values_(define_values),
        limits_(limits),
        footprints_(footprints) {}

  ResolvedPlan bind() {
    check_kernel_count();
    check_constraints_only();
    add_scratch();
    for (const KernelLaunch& launch : plan_.kernels)
      resolved_.launches.push_back(bind_launch(launch));
    return std::move(resolved_);
  }

  // The checks of bind() that need no compile (check_plan_limits): the kernel count, the
  // constraints, the scratch memory and every launch's dimensions and dynamic shared memory.
  void check_limits_only() {
    check_kernel_count();
    check_constraints_only();
    add_scratch();
    for (const KernelLaunch& launch : plan_.kernels)
      launch_shape(launch, launch.where + ": kernel '" + launch.name + "'");
  }

  // The signature's names and the defines, then the constraints over them.
  void check_constraints_only() {
    add_signature();
    add_defines();
    check_constraints(plan_, environment_, resolved_.defines);
  }

 private:
  void check_kernel_count() const {
    if (static_cast<int64_t>(plan_.kernels.size()) > limits_.max_kernels)
      throw PlanError(plan_.kernels[limits_.max_kernels].where + ": the plan launches " +
                      std::to_string(plan_.kernels.size()) + " kernels, over the limit of " +
                      std::to_string(limits_.max_kernels));
  }

  void add_tensors(const std::vector<TensorSpec>& specs, TensorRole role) {
    for (const TensorSpec& spec : specs) {
      NamedValue value;
      roles_[spec.name] = role;
      if (spec.kind == ArgumentKind::kTensor) {
        value.kind = NamedValue::Kind::kTensor;
        value.role = std::string(tensor_role_name(role));
        value.shape = spec.shape;
      } else if (dtype_is_floating(spec.dtype)) {
        value.kind = NamedValue::Kind::kFloat;
        value.role = "scalar input";
        value.real = spec.scalar.value_or(0.0);
      } else {
        value.kind = NamedValue::Kind::kInteger;
        value.role = "integer scalar input";
        value.integer = static_cast<int64_t>(spec.scalar.value_or(0.0));
      }
      value.has_value = spec.kind == ArgumentKind::kTensor || spec.scalar.has_value();
      environment_.add(spec.name, std::move(value));
    }
  }

  void add_signature() {
    add_tensors(signature_.inputs, TensorRole::kInput);
    add_tensors(signature_.parameters, TensorRole::kParameter);
    add_tensors(signature_.outputs, TensorRole::kOutput);
  }

  void add_defines() {
    std::vector<std::string> names;
    for (const DefineSpec& spec : plan_.defines)
      names.push_back(spec.name);
    std::set<std::string_view> declared(names.begin(), names.end());  // O(n log n), not O(n^2)
    for (const auto& [name, value] : define_values_) {
      if (!declared.count(name))
        throw PlanError(names.empty() ? "define '" + name +
                                            "' is given a value, but the plan declares no defines"
                                      : strings::unknown_name_message("define", name, names));
    }
    for (const DefineSpec& spec : plan_.defines) {
      if (const NamedValue* clash = environment_.find(spec.name))
        throw PlanError(spec.where + ": define '" + spec.name + "' has the name of the task's " +
                        clash->role + " '" + spec.name + "'; rename the define");
      auto chosen = define_values_.find(spec.name);
      NamedValue value;
      value.kind = NamedValue::Kind::kInteger;
      value.role = "define";
      value.integer = chosen == define_values_.end() ? spec.default_value : chosen->second;
      resolved_.defines[spec.name] = value.integer;
      environment_.add(spec.name, value);
    }
  }

  void add_scratch() {
    int64_t total = 0;
    for (const ScratchBuffer& buffer : plan_.scratch) {
      if (const NamedValue* clash = environment_.find(buffer.name))
        throw PlanError(buffer.where + ": scratch buffer '" + buffer.name +
                        "' has the name of the task's " + clash->role + " '" + buffer.name +
                        "'; rename the buffer");
      ScratchAllocation allocation;
      allocation.name = buffer.name;
      allocation.dtype = buffer.dtype;
      allocation.numel = buffer.numel.evaluate_size(environment_);
      if (__builtin_mul_overflow(allocation.numel, static_cast<int64_t>(dtype_size(buffer.dtype)),
                                 &allocation.bytes) ||
          __builtin_add_overflow(total, allocation.bytes, &total) ||
          total > limits_.max_scratch_bytes)
        buffer.numel.fail("brings the scratch memory of the plan over the limit of " +
                          std::to_string(limits_.max_scratch_bytes) + " bytes (" +
                          std::to_string(allocation.numel) + " elements of " +
                          std::string(dtype_torch_name(buffer.dtype)) + ")");
      NamedValue value;
      value.kind = NamedValue::Kind::kTensor;
      value.role = "scratch buffer";
      value.shape = {allocation.numel};
      environment_.add(buffer.name, value);
      roles_[buffer.name] = TensorRole::kScratch;
      resolved_.scratch.push_back(allocation);
    }
  }

  std::vector<std::string> extern_c_names() const {
    std::vector<std::string> names;
    for (const KernelDeclaration& kernel : kernels_) {
      if (kernel.extern_c)
        names.push_back(kernel.name);
    }
    return names;
  }

  const KernelDeclaration& declaration(const KernelLaunch& launch) const {
    const KernelDeclaration* kernel = find_kernel(kernels_, launch.name);
    std::string at = launch.where + ": ";
    if (!kernel) {
      if (find_entry(entries_, launch.name))
        throw PlanError(at + "kernel '" + launch.name +
                        "' is in the compiled PTX but its extern \"C\" __global__ declaration "
                        "cannot be read from the source (kernels made by macros are not "
                        "supported): declare it plainly");
      std::vector<std::string> names = extern_c_names();
      if (names.empty())
        throw PlanError(at + "kernel '" + launch.name +
                        "' is not in the source, which declares no extern \"C\" __global__ "
                        "kernel");
      throw PlanError(at + strings::unknown_name_message("kernel", launch.name, names));
    }
    if (!kernel->extern_c)
      throw PlanError(at + "kernel '" + launch.name + "' (" + kernel->location +
                      ") is not declared extern \"C\", so its compiled name is mangled; "
                      "declare it extern \"C\" __global__");
    return *kernel;
  }

  std::array<int64_t, 3> dimensions(const std::vector<Expression>& expressions,
                                    const std::array<int64_t, 3>& maxima, const char* what) {
    std::array<int64_t, 3> values = {1, 1, 1};
    for (size_t axis = 0; axis < expressions.size(); ++axis) {
      const Expression& expression = expressions[axis];
      values[axis] = expression.evaluate_size(environment_);
      if (values[axis] == 0)
        expression.fail("is 0; every " + std::string(what) + " dimension must be at least 1");
      if (values[axis] > maxima[axis])
        expression.fail("is " + std::to_string(values[axis]) + ", over the limit of " +
                        std::to_string(maxima[axis]) + " for " + what + " dimension " +
                        kAxes[axis]);
    }
    return values;
  }

  // The launch's grid, block and dynamic shared memory, each within the limits.
  ResolvedLaunch launch_shape(const KernelLaunch& launch, const std::string& at) {
    ResolvedLaunch resolved;
    resolved.kernel = launch.name;
    resolved.grid = dimensions(launch.grid, limits_.max_grid, "grid");
    resolved.block = dimensions(launch.block, limits_.max_block, "block");
    int64_t threads = resolved.block[0] * resolved.block[1] * resolved.block[2];
    if (threads > limits_.max_threads_per_block)
      throw PlanError(at + ": a block of " + std::to_string(resolved.block[0]) + " x " +
                      std::to_string(resolved.block[1]) + " x " +
                      std::to_string(resolved.block[2]) + " = " + std::to_string(threads) +
                      " threads is over the limit of " +
                      std::to_string(limits_.max_threads_per_block));
    resolved.shared_bytes = launch.shared_bytes.evaluate_size(environment_);
    if (resolved.shared_bytes > limits_.max_dynamic_shared_bytes)
      launch.shared_bytes.fail("is " + std::to_string(resolved.shared_bytes) +
                               " bytes, over the dynamic shared memory limit of " +
                               std::to_string(limits_.max_dynamic_shared_bytes));
    return resolved;
  }

  ResolvedLaunch bind_launch(const KernelLaunch& launch) {
    const KernelDeclaration& kernel = declaration(launch);
    std::string at = launch.where + ": kernel '" + launch.name + "'";
    const PtxEntry* entry = find_entry(entries_, launch.name);
    if (!entry)
      throw PlanError(at + " is declared (" + kernel.location +
                      ") but not defined: the compiled PTX has no .entry for it");
    if (entry->parameters.size() != kernel.parameters.size())
      throw PlanError(at + ": its declaration (" + kernel.location + ") has " +
                      std::to_string(kernel.parameters.size()) +
                      " parameters but its PTX .entry has " +
                      std::to_string(entry->parameters.size()));
    if (launch.args.size() != entry->parameters.size()) {
      std::vector<std::string> described;
      for (size_t i = 0; i < kernel.parameters.size(); ++i) {
        const KernelParameter& parameter = kernel.parameters[i];
        described.push_back(parameter.type + (parameter.name.empty() ? "" : " " + parameter.name));
      }
      throw PlanError(at + " takes " + std::to_string(entry->parameters.size()) + " parameters (" +
                      strings::join(described, ", ") + ") but the plan passes " +
                      std::to_string(launch.args.size()) + " arguments");
    }
    ResolvedLaunch resolved = launch_shape(launch, at);
    check_compiled_limits(launch, *entry, resolved, at);
    for (size_t i = 0; i < launch.args.size(); ++i)
      resolved.args.push_back(
          bind_argument(launch.args[i], kernel.parameters[i], entry->parameters[i], i));
    return resolved;
  }

  const KernelFootprint* footprint(const std::string& name) const {
    for (const KernelFootprint& kernel : footprints_) {
      if (kernel.name == name)
        return &kernel;
    }
    return nullptr;
  }

  // What the compiled kernel allows: a launch over it is refused by the driver, so it is the
  // plan's error, found before anything runs.
  void check_compiled_limits(const KernelLaunch& launch, const PtxEntry& entry,
                             const ResolvedLaunch& resolved, const std::string& at) const {
    const std::array<int64_t, 3>& block = resolved.block;
    int64_t threads = block[0] * block[1] * block[2];
    std::string block_text = std::to_string(block[0]) + " x " + std::to_string(block[1]) + " x " +
                             std::to_string(block[2]);
    if (entry.max_threads > 0 && threads > entry.max_threads)
      throw PlanError(at + ": a block of " + block_text + " = " + std::to_string(threads) +
                      " threads is over the kernel's __launch_bounds__ of " +
                      std::to_string(entry.max_threads) + " threads (.maxntid in its PTX)");
    if (!entry.required_block.empty()) {
      std::array<int64_t, 3> required = {1, 1, 1};
      std::copy(entry.required_block.begin(), entry.required_block.end(), required.begin());
      if (required != block)
        throw PlanError(at + ": a block of " + block_text + " threads, but the kernel requires " +
                        std::to_string(required[0]) + " x " + std::to_string(required[1]) + " x " +
                        std::to_string(required[2]) + " (.reqntid in its PTX)");
    }
    const KernelFootprint* compiled = footprint(launch.name);
    if (compiled && compiled->registers > 0) {
      int64_t warps = (threads + 31) / 32;
      int64_t per_warp = (compiled->registers * int64_t{32} + kRegisterAllocationUnit - 1) /
                         kRegisterAllocationUnit * kRegisterAllocationUnit;
      if (warps * per_warp > kMaxRegistersPerBlock)
        throw PlanError(
            at + ": a block of " + std::to_string(threads) + " threads needs " +
            std::to_string(warps * per_warp) + " registers (" +
            std::to_string(compiled->registers) + " per thread, allocated per warp), over the " +
            std::to_string(kMaxRegistersPerBlock) + " a block may have: at most " +
            std::to_string(kMaxRegistersPerBlock / per_warp * 32) + " threads per block");
    }
    int64_t static_shared =
        compiled && compiled->static_shared_bytes > 0 ? compiled->static_shared_bytes : 0;
    if (static_shared > 0 &&
        static_shared + resolved.shared_bytes > limits_.max_dynamic_shared_bytes)
      launch.shared_bytes.fail("is " + std::to_string(resolved.shared_bytes) +
                               " bytes of dynamic shared memory; with the kernel's " +
                               std::to_string(static_shared) +
                               " bytes of static shared memory that is " +
                               std::to_string(static_shared + resolved.shared_bytes) +
                               " bytes per block, over the limit of " +
                               std::to_string(limits_.max_dynamic_shared_bytes));
  }

  ResolvedArgument bind_argument(const Expression& argument, const KernelParameter& parameter,
                                 const PtxParameter& ptx, size_t index) {
    std::string described = parameter.describe(index);
    std::optional<std::string> name = argument.bare_name();
    const NamedValue* named = name ? environment_.find(*name) : nullptr;
    ResolvedArgument resolved;
    if (parameter.pointer) {
      if (named && named->kind == NamedValue::Kind::kTensor) {
        if (ptx.size != 8)
          argument.fail(described + " is a pointer in the source but " + std::to_string(ptx.size) +
                        " bytes in the PTX");
        resolved.kind = ResolvedArgument::Kind::kTensor;
        resolved.tensor = *name;
        resolved.role = roles_.at(*name);
        return resolved;
      }
      if (name && !named) {
        std::vector<std::string> tensors;
        for (const std::string& known : environment_.names()) {
          if (environment_.find(known)->kind == NamedValue::Kind::kTensor)
            tensors.push_back(known);
        }
        argument.fail(described + " is a pointer, and " +
                      strings::unknown_name_message("tensor", *name, tensors));
      }
      argument.fail(described + " is a pointer: pass a tensor or scratch buffer name" +
                    (named ? std::string(", not the ") + named->role + " '" + *name + "'" : ""));
    }
    if (named && named->kind == NamedValue::Kind::kTensor)
      argument.fail("'" + *name + "' is a tensor (" + named->role + "), but " + described +
                    " is a value, not a pointer");
    if (!parameter.value_type)
      argument.fail(described +
                    " is a value of a type a launch plan cannot pass (it passes "
                    "pointers, integers and floating-point scalars)");
    ScalarType type = *parameter.value_type;
    if (scalar_type_size(type) != ptx.size)
      argument.fail(described + " is " + std::to_string(scalar_type_size(type)) +
                    " bytes in the source but " + std::to_string(ptx.size) + " in the PTX");
    resolved.type = type;
    resolved.width = ptx.size;
    if (named && !named->has_value)
      argument.fail("the signature records no value for the " + named->role + " '" + *name + "'");
    if (named && named->kind == NamedValue::Kind::kFloat) {
      if (!scalar_type_is_floating(type))
        argument.fail("'" + *name + "' is a floating-point " + named->role + ", but " + described +
                      " is an integer");
      resolved.kind = ResolvedArgument::Kind::kFloat;
      resolved.real = named->real;
      return resolved;
    }
    if (scalar_type_is_floating(type))
      argument.fail(described +
                    " is floating-point: pass a float scalar input of the task, "
                    "not an integer expression");
    int64_t value = argument.evaluate(environment_);
    int64_t low = 0;
    uint64_t high = 0;
    std::string range = integer_range(type, low, high);
    if (value < low || (value > 0 && static_cast<uint64_t>(value) > high))
      argument.fail("is " + std::to_string(value) + ", which does not fit " + described + " (" +
                    range + ")");
    resolved.kind = ResolvedArgument::Kind::kInteger;
    resolved.integer = value;
    return resolved;
  }

  const LaunchPlan& plan_;
  const std::vector<KernelDeclaration>& kernels_;
  const std::vector<PtxEntry>& entries_;
  const Signature& signature_;
  const std::map<std::string, int64_t>& define_values_;
  const Limits& limits_;
  const std::vector<KernelFootprint>& footprints_;
  ExpressionEnvironment environment_;
  std::map<std::string, TensorRole> roles_;
  ResolvedPlan resolved_;
};

// IEEE-style binary floating point with `exponent_bits` and `mantissa_bits`, rounded to nearest
// even from a double: float16 (5, 10) and bfloat16 (8, 7).
uint32_t encode_narrow_float(double value, int exponent_bits, int mantissa_bits) {
  uint32_t sign = std::signbit(value) ? 1u << (exponent_bits + mantissa_bits) : 0u;
  uint32_t infinity = ((1u << exponent_bits) - 1) << mantissa_bits;
  if (std::isnan(value))
    return infinity | (1u << (mantissa_bits - 1));
  double magnitude = std::fabs(value);
  int bias = (1 << (exponent_bits - 1)) - 1;
  int min_exponent = 1 - bias;
  if (std::isinf(magnitude))
    return sign | infinity;
  if (magnitude < std::ldexp(1.0, min_exponent)) {
    // Subnormal: units of the smallest subnormal; rounding up to 2^mantissa_bits lands exactly
    // on the smallest normal's encoding.
    auto units =
        static_cast<uint32_t>(std::nearbyint(std::ldexp(magnitude, mantissa_bits - min_exponent)));
    return sign | units;
  }
  int exponent = std::ilogb(magnitude);
  double fraction = std::ldexp(magnitude, -exponent) - 1.0;
  auto mantissa = static_cast<uint32_t>(std::nearbyint(std::ldexp(fraction, mantissa_bits)));
  if (mantissa == (1u << mantissa_bits)) {
    mantissa = 0;
    ++exponent;
  }
  if (exponent > bias)
    return sign | infinity;
  return sign | (static_cast<uint32_t>(exponent + bias) << mantissa_bits) | mantissa;
}

template <typename T>
std::string little_endian(T value) {
  std::string bytes(sizeof(T), '\0');
  std::memcpy(bytes.data(), &value, sizeof(T));  // every host kforge runs on is little-endian
  return bytes;
}

const char* argument_kind_name(ResolvedArgument::Kind kind) {
  switch (kind) {
    case ResolvedArgument::Kind::kTensor:
      return "tensor";
    case ResolvedArgument::Kind::kInteger:
      return "integer";
    case ResolvedArgument::Kind::kFloat:
      return "float";
  }
  return "?";
}

}  // namespace

std::string_view tensor_role_name(TensorRole role) {
  switch (role) {
    case TensorRole::kInput:
      return "input";
    case TensorRole::kParameter:
      return "parameter";
    case TensorRole::kOutput:
      return "output";
    case TensorRole::kScratch:
      return "scratch";
  }
  return "?";
}

Limits Limits::from_config(const Config& config) {
  Limits limits;
  limits.max_kernels = config.integer("plan.max_kernels");
  limits.max_dynamic_shared_bytes = config.integer("plan.max_shared_bytes");
  limits.max_scratch_bytes = config.integer("plan.max_scratch_bytes");
  return limits;
}

std::optional<int64_t> shared_bytes_per_block_opt_in(std::string_view arch) {
  // The CUDA programming guide's "maximum amount of shared memory per thread block" after the
  // opt-in, per compute capability; an `a` or `f` suffix targets the same hardware.
  static const std::map<std::string_view, int64_t> kOptIn = {
      {"sm_70", 96 * 1024},   {"sm_72", 96 * 1024},   {"sm_75", 64 * 1024},
      {"sm_80", 163 * 1024},  {"sm_86", 99 * 1024},   {"sm_87", 163 * 1024},
      {"sm_89", 99 * 1024},   {"sm_90", 227 * 1024},  {"sm_100", 227 * 1024},
      {"sm_101", 227 * 1024}, {"sm_103", 227 * 1024}, {"sm_110", 227 * 1024},
      {"sm_120", 99 * 1024},  {"sm_121", 99 * 1024}};
  while (!arch.empty() && (arch.back() == 'a' || arch.back() == 'f'))
    arch.remove_suffix(1);
  auto found = kOptIn.find(arch);
  if (found == kOptIn.end())
    return std::nullopt;
  return found->second;
}

Limits Limits::for_arch(std::string_view arch) const {
  Limits limits = *this;
  if (auto opt_in = shared_bytes_per_block_opt_in(arch))
    limits.max_dynamic_shared_bytes = std::min(limits.max_dynamic_shared_bytes, *opt_in);
  return limits;
}

std::string ResolvedArgument::value_bytes() const {
  if (kind == Kind::kTensor)
    return {};
  std::string bytes;
  if (kind == Kind::kFloat) {
    switch (type) {
      case ScalarType::kFloat16:
        bytes = little_endian(static_cast<uint16_t>(encode_narrow_float(real, 5, 10)));
        break;
      case ScalarType::kBFloat16:
        bytes = little_endian(static_cast<uint16_t>(encode_narrow_float(real, 8, 7)));
        break;
      case ScalarType::kFloat32:
        bytes = little_endian(static_cast<float>(real));
        break;
      default:
        bytes = little_endian(real);
        break;
    }
  } else {
    bytes = little_endian(integer);  // two's complement: the low bytes are the narrower value
  }
  bytes.resize(width, '\0');
  return bytes;
}

nlohmann::json ResolvedPlan::to_json() const {
  nlohmann::json json = {{"launches", nlohmann::json::array()},
                         {"scratch", nlohmann::json::array()},
                         {"defines", defines}};
  for (const ResolvedLaunch& launch : launches) {
    nlohmann::json args = nlohmann::json::array();
    for (const ResolvedArgument& argument : launch.args) {
      nlohmann::json entry = {{"kind", argument_kind_name(argument.kind)}};
      if (argument.kind == ResolvedArgument::Kind::kTensor) {
        entry["tensor"] = argument.tensor;
        entry["role"] = tensor_role_name(argument.role);
      } else {
        entry["type"] = scalar_type_name(argument.type);
        entry["width"] = argument.width;
        if (argument.kind == ResolvedArgument::Kind::kInteger)
          entry["value"] = argument.integer;
        else
          entry["value"] = argument.real;
        // The exact parameter bytes, so a GPU worker (sandbox/, which may not use this file)
        // copies them without converting types itself.
        static constexpr char kHex[] = "0123456789abcdef";
        std::string hex;
        for (unsigned char byte : argument.value_bytes()) {
          hex.push_back(kHex[byte >> 4]);
          hex.push_back(kHex[byte & 15]);
        }
        entry["bytes"] = hex;
      }
      args.push_back(entry);
    }
    json["launches"].push_back({{"kernel", launch.kernel},
                                {"grid", launch.grid},
                                {"block", launch.block},
                                {"shared_bytes", launch.shared_bytes},
                                {"args", args}});
  }
  for (const ScratchAllocation& allocation : scratch) {
    json["scratch"].push_back({{"name", allocation.name},
                               {"dtype", dtype_torch_name(allocation.dtype)},
                               {"numel", allocation.numel},
                               {"bytes", allocation.bytes}});
  }
  return json;
}

ResolvedPlan ResolvedPlan::from_json(const nlohmann::json& json, const std::string& where) {
  try {
    ResolvedPlan plan;
    plan.defines = json.at("defines").get<std::map<std::string, int64_t>>();
    for (const auto& entry : json.at("launches")) {
      ResolvedLaunch launch;
      launch.kernel = entry.at("kernel").get<std::string>();
      launch.grid = entry.at("grid").get<std::array<int64_t, 3>>();
      launch.block = entry.at("block").get<std::array<int64_t, 3>>();
      launch.shared_bytes = entry.at("shared_bytes").get<int64_t>();
      for (const auto& item : entry.at("args")) {
        ResolvedArgument argument;
        std::string kind = item.at("kind").get<std::string>();
        if (kind == "tensor") {
          argument.kind = ResolvedArgument::Kind::kTensor;
          argument.tensor = item.at("tensor").get<std::string>();
          std::string role = item.at("role").get<std::string>();
          bool known = false;
          for (TensorRole candidate : {TensorRole::kInput, TensorRole::kParameter,
                                       TensorRole::kOutput, TensorRole::kScratch}) {
            if (tensor_role_name(candidate) == role) {
              argument.role = candidate;
              known = true;
            }
          }
          if (!known)
            throw Error("unknown tensor role '" + role + "'", where);
        } else if (kind == "integer" || kind == "float") {
          auto type = scalar_type_from_name(item.at("type").get<std::string>());
          if (!type)
            throw Error("unknown argument type '" + item.at("type").get<std::string>() + "'",
                        where);
          argument.type = *type;
          argument.width = item.at("width").get<size_t>();
          if (kind == "integer") {
            argument.kind = ResolvedArgument::Kind::kInteger;
            argument.integer = item.at("value").get<int64_t>();
          } else {
            argument.kind = ResolvedArgument::Kind::kFloat;
            argument.real = item.at("value").get<double>();
          }
        } else {
          throw Error("unknown argument kind '" + kind + "'", where);
        }
        launch.args.push_back(argument);
      }
      plan.launches.push_back(std::move(launch));
    }
    for (const auto& entry : json.at("scratch")) {
      ScratchAllocation allocation;
      allocation.name = entry.at("name").get<std::string>();
      auto dtype = dtype_from_torch_name(entry.at("dtype").get<std::string>());
      if (!dtype)
        throw Error("unknown scratch dtype '" + entry.at("dtype").get<std::string>() + "'", where);
      allocation.dtype = *dtype;
      allocation.numel = entry.at("numel").get<int64_t>();
      allocation.bytes = entry.at("bytes").get<int64_t>();
      plan.scratch.push_back(allocation);
    }
    return plan;
  } catch (const nlohmann::json::exception& failure) {
    throw Error(std::string("malformed resolved plan: ") + failure.what(), where);
  }
}

PlanResult<ResolvedPlan> bind_plan(const LaunchPlan& plan,
                                   const std::vector<KernelDeclaration>& kernels,
                                   const std::vector<PtxEntry>& entries, const Signature& signature,
                                   const std::map<std::string, int64_t>& define_values,
                                   const Limits& limits,
                                   const std::vector<KernelFootprint>& footprints) {
  try {
    return Binder(plan, kernels, entries, signature, define_values, limits, footprints).bind();
  } catch (const PlanError& error) {
    return error;
  }
}

PlanResult<bool> check_plan_constraints(const LaunchPlan& plan, const Signature& signature,
                                        const std::map<std::string, int64_t>& define_values) {
  try {
    Binder(plan, {}, {}, signature, define_values, Limits{}, {}).check_constraints_only();
    return true;
  } catch (const PlanError& error) {
    return error;
  }
}

PlanResult<bool> check_plan_limits(const LaunchPlan& plan, const Signature& signature,
                                   const std::map<std::string, int64_t>& define_values,
                                   const Limits& limits) {
  try {
    Binder(plan, {}, {}, signature, define_values, limits, {}).check_limits_only();
    return true;
  } catch (const PlanError& error) {
    return error;
  }
}

PlanResult<ResolvedPlan> bind_candidate(const CandidateFile& candidate, std::string_view ptx,
                                        const Signature& signature,
                                        const std::map<std::string, int64_t>& define_values,
                                        const Limits& limits,
                                        const std::vector<KernelFootprint>& footprints) {
  std::vector<PtxEntry> entries = parse_ptx_entries(ptx, candidate.file_name() + " (PTX)");
  return bind_plan(candidate.plan, candidate.kernels, entries, signature, define_values, limits,
                   footprints);
}

}  // namespace kforge
