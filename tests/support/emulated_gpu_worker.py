"""A GPU worker for tests on machines without a GPU: it speaks kforge's real GPU worker protocol
(sandbox/gpu_protocol.hpp: JSON lines on stdin/stdout, tensors as safetensors files) but runs no
CUDA. It executes a candidate by the NAME of its plan's first kernel, from the table of behaviours
below, on the tensors it is given, with torch on the CPU. Everything the parent does with its
replies (comparison, verdicts, statistics, the store) is the real code path; only the GPU is
emulated, and nothing this worker reports is a measurement.

Behaviours (kernel name: what it does):
  relu              out = max(x, 0): honest (also relu_<anything>, e.g. relu_7: tests that tell
                    candidates apart by their kernel's name)
  copy              out = x: honest
  unwritten         leaves every output as the poison the worker wrote
  half_written      writes only the first half of each output's elements
  modify_input      honest output, but also overwrites its first input
  racy              honest on the first repeat of a run, perturbed on the second
  timed_cache       honest in `run`; while timed it returns the outputs of the first input set
                    it saw, for every iteration (a result cache keyed by nothing)
  too_fast          honest outputs, device time far below any physical floor
  slow_relu         honest outputs, device time three times an honest kernel's
  illegal_address   a runtime fault that loses the context (the worker then exits)
  hang              never answers (the parent's watchdog must fire)
  launch_refused    the launch is refused (too many resources)
  large_only        honest on outputs of 4096 elements or more, leaves smaller ones unwritten
                    (a kernel hard-coded to the benchmark shape)
  modify_input_first_repeat
                    honest output; in the first repeat only it also changes its first input
                    (so the second repeat computes from the changed input)
  unwritten_second_repeat
                    honest in the first repeat, writes nothing in the second
  scaled_add        out = a + alpha * b, alpha the plan's float argument: honest
  hardcoded_alpha   out = a + 0.75 * b whatever alpha the plan passes
  fmax_unwritten    out = fmax(out, relu(x)) over the poisoned output: right under the NaN poison
                    of repeat 0 (fmax ignores NaN), wrong under the finite poison of repeat 1
  *writes_past_end  (any name ending so) honest outputs, and 4 bytes written just past the end
                    of the first output: the worker reports the changed guard zone
  timed_out_of_bounds  honest in `run`; while timed it writes 4 bytes before its first output
  tiled_relu        honest outputs; its device time depends on the launch as a memory-bound
                    kernel's would: slower the further its block is from 256 threads and each
                    thread's share of the elements from 4 (both on a log2 scale), so that a tuner
                    has a landscape with one known optimum (tiled_relu_time below)
  tiled_relu_faulty tiled_relu, except that a launch of 32-thread blocks leaves its outputs
                    unwritten (incorrect) and one of 64-thread blocks faults (runtime error), so
                    that one tuning run has points that fail at run time besides correct ones
  relu_counters_denied
                    honest; `profile` answers unavailable / insufficient_privileges, as CUPTI does
                    where profiling is restricted to administrators
  relu_counters_missing
                    honest; `profile` answers unavailable / library_missing (no libcupti)

`replay` (the one-shot worker Nsight Compute's CLI starts, `--requests FILE`) runs the plan twice
and, where tests/support/ncu_stand_in.py started it, tells that stand-in ncu each launch with the
counters the emulated device would show: the same profile_metrics as `profile`, for the metric
names the request lists, written as one JSON line per launch to the file named by
$KFORGE_EMULATED_NCU_LAUNCHES (the stand-in's injection into the emulated driver, as real ncu's
is into libcuda). A relu_counters_denied launch says its counters are denied, as the machine
that refuses CUPTI refuses ncu (ERR_NVGPUCTRPERM).

`profile` answers every other kernel with plausible counters (profile_metrics below): a
memory-bound kernel that moves its tensors' bytes at a third of the emulated bandwidth, keyed by
the Nsight Compute names the request asks for, plus the launch metrics the real worker computes.
Like the timings, these numbers are not measurements.

Poison and guard zones follow sandbox/gpu_protocol.hpp: repeat r of a run is poisoned with
POISON_BYTES[r % 2], the fresh timed iteration with POISON_BYTES[1]; guard zones are emulated
by behaviour (only *writes_past_end changes one).

A kernel can be given another kernel's behaviour with --behave NAME=BEHAVIOUR[,NAME=BEHAVIOUR]:
the same kernel file then runs as if the GPU, its driver or CUDA had changed under it (the
nightly tests make a shipped `relu` slower with relu=slow_relu, or incorrect with relu=unwritten,
without touching the library).

Several GPUs: kforge starts one worker per device with `--device N`, as it starts the real one;
the worker reports that ordinal in its hello. For tests and benchmarks of a pool of GPUs:
  --latency-ms MS   every `time` request (one per evaluation that gets that far) takes MS more
                    milliseconds of wall-clock time, as timing a kernel on a real GPU does
  --latency-of NAME=MS[,NAME=MS]
                    the `time` requests of kernel NAME take MS more instead (one slow candidate)
  --log PATH        appends one JSON line per run/time/profile/measure request: device, pid, op,
                    kernel, wall-clock start and end (seconds since the epoch); one write per line
  --requests FILE   reads its requests from FILE instead of stdin (a one-shot worker under ncu)
  --lose-device D --lose-after N --lost-marker PATH
                    the worker of device D answers N `time` requests (N evaluations) and then
                    dies on the next `run` request (the next evaluation's first) without
                    answering, writing PATH first; a worker of device D started while PATH
                    exists refuses hello, as a GPU that fell off the bus does

Usage: emulated_gpu_worker.py [--bandwidth BYTES_PER_S] [--peak FLOPS_PER_S] [--name GPU_NAME]
                              [--driver VERSION] [--behave NAME=BEHAVIOUR,...]
                              [--device N] [--latency-ms MS] [--latency-of NAME=MS,...]
                              [--log PATH] [--requests FILE]
                              [--lose-device D --lose-after N --lost-marker PATH]
"""

import argparse
import json
import math
import os
import struct
import sys
import time

import torch

SAFETENSORS_TO_TORCH = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
TORCH_TO_SAFETENSORS = {value: key for key, value in SAFETENSORS_TO_TORCH.items()}
POISON_BYTES = (0xFF, 0x7B)
# The emulated device's "honest" speed: a kernel moves its bytes at this rate, a third of the
# bandwidth it reports from `measure`, so honest kernels sit at a third of the floor.
HONEST_BYTES_PER_S = 1.0e12


def read_safetensors(path):
    with open(path, "rb") as handle:
        data = handle.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        dtype = SAFETENSORS_TO_TORCH[entry["dtype"]]
        raw = bytearray(body[start:end])
        flat = torch.frombuffer(raw, dtype=torch.uint8) if raw else torch.empty(0, dtype=torch.uint8)
        tensors[name] = flat.view(dtype).reshape(entry["shape"]).clone()
    return tensors


def write_safetensors(path, tensors):
    header = {}
    blobs = []
    offset = 0
    for name, tensor in tensors.items():
        raw = tensor.contiguous().view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": TORCH_TO_SAFETENSORS[tensor.dtype],
                        "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    encoded = json.dumps(header).encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)))
        handle.write(encoded)
        for blob in blobs:
            handle.write(blob)


def poisoned(spec, byte=POISON_BYTES[0]):
    dtype = SAFETENSORS_TO_TORCH[spec["dtype"]]
    numel = 1
    for extent in spec["shape"]:
        numel *= extent
    raw = torch.full((numel * torch.empty(0, dtype=dtype).element_size(),), byte,
                     dtype=torch.uint8)
    return raw.view(dtype).reshape(spec["shape"])


class Fault(Exception):
    def __init__(self, failure):
        super().__init__(failure["message"])
        self.failure = failure


def tensor_args(plan, role):
    launch = plan["launches"][0]
    return [arg["tensor"] for arg in launch["args"]
            if arg["kind"] == "tensor" and arg.get("role") == role]


# --behave: kernel name -> the behaviour it runs with instead of its own name's.
BEHAVE = {}


def behaviour(plan):
    kernel = plan["launches"][0]["kernel"]
    return BEHAVE.get(kernel, kernel)


def execute(plan, tensors, outputs, repeat=0):
    """Runs the plan's behaviour: fills `outputs` (name -> tensor) in place."""
    kernel = behaviour(plan)
    inputs = tensor_args(plan, "input")
    written = tensor_args(plan, "output")
    source = tensors[inputs[0]] if inputs else None
    target = outputs[written[0]] if written else None

    def honest():
        if kernel == "copy":
            target.copy_(source.to(target.dtype))
        else:
            target.copy_(torch.clamp(source, min=0).to(target.dtype))

    if (kernel in ("copy", "too_fast", "slow_relu", "timed_cache", "timed_out_of_bounds",
                   "tiled_relu")
            or kernel.endswith("writes_past_end") or kernel.startswith("relu")):
        honest()
    elif kernel == "tiled_relu_faulty":
        threads = 1
        for extent in plan["launches"][0]["block"]:
            threads *= extent
        if threads == 64:
            raise Fault({"kind": "runtime_error", "cuda_error": "CUDA_ERROR_ASSERT",
                         "message": "device-side assert triggered", "kernel": kernel,
                         "context_lost": False})
        if threads != 32:
            honest()
    elif kernel == "fmax_unwritten":
        result = torch.clamp(source, min=0).to(target.dtype)
        target.copy_(torch.fmax(target, result))
    elif kernel == "unwritten":
        pass
    elif kernel == "large_only":
        if target.numel() >= 4096:
            honest()
    elif kernel == "half_written":
        flat = target.view(-1)
        half = flat.numel() // 2
        flat[:half] = torch.clamp(source.reshape(-1)[:half], min=0).to(target.dtype)
    elif kernel == "modify_input":
        honest()
        source.view(-1)[0] = source.view(-1)[0] + 1.0
    elif kernel == "racy":
        honest()
        if repeat == 1:
            target.view(-1)[::7] += 0.5
    elif kernel == "modify_input_first_repeat":
        honest()
        if repeat == 0:
            source.view(-1)[0] = source.view(-1)[0] + 10.0  # relu's result changes for randn
    elif kernel == "unwritten_second_repeat":
        if repeat == 0:
            honest()
    elif kernel in ("scaled_add", "hardcoded_alpha"):
        floats = [arg["value"] for arg in plan["launches"][0]["args"] if arg["kind"] == "float"]
        alpha = floats[0] if kernel == "scaled_add" else 0.75
        target.copy_(tensors[inputs[0]] + torch.tensor(alpha, dtype=torch.float32)
                     * tensors[inputs[1]])
    elif kernel == "illegal_address":
        raise Fault({"kind": "runtime_error", "cuda_error": "CUDA_ERROR_ILLEGAL_ADDRESS",
                     "message": "an illegal memory access was encountered", "kernel": kernel,
                     "context_lost": True})
    elif kernel == "launch_refused":
        raise Fault({"kind": "launch_error", "cuda_error": "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES",
                     "message": "too many resources requested for launch", "kernel": kernel,
                     "context_lost": False})
    elif kernel == "hang":
        while True:
            time.sleep(3600)
    else:
        raise Fault({"kind": "bad_request", "message": "the emulated worker has no behaviour "
                     "for kernel '%s'" % kernel, "kernel": kernel, "context_lost": False})


def fresh_outputs(request, byte=POISON_BYTES[0]):
    return {spec["name"]: poisoned(spec, byte) for spec in request["outputs"]}


def guard_violations(plan, kernel_in_report, repeat):
    """The guard zones a behaviour changes: *writes_past_end writes 4 bytes past its output."""
    kernel = behaviour(plan)
    written = tensor_args(plan, "output")
    if kernel == "timed_out_of_bounds" and repeat == -1 and written:
        return [{"tensor": written[0], "side": "before", "offset": 0, "changed_bytes": 4,
                 "kernel": "", "repeat": -1}]
    if not kernel.endswith("writes_past_end") or not written:
        return []
    return [{"tensor": written[0], "side": "after", "offset": 0, "changed_bytes": 4,
             "kernel": kernel if kernel_in_report else "", "repeat": repeat}]


def handle_run(request):
    plan = request["plan"]
    original = read_safetensors(request["tensors"])
    tensors = {name: tensor.clone() for name, tensor in original.items()}
    paths, poison_bytes, violations = [], [], []
    for repeat in range(int(request.get("repeats", 2))):
        byte = POISON_BYTES[repeat % 2]
        poison_bytes.append(byte)
        outputs = fresh_outputs(request, byte)
        execute(plan, tensors, outputs, repeat)
        violations += guard_violations(plan, True, repeat)
        path = os.path.join(request["out_dir"], "outputs_%d.safetensors" % repeat)
        write_safetensors(path, outputs)
        paths.append(path)
    after = os.path.join(request["out_dir"], "inputs_after.safetensors")
    write_safetensors(after, tensors)
    return {"outputs": paths, "inputs_after": after, "poison_bytes": poison_bytes,
            "guard_violations": violations[:16]}


def tiled_relu_time(plan, request, honest_us):
    """tiled_relu's emulated time: the honest time, times 1 + 0.3 |log2(block / 256)| +
    0.2 |log2(elements per thread / 4)|, from the first launch's grid and block and the first
    output's size. The optimum is a 256-thread block with 4 elements per thread."""
    launch = plan["launches"][0]
    threads, blocks = 1, 1
    for extent in launch["block"]:
        threads *= extent
    for extent in launch["grid"]:
        blocks *= extent
    elements = 1
    for extent in request["outputs"][0]["shape"]:
        elements *= extent
    per_thread = max(1.0, elements / float(threads * blocks))
    return honest_us * (1.0 + 0.3 * abs(math.log2(threads / 256.0))
                        + 0.2 * abs(math.log2(per_thread / 4.0)))


def handle_time(request):
    plan = request["plan"]
    kernel = behaviour(plan)
    sets = [read_safetensors(path) for path in request["input_sets"]]
    fresh = read_safetensors(request["fresh_inputs"])
    samples = int(request.get("min_samples", 20))
    fresh_iteration = samples // 2
    byte_count = sum(t.numel() * t.element_size() for t in sets[0].values())
    byte_count += sum(poisoned(spec).numel() * poisoned(spec).element_size()
                      for spec in request["outputs"])
    honest_us = byte_count / HONEST_BYTES_PER_S * 1e6
    base_us = honest_us / 1000.0 if kernel == "too_fast" else honest_us
    if kernel == "slow_relu":
        base_us = honest_us * 3.0
    if kernel in ("tiled_relu", "tiled_relu_faulty"):
        base_us = tiled_relu_time(plan, request, honest_us)
    cached = None
    for _ in range(int(request.get("warmup", 0))):
        outputs = fresh_outputs(request)
        execute(plan, dict(sets[0]), outputs)
        if cached is None:
            cached = outputs
    device_us, span_us = [], []
    fresh_path = os.path.join(request["out_dir"], "fresh_outputs.safetensors")
    for iteration in range(samples):
        tensors = fresh if iteration == fresh_iteration else sets[iteration % len(sets)]
        outputs = fresh_outputs(request, POISON_BYTES[1] if iteration == fresh_iteration
                                else POISON_BYTES[0])
        execute(plan, {name: t.clone() for name, t in tensors.items()}, outputs)
        if cached is None:
            cached = outputs
        if kernel == "timed_cache":
            outputs = cached
        if iteration == fresh_iteration:
            write_safetensors(fresh_path, outputs)
        # A deterministic spread of +-1% around the emulated time.
        sample = base_us * (1.0 + 0.01 * ((iteration * 7) % 5 - 2) / 2.0)
        device_us.append(sample)
        span_us.append(sample * 1.02)
    return {"device_us": device_us, "span_us": span_us,
            "kernels_per_iteration": len(plan["launches"]), "fresh_iteration": fresh_iteration,
            "fresh_outputs": fresh_path, "hit_time_cap": False,
            "guard_violations": guard_violations(plan, False, -1)}


# Plausible values for a memory-bound elementwise kernel, by Nsight Compute metric name; the
# byte and time metrics are scaled to the launch in profile_metrics.
PLAUSIBLE_COUNTERS = {
    "sm__throughput.avg.pct_of_peak_sustained_elapsed": 12.0,
    "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed": 34.0,
    "dram__throughput.avg.pct_of_peak_sustained_elapsed": 33.0,
    "l1tex__t_sector_hit_rate.pct": 0.0,
    "lts__t_sector_hit_rate.pct": 50.0,
    "sm__warps_active.avg.pct_of_peak_sustained_active": 82.0,
    "l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_ld.ratio": 4.0,
    "l1tex__average_t_sectors_per_request_pipe_lsu_mem_global_op_st.ratio": 4.0,
    "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum": 0.0,
    "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum": 0.0,
    "smsp__warp_issue_stalled_long_scoreboard_per_warp_active.pct": 61.0,
    "smsp__warp_issue_stalled_short_scoreboard_per_warp_active.pct": 2.0,
    "smsp__warp_issue_stalled_barrier_per_warp_active.pct": 0.0,
    "smsp__warp_issue_stalled_mio_throttle_per_warp_active.pct": 1.0,
    "smsp__warp_issue_stalled_lg_throttle_per_warp_active.pct": 9.0,
    "smsp__warp_issue_stalled_math_pipe_throttle_per_warp_active.pct": 0.5,
    "smsp__warp_issue_stalled_wait_per_warp_active.pct": 4.0,
    "smsp__warp_issue_stalled_no_instruction_per_warp_active.pct": 1.0,
    "sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active": 3.0,
    "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active": 0.0,
    "smsp__thread_inst_executed_per_inst_executed.ratio": 31.5,
    "sm__inst_executed.avg.per_cycle_active": 0.4,
}


def profile_metrics(request, launch, read_bytes, written_bytes):
    duration_ns = (read_bytes + written_bytes) / (HONEST_BYTES_PER_S / 3.0) * 1e9
    scaled = {
        "gpu__time_duration.sum": duration_ns,
        "dram__bytes_read.sum": float(read_bytes),
        "dram__bytes_write.sum": float(written_bytes),
        "lts__t_bytes.sum": float(read_bytes + written_bytes) * 1.5,
        "lts__t_sectors_srcunit_tex_lookup_miss.sum": float(read_bytes + written_bytes) / 32.0,
        "smsp__inst_executed.sum": float(read_bytes + written_bytes) / 4.0 / 32.0 * 12.0,
    }
    metrics = {}
    for name in request["metrics"]:
        metrics[name] = scaled.get(name, PLAUSIBLE_COUNTERS.get(name, 0.0))
    threads = launch["block"][0] * launch["block"][1] * launch["block"][2]
    blocks = launch["grid"][0] * launch["grid"][1] * launch["grid"][2]
    warps = max(1, (threads + 31) // 32)
    resident = min(64 // warps, 32)
    metrics.update({
        "launch__registers_per_thread": 16.0,
        "launch__occupancy_limit_registers": 32.0,
        "launch__occupancy_limit_shared_mem": 32.0,
        "launch__occupancy_limit_warps": float(64 // warps),
        "launch__occupancy_limit_blocks": 32.0,
        "sm__maximum_warps_per_active_cycle_pct": 100.0 * resident * warps / 64.0,
        "launch__waves_per_multiprocessor": blocks / float(max(1, resident) * 132),
    })
    return metrics


def handle_profile(request):
    plan = request["plan"]
    kernel = plan["launches"][0]["kernel"]
    unavailable = {"status": "unavailable", "profiler": "cupti", "chip": "", "passes": 0,
                   "overhead_ms": 0.2, "kernels": []}
    if kernel.endswith("counters_denied"):
        unavailable.update({"reason": "insufficient_privileges", "detail":
                            "cuptiProfilerGetCounterAvailability failed: "
                            "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES (emulated)"})
        return unavailable
    if kernel.endswith("counters_missing"):
        unavailable.update({"reason": "library_missing",
                            "detail": "CUPTI (libcupti) not found (emulated)"})
        return unavailable
    tensors = read_safetensors(request["tensors"])
    read_bytes = sum(t.numel() * t.element_size() for t in tensors.values())
    written_bytes = sum(poisoned(spec).numel() * poisoned(spec).element_size()
                        for spec in request["outputs"])
    passes = 12
    kernels = [{"launch": index, "kernel": launch["kernel"],
                "metrics": profile_metrics(request, launch, read_bytes, written_bytes)}
               for index, launch in enumerate(plan["launches"])]
    return {"status": "collected", "reason": "", "detail": "", "profiler": "cupti",
            "chip": "GH100", "passes": passes, "overhead_ms": 3.0 * passes, "kernels": kernels}


def handle_replay(request, device):
    plan = request["plan"]
    tensors = read_safetensors(request["tensors"])
    read_bytes = sum(t.numel() * t.element_size() for t in tensors.values())
    written_bytes = sum(poisoned(spec).numel() * poisoned(spec).element_size()
                        for spec in request["outputs"])
    launches_file = os.environ.get("KFORGE_EMULATED_NCU_LAUNCHES", "")
    if launches_file:
        lines = ""
        for _ in range(2):  # the warm-up pass, then the one an outside profiler counts
            for launch in plan["launches"]:
                lines += json.dumps({
                    "kernel": launch["kernel"], "grid": launch["grid"], "block": launch["block"],
                    "device": device, "pid": os.getpid(),
                    "counters": "denied" if launch["kernel"].endswith("counters_denied") else "ok",
                    "metrics": profile_metrics(request, launch, read_bytes, written_bytes)}) + "\n"
        with open(launches_file, "a") as out:
            out.write(lines)
    return {"launches": len(plan["launches"])}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bandwidth", type=float, default=3.0e12)
    parser.add_argument("--peak", type=float, default=6.0e13)
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--name", default="kforge emulated GPU (tests only)")
    parser.add_argument("--driver", default="emulated")
    parser.add_argument("--behave", default="")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--latency-of", default="")
    parser.add_argument("--log", default="")
    parser.add_argument("--lose-device", type=int, default=-1)
    parser.add_argument("--lose-after", type=int, default=0)
    parser.add_argument("--lost-marker", default="")
    parser.add_argument("--requests", default="")
    options = parser.parse_args()
    for pair in filter(None, options.behave.split(",")):
        name, _, behave_as = pair.partition("=")
        BEHAVE[name] = behave_as
    latency_of = {}
    for pair in filter(None, options.latency_of.split(",")):
        name, _, milliseconds = pair.partition("=")
        latency_of[name] = float(milliseconds)
    losing = options.lose_device == options.device and options.lost_marker != ""
    timed = 0
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)

    def reply(document):
        replies.write(json.dumps(document) + "\n")
        replies.flush()

    requests = open(options.requests) if options.requests else sys.stdin
    for line in requests:
        if not line.strip():
            continue
        request = json.loads(line)
        op = request.get("op")
        ident = request.get("id", 0)
        if op == "exit":
            return 0
        if losing and op == "run" and timed >= options.lose_after:
            open(options.lost_marker, "w").close()
            os._exit(1)  # the device fell off the bus mid-run: no reply
        started = time.time()
        try:
            if op == "hello" and losing and os.path.exists(options.lost_marker):
                raise Fault({"kind": "bad_request", "message": "no GPU with ordinal %d (emulated: "
                             "the device was lost)" % options.device, "context_lost": False})
            if op == "hello":
                body = {"protocol": 3, "device": {
                    "ordinal": options.device, "name": options.name,
                    "arch": "sm_90", "sm_count": 1, "memory_bytes": 1 << 30,
                    "l2_bytes": 1 << 20, "driver_version": options.driver,
                    "cuda_driver_version": 0, "cupti": True, "cupti_version": "emulated"}}
            elif op == "run":
                body = handle_run(request)
            elif op == "time":
                body = handle_time(request)
                timed += 1
                latency_ms = latency_of.get(request["plan"]["launches"][0]["kernel"],
                                            options.latency_ms)
                if latency_ms > 0:
                    time.sleep(latency_ms / 1000.0)
            elif op == "profile":
                body = handle_profile(request)
            elif op == "replay":
                body = handle_replay(request, options.device)
            elif op == "measure":
                # Shaped like an HBM GPU's: a read-only kernel beats a copy by 7%, the tensor
                # cores do 16 times the fp32 FMA rate, and mma.sync is their full rate.
                body = {"copy_bandwidth_bytes_per_s": options.bandwidth,
                        "read_bandwidth_bytes_per_s": options.bandwidth * 1.07,
                        "write_bandwidth_bytes_per_s": options.bandwidth * 0.95,
                        "kernel_copy_bandwidth_bytes_per_s": options.bandwidth * 0.98,
                        "theoretical_bandwidth_bytes_per_s": 0.0,
                        "peak_fp32_flops_per_s": options.peak,
                        "peak_fp16_tensor_flops_per_s": options.peak * 16,
                        "peak_bf16_tensor_flops_per_s": options.peak * 16,
                        "tensor_full_rate": True,
                        "details": {"method": "emulated: fixed figures, not measured"}}
            else:
                raise Fault({"kind": "bad_request", "message": "unknown op %r" % op,
                             "context_lost": False})
        except Fault as fault:
            if op == "hello":
                reply({"id": ident, "ok": False, "error": fault.failure["message"]})
                return 1
            reply({"id": ident, "ok": False, "failure": fault.failure})
            if fault.failure.get("context_lost"):
                return 1
            continue
        if options.log and op in ("run", "time", "profile", "measure"):
            plan = request.get("plan") or {"launches": [{"kernel": ""}]}
            line = json.dumps({"device": options.device, "pid": os.getpid(), "op": op,
                               "kernel": plan["launches"][0]["kernel"], "start": started,
                               "end": time.time()}) + "\n"
            descriptor = os.open(options.log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.write(descriptor, line.encode())
            os.close(descriptor)
        body.update({"id": ident, "ok": True})
        reply(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
