"""kforge reference runner: turns a KernelBench-format PyTorch program into facts kforge uses.

kforge writes this file into its workspace cache and runs it with a Python that has torch. It
reads one JSON request on stdin and writes JSON replies on stdout, one line per task, flushed as
each finishes, so that a task that hangs (and is killed) costs only itself. Anything a task
prints goes to stderr: stdout carries replies only.

Operations
  analyze  {"op": "analyze", "tasks": [{"name", "source", "filename"}], "time_limit_s"}
           -> per task: constants, benchmark signature (from a run on the meta device where torch
              allows it, otherwise a real run), check shapes (size constants scaled down while
              the reference still runs and the signature keeps its structure, one of them off
              multiples of 32 where possible), and whether the output is degenerate.
  run      {"op": "run", "name", "source", "filename", "constants": {name: int}, "seed",
            "dtype", "device": "cpu" | "cuda" | "cuda:N", "out_dir"}
           -> inputs.safetensors, parameters.safetensors, outputs.safetensors in out_dir, the
              signature, torch version, device and duration. With "count_flops": true, also
              "flops": the FLOPs of one forward as torch.utils.flop_counter counts them (torch
              2.1 and later; null with "flops_method" saying why on older torch).
              With "vary_scalars": true and a seed other than 0, every float scalar input
              (a Python float from get_inputs(), not a bool or an int) is multiplied by one
              factor drawn from the seed, in [0.5, 0.9] or [1.1, 1.5] (scalar_factor), so a
              kernel that compiled the task's constant in fails; "scalar_factor" in the reply
              says which (null: not varied; "scalars_note" says why when a varied run raised
              and the task's own values were used). For dtype float32, the same forward is
              also computed in float64 (the model and every floating input cast to double,
              the same seed) and its float32 outputs written, as float64, to
              outputs_float64.safetensors ("float64_outputs" in the reply; null with
              "float64_note" saying why when the float64 forward failed, or when the request
              says "float64_reference": false): the comparison grounds the float32 tolerance
              in PyTorch's own error against it.
  baseline {"op": "baseline", "name", "source", "filename", "constants", "seed", "dtype",
            "device_index", "warmup", "min_samples", "max_samples", "target_spread",
            "time_cap_ms", "flush_l2"}
           -> per mode ("eager", "compile"): the device time of every kernel of one forward,
              summed per iteration, from torch.profiler's CUDA activity (L2 flushed before each
              timed iteration, outside the profiled region; warm-up first; repeated until the
              spread target, the sample cap or the time cap), as "samples" in microseconds, or
              "error" when that mode failed. Refused (kind no_cuda) when torch sees no CUDA.
  baselines {"op": "baselines", "tasks": [{"name", "source", "filename", "constants", "seed"}],
            and the timing fields of baseline, shared by every task}
           -> one baseline reply per task, in order, each flushed as it is known: many tasks
              timed in one process, so torch and CUDA start once (bench/gpu/check.py times
              every seed task's baselines this way). Each task has the time limit on its own.

A reply is {"ok": true, ...} or {"ok": false, "error": {"kind", "message", "traceback"}}, where
kind is one of syntax_error, missing_definition, raised, wrong_return_type, time_limit,
bad_request, no_cuda. The tensors are written in the safetensors format by this file itself, so the
runner needs torch and nothing else.
"""

import ast
import contextlib
import copy
import inspect
import json
import math
import os
import signal
import struct
import sys
import time
import traceback

# Constants at or below this value (kernel sizes, strides, reduction dims, head counts) are
# left alone when deriving check shapes; larger ones are sizes and get scaled down, to no less
# than MIN_SCALED. A batch size is never structural: it scales from any value down to MIN_BATCH.
MIN_SCALABLE = 16
MIN_SCALED = 4
MIN_BATCH = 2
# Names that are structural even when large.
STRUCTURAL_WORDS = ("kernel", "stride", "pad", "dilation", "group", "head", "axis", "seed")
# The largest tensor of a check shape holds at most this many elements.
CHECK_BUDGET = 1 << 17
TRACEBACK_LINES = 12


class TaskError(Exception):
    def __init__(self, kind, message, tb=""):
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.tb = tb


class TimeLimit(BaseException):
    """Raised by SIGALRM; a BaseException so that a task's `except Exception` cannot eat it."""


def traceback_tail(filename=None):
    lines = traceback.format_exc().rstrip().splitlines()
    return "\n".join(lines[-TRACEBACK_LINES:])


def error_reply(name, err):
    return {"name": name, "ok": False,
            "error": {"kind": err.kind, "message": err.message, "traceback": err.tb}}


# ---------------------------------------------------------------------------------------------
# Loading a task with chosen size constants
#
# A size constant is a module-level integer whose value is written with literals alone:
# `n = 4096`, `M = 16384 * 4`, `K = 1 << 20`, each name of `height = width = 256` and of
# `depth, height, width = (16, 32, 32)`, and each element of `input_shape = (8192 * 2,)` (as
# `input_shape[0]`). A constant computed from other names (`hidden = dim * 4`) is derived: it is
# not a constant of its own and follows the ones it is computed from when they are scaled.

INTEGER_OPERATORS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b, ast.Mod: lambda a, b: a % b,
    ast.Pow: lambda a, b: a ** b, ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b, ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b, ast.BitXor: lambda a, b: a ^ b,
}
# Sizes are int64 in kforge; a larger value is not a size constant (and `10 ** 10 ** 10` is
# refused before it is computed).
MAX_CONSTANT_BITS = 63


def integer_expression(node, known):
    """(value, uses_names) of an integer expression of literals and the names in `known`, or
    None where the expression is anything else (a float, a call, an unknown name, a value out of
    int64's range)."""
    if isinstance(node, ast.Constant):
        return (node.value, False) if type(node.value) is int and \
            node.value.bit_length() <= MAX_CONSTANT_BITS else None
    if isinstance(node, ast.Name):
        return (known[node.id], True) if node.id in known else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = integer_expression(node.operand, known)
        if operand is None:
            return None
        return (-operand[0] if isinstance(node.op, ast.USub) else operand[0]), operand[1]
    if isinstance(node, ast.BinOp) and type(node.op) in INTEGER_OPERATORS:
        left = integer_expression(node.left, known)
        right = integer_expression(node.right, known)
        if left is None or right is None:
            return None
        a, b = left[0], right[0]
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and b == 0:
            return None
        if isinstance(node.op, ast.Pow) and (b < 0 or b * max(1, abs(a).bit_length()) >
                                             2 * MAX_CONSTANT_BITS):
            return None
        if isinstance(node.op, (ast.LShift, ast.RShift)) and not 0 <= b <= MAX_CONSTANT_BITS:
            return None
        value = INTEGER_OPERATORS[type(node.op)](a, b)
        if value.bit_length() > MAX_CONSTANT_BITS:
            return None
        return value, left[1] or right[1]
    return None


def is_constant_expression(node):
    return integer_expression(node, {}) is not None


def bindings(statement):
    """The (name, value node) pairs a module-level assignment binds, and the names it binds to
    something this analysis cannot follow (starred or nested targets, unpacking a call)."""
    if isinstance(statement, ast.Assign):
        targets, value = statement.targets, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets, value = [statement.target], statement.value
    else:
        return [], []
    pairs, unknown = [], []
    for target in targets:
        if isinstance(target, ast.Name):
            pairs.append((target.id, value))
        elif isinstance(target, (ast.Tuple, ast.List)):
            names = [item.id if isinstance(item, ast.Name) else None for item in target.elts]
            if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(names) and \
                    None not in names:
                pairs.extend(zip(names, value.elts))
            else:
                unknown.extend(name for name in names if name)
    return pairs, unknown


def literal_int_constants(tree):
    """The task's size constants in source order: {name: value}, with tuple and list elements
    as `NAME[i]`. Where a name is assigned twice, the last assignment decides."""
    found = {}
    known = {}  # every integer-valued name so far, derived ones included

    def forget(name):
        known.pop(name, None)
        found.pop(name, None)
        for key in [key for key in found if key.startswith(name + "[")]:
            del found[key]

    for statement in tree.body:
        pairs, unknown = bindings(statement)
        for name in unknown:
            forget(name)
        for name, value in pairs:
            forget(name)
            evaluated = integer_expression(value, known)
            if evaluated is not None:
                known[name] = evaluated[0]
                if not evaluated[1]:
                    found[name] = evaluated[0]
            elif isinstance(value, (ast.Tuple, ast.List)):
                for index, item in enumerate(value.elts):
                    element = integer_expression(item, known)
                    if element is not None and not element[1]:
                        found["%s[%d]" % (name, index)] = element[0]
    return found


class ConstantOverride(ast.NodeTransformer):
    """Gives chosen constants new values: a name bound to a constant expression is assigned its
    new value right after the statement that binds it (so `height = width = 256` and unpacking
    need no rewriting, and constants derived from it at module level follow); a tuple or list
    element is replaced in place."""

    def __init__(self, values):
        self.values = values

    def visit_Module(self, node):
        body = []
        for statement in node.body:
            body.append(statement)
            pairs, _ = bindings(statement)
            for name, value in pairs:
                if name in self.values and is_constant_expression(value):
                    body.append(ast.copy_location(ast.Assign(
                        targets=[ast.Name(id=name, ctx=ast.Store())],
                        value=ast.Constant(self.values[name])), statement))
                elif isinstance(value, (ast.Tuple, ast.List)):
                    for index, item in enumerate(value.elts):
                        key = "%s[%d]" % (name, index)
                        if key in self.values and is_constant_expression(item):
                            value.elts[index] = ast.copy_location(
                                ast.Constant(self.values[key]), item)
        node.body = body
        return node


def parse_task(source, filename):
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as failure:
        raise TaskError("syntax_error", "%s:%s:%s: %s" % (
            filename, failure.lineno, failure.offset, failure.msg),
            "".join(traceback.format_exception_only(type(failure), failure)).rstrip())


def load_task(tree, filename, overrides):
    if overrides:
        tree = ConstantOverride(overrides).visit(copy.deepcopy(tree))
        ast.fix_missing_locations(tree)
    namespace = {"__name__": "kforge_task", "__file__": filename}
    try:
        exec(compile(tree, filename, "exec"), namespace)
    except TimeLimit:
        raise
    except ModuleNotFoundError as failure:
        raise missing_module(failure)
    except BaseException as failure:
        raise TaskError("raised", "loading the task raised %s: %s" % (
            type(failure).__name__, failure), traceback_tail())
    missing = [name for name in ("Model", "get_inputs", "get_init_inputs")
               if not callable(namespace.get(name))]
    if missing:
        raise TaskError("missing_definition", "the task does not define %s" % ", ".join(missing))
    return namespace


def missing_module(failure):
    """A task that imports a module this Python lacks: one line naming the module, no traceback
    (the remedy is the same wherever the import is)."""
    module = failure.name or str(failure)
    return TaskError("missing_module", "the task needs the Python module '%s', which %s cannot "
                     "import: install it there, or name another Python (config key python, "
                     "--python, KFORGE_PYTHON)" % (module, sys.executable))


def call_task(what, function, *args):
    try:
        return function(*args)
    except TimeLimit:
        raise
    except TaskError:
        raise
    except ModuleNotFoundError as failure:
        raise missing_module(failure)
    except BaseException as failure:
        raise TaskError("raised", "%s raised %s: %s" % (what, type(failure).__name__, failure),
                        traceback_tail())


# ---------------------------------------------------------------------------------------------
# The meta device: shapes without compute
#
# No problem is ever run at its benchmark size on the CPU unless a meta run at that size says it
# fits: KernelBench's benchmark shapes reach tens of GB. A meta run also measures what a real
# run at the same sizes would hold at its peak (every tensor an op allocates, live until Python
# drops it), which is how each real CPU run below is kept within its budget.

# An op that has no meta kernel (max_pool3d in torch 1.13; ops whose result depends on values,
# such as .item()) runs on zero-filled CPU tensors instead, as long as they hold at most this.
MATERIALIZE_BUDGET_BYTES = 64 << 20
# A real CPU run is made only where a meta run at the same sizes peaked at or below this, and
# is stopped when it has spent this much CPU time.
CPU_RUN_BUDGET_BYTES = 1 << 30
CPU_RUN_BUDGET_S = 60


class MetaUnsupported(RuntimeError):
    """An op without a meta kernel whose tensors are too large to run it on the CPU instead."""


def pooled_extent(length, kernel, stride, padding, dilation, ceil_mode):
    """PyTorch's pooling output length (the rule of its shape checks)."""
    span = length + 2 * padding - dilation * (kernel - 1) - 1
    if ceil_mode:
        extent = -(-span // stride) + 1
        if (extent - 1) * stride >= length + padding:
            extent -= 1
        return extent
    return span // stride + 1


def pooling_rule(dims, has_dilation):
    """A shape rule for max/avg pooling over `dims` trailing dimensions: their output on the
    meta device without running them (torch 1.13 has no meta kernel for max_pool3d)."""
    names = ["kernel_size", "stride", "padding"] + (["dilation"] if has_dilation else []) + \
        ["ceil_mode"]

    def expand(value, default):
        if value is None or (isinstance(value, (list, tuple)) and not value):
            value = default
        if isinstance(value, (list, tuple)):
            return list(value) if len(value) == dims else [value[0]] * dims
        return [value] * dims

    def rule(torch, args, kwargs):
        tensor = args[0]
        given = dict(zip(names, args[1:]))
        given.update({key: value for key, value in kwargs.items() if key in names})
        kernel = expand(given.get("kernel_size"), 1)
        stride = expand(given.get("stride"), kernel)
        padding = expand(given.get("padding"), 0)
        dilation = expand(given.get("dilation"), 1) if has_dilation else [1] * dims
        ceil_mode = bool(given.get("ceil_mode", False))
        shape = list(tensor.shape[:-dims]) + [
            pooled_extent(length, *extent, ceil_mode)
            for length, extent in zip(tensor.shape[-dims:], zip(kernel, stride, padding,
                                                                 dilation))]
        out = torch.empty(shape, dtype=tensor.dtype, device="meta")
        if kwargs.get("return_indices") or (has_dilation and len(args) > 6 and args[6]):
            return out, torch.empty(shape, dtype=torch.int64, device="meta")
        return out
    return rule


# Ops a torch may lack a meta kernel for, by name: their output shape by rule, used when their
# inputs are too large to run them on zero-filled CPU tensors instead.
SHAPE_RULES = {
    "max_pool1d": pooling_rule(1, True), "max_pool2d": pooling_rule(2, True),
    "max_pool3d": pooling_rule(3, True), "max_pool1d_with_indices": pooling_rule(1, True),
    "max_pool2d_with_indices": pooling_rule(2, True),
    "max_pool3d_with_indices": pooling_rule(3, True),
    "avg_pool1d": pooling_rule(1, False), "avg_pool2d": pooling_rule(2, False),
    "avg_pool3d": pooling_rule(3, False),
}


def tensor_nbytes(tensor):
    return tensor.numel() * tensor.element_size()


def meta_mode_class(torch):
    from torch.overrides import TorchFunctionMode
    import weakref

    factories = set()
    for name in ("randn", "rand", "randint", "zeros", "ones", "empty", "full", "arange",
                 "linspace", "logspace", "eye", "tensor", "randperm", "normal", "empty_strided",
                 "scalar_tensor", "as_tensor"):
        if hasattr(torch, name):
            factories.add(getattr(torch, name))
    device_moves = set()
    for name in ("cuda", "cpu"):
        device_moves.add(getattr(torch.Tensor, name))

    class MetaFactories(TorchFunctionMode):
        """Creates every tensor on the meta device and ignores moves to other devices. An op
        that has no meta kernel runs once on zero-filled CPU tensors of the same shapes (cheap
        for the elementwise ops that lack one) and its result goes back to the meta device;
        where those would be too large, a shape rule gives its result, or MetaUnsupported.
        Counts the bytes every op allocates while they are alive: `peak_bytes`."""

        materializing = False

        def __init__(self):
            super().__init__()
            self.live_bytes = 0
            self.peak_bytes = 0

        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = dict(kwargs or {})
            if self.materializing:
                return func(*args, **kwargs)
            try:
                return self.count(self.on_meta(func, args, kwargs), args, kwargs)
            except (NotImplementedError, RuntimeError) as failure:
                if isinstance(failure, MetaUnsupported) or "meta" not in str(failure).lower():
                    raise
            held = sum(tensor_nbytes(tensor) for tensor in _tensors_in(torch, (args, kwargs))
                       if tensor.device.type == "meta")
            name = getattr(func, "__name__", str(func))
            if held > MATERIALIZE_BUDGET_BYTES:
                if name in SHAPE_RULES:
                    return self.count(SHAPE_RULES[name](torch, args, kwargs), args, kwargs)
                raise MetaUnsupported(
                    "%s has no meta kernel in torch %s, and running it on the CPU instead needs "
                    "%s for its inputs (budget %s)" % (name, torch.__version__,
                                                       format_bytes(held),
                                                       format_bytes(MATERIALIZE_BUDGET_BYTES)))
            self.materializing = True
            try:
                real_args = _map_tensors(torch, args, _materialize)
                real_kwargs = _map_tensors(torch, kwargs, _materialize)
                result = func(*real_args, **real_kwargs)
                result = _map_tensors(torch, result, lambda t: t.to("meta"))
            finally:
                self.materializing = False
            return self.count(result, args, kwargs)

        def on_meta(self, func, args, kwargs):
            if func in factories:
                kwargs["device"] = "meta"
                kwargs.pop("generator", None)
                kwargs.pop("pin_memory", None)
            elif func in device_moves:
                return args[0]
            elif func is torch.Tensor.to:
                if "device" in kwargs:
                    kwargs["device"] = "meta"
                args = tuple("meta" if _is_device_like(torch, a) else a for a in args)
            return func(*args, **kwargs)

        def count(self, result, args, kwargs):
            """Adds the tensors an op allocated (not its inputs returned again, not views) to
            the live bytes until Python frees them."""
            given = set(id(tensor) for tensor in _tensors_in(torch, (args, kwargs)))
            for tensor in _tensors_in(torch, result):
                if id(tensor) in given or getattr(tensor, "_base", None) is not None:
                    continue
                size = tensor_nbytes(tensor)
                self.live_bytes += size
                self.peak_bytes = max(self.peak_bytes, self.live_bytes)
                try:
                    weakref.finalize(tensor, self.release, size)
                except TypeError:
                    pass  # not weakly referenceable: counted as held to the end
            return result

        def release(self, size):
            self.live_bytes -= size

    return MetaFactories


def format_bytes(count):
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return "%.1f %s" % (count / size, unit)
    return "%d bytes" % count


def _tensors_in(torch, value):
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors_in(torch, item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors_in(torch, item)


def _materialize(tensor):
    if tensor.device.type != "meta":
        return tensor
    return tensor.new_zeros(tensor.shape, device="cpu") if tensor.dtype.is_floating_point \
        else tensor.new_ones(tensor.shape, device="cpu")


def _map_tensors(torch, value, function):
    if isinstance(value, torch.Tensor):
        return function(value)
    if isinstance(value, (list, tuple)):
        return type(value)(_map_tensors(torch, item, function) for item in value)
    if isinstance(value, dict):
        return {key: _map_tensors(torch, item, function) for key, item in value.items()}
    return value


def _is_device_like(torch, value):
    return isinstance(value, torch.device) or (isinstance(value, str) and
                                               value.split(":")[0] in ("cuda", "cpu", "meta"))


# ---------------------------------------------------------------------------------------------
# Signatures


def forward_parameter_names(model, count):
    try:
        parameters = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    names = []
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            break
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            names.append(parameter.name)
    while len(names) < count:
        names.append("input%d" % len(names))
    return names[:count]


def tensor_spec(torch, name, tensor):
    return {"name": name, "kind": "tensor", "dtype": str(tensor.dtype).replace("torch.", ""),
            "shape": [int(extent) for extent in tensor.shape]}


def input_spec(torch, name, value):
    if isinstance(value, torch.Tensor):
        return tensor_spec(torch, name, value)
    if isinstance(value, bool):
        return {"name": name, "kind": "scalar", "dtype": "bool", "value": value}
    if isinstance(value, int):
        return {"name": name, "kind": "scalar", "dtype": "int64", "value": value}
    if isinstance(value, float):
        return {"name": name, "kind": "scalar", "dtype": "float64", "value": value}
    raise TaskError("wrong_return_type", "get_inputs() returned a %s for '%s'; inputs must be "
                    "tensors, ints, floats or bools" % (type(value).__name__, name))


def output_tensors(torch, result):
    if isinstance(result, torch.Tensor):
        return [("out", result)], False
    if isinstance(result, (tuple, list)) and result and \
            all(isinstance(item, torch.Tensor) for item in result):
        return [("out%d" % index, item) for index, item in enumerate(result)], True
    raise TaskError("wrong_return_type", "forward() returned %s; it must return a tensor or a "
                    "tuple of tensors" % describe_type(result))


def describe_type(value):
    if isinstance(value, (tuple, list)):
        return "a %s of (%s)" % (type(value).__name__,
                                 ", ".join(type(item).__name__ for item in value))
    return "a %s" % type(value).__name__


def signature_of(torch, names, inputs, model, outputs, returns_tuple):
    return {
        "inputs": [input_spec(torch, name, value) for name, value in zip(names, inputs)],
        "parameters": [tensor_spec(torch, key, value)
                       for key, value in model.state_dict().items()],
        "outputs": [tensor_spec(torch, name, value) for name, value in outputs],
        "output_structure": "tuple" if returns_tuple else "tensor",
    }


def same_structure(a, b):
    def entries(signature):
        return [(group, item["name"], item["kind"], item["dtype"], len(item.get("shape", [])))
                for group in ("inputs", "parameters", "outputs") for item in signature[group]]
    return a["output_structure"] == b["output_structure"] and entries(a) == entries(b)


def instantiate(torch, namespace, seed):
    # One seed, then the model and the inputs drawn in this order (as KernelBench's own
    # harness does): a (task, shape, seed) triple always yields the same weights and inputs.
    torch.manual_seed(seed)
    init_inputs = call_task("get_init_inputs()", namespace["get_init_inputs"])
    if not isinstance(init_inputs, (list, tuple)):
        raise TaskError("wrong_return_type", "get_init_inputs() returned %s; it must return a "
                        "list" % describe_type(init_inputs))
    model = call_task("Model(*get_init_inputs())", namespace["Model"], *init_inputs)
    if not isinstance(model, torch.nn.Module):
        raise TaskError("wrong_return_type", "Model is not a torch.nn.Module")
    inputs = call_task("get_inputs()", namespace["get_inputs"])
    if not isinstance(inputs, (list, tuple)):
        raise TaskError("wrong_return_type", "get_inputs() returned %s; it must return a list"
                        % describe_type(inputs))
    return model, list(inputs)


def execute(torch, namespace, seed, device="cpu", dtype=None):
    """One reference run: (names, inputs, model, outputs, returns_tuple)."""
    model, inputs = instantiate(torch, namespace, seed)
    inputs = [move(torch, value, device, dtype) for value in inputs]
    model = model.to(device)
    if dtype is not None:
        model = model.to(dtype)
    model.eval()
    with torch.no_grad():
        result = call_task("forward()", model, *inputs)
    outputs, returns_tuple = output_tensors(torch, result)
    names = forward_parameter_names(model, len(inputs))
    return names, inputs, model, outputs, returns_tuple


def move(torch, value, device, dtype):
    if not isinstance(value, torch.Tensor):
        return value
    value = value.to(device)
    if dtype is not None and value.is_floating_point():
        value = value.to(dtype)
    return value


def real_signature(torch, namespace, seed=0):
    names, inputs, model, outputs, returns_tuple = execute(torch, namespace, seed)
    return signature_of(torch, names, inputs, model, outputs, returns_tuple), outputs


# ---------------------------------------------------------------------------------------------
# analyze


def is_batch(name):
    return "batch" in name.lower()


def scalable_constants(constants):
    chosen = []
    for name, value in constants.items():
        lowered = name.lower()
        if is_batch(name):
            if value > MIN_BATCH:
                chosen.append(name)
        elif value > MIN_SCALABLE and not any(word in lowered for word in STRUCTURAL_WORDS):
            chosen.append(name)
    return chosen


def scaled_value(name, value, divisor):
    floor = MIN_BATCH if is_batch(name) else MIN_SCALED
    return max(min(value, floor), value // divisor)


def largest_tensor(signature):
    sizes = [_prod(item["shape"]) for group in ("inputs", "parameters", "outputs")
             for item in signature[group] if item["kind"] == "tensor"]
    return max(sizes) if sizes else 0


def _prod(values):
    result = 1
    for value in values:
        result *= value
    return result


def odd_value(value):
    """A smaller odd size near 3/4 of value: never a multiple of 32, and exercises tails."""
    return max(3, (value * 3) // 4) | 1 if value > 3 else value


# Real outputs kept for reuse (the check shape's seed-0 run serves the degeneracy check) when
# they are at most this large.
KEPT_OUTPUT_BYTES = 16 << 20


class Budget:
    """What one real CPU run of the analysis may cost: the peak bytes a meta run at the same
    sizes measured (checked before the run), and CPU time (user and system, all threads; the
    load on the machine does not count against it), enforced during the run. A request may
    lower both ("cpu_run_budget_bytes", "cpu_run_budget_s")."""

    def __init__(self, request=None):
        request = request or {}
        self.bytes = int(request.get("cpu_run_budget_bytes") or CPU_RUN_BUDGET_BYTES)
        self.seconds = float(request.get("cpu_run_budget_s") or CPU_RUN_BUDGET_S)

    def fits(self, peak):
        return peak is None or peak <= self.bytes

    def describe(self, peak):
        return "it holds %s, budget %s" % (format_bytes(peak), format_bytes(self.bytes))


class OverBudget(Exception):
    """A real CPU run that would exceed, or did exceed, its Budget; `reason` says which."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


class CpuTimeSpent(TimeLimit):
    """Raised by SIGPROF when a real CPU run spends its CPU time. A TimeLimit, so that every
    handler that lets the time limit through lets this through too."""


@contextlib.contextmanager
def interval_limit(seconds, signal_name, timer, error):
    """Raises `error` in the block once `timer` (an interval timer) has run `seconds`."""
    signum = getattr(signal, signal_name, None)
    if not seconds or signum is None:
        yield
        return

    def expire(number, frame):
        raise error()

    previous = signal.signal(signum, expire)
    signal.setitimer(timer, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(timer, 0)
        signal.signal(signum, previous)


def cpu_time_limit(seconds):
    return interval_limit(seconds, "SIGPROF", signal.ITIMER_PROF, CpuTimeSpent)


def describe_assignment(overrides):
    if not overrides:
        return "the benchmark shape"
    return ", ".join("%s=%d" % item for item in sorted(overrides.items()))


class Analyzer:
    """One task's size assignments: a meta run for each signature, real CPU runs only within
    the Budget."""

    def __init__(self, torch, tree, filename, budget):
        self.torch = torch
        self.tree = tree
        self.filename = filename
        self.budget = budget
        try:
            self.mode_class = meta_mode_class(torch)
        except Exception:
            self.mode_class = None  # a torch without TorchFunctionMode: real runs only
        self.peaks = {}  # assignment -> peak bytes its meta run measured
        self.kept = {}   # (assignment, seed) -> (signature, outputs) of a real run

    def namespace(self, overrides):
        return load_task(self.tree, self.filename, overrides)

    def signature(self, overrides):
        """(signature, method, peak bytes) at a size assignment: from the meta device, or from
        a real run where the meta run failed and what it measured before failing fits the
        budget. A meta failure over the budget is reported as the meta run's error."""
        namespace = self.namespace(overrides)
        key = tuple(sorted(overrides.items()))
        if self.mode_class is None:
            self.peaks[key] = None
            try:
                signature, _ = self.real(overrides, 0, namespace)
            except OverBudget as over:
                raise TaskError("too_large", "not run on the CPU at %s: %s" % (
                    describe_assignment(overrides), over.reason))
            return signature, "run", None
        mode = self.mode_class()
        try:
            with mode:
                names, inputs, model, outputs, returns_tuple = execute(self.torch, namespace, 0)
            # nn.Parameter wraps a factory's tensor in a new object and the factory's dies: the
            # mode saw those bytes freed, so the model's state is added back.
            peak = mode.peak_bytes + sum(tensor_nbytes(value)
                                         for value in model.state_dict().values())
            self.peaks[key] = peak
            return signature_of(self.torch, names, inputs, model, outputs, returns_tuple), \
                "meta", peak
        except TimeLimit:
            raise
        except BaseException as failure:
            meta_failure = failure
        # What the meta run held before it failed is a lower bound for a real run.
        self.peaks[key] = mode.peak_bytes
        own = isinstance(meta_failure, TaskError)
        if not own and not isinstance(meta_failure, MetaUnsupported):
            meta_failure = TaskError("raised", "%s: %s" % (type(meta_failure).__name__,
                                                           meta_failure), traceback_tail())
        try:
            if isinstance(meta_failure, MetaUnsupported):
                raise OverBudget(str(meta_failure))
            signature, _ = self.real(overrides, 0, namespace)
            return signature, "run", mode.peak_bytes
        except OverBudget as over:
            # The task's own error as the meta run saw it (the CPU would most likely see the
            # same), or too_large where the meta device lacks what the task needs.
            kind = meta_failure.kind if own else "too_large"
            what = meta_failure.message if own else str(meta_failure)
            raise TaskError(kind, "%s (on the meta device; not run on the CPU at %s: %s)" % (
                what, describe_assignment(overrides), over.reason),
                meta_failure.tb if own else "")

    def real(self, overrides, seed, namespace=None):
        """(signature, outputs) of a real CPU run within the budget, or OverBudget."""
        key = (tuple(sorted(overrides.items())), seed)
        if key in self.kept:
            return self.kept[key]
        peak = self.peaks.get(key[0])
        if not self.budget.fits(peak):
            raise OverBudget(self.budget.describe(peak))
        try:
            with cpu_time_limit(self.budget.seconds):
                result = real_signature(self.torch, namespace or self.namespace(overrides), seed)
        except CpuTimeSpent:
            raise OverBudget("it ran past its budget of %g s of CPU time" % self.budget.seconds)
        if sum(tensor_nbytes(value) for _, value in result[1]) <= KEPT_OUTPUT_BYTES:
            self.kept[key] = result
        return result

    def keeps_structure(self, overrides, benchmark):
        """Whether a meta run at this assignment works and keeps the benchmark's structure."""
        try:
            signature, _, _ = self.signature(overrides)
        except TaskError:
            return False
        return same_structure(signature, benchmark)

    def runs(self, overrides, benchmark):
        """The signature of a real CPU run at this assignment if it keeps the structure (None
        if it fails); OverBudget if it cannot run within the budget."""
        if tuple(sorted(overrides.items())) not in self.peaks:
            try:
                self.signature(overrides)  # measures its peak on the meta device
            except TaskError:
                return None
        try:
            signature, _ = self.real(overrides, 0)
        except TaskError:
            return None
        return signature if same_structure(signature, benchmark) else None


def analyze_task(torch, task, budget):
    started = time.time()
    filename = task.get("filename") or task["name"]
    tree = parse_task(task["source"], filename)
    constants = literal_int_constants(tree)
    analyzer = Analyzer(torch, tree, filename, budget)
    # Errors of the task itself (missing definitions, wrong return types, exceptions) surface
    # here; the meta run cannot see those that only values raise, the small real runs below do.
    benchmark, method, peak = analyzer.signature({})

    scalable = scalable_constants(constants)
    checks, note = derive_check_shapes(analyzer, constants, scalable, benchmark)
    # Degeneracy is judged on real outputs, at the smallest shape that runs; at the benchmark
    # shape only within the budget.
    # Two runs with different inputs: the check shapes' own runs where there are two (seed 0
    # at two sizes, no extra run), else two seeds at one shape.
    degenerate, reason = False, ""
    runs = [(check["overrides"], 0) for check in checks] if len(checks) == 2 else \
        [(checks[0]["overrides"] if checks else {}, seed) for seed in (0, 1)]
    try:
        degenerate, reason = judge_degenerate(torch, analyzer, runs)
    except OverBudget as over:
        note = "%s; not checked for a degenerate output: no real CPU run at %s (%s)" % (
            note, describe_assignment(checks[0]["overrides"] if checks else {}), over.reason)
    for check in checks:
        del check["overrides"]
    return {
        "name": task["name"], "ok": True,
        "constants": constants,
        "scalable": scalable,
        "benchmark": {"constants": constants, "signature": benchmark, "method": method,
                      "peak_bytes": peak},
        "check_shapes": checks,
        "check_note": note,
        "degenerate": degenerate,
        "degenerate_reason": reason,
        "torch_version": torch.__version__,
        "duration_s": round(time.time() - started, 4),
    }


def smallest_check_shape(analyzer, constants, scalable, benchmark):
    """Walks from the most scaled-down assignment of `scalable` upward, keeping the largest one
    whose tensors fit CHECK_BUDGET and whose reference really runs with the benchmark's
    structure; stops where a real run would exceed the budget (every larger one would too).
    Returns ((overrides, signature) or None, why the walk stopped early or None)."""
    biggest = max(constants[name] for name in scalable)
    divisors = []
    divisor = 1
    while divisor * 2 <= biggest:
        divisor *= 2
        divisors.append(divisor)
    divisors.reverse()  # most scaled first

    chosen = None
    seen = set()
    for divisor in divisors:
        overrides = {name: scaled_value(name, constants[name], divisor) for name in scalable}
        key = tuple(sorted(overrides.items()))
        if key in seen:
            continue
        seen.add(key)
        try:
            signature, _, _ = analyzer.signature(overrides)
        except TaskError:
            continue
        if not same_structure(signature, benchmark):
            continue
        if largest_tensor(signature) > CHECK_BUDGET and chosen is not None:
            break
        try:
            real = analyzer.runs(overrides, benchmark)
        except OverBudget as over:
            return chosen, "no real CPU run at %s (%s)" % (describe_assignment(overrides),
                                                           over.reason)
        if real is None:
            continue
        chosen = (overrides, real)
        if largest_tensor(real) > CHECK_BUDGET:
            break
    return chosen, None


def derive_check_shapes(analyzer, constants, scalable, benchmark):
    if not scalable:
        return [], "no size constant can be scaled: checked at the benchmark shape only"
    chosen, stopped = smallest_check_shape(analyzer, constants, scalable, benchmark)
    if chosen is None and stopped is None:
        # Scaled together, some constant changes the structure (ResNet's `layers = [3, 4, 23,
        # 3]`: 23 blocks is not a size) or breaks the program. Keep those that can be halved
        # on their own, on the meta device, and walk again with them.
        alone = [name for name in scalable
                 if analyzer.keeps_structure({name: scaled_value(name, constants[name], 2)},
                                             benchmark)]
        if alone and alone != scalable:
            scalable = alone
            chosen, stopped = smallest_check_shape(analyzer, constants, scalable, benchmark)
    if chosen is None:
        if stopped is not None:
            return [], "%s: checked at the benchmark shape only" % stopped
        return [], "the reference does not run with its size constants scaled down: checked " \
                   "at the benchmark shape only"
    small, small_signature = chosen
    checks = [shape_entry("small", constants, small, small_signature)]

    # A shape off multiples of 32: every scaled constant odd, or as many as still run. Each is
    # smaller than the small shape, so within its budget unless close to it.
    def runs(overrides):
        try:
            return analyzer.runs(overrides, benchmark)
        except OverBudget:
            return None

    odd = {name: odd_value(value) for name, value in small.items()}
    odd_signature = runs(odd) if odd != small else None
    if odd_signature is None:
        odd = dict(small)
        odd_signature = None
        for name in scalable:
            trial = dict(odd)
            trial[name] = odd_value(small[name])
            if trial[name] == small[name]:
                continue
            signature = runs(trial)
            if signature is not None:
                odd, odd_signature = trial, signature
    note = ""
    if odd_signature is not None:
        checks.append(shape_entry("odd", constants, odd, odd_signature))
    elif any(value % 32 == 0 for value in small.values()):
        note = "no scaled shape off multiples of 32 runs"
    return checks, note


def shape_entry(name, constants, overrides, signature):
    full = dict(constants)
    full.update(overrides)
    return {"name": name, "constants": full,
            "scaled": {key: [constants[key], value] for key, value in overrides.items()
                       if value != constants[key]},
            "signature": signature, "overrides": overrides}


def judge_degenerate(torch, analyzer, runs):
    """Whether the outputs of real runs at (assignment, seed) pairs are (near) zero or
    constant, and why."""
    samples = []
    for overrides, seed in runs:
        _, outputs = analyzer.real(overrides, seed)
        samples.append([value.detach().to("cpu").double() for _, value in outputs])
    flat = [torch.cat([tensor.reshape(-1) for tensor in sample]) if sample else None
            for sample in samples]
    if flat[0] is None or flat[0].numel() == 0:
        return True, "the output is empty"
    both = torch.cat(flat)
    finite = both[torch.isfinite(both)]
    if finite.numel() == 0:
        return True, "the output is not finite (NaN or Inf everywhere)"
    scale = float(finite.abs().max())
    if scale <= 1e-6:
        return True, "the output is (near) zero: max |out| = %.3g over two runs" % scale
    spread = float(finite.max() - finite.min())
    if spread <= 1e-5 * max(1.0, scale):
        return True, "the output is (near) constant: every element is %.6g over two runs" % \
            float(finite[0])
    return False, ""


# ---------------------------------------------------------------------------------------------
# run


SAFETENSORS_DTYPES = {
    "float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16", "int64": "I64",
    "int32": "I32", "int16": "I16", "int8": "I8", "uint8": "U8", "bool": "BOOL",
}


def tensor_bytes(torch, tensor):
    tensor = tensor.detach().to("cpu").contiguous()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    elif tensor.dtype == torch.bool:
        tensor = tensor.to(torch.uint8)
    if sys.byteorder != "little":
        raise TaskError("bad_request", "this runner writes little-endian tensors only")
    return tensor.numpy().tobytes() if tensor.numel() else b""


def write_safetensors(torch, path, named_tensors, metadata=None):
    header = {}
    blobs = []
    offset = 0
    for name, tensor in named_tensors:
        dtype = str(tensor.dtype).replace("torch.", "")
        if dtype not in SAFETENSORS_DTYPES:
            raise TaskError("wrong_return_type", "tensor '%s' has dtype %s, which kforge does not "
                            "handle" % (name, dtype))
        data = tensor_bytes(torch, tensor)
        header[name] = {"dtype": SAFETENSORS_DTYPES[dtype],
                        "shape": [int(extent) for extent in tensor.shape],
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {key: str(value) for key, value in metadata.items()}
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    # A name of this writer's own: two runs of one request at once (the devices of a GPU pool
    # verifying candidates of one task) write the same files, and each replace is atomic.
    temporary = "%s.%d.%s.partial" % (path, os.getpid(), os.urandom(6).hex())
    with open(temporary, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for blob in blobs:
            handle.write(blob)
    os.replace(temporary, path)


def scalar_factor(seed):
    """The factor float scalar inputs are scaled by for `seed` (None for seed 0: the task's own
    values). One factor for all of a task's scalars keeps their signs and their order (a
    clamp's min stays below its max); it is kept 10% or more away from 1, so every seed but 0
    differs from the task's constant, and within [0.5, 1.5], so a coefficient stays in the
    range the task was written for."""
    if seed == 0:
        return None
    import random
    rng = random.Random(seed * 1000003 + 7)
    step = rng.uniform(0.1, 0.5)
    return 1.0 - step if rng.random() < 0.5 else 1.0 + step


def with_varied_scalars(get_inputs, factor):
    """get_inputs() with every float scalar (not a bool, not an int) multiplied by factor."""
    def varied():
        inputs = get_inputs()
        if not isinstance(inputs, (list, tuple)):
            return inputs
        return type(inputs)(value * factor if isinstance(value, float) else value
                            for value in inputs)
    return varied


def float64_outputs(torch, namespace, seed, device, outputs):
    """The forward in float64 (model and floating inputs cast, same seed): the float32
    outputs' float64 values, as [(name, tensor)], or a string saying why there are none."""
    wanted = {name for name, value in outputs if value.dtype == torch.float32}
    if not wanted:
        return "no float32 output"
    try:
        names64, inputs64, model64, outputs64, _ = execute(torch, namespace, seed, device,
                                                           torch.float64)
    except TimeLimit:
        raise
    except BaseException as failure:
        return "the float64 forward raised %s: %s" % (type(failure).__name__, failure)
    shapes = {name: tuple(value.shape) for name, value in outputs}
    result = []
    for name, value in outputs64:
        if name not in wanted:
            continue
        if value.dtype != torch.float64 or tuple(value.shape) != shapes.get(name):
            return "the float64 forward returned %s %s for '%s'" % (
                value.dtype, list(value.shape), name)
        result.append((name, value))
    if len(result) != len(wanted):
        return "the float64 forward returned other outputs"
    return result


def run_task(torch, request):
    started = time.time()
    filename = request.get("filename") or request["name"]
    tree = parse_task(request["source"], filename)
    constants = literal_int_constants(tree)
    overrides = {key: int(value) for key, value in (request.get("constants") or {}).items()}
    unknown = sorted(set(overrides) - set(constants))
    if unknown:
        raise TaskError("bad_request", "the task has no integer constant %s" % ", ".join(unknown))
    overrides = {key: value for key, value in overrides.items() if constants[key] != value}
    device = request.get("device", "cpu")
    # "cuda:N" names the GPU an evaluation runs on, so that its references are computed there
    # and never on another GPU that is timing a candidate.
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and (kind != "cuda" or not index.isdigit())):
        raise TaskError("bad_request", "device must be cpu, cuda or cuda:N, not %s" % device)
    if kind == "cuda" and not torch.cuda.is_available():
        raise TaskError("bad_request", "device cuda was asked for, but torch sees no CUDA device")
    if index and int(index) >= torch.cuda.device_count():
        raise TaskError("bad_request", "device %s was asked for, but torch sees %d CUDA devices"
                        % (device, torch.cuda.device_count()))
    dtype_name = request.get("dtype", "float32")
    dtype = getattr(torch, dtype_name, None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TaskError("bad_request", "dtype must be a floating torch dtype, not %s" % dtype_name)
    seed = int(request.get("seed", 0))
    if kind == "cuda":
        # The float32 reference is float32: no TF32 in matrix products or convolutions (cuDNN
        # allows it by default), which would pass as PyTorch's own float32 error.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    namespace = load_task(tree, filename, overrides)
    factor = scalar_factor(seed) if request.get("vary_scalars") else None
    scalars_note = None
    compute_started = time.time()
    if factor is not None:
        own_get_inputs = namespace["get_inputs"]
        namespace["get_inputs"] = with_varied_scalars(own_get_inputs, factor)
        try:
            names, inputs, model, outputs, returns_tuple = execute(
                torch, namespace, seed, device, None if dtype == torch.float32 else dtype)
        except TaskError as failure:
            # A value the task cannot take (a probability over 1): its own values, said so.
            scalars_note = "not varied: with scalars scaled by %.4f %s" % (factor, failure)
            factor = None
            namespace["get_inputs"] = own_get_inputs
    if factor is None:
        names, inputs, model, outputs, returns_tuple = execute(
            torch, namespace, seed, device, None if dtype == torch.float32 else dtype)
    if kind == "cuda":
        torch.cuda.synchronize(device)
    compute_s = time.time() - compute_started
    if dtype != torch.float32:
        exact = "dtype %s: no float64 reference" % dtype_name
    elif request.get("float64_reference", True) is False:
        exact = "not asked for"
    else:
        exact = float64_outputs(torch, namespace, seed, device, outputs)
    flops, flops_method = None, None
    if request.get("count_flops"):
        flops, flops_method = count_flops(torch, model, inputs)
    signature = signature_of(torch, names, inputs, model, outputs, returns_tuple)
    out_dir = request["out_dir"]
    os.makedirs(out_dir, exist_ok=True)
    metadata = {"torch_version": torch.__version__, "device": device, "seed": seed,
                "dtype": dtype_name}
    write_safetensors(torch, os.path.join(out_dir, "inputs.safetensors"),
                      [(name, value) for name, value in zip(names, inputs)
                       if isinstance(value, torch.Tensor)], metadata)
    write_safetensors(torch, os.path.join(out_dir, "parameters.safetensors"),
                      list(model.state_dict().items()), metadata)
    write_safetensors(torch, os.path.join(out_dir, "outputs.safetensors"), outputs, metadata)
    if not isinstance(exact, str):
        write_safetensors(torch, os.path.join(out_dir, "outputs_float64.safetensors"), exact,
                          metadata)
    full = dict(constants)
    full.update(overrides)
    return {
        "name": request["name"], "ok": True, "signature": signature, "constants": full,
        "files": {"inputs": "inputs.safetensors", "parameters": "parameters.safetensors",
                  "outputs": "outputs.safetensors"},
        "torch_version": torch.__version__, "device": device,
        "device_name": torch.cuda.get_device_name(device) if kind == "cuda" else "cpu",
        "seed": seed, "dtype": dtype_name,
        "compute_s": round(compute_s, 6), "duration_s": round(time.time() - started, 6),
        "flops": flops, "flops_method": flops_method,
        "scalar_factor": factor, "scalars_note": scalars_note,
        "float64_outputs": None if isinstance(exact, str) else "outputs_float64.safetensors",
        "float64_note": exact if isinstance(exact, str) else None,
    }


def count_flops(torch, model, inputs):
    """FLOPs of one forward as torch counts them, and how: (flops or None, method text)."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:
        return None, ("not counted: torch %s has no torch.utils.flop_counter (2.1 and later)"
                      % torch.__version__)
    try:
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            model(*inputs)
        return int(counter.get_total_flops()), "torch.utils.flop_counter.FlopCounterMode"
    except TimeLimit:
        raise
    except Exception as failure:
        return None, "not counted: FlopCounterMode raised %s: %s" % (type(failure).__name__,
                                                                      failure)


# ---------------------------------------------------------------------------------------------
# baseline: PyTorch eager and torch.compile, timed on the GPU the way kforge times candidates


def percentile(ordered, fraction):
    """Linear interpolation between closest ranks, as profiler/statistics.cpp computes it."""
    if not ordered:
        return 0.0
    rank = fraction * (len(ordered) - 1)
    below = int(math.floor(rank))
    above = min(below + 1, len(ordered) - 1)
    weight = rank - below
    return ordered[below] * (1 - weight) + ordered[above] * weight


def enough_samples(samples, min_samples, max_samples, target_spread):
    if len(samples) >= max_samples:
        return True
    if len(samples) < min_samples:
        return False
    ordered = sorted(samples)
    median = percentile(ordered, 0.5)
    return median > 0 and (percentile(ordered, 0.9) - percentile(ordered, 0.1)) / median <= \
        target_spread


def device_time_us(torch, event):
    """An event's device time in microseconds, across torch versions' attribute names."""
    for name in ("device_time", "cuda_time"):
        value = getattr(event, name, None)
        if value is not None:
            return float(value)
    return 0.0


def time_forward(torch, forward, request, flush):
    """Per timed iteration, the summed device time of every GPU activity one forward causes."""
    from torch.profiler import ProfilerActivity, profile
    from torch.autograd import DeviceType

    for _ in range(int(request.get("warmup", 10))):
        forward()
    torch.cuda.synchronize()
    samples = []
    min_samples = int(request.get("min_samples", 20))
    max_samples = int(request.get("max_samples", 1000))
    target_spread = float(request.get("target_spread", 0.02))
    cap_s = float(request.get("time_cap_ms", 2000)) / 1000.0
    started = time.time()
    hit_cap = False
    while not enough_samples(samples, min_samples, max_samples, target_spread):
        if samples and time.time() - started > cap_s:
            hit_cap = True
            break
        if flush is not None:
            flush.zero_()  # outside the profiled region: not counted
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as recorded:
            forward()
            torch.cuda.synchronize()
        total = 0.0
        for event in recorded.events():
            if getattr(event, "device_type", None) == DeviceType.CUDA:
                total += device_time_us(torch, event)
        samples.append(total)
    return {"samples": samples, "hit_time_cap": hit_cap}


def baseline_task(torch, request):
    if not torch.cuda.is_available():
        raise TaskError("no_cuda", "baselines are timed on a GPU, and torch %s sees no CUDA "
                        "device" % torch.__version__)
    started = time.time()
    filename = request.get("filename") or request["name"]
    tree = parse_task(request["source"], filename)
    constants = literal_int_constants(tree)
    overrides = {key: int(value) for key, value in (request.get("constants") or {}).items()
                 if constants.get(key) != int(value)}
    dtype_name = request.get("dtype", "float32")
    dtype = getattr(torch, dtype_name, None)
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TaskError("bad_request", "dtype must be a floating torch dtype, not %s" % dtype_name)
    index = int(request.get("device_index", 0))
    torch.cuda.set_device(index)
    device = "cuda:%d" % index
    namespace = load_task(tree, filename, overrides)
    model, inputs = instantiate(torch, namespace, int(request.get("seed", 0)))
    inputs = [move(torch, value, device, None if dtype == torch.float32 else dtype)
              for value in inputs]
    model = model.to(device)
    if dtype != torch.float32:
        model = model.to(dtype)
    model.eval()
    flush = None
    if request.get("flush_l2", True):
        l2_bytes = torch.cuda.get_device_properties(index).L2_cache_size or (64 << 20)
        flush = torch.empty(2 * int(l2_bytes) // 4, dtype=torch.float32, device=device)
    reply = {"name": request["name"], "ok": True, "torch_version": torch.__version__,
             "device_name": torch.cuda.get_device_name(index),
             "method": "torch.profiler CUDA activity: device time of every kernel, memcpy and "
                       "memset of one forward, summed; L2 flushed before each timed iteration "
                       "outside the profiled region; warm-up first"}
    with torch.no_grad():
        def eager():
            return call_task("forward()", model, *inputs)
        reply["eager"] = time_forward(torch, eager, request, flush)
        try:
            if not hasattr(torch, "compile"):
                raise RuntimeError("torch %s has no torch.compile" % torch.__version__)
            compiled = torch.compile(model)

            def compiled_forward():
                return compiled(*inputs)
            reply["compile"] = time_forward(torch, compiled_forward, request, flush)
        except TimeLimit:
            raise
        except Exception as failure:
            reply["compile"] = {"error": "%s: %s" % (type(failure).__name__,
                                                     str(failure).splitlines()[0]
                                                     if str(failure) else "")}
    reply["duration_s"] = round(time.time() - started, 6)
    return reply


# ---------------------------------------------------------------------------------------------
# Main: one request in, one reply line per task out


def time_limit(seconds):
    return interval_limit(seconds, "SIGALRM", signal.ITIMER_REAL, TimeLimit)


def guarded(name, seconds, work):
    try:
        with time_limit(seconds):
            return work()
    except TaskError as failure:
        return error_reply(name, failure)
    except TimeLimit:
        return error_reply(name, TaskError("time_limit", "the reference ran past its time limit "
                                           "of %s s" % seconds, traceback_tail()))
    except Exception as failure:
        return error_reply(name, TaskError("raised", "%s: %s" % (type(failure).__name__, failure),
                                           traceback_tail()))


def main():
    # Ctrl-C in kforge's terminal reaches this process too; kforge decides what an interrupt
    # means (optimize finishes the candidate at hand), so the reference run in progress goes on.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Replies go to the real stdout; whatever a task prints goes to stderr.
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def reply(document):
        replies.write(json.dumps(document, allow_nan=False, default=str) + "\n")
        replies.flush()

    try:
        request = json.loads(sys.stdin.read())
    except ValueError as failure:
        reply(error_reply("", TaskError("bad_request", "the request is not JSON: %s" % failure)))
        return 2
    try:
        import torch
    except BaseException as failure:
        reply(error_reply("", TaskError("no_torch", "cannot import torch: %s" % failure,
                                        traceback_tail())))
        return 3
    torch.set_num_threads(max(1, int(request.get("threads", 1))))
    seconds = request.get("time_limit_s")
    op = request.get("op")
    if op == "analyze":
        for task in request.get("tasks", []):
            reply(guarded(task.get("name", ""), seconds,
                          lambda task=task: analyze_task(torch, task, Budget(request))))
        reply({"done": True, "torch_version": torch.__version__})
        return 0
    if op == "run":
        reply(guarded(request.get("name", ""), seconds, lambda: run_task(torch, request)))
        reply({"done": True, "torch_version": torch.__version__})
        return 0
    if op == "baseline":
        reply(guarded(request.get("name", ""), seconds, lambda: baseline_task(torch, request)))
        reply({"done": True, "torch_version": torch.__version__})
        return 0
    if op == "baselines":
        shared = {key: value for key, value in request.items() if key != "tasks"}
        for task in request.get("tasks", []):
            name = task.get("name", "") if isinstance(task, dict) else ""
            reply(guarded(name, seconds,
                          lambda task=task: baseline_task(torch, dict(shared, **task))))
        reply({"done": True, "torch_version": torch.__version__})
        return 0
    if op == "probe":
        reply({"ok": True, "torch_version": torch.__version__, "python": sys.version.split()[0],
               "cuda": bool(torch.cuda.is_available())})
        return 0
    reply(error_reply("", TaskError("bad_request", "unknown op %r (analyze, run, baseline, "
                                    "baselines, probe)" % op)))
    return 2


if __name__ == "__main__":
    sys.exit(main())
