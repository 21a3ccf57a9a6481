#include "kforge/kernels/launch.hpp"

#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "kforge/kernels/error.hpp"
#include "kforge/kernels/expression.hpp"

namespace kforge::kernels {
namespace {

template <typename T>
std::vector<unsigned char> bytes_of(T value) {
  std::vector<unsigned char> bytes(sizeof(T));
  std::memcpy(bytes.data(), &value, sizeof(T));
  return bytes;
}

// The bytes of integer `value` for a parameter of `type`; KernelError when it does not fit.
std::vector<unsigned char> integer_bytes(int64_t value, const std::string& type,
                                         const std::string& where) {
  auto fits = [&](int64_t low, int64_t high) {
    if (value < low || value > high)
      throw KernelError(
          "value " + std::to_string(value) + " does not fit the " + type + " parameter", where);
  };
  if (type == "int64" || type == "uint64")
    return type == "uint64" ? (fits(0, std::numeric_limits<int64_t>::max()), bytes_of(value))
                            : bytes_of(value);
  if (type == "int32")
    return fits(INT32_MIN, INT32_MAX), bytes_of(static_cast<int32_t>(value));
  if (type == "uint32")
    return fits(0, UINT32_MAX), bytes_of(static_cast<uint32_t>(value));
  if (type == "int16")
    return fits(INT16_MIN, INT16_MAX), bytes_of(static_cast<int16_t>(value));
  if (type == "uint16")
    return fits(0, UINT16_MAX), bytes_of(static_cast<uint16_t>(value));
  if (type == "int8")
    return fits(INT8_MIN, INT8_MAX), bytes_of(static_cast<int8_t>(value));
  if (type == "uint8" || type == "bool")
    return fits(0, type == "bool" ? 1 : UINT8_MAX), bytes_of(static_cast<uint8_t>(value));
  if (type == "float32")
    return bytes_of(static_cast<float>(value));
  if (type == "float64")
    return bytes_of(static_cast<double>(value));
  throw KernelError(
      "a parameter of type '" + (type.empty() ? "unknown" : type) + "' cannot take an integer",
      where);
}

std::string describe(const Argument& argument) {
  if (std::holds_alternative<Tensor>(argument))
    return "a tensor";
  return std::holds_alternative<int64_t>(argument) ? "an integer" : "a float";
}

}  // namespace

namespace {

struct DtypeSize {
  const char* name;
  size_t bytes;
};
constexpr DtypeSize kDtypes[] = {{"float64", 8}, {"float32", 4}, {"float16", 2}, {"bfloat16", 2},
                                 {"int64", 8},   {"int32", 4},   {"int16", 2},   {"int8", 1},
                                 {"uint8", 1},   {"bool", 1}};

}  // namespace

size_t dtype_size(const std::string& dtype) {
  for (const DtypeSize& known : kDtypes)
    if (dtype == known.name)
      return known.bytes;
  throw KernelError("unknown dtype '" + dtype + "'", "");
}

const std::vector<std::string>& dtype_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const DtypeSize& known : kDtypes)
      names.push_back(known.name);
    return names;
  }();
  return kNames;
}

PreparedLaunch prepare_launch(const ShippedKernel& kernel, const KernelFile& file,
                              const Arguments& arguments) {
  const std::string where = kernel.task + "/" + kernel.variant;
  if (!kernel.has_manifest || kernel.signature.empty())
    throw KernelError("the kernel has no manifest with a signature, so it cannot be launched",
                      where);

  // The call against the signature: every name, nothing else, the right kind, dtype and rank.
  std::string expected;
  for (const SignatureEntry& entry : kernel.signature)
    expected += (expected.empty() ? "" : ", ") + entry.name;
  if (arguments.size() != kernel.signature.size())
    throw KernelError("expects " + std::to_string(kernel.signature.size()) + " arguments (" +
                          expected + "), got " + std::to_string(arguments.size()),
                      where);
  for (const SignatureEntry& entry : kernel.signature) {
    const auto found = arguments.find(entry.name);
    if (found == arguments.end())
      throw KernelError("argument '" + entry.name + "' is missing (expects " + expected + ")",
                        where);
    const Argument& argument = found->second;
    if (entry.tensor) {
      const Tensor* tensor = std::get_if<Tensor>(&argument);
      if (!tensor)
        throw KernelError("argument '" + entry.name + "' must be a " + entry.dtype +
                              " tensor, not " + describe(argument),
                          where);
      if (tensor->dtype != entry.dtype)
        throw KernelError(
            "argument '" + entry.name + "' must be " + entry.dtype + ", not " + tensor->dtype,
            where);
      if (tensor->shape.size() != entry.rank)
        throw KernelError("argument '" + entry.name + "' must have " + std::to_string(entry.rank) +
                              " dimensions, not " + std::to_string(tensor->shape.size()),
                          where);
      for (int64_t extent : tensor->shape)
        if (extent < 0)
          throw KernelError("argument '" + entry.name + "' has a negative extent", where);
    } else if (std::holds_alternative<Tensor>(argument)) {
      throw KernelError(
          "argument '" + entry.name + "' is a scalar (" + entry.dtype + "), not a tensor", where);
    }
  }

  std::map<std::string, long long> defines;
  for (const DefineChoice& define : file.defines)
    defines[define.name] = define.default_value;
  for (const auto& [name, value] : kernel.defines)
    defines[name] = value;
  std::set<std::string> scratch_names;
  for (const PlannedScratch& scratch : file.scratch)
    scratch_names.insert(scratch.name);

  // Defines first: the first definition of a name wins, as the old lookup had it.
  ExpressionEnvironment scope;
  for (const auto& [name, value] : defines)
    scope.add(name, {NamedValue::Kind::kInteger, "define", {}, value, 0, true});
  for (const auto& [name, argument] : arguments) {
    if (const Tensor* tensor = std::get_if<Tensor>(&argument))
      scope.add(name, {NamedValue::Kind::kTensor, "tensor argument", tensor->shape, 0, 0, true});
    else if (const int64_t* integer = std::get_if<int64_t>(&argument))
      scope.add(name, {NamedValue::Kind::kInteger, "integer scalar", {}, *integer, 0, true});
    else
      scope.add(
          name,
          {NamedValue::Kind::kFloat, "float scalar", {}, 0, std::get<double>(argument), true});
  }

  // The plan's constraints, at this call's sizes with the values the kernel is compiled with:
  // a call where one does not hold is outside what kforge verified (its plan_error, reason
  // constraint), so it is refused rather than launched.
  for (size_t i = 0; i < file.constraints.size(); ++i) {
    if (evaluate_condition(file.constraints[i], scope) != 0)
      continue;
    std::string values;
    for (const auto& [name, value] : defines)
      values += (values.empty() ? "" : ", ") + name + "=" + std::to_string(value);
    throw KernelError("constraint " + std::to_string(i + 1) + " \"" + file.constraints[i] +
                          "\" does not hold for " + values + " at this call's sizes",
                      where);
  }

  PreparedLaunch prepared;
  for (const PlannedScratch& scratch : file.scratch) {
    const int64_t numel = evaluate_expression(scratch.numel, scope);
    if (numel < 0)
      throw KernelError("scratch '" + scratch.name + "' has a negative size", where);
    prepared.scratch.push_back(
        {scratch.name, static_cast<size_t>(numel) * dtype_size(scratch.dtype)});
    scope.add(scratch.name, {NamedValue::Kind::kTensor, "scratch buffer", {numel}, 0, 0, true});
  }
  for (const PlannedLaunch& launch : file.launches) {
    const std::string at = where + ": kernel " + launch.name;
    PreparedKernel out;
    out.name = launch.name;
    auto dimension = [&](const std::string& text) {
      const int64_t value = evaluate_expression(text, scope);
      if (value < 1 || value > std::numeric_limits<unsigned>::max())
        throw KernelError(
            "grid or block extent " + text + " = " + std::to_string(value) + " is out of range",
            at);
      return static_cast<unsigned>(value);
    };
    for (size_t i = 0; i < launch.grid.size(); ++i)
      out.grid[i] = dimension(launch.grid[i]);
    for (size_t i = 0; i < launch.block.size(); ++i)
      out.block[i] = dimension(launch.block[i]);
    const int64_t shared = evaluate_expression(launch.shared_bytes, scope);
    if (shared < 0 || shared > std::numeric_limits<unsigned>::max())
      throw KernelError("shared_bytes out of range", at);
    out.shared_bytes = static_cast<unsigned>(shared);

    const auto declared = kernel.parameters.find(launch.name);
    if (declared == kernel.parameters.end())
      throw KernelError("the manifest declares no parameters for this kernel", at);
    if (declared->second.size() != launch.args.size())
      throw KernelError("the plan passes " + std::to_string(launch.args.size()) +
                            " arguments, the kernel declares " +
                            std::to_string(declared->second.size()),
                        at);
    for (size_t i = 0; i < launch.args.size(); ++i) {
      const std::string& text = launch.args[i];
      const DeclaredParameter& parameter = declared->second[i];
      const std::string arg_where = at + ", argument " + std::to_string(i) + " '" + text + "'";
      PreparedArgument argument;
      const auto named = arguments.find(text);
      if (scratch_names.count(text)) {
        if (!parameter.pointer)
          throw KernelError("a scratch buffer needs a pointer parameter", arg_where);
        argument.buffer = text;
        argument.bytes.resize(sizeof(void*));
      } else if (named != arguments.end() && std::holds_alternative<Tensor>(named->second)) {
        if (!parameter.pointer)
          throw KernelError("a tensor needs a pointer parameter", arg_where);
        argument.bytes = bytes_of(std::get<Tensor>(named->second).data);
      } else if (named != arguments.end() && std::holds_alternative<double>(named->second)) {
        const double value = std::get<double>(named->second);
        if (parameter.value_type == "float32")
          argument.bytes = bytes_of(static_cast<float>(value));
        else if (parameter.value_type == "float64")
          argument.bytes = bytes_of(value);
        else
          throw KernelError("a float scalar needs a float32 or float64 parameter", arg_where);
      } else {
        if (parameter.pointer)
          throw KernelError("an integer expression cannot go to a pointer parameter", arg_where);
        argument.bytes =
            integer_bytes(evaluate_expression(text, scope), parameter.value_type, arg_where);
      }
      out.arguments.push_back(std::move(argument));
    }
    prepared.kernels.push_back(std::move(out));
  }
  return prepared;
}

namespace {

unsigned unsigned_in_range(int64_t value, int64_t lowest, const std::string& what,
                           const std::string& where) {
  if (value < lowest || value > std::numeric_limits<unsigned>::max())
    throw KernelError(what + " " + std::to_string(value) + " is out of range", where);
  return static_cast<unsigned>(value);
}

std::vector<unsigned char> bytes_from_hex(const std::string& hex, const std::string& where) {
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    throw KernelError("argument bytes '" + hex + "' are not hexadecimal", where);
  };
  if (hex.size() % 2 != 0)
    throw KernelError("argument bytes '" + hex + "' have an odd length", where);
  std::vector<unsigned char> bytes;
  for (size_t i = 0; i < hex.size(); i += 2)
    bytes.push_back(static_cast<unsigned char>(digit(hex[i]) * 16 + digit(hex[i + 1])));
  return bytes;
}

}  // namespace

PreparedLaunch prepared_launch_from_json(const std::string& json_text, const std::string& where) {
  using nlohmann::json;
  try {
    const json plan = json::parse(json_text);
    PreparedLaunch prepared;
    for (const json& entry : plan.at("launches")) {
      PreparedKernel kernel;
      kernel.name = entry.at("kernel").get<std::string>();
      const std::string at = where + ": kernel " + kernel.name;
      const auto grid = entry.at("grid").get<std::array<int64_t, 3>>();
      const auto block = entry.at("block").get<std::array<int64_t, 3>>();
      for (size_t i = 0; i < 3; ++i) {
        kernel.grid[i] = unsigned_in_range(grid[i], 1, "grid extent", at);
        kernel.block[i] = unsigned_in_range(block[i], 1, "block extent", at);
      }
      kernel.shared_bytes =
          unsigned_in_range(entry.at("shared_bytes").get<int64_t>(), 0, "shared_bytes", at);
      for (const json& item : entry.at("args")) {
        PreparedArgument argument;
        if (item.at("kind").get<std::string>() == "tensor") {
          argument.buffer = item.at("tensor").get<std::string>();
          argument.bytes.resize(sizeof(void*));
          if (argument.buffer.empty())
            throw KernelError("a tensor argument names no buffer", at);
        } else {
          argument.bytes = bytes_from_hex(item.at("bytes").get<std::string>(), at);
          if (argument.bytes.empty() ||
              argument.bytes.size() != item.value("width", argument.bytes.size()))
            throw KernelError("an argument has bytes of another width", at);
        }
        kernel.arguments.push_back(std::move(argument));
      }
      prepared.kernels.push_back(std::move(kernel));
    }
    for (const json& entry : plan.value("scratch", json::array())) {
      const std::string name = entry.at("name").get<std::string>();
      const int64_t bytes = entry.at("bytes").get<int64_t>();
      if (bytes < 0)
        throw KernelError("scratch buffer '" + name + "' has a negative size", where);
      prepared.scratch.push_back({name, static_cast<size_t>(bytes)});
    }
    return prepared;
  } catch (const json::exception& bad) {
    throw KernelError(std::string("the plan is malformed: ") + bad.what(), where);
  }
}

}  // namespace kforge::kernels
