#include "datasets/export/kernelbench_module.hpp"

#include <map>
#include <regex>

#include <nlohmann/json.hpp>

#include "datasets/export/source_tokens.hpp"
#include "harness/util/strings.hpp"

namespace kforge::dataset {

using nlohmann::json;

namespace {

// The runtime half of every generated module. It reads the KFORGE_* constants defined above it.
constexpr std::string_view kRuntime = R"py(
import ast as _kforge_ast
import inspect as _kforge_inspect
import re as _kforge_re

_KFORGE_DTYPES = {
    "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16,
    "float64": torch.float64, "int8": torch.int8, "uint8": torch.uint8, "int16": torch.int16,
    "int32": torch.int32, "int64": torch.int64, "bool": torch.bool,
}
_KFORGE_NAME = _kforge_re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")


class _KforgeSizes:
    """What a plan expression may ask of a tensor: .shape[i] and .numel."""

    def __init__(self, tensor):
        self.shape = tuple(int(size) for size in tensor.shape)
        self.numel = int(tensor.numel())


def _kforge_mangle(name):
    return name.replace(".", "__kforge_dot__")


def _kforge_div(a, b):
    """`/` of plan expressions: C's integer division, truncating toward zero (-7 / 2 == -3)."""
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _kforge_mod(a, b):
    """`%` of plan expressions: C's remainder, with the sign of `a` (-7 % 2 == -1)."""
    return a - b * _kforge_div(a, b)


_KFORGE_FUNCTIONS = {
    "ceil_div": lambda a, b: -(-a // b), "min": min, "max": max,
    "_kforge_div": _kforge_div, "_kforge_mod": _kforge_mod,
}


class _KforgeIntegerArithmetic(_kforge_ast.NodeTransformer):
    """Python's / and % round toward minus infinity; the plan's follow C, as kforge evaluates them."""

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, (_kforge_ast.Div, _kforge_ast.Mod)):
            name = "_kforge_div" if isinstance(node.op, _kforge_ast.Div) else "_kforge_mod"
            call = _kforge_ast.Call(_kforge_ast.Name(name, _kforge_ast.Load()),
                                    [node.left, node.right], [])
            return _kforge_ast.copy_location(call, node)
        return node


def _kforge_translate(expression):
    # Plan expressions are 64-bit integer arithmetic as in C. Dotted state_dict keys
    # (conv.weight) become single Python names; .shape and .numel stay attributes.
    def rename(match):
        chain, suffix = match.group(0), ""
        for attribute in (".shape", ".numel"):
            if chain.endswith(attribute):
                chain, suffix = chain[: -len(attribute)], attribute
                break
        return _kforge_mangle(chain) + suffix
    tree = _kforge_ast.parse(_KFORGE_NAME.sub(rename, str(expression)), mode="eval")
    tree = _kforge_ast.fix_missing_locations(_KforgeIntegerArithmetic().visit(tree))
    return compile(tree, "<kforge plan expression>", "eval")


def _kforge_evaluate(expression, names):
    value = eval(_kforge_translate(expression), {"__builtins__": {}, **_KFORGE_FUNCTIONS}, names)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not -2**63 <= value < 2**63:
        raise OverflowError("plan expression %s = %d does not fit in 64 bits" % (expression, value))
    return value


def _kforge_dim3(values, names):
    dims = [int(_kforge_evaluate(value, names)) for value in values]
    return tuple(dims + [1] * (3 - len(dims)))


def kforge_bind(model, inputs):
    """Names -> tensors/scalars: forward()'s parameters, state_dict keys, outputs, scratch."""
    parameters = list(_kforge_inspect.signature(Model.forward).parameters)[1:]
    values = dict(zip(parameters, inputs))
    device = next((v.device for v in inputs if isinstance(v, torch.Tensor)), torch.device("cpu"))
    for key, tensor in model.state_dict().items():
        values[key] = tensor.contiguous()
    for name in list(values):
        if isinstance(values[name], torch.Tensor):
            values[name] = values[name].contiguous()
    if KFORGE_OUTPUTS is not None:
        outputs = [torch.empty(spec["shape"], dtype=_KFORGE_DTYPES[spec["dtype"]], device=device)
                   for spec in KFORGE_OUTPUTS]
    else:
        # No signature in the store: learn the output shapes from the reference once per input
        # shape (the values are discarded; only the kernel's outputs are returned).
        key = tuple(tuple(v.shape) for v in inputs if isinstance(v, torch.Tensor))
        if key not in model._kforge_output_specs:
            with torch.no_grad():
                result = Model.forward(model, *inputs)
            result = result if isinstance(result, tuple) else (result,)
            model._kforge_output_specs[key] = [(tuple(r.shape), r.dtype) for r in result]
        outputs = [torch.empty(shape, dtype=dtype, device=device)
                   for shape, dtype in model._kforge_output_specs[key]]
    if len(outputs) == 1 and not KFORGE_OUTPUT_TUPLE:
        values["out"] = outputs[0]
    else:
        for index, tensor in enumerate(outputs):
            values["out%d" % index] = tensor
    return values, outputs


def kforge_launch_plan(model, *inputs):
    """The launches the plan asks for, evaluated for these inputs (no GPU needed)."""
    values, outputs = kforge_bind(model, inputs)
    names = dict(KFORGE_DEFINES)
    for name, value in values.items():
        names[_kforge_mangle(name)] = _KforgeSizes(value) if isinstance(value, torch.Tensor) else value
    device = outputs[0].device
    for scratch in KFORGE_PLAN.get("scratch", []):
        tensor = torch.empty(int(_kforge_evaluate(scratch["numel"], names)),
                             dtype=_KFORGE_DTYPES[scratch["dtype"]], device=device)
        values[scratch["name"]] = tensor
        names[_kforge_mangle(scratch["name"])] = _KforgeSizes(tensor)
    launches = []
    for kernel in KFORGE_PLAN["kernels"]:
        kinds = KFORGE_PARAMETER_KINDS[kernel["name"]]
        if len(kinds) != len(kernel["args"]):
            raise ValueError("kernel %s takes %d arguments, the plan gives %d"
                             % (kernel["name"], len(kinds), len(kernel["args"])))
        arguments = []
        for kind, argument in zip(kinds, kernel["args"]):
            if kind == "pointer":
                arguments.append((kind, values[argument]))
            elif kind.startswith("unknown:"):
                raise ValueError("cannot pass a %s to kernel %s" % (kind[8:], kernel["name"]))
            else:
                arguments.append((kind, _kforge_evaluate(argument, names)))
        launches.append({
            "name": kernel["name"],
            "grid": _kforge_dim3(kernel["grid"], names),
            "block": _kforge_dim3(kernel["block"], names),
            "shared_bytes": int(_kforge_evaluate(kernel.get("shared_bytes", "0"), names)),
            "arguments": arguments,
        })
    return launches, outputs


class ModelNew(Model):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kforge_module = None
        self._kforge_output_specs = {}

    def _kforge_compiled(self):
        if self._kforge_module is None:
            import cupy
            options = ("--std=c++17",) + tuple(
                "-D%s=%s" % (name, value) for name, value in sorted(KFORGE_DEFINES.items()))
            self._kforge_module = cupy.RawModule(code=KFORGE_SOURCE, options=options,
                                                 backend="nvrtc")
        return self._kforge_module

    def forward(self, *inputs):
        import cupy
        import numpy
        converters = {"int32": numpy.int32, "int64": numpy.int64, "uint32": numpy.uint32,
                      "uint64": numpy.uint64, "float32": numpy.float32,
                      "float64": numpy.float64, "float16": numpy.float16, "bool": numpy.bool_}
        launches, outputs = kforge_launch_plan(self, *inputs)
        module = self._kforge_compiled()
        stream = cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream)
        with stream:
            for launch in launches:
                arguments = tuple(
                    numpy.uint64(value.data_ptr()) if kind == "pointer" else converters[kind](value)
                    for kind, value in launch["arguments"])
                module.get_function(launch["name"])(
                    launch["grid"], launch["block"], arguments,
                    shared_mem=launch["shared_bytes"])
        if len(outputs) == 1 and not KFORGE_OUTPUT_TUPLE:
            return outputs[0]
        return tuple(outputs)
)py";

std::string parameter_kind(std::string parameter) {
  if (parameter.find('*') != std::string::npos || parameter.find('[') != std::string::npos)
    return "pointer";
  std::vector<std::string> words;
  static const std::regex kWord(R"([A-Za-z_]\w*)");
  for (auto it = std::sregex_iterator(parameter.begin(), parameter.end(), kWord);
       it != std::sregex_iterator(); ++it) {
    std::string word = it->str();
    if (word != "const" && word != "__restrict__" && word != "volatile" && word != "signed")
      words.push_back(word);
  }
  if (words.size() >= 2)
    words.pop_back();  // the parameter's name
  std::string type = strings::join(words, " ");
  static const std::map<std::string, std::string> kKinds = {{"int", "int32"},
                                                            {"int32_t", "int32"},
                                                            {"unsigned", "uint32"},
                                                            {"unsigned int", "uint32"},
                                                            {"uint32_t", "uint32"},
                                                            {"long", "int64"},
                                                            {"long long", "int64"},
                                                            {"long int", "int64"},
                                                            {"int64_t", "int64"},
                                                            {"long long int", "int64"},
                                                            {"unsigned long", "uint64"},
                                                            {"size_t", "uint64"},
                                                            {"uint64_t", "uint64"},
                                                            {"unsigned long long", "uint64"},
                                                            {"float", "float32"},
                                                            {"double", "float64"},
                                                            {"half", "float16"},
                                                            {"__half", "float16"},
                                                            {"bool", "bool"},
                                                            {"ptrdiff_t", "int64"}};
  auto found = kKinds.find(type);
  return found == kKinds.end() ? "unknown:" + type : found->second;
}

// A Python string literal for any text: JSON's string escapes are valid Python escapes.
std::string python_string(const std::string& text) {
  return json(text).dump(-1, ' ', true, json::error_handler_t::replace);
}

}  // namespace

std::vector<std::string> kernel_parameter_kinds(const std::string& source,
                                                const std::string& kernel) {
  static const std::regex kIdentifier(R"([A-Za-z_]\w*)");
  if (!std::regex_match(kernel, kIdentifier))
    return {};
  // Comments removed first so that a commented-out declaration is never read.
  std::string code = normalized_cuda(source);
  std::regex declaration("__global__[^(;{]*\\b" + kernel + "\\s*\\(([^)]*)\\)");
  std::smatch match;
  if (!std::regex_search(code, match, declaration))
    return {};
  std::vector<std::string> kinds;
  std::string parameters = match[1].str();
  if (strings::trim(parameters).empty() || strings::trim(parameters) == "void")
    return kinds;
  for (const std::string& parameter : strings::split(parameters, ','))
    kinds.push_back(parameter_kind(parameter));
  return kinds;
}

std::string kernelbench_module(const CandidateRow& row) {
  json plan = row.plan ? json::parse(*row.plan, nullptr, false) : json(nullptr);
  if (plan.is_discarded() || !plan.is_object())
    plan = json::object({{"kernels", json::array()}});
  // Defines: the plan's defaults, overridden by the values this candidate was evaluated with.
  json defines = json::object();
  if (plan.contains("defines") && plan["defines"].is_object()) {
    for (const auto& [name, spec] : plan["defines"].items()) {
      if (spec.is_object() && spec.contains("default"))
        defines[name] = spec["default"];
      else if (spec.is_number())
        defines[name] = spec;
    }
  }
  json chosen = json::parse(row.defines, nullptr, false);
  if (chosen.is_object()) {
    for (const auto& [name, value] : chosen.items())
      defines[name] = value;
  }
  json kinds = json::object();
  if (plan.contains("kernels") && plan["kernels"].is_array()) {
    for (const json& kernel : plan["kernels"]) {
      if (kernel.is_object() && kernel.contains("name") && kernel["name"].is_string()) {
        std::string name = kernel["name"].get<std::string>();
        kinds[name] = kernel_parameter_kinds(row.source, name);
      }
    }
  }
  json outputs = nullptr;
  bool tuple = false;
  if (row.task_signature) {
    json signature = json::parse(*row.task_signature, nullptr, false);
    if (signature.is_object() && signature.contains("outputs") && signature["outputs"].is_array()) {
      outputs = json::array();
      for (const json& output : signature["outputs"])
        outputs.push_back({{"dtype", output.value("dtype", "float32")},
                           {"shape", output.value("shape", json::array())}});
      tuple = signature.value("output_structure", "tensor") == "tuple";
    }
  }

  std::string module;
  module += "# Generated by kforge: candidate " + std::to_string(row.candidate_id) + " of task " +
            row.task_name + ", verdict " + row.verdict + " on " + row.gpu.value_or("no GPU") +
            ".\n";
  module +=
      "# KernelBench format: ModelNew subclasses the reference Model (same constructor, same\n"
      "# parameters) and computes forward() with the candidate's kernels, compiled by NVRTC\n"
      "# through cupy and launched on PyTorch's current stream as its launch plan says.\n"
      "import json\n\nimport torch\nimport torch.nn as nn\n\n"
      "# ---- the task's reference program, as stored ----\n";
  module += row.task_source;
  if (!row.task_source.empty() && row.task_source.back() != '\n')
    module += '\n';
  module += "\n# ---- the kforge candidate ----\n";
  module += "KFORGE_CANDIDATE_ID = " + std::to_string(row.candidate_id) + "\n";
  module += "KFORGE_SOURCE = " + python_string(row.source) + "\n";
  module += "KFORGE_PLAN = json.loads(" + python_string(plan.dump()) + ")\n";
  module += "KFORGE_DEFINES = json.loads(" + python_string(defines.dump()) + ")\n";
  module += "KFORGE_PARAMETER_KINDS = json.loads(" + python_string(kinds.dump()) + ")\n";
  module += "KFORGE_OUTPUTS = json.loads(" + python_string(outputs.dump()) + ")\n";
  module += std::string("KFORGE_OUTPUT_TUPLE = ") + (tuple ? "True" : "False") + "\n";
  module += kRuntime;
  return module;
}

}  // namespace kforge::dataset
