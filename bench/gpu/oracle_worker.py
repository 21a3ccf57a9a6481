#!/usr/bin/env python3
"""A stand-in GPU worker for timing scripts/gpu-check.sh's CPU side on a machine with no GPU
(KFORGE_GPU_CHECK_EMULATED=1). It speaks kforge's GPU worker protocol (sandbox/gpu_protocol.hpp)
like tests/support/emulated_gpu_worker.py, but runs no kernel and knows no behaviour by name:
for any candidate it answers with the reference's own outputs, found in the workspace's
reference cache (.kforge/reference/run/*/) by the content of the inputs it is given. So every
candidate is "correct", every stage of the run (verify, time, floor, baseline) is exercised with
the real amounts of data, and nothing it says is a measurement. Standard library only.

Usage: oracle_worker.py --reference-cache DIR [--device N] [--task NAME]
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import struct
import sys

BANDWIDTH = 3.0e12  # what `measure` reports: fixed figures, not measured
HONEST_BYTES_PER_S = 1.0e12  # the emulated kernel's speed: a third of the floor


def protocol_version():
    """kGpuProtocolVersion, read from sandbox/gpu_protocol.hpp: the one place it is written, so
    that this stand-in cannot greet with a version kforge has moved on from."""
    source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sandbox",
                          "gpu_protocol.hpp")
    with open(source) as handle:
        found = re.search(r"kGpuProtocolVersion\s*=\s*(\d+)\s*;", handle.read())
    if not found:
        raise SystemExit("oracle_worker: no kGpuProtocolVersion in %s" % source)
    return int(found.group(1))


def header(path):
    with open(path, "rb") as handle:
        (length,) = struct.unpack("<Q", handle.read(8))
        return json.loads(handle.read(length)), 8 + length


SAMPLE = 64 * 1024  # bytes from each end of a tensor in its sampled digest


def fingerprint(paths, sampled=False):
    """One digest over every tensor (name, dtype, shape, bytes) of the given safetensors files;
    sampled: over each tensor's first and last SAMPLE bytes and its length only, which reading a
    reference cache of tens of GiB can afford (a whole-content digest of it took longer than a
    run's time limit)."""
    entries = []
    for path in paths:
        meta, start = header(path)
        with open(path, "rb") as handle:
            for name, entry in meta.items():
                if name == "__metadata__":
                    continue
                begin, end = entry["data_offsets"]
                digest = hashlib.sha1()
                if sampled and end - begin > 2 * SAMPLE:
                    handle.seek(start + begin)
                    digest.update(handle.read(SAMPLE))
                    handle.seek(start + end - SAMPLE)
                    digest.update(handle.read(SAMPLE))
                    digest.update(str(end - begin).encode())
                else:
                    handle.seek(start + begin)
                    digest.update(handle.read(end - begin))
                entries.append("%s|%s|%s|%s" % (name, entry["dtype"], entry["shape"],
                                                digest.hexdigest()))
    return hashlib.sha1("\n".join(sorted(entries)).encode()).hexdigest()


def tensor_bytes(path):
    meta, _ = header(path)
    return sum(e["data_offsets"][1] - e["data_offsets"][0] for n, e in meta.items()
               if n != "__metadata__")


class Oracle:
    def __init__(self, cache, task=None):
        self.runs = os.path.join(cache, "run")
        self.task = task  # only this task's runs (reply.json's name), when given
        # sampled fingerprint -> [(inputs and parameters, outputs, task), ...]
        self.known = {}
        self.seen = set()

    def scan(self):
        if not os.path.isdir(self.runs):
            return
        for key in os.listdir(self.runs):
            folder = os.path.join(self.runs, key)
            files = [os.path.join(folder, f) for f in
                     ("inputs.safetensors", "parameters.safetensors", "outputs.safetensors")]
            if key in self.seen or not all(os.path.exists(f) for f in files) or \
                    not os.path.exists(os.path.join(folder, "reply.json")):
                continue
            self.seen.add(key)
            try:
                with open(os.path.join(folder, "reply.json")) as handle:
                    name = json.load(handle).get("name")
            except (OSError, ValueError):
                continue
            if self.task is not None and name != self.task:
                continue
            self.known.setdefault(fingerprint(files[:2], sampled=True), []).append(
                (files[:2], files[2], name))

    def outputs_for(self, tensors):
        key = fingerprint([tensors], sampled=True)
        if key not in self.known:
            self.scan()
        found = self.known.get(key, [])
        if len(found) > 1:
            # Runs alike at both ends of every tensor: told apart by their whole content.
            whole = fingerprint([tensors])
            found = [run for run in found if fingerprint(run[0]) == whole]
        if not found:
            raise LookupError("no cached reference run has these inputs (%s)" % tensors)
        if len(set(run[2] for run in found)) > 1:
            raise LookupError("the cached reference runs of %d tasks have these inputs (%s): "
                              "give --task" % (len(set(run[2] for run in found)), tensors))
        return found[0][1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reference-cache", required=True)
    parser.add_argument("--device", type=int, default=0)
    parser.add_argument("--task", help="answer from this task's reference runs only (two tasks "
                                       "may share their inputs, not their outputs)")
    options = parser.parse_args()
    replies = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    oracle = Oracle(options.reference_cache, options.task)
    protocol = protocol_version()

    def reply(document):
        replies.write(json.dumps(document) + "\n")
        replies.flush()

    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        op, ident = request.get("op"), request.get("id", 0)
        if op == "exit":
            return 0
        try:
            if op == "hello":
                body = {"protocol": protocol, "device": {
                    "ordinal": options.device, "name": "kforge oracle worker (emulated, no GPU)",
                    "arch": "sm_90", "sm_count": 1, "memory_bytes": 1 << 34,
                    "l2_bytes": 1 << 20, "driver_version": "emulated",
                    "cuda_driver_version": 0, "cupti": True, "cupti_version": "emulated"}}
            elif op == "run":
                answer = oracle.outputs_for(request["tensors"])
                paths = []
                for repeat in range(int(request.get("repeats", 2))):
                    path = os.path.join(request["out_dir"], "outputs_%d.safetensors" % repeat)
                    shutil.copyfile(answer, path)
                    paths.append(path)
                after = os.path.join(request["out_dir"], "inputs_after.safetensors")
                shutil.copyfile(request["tensors"], after)
                body = {"outputs": paths, "inputs_after": after}
            elif op == "time":
                samples = int(request.get("min_samples", 20))
                fresh = os.path.join(request["out_dir"], "fresh_outputs.safetensors")
                answer = oracle.outputs_for(request["fresh_inputs"])
                shutil.copyfile(answer, fresh)
                moved = tensor_bytes(request["input_sets"][0]) + tensor_bytes(answer)
                base = moved / HONEST_BYTES_PER_S * 1e6
                device = [base * (1 + 0.005 * ((i * 7) % 5 - 2)) for i in range(samples)]
                body = {"device_us": device, "span_us": [d * 1.02 for d in device],
                        "kernels_per_iteration": len(request["plan"]["launches"]),
                        "fresh_iteration": samples // 2, "fresh_outputs": fresh,
                        "hit_time_cap": False}
            elif op == "measure":
                body = {"copy_bandwidth_bytes_per_s": BANDWIDTH,
                        "read_bandwidth_bytes_per_s": BANDWIDTH,
                        "write_bandwidth_bytes_per_s": BANDWIDTH,
                        "kernel_copy_bandwidth_bytes_per_s": BANDWIDTH,
                        "theoretical_bandwidth_bytes_per_s": 0.0,
                        "peak_fp32_flops_per_s": 6e13,
                        "peak_fp16_tensor_flops_per_s": 0.0,
                        "peak_bf16_tensor_flops_per_s": 0.0, "tensor_full_rate": False,
                        "details": {"method": "emulated: fixed figures, not measured"}}
            elif op == "profile":
                # No counters to give: answered as a machine without them answers (a reply
                # with status unavailable, not a failure), so the evaluation goes on.
                body = {"status": "unavailable", "reason": "not_supported",
                        "detail": "the oracle worker (emulated, no GPU) has no hardware counters",
                        "profiler": "cupti", "chip": "", "passes": 0, "overhead_ms": 0.0,
                        "kernels": []}
            else:
                raise ValueError("unknown op %r" % op)
        except (LookupError, ValueError, OSError, KeyError) as failure:
            reply({"id": ident, "ok": False, "failure": {
                "kind": "bad_request", "message": str(failure), "context_lost": False}})
            continue
        body.update({"id": ident, "ok": True})
        reply(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
