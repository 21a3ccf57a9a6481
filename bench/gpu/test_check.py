#!/usr/bin/env python3
"""Tests of the GPU check's own logic (bench/gpu/check.py, bench/gpu/oracle_worker.py) that need
no GPU: which catalogue entries may run concurrently, what passes, which seeds Nsight Compute
profiles, how its CSV is read, the workspace configuration text, how the oracle worker recognises
inputs and which protocol version it greets with, the time plan against the budget and
gpu-check.sh's limits, and the baselines step: every seed task sent to ONE real
kforge_reference.py process (its starts counted; run under a Python with torch where there is
one, refused no_cuda here). One test runs the real kforge binary (KFORGE_BIN, else build/kforge)
with the oracle worker as its GPU worker. Run by ctest (gpu_check.logic); standard library
only."""

import contextlib
import io
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import check  # noqa: E402
import oracle_worker  # noqa: E402


def safetensors(path, tensors):
    """tensors: name -> (dtype, shape, bytes)."""
    header, offset, blobs = {}, 0, []
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = {"seed": "0"}
    encoded = json.dumps(header).encode()
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


class Catalogue(unittest.TestCase):
    def test_only_entries_that_can_reach_timing_are_timed(self):
        self.assertTrue(check.decided_before_timing({"verdict": "incorrect"}))
        self.assertTrue(check.decided_before_timing(
            {"verdict": "launch_error", "alternative_verdicts": ["plan_error"]}))
        self.assertFalse(check.decided_before_timing({"verdict": "correct"}))
        self.assertFalse(check.decided_before_timing({"verdict": "suspicious"}))
        self.assertFalse(check.decided_before_timing(
            {"verdict": "incorrect", "alternative_verdicts": ["suspicious"]}))

    def test_the_real_catalogue_splits_into_both_groups(self):
        entries = {e["file"]: e for e in check.catalogue_entries()}
        self.assertFalse(check.decided_before_timing(entries["honest/relu_grid_stride.cu"]))
        self.assertFalse(check.decided_before_timing(entries["hostile/cache_by_pointer.cu"]))
        self.assertTrue(check.decided_before_timing(entries["hostile/trap.cu"]))
        self.assertTrue(check.decided_before_timing(entries["hostile/infinite_loop.cu"]))

    def test_only_purely_honest_entries_are_timed_beside_others(self):
        self.assertTrue(check.honest_only({"verdict": "correct"}))
        self.assertFalse(check.honest_only({"verdict": "suspicious"}))
        self.assertFalse(check.honest_only(
            {"verdict": "correct", "alternative_verdicts": ["suspicious"]}))

    def test_strict_reasons_and_alternatives(self):
        strict = {"verdict": "incorrect", "reason": "unwritten_output", "strict": True}
        self.assertTrue(check.entry_passes(strict, "incorrect", "unwritten_output"))
        self.assertFalse(check.entry_passes(strict, "incorrect", "mismatch"))
        self.assertFalse(check.entry_passes(strict, "correct", ""))
        loose = {"verdict": "suspicious", "reason": "faster_than_physical_floor",
                 "strict": False, "alternative_verdicts": ["incorrect"]}
        self.assertTrue(check.entry_passes(loose, "incorrect", "mismatch"))
        self.assertFalse(check.entry_passes(loose, None, None))


class NsightCompute(unittest.TestCase):
    def seeds(self):
        times = {"a": 15.0, "b": 40.0, "c": 95.0, "d": 280.0, "e": 1100.0, "f": 4000.0,
                 "g": 9000.0}
        results = [{"name": n, "median_us": t, "kernels_per_iteration": 1, "verdict": "correct"}
                   for n, t in times.items()]
        results.append({"name": "two_kernels", "median_us": 10.0, "kernels_per_iteration": 2,
                        "verdict": "correct"})
        results.append({"name": "wrong", "median_us": 10.0, "kernels_per_iteration": 1,
                        "verdict": "incorrect"})
        return results

    def test_picks_distinct_single_kernel_correct_seeds_across_the_range(self):
        chosen = [r["name"] for r in check.pick_ncu_kernels(self.seeds())]
        self.assertEqual(chosen, ["a", "b", "c", "d", "e", "g"])
        self.assertEqual(check.nearest(self.seeds(), 1000.0)["name"], "e")

    def test_fewer_seeds_than_targets_gives_each_once(self):
        chosen = check.pick_ncu_kernels(self.seeds()[:2])
        self.assertEqual([r["name"] for r in chosen], ["a", "b"])
        self.assertEqual(check.pick_ncu_kernels([]), [])

    def test_reads_the_csv_between_prof_lines_with_its_unit_row(self):
        text = "\n".join([
            "==PROF== Connected to process 123 (/bundle/kforge)",
            '"ID","Process ID","Process Name","Host Name","Kernel Name","Context","Stream",'
            '"Block Size","Grid Size","Device","CC","gpu__time_duration.sum"',
            '"","","","","","","","","","","","nsecond"',
            '"0","123","kforge","h","relu_vec","1","13","(256, 1, 1)","(8192, 1, 1)","0","9.0",'
            '"41,216"',
            '"1","123","kforge","h","relu_vec","1","13","(256, 1, 1)","(64, 1, 1)","0","9.0",'
            '"3,104"',
            "==PROF== Disconnected from process 123"])
        records = check.parse_ncu_csv(text)
        self.assertEqual(len(records), 2)
        self.assertAlmostEqual(records[0]["us"], 41.216)
        self.assertEqual(records[0]["grid"], check.grid_text([8192, 1, 1]))
        self.assertEqual(records[1]["kernel"], "relu_vec")

    def test_other_units_and_missing_metric(self):
        text = '"Kernel Name","gpu__time_duration.sum"\n"","msecond"\n"k","2.5"\n'
        self.assertAlmostEqual(check.parse_ncu_csv(text)[0]["us"], 2500.0)
        self.assertEqual(check.parse_ncu_csv('"Kernel Name","other"\n"k","1"\n'), [])
        self.assertEqual(check.parse_ncu_csv("==ERROR== ERR_NVGPUCTRPERM\n"), [])

    def test_grid_text_pads_to_three_dimensions(self):
        self.assertEqual(check.grid_text([7]), "(7, 1, 1)")
        self.assertEqual(check.grid_text([4, 2, 3]), "(4, 2, 3)")


class Pieces(unittest.TestCase):
    def test_workspace_configuration_text(self):
        text = check.toml_text({"python": "/opt/py 3/python3",
                                "timing": {"baselines": False, "time_cap_ms": 200.0},
                                "verify": {"seeds": 1}})
        self.assertEqual(text, 'python = "/opt/py 3/python3"\n[timing]\nbaselines = false\n'
                               'time_cap_ms = 200.0\n[verify]\nseeds = 1\n')

    def test_cv(self):
        self.assertIsNone(check.cv([5.0]))
        self.assertAlmostEqual(check.cv([9.0, 10.0, 11.0]), 0.1)


def script_limits():
    """{step: its own time limit in s} and the default budget, read from scripts/gpu-check.sh."""
    with open(os.path.join(check.ROOT, "scripts", "gpu-check.sh")) as handle:
        text = handle.read()
    limits = {name: int(limit) for name, limit in
              re.findall(r"^step ([a-z-]+) \$\(\((\d+) \* scale\)\)", text, re.M)}
    limits.update({name: int(limit) for name, limit in
                   re.findall(r"^checked ([a-z-]+) (\d+) \d+$", text, re.M)})
    budget = int(re.search(r"KFORGE_GPU_CHECK_BUDGET_S:-(\d+)", text).group(1))
    return limits, budget


class TimePlan(unittest.TestCase):
    def test_the_plan_for_this_checkout_fits_the_budget_and_every_step_its_limit(self):
        plan = check.plan_for_checkout()
        limits, budget = script_limits()
        self.assertEqual(budget, check.PLAN_BUDGET_S)
        self.assertLessEqual(budget, 480 - 40)  # 40 s of margin inside the 8 minutes
        self.assertEqual([name for name, _, _ in plan], list(limits))  # every step, in order
        for name, seconds, _ in plan:
            self.assertLessEqual(seconds, limits[name], name)
        self.assertLessEqual(sum(seconds for _, seconds, _ in plan), budget)

    def test_baselines_cost_one_torch_start_not_one_per_seed(self):
        # One more seed task adds its timing to the baselines step, not another torch start.
        plan = dict((name, seconds) for name, seconds, _ in check.time_plan(21, 21, 42, 7, 13))
        more = dict((name, seconds) for name, seconds, _ in check.time_plan(21, 22, 42, 7, 13))
        self.assertAlmostEqual(more["baselines"] - plan["baselines"], 2.3)
        self.assertLess(plan["baselines"], 21 * 12)  # 12-15 s per seed with a process each

    def test_a_checkout_too_big_for_the_budget_fails_the_plan_step(self):
        with tempfile.TemporaryDirectory() as work, \
                mock.patch.object(check, "plan_for_checkout",
                                  lambda: check.time_plan(60, 60, 42, 7, 13)), \
                contextlib.redirect_stdout(io.StringIO()) as printed:
            self.assertEqual(check.step_plan(work, check.Deadline(5)), 1)
        self.assertIn("ESTIMATES", printed.getvalue())


def python_with_torch():
    for python in (os.environ.get("KFORGE_PYTHON"), "/usr/bin/python3", sys.executable):
        if python and subprocess.run([python, "-c", "import torch"],
                                     capture_output=True).returncode == 0:
            return python
    return None


class Baselines(unittest.TestCase):
    def test_the_request_carries_every_task_and_kforges_timing_settings_but_the_cap(self):
        tasks = [{"name": "a", "source": "A", "filename": "a.py"},
                 {"name": "b", "source": "B", "filename": "b.py"}]
        config = {"verify.dtype": "float16", "gpu.device": 1, "timing.warmup": 3,
                  "timing.min_samples": 7, "timing.max_samples": 9,
                  "timing.target_spread": 0.5, "timing.flush_l2": False,
                  "timing.time_cap_ms": 2000.0}
        request = check.baselines_request(tasks, config, 300, 60)
        self.assertEqual(request["op"], "baselines")
        self.assertEqual([t["name"] for t in request["tasks"]], ["a", "b"])
        self.assertEqual(request["tasks"][1], {"name": "b", "source": "B", "filename": "b.py",
                                               "constants": {}, "seed": 0})
        self.assertEqual((request["dtype"], request["device_index"], request["warmup"],
                          request["min_samples"], request["max_samples"],
                          request["target_spread"], request["flush_l2"]),
                         ("float16", 1, 3, 7, 9, 0.5, False))
        self.assertEqual(request["time_cap_ms"], 300.0)

    def test_medians_and_speedups_from_a_recorded_reply(self):
        reply = {"name": "relu", "ok": True, "eager": {"samples": [30.0, 10.0, 20.0]},
                 "compile": {"samples": [8.0, 9.0], "hit_time_cap": True}}
        eager, compiled, note = check.baseline_medians(reply)
        self.assertEqual((eager, compiled), (20.0, 8.5))
        self.assertIn("compile: 2 samples (time cap)", note)
        self.assertAlmostEqual(check.speedup(eager, 10.0), 2.0)
        self.assertIsNone(check.speedup(None, 10.0))
        self.assertIsNone(check.speedup(20.0, 0.0))
        failed = {"name": "relu", "ok": True, "eager": {"samples": [5.0]},
                  "compile": {"error": "RuntimeError: no backend"}}
        self.assertEqual(check.baseline_medians(failed)[:2], (5.0, None))
        refused = {"name": "relu", "ok": False, "error": {"kind": "no_cuda", "message": "m"}}
        self.assertEqual(check.baseline_medians(refused), (None, None, "no_cuda: m"))

    def run_step(self, python_body, seconds=120, seeds="relu,row_sum,matvec"):
        """The baselines step with `python_body` as the reference runner's Python (a shell
        script that counts its starts); (exit code, printed rows, starts, saved results)."""
        with tempfile.TemporaryDirectory() as work:
            python = os.path.join(work, "python")
            starts = os.path.join(work, "starts")
            with open(python, "w") as handle:
                handle.write("#!/bin/sh\necho started >>%s\n%s\n" % (starts, python_body))
            os.chmod(python, 0o755)
            environment = {"KFORGE_BIN": "/bin/false", "KFORGE_GPU_CHECK_OUT": work,
                           "KFORGE_GPU_CHECK_PYTHON": python, "KFORGE_GPU_CHECK_EMULATED": "0",
                           "KFORGE_GPU_CHECK_SEEDS": seeds}
            with mock.patch.dict(os.environ, environment), \
                    contextlib.redirect_stdout(io.StringIO()) as printed:
                code = check.step_baselines(work, check.Deadline(seconds))
            count = len(open(starts).readlines()) if os.path.exists(starts) else 0
            return code, printed.getvalue(), count, check.load(work, "baselines")

    def test_every_seed_task_is_asked_of_one_reference_runner_process(self):
        python = python_with_torch() or sys.executable
        code, printed, starts, results = self.run_step('exec %s "$@"' % python)
        self.assertEqual(starts, 1, printed)
        self.assertIn("3 tasks in ONE reference-runner process", printed)
        if python_with_torch():
            # The real runner answers each task by name, in the seeds' order (Nsight Compute's
            # range first); torch here sees no CUDA, so each is refused, and the step fails.
            self.assertEqual([r["task"] for r in results], ["builtin/row_sum", "builtin/relu",
                                                          "builtin/matvec"])
            for result in results:
                self.assertIsNone(result["eager_us"])
                self.assertIn("no_cuda", result["note"])
            self.assertEqual(code, 1)
            self.assertIn("0 of 3 tasks timed, in 1 reference-runner process", printed)

    def test_the_batched_op_answers_each_task_even_a_malformed_one(self):
        python = python_with_torch()
        if not python:
            self.skipTest("no Python with torch here")
        request = {"op": "baselines", "time_limit_s": 30,
                   "tasks": [{"name": "first", "source": "x = 1", "filename": "first.py"}, 5,
                             {"name": "third", "source": "x = 1", "filename": "third.py"}]}
        done = subprocess.run([python, check.REFERENCE_SCRIPT], input=json.dumps(request),
                              capture_output=True, text=True, timeout=100)
        replies = [json.loads(line) for line in done.stdout.splitlines()]
        self.assertEqual(len(replies), 4, done.stderr)
        self.assertEqual([r.get("name") for r in replies[:3]], ["first", "", "third"])
        self.assertTrue(all(not r["ok"] for r in replies[:3]))
        self.assertEqual(replies[1]["error"]["kind"], "raised")  # 5 is no task
        self.assertTrue(replies[3]["done"])

    def test_a_runner_past_the_step_limit_is_killed_and_the_rest_listed(self):
        started = time.monotonic()
        code, printed, starts, results = self.run_step("exec sleep 60", seconds=2)
        self.assertLess(time.monotonic() - started, 20)
        self.assertEqual((code, starts, results), (1, 1, []))
        self.assertIn("step time limit: 3 of 3 tasks not timed", printed)


class DiskGuard(unittest.TestCase):
    RELU = {"benchmark": {"signature": {
        "inputs": [{"kind": "tensor", "dtype": "float32", "shape": [4096, 4096]}],
        "parameters": [],
        "outputs": [{"kind": "tensor", "dtype": "float32", "shape": [4096, 4096]}]}},
        "check_shapes": [{"signature": {
            "inputs": [{"kind": "tensor", "dtype": "float32", "shape": [256, 256]},
                       {"kind": "scalar", "dtype": "float32", "shape": []}],
            "outputs": [{"kind": "tensor", "dtype": "float32", "shape": [256, 256]}]}}]}

    def test_the_estimate_matches_what_the_emulated_run_left_in_the_cache(self):
        # builtin/relu on 2026-12-05: 4 runs of 256 MiB (inputs, outputs, float64 outputs) and 3
        # of 128 MiB at 4096x4096; 3 runs of 1 MiB at the 256x256 check shape (the scalar
        # counts nothing).
        mib = 2**20
        self.assertEqual(check.reference_cache_bytes(self.RELU),
                         4 * 256 * mib + 3 * 128 * mib + 3 * 1 * mib)
        self.assertEqual(check.reference_cache_bytes(self.RELU, seeds=1, input_sets=2),
                         2 * 256 * mib + 2 * 128 * mib + 1 * mib)

    def test_the_largest_tasks_are_left_out_until_the_rest_fits(self):
        gib = 2**30
        needs = {"big": 22 * gib, "mid": 3 * gib, "small": 1 * gib}
        self.assertEqual(check.tasks_that_fit(needs, 40 * gib, 6 * gib), {})
        left_out = check.tasks_that_fit(needs, 25 * gib, 6 * gib)
        self.assertEqual(sorted(left_out), ["big"])
        self.assertIn("22.0 GiB", left_out["big"])
        self.assertEqual(sorted(check.tasks_that_fit(needs, 9 * gib, 6 * gib)), ["big", "mid"])

    def test_a_left_out_task_has_no_seed_and_no_catalogue_entry(self):
        seeds = check.seed_kernels()
        entries = check.catalogue_entries()
        task = next(s["task"] for s in seeds if any(e["task"] == s["task"] for e in entries))
        with mock.patch.dict(check.EXCLUDED, {task: "too big"}):
            self.assertFalse(any(s["task"] == task for s in check.seed_kernels()))
            self.assertFalse(any(e["task"] == task for e in check.catalogue_entries()))
            self.assertEqual(len(check.seed_kernels()),
                             len(seeds) - sum(s["task"] == task for s in seeds))


class Oracle(unittest.TestCase):
    def test_finds_the_reference_whose_inputs_and_parameters_the_job_holds(self):
        with tempfile.TemporaryDirectory() as root:
            for key, value in (("k1", b"\x01" * 16), ("k2", b"\x02" * 16)):
                folder = os.path.join(root, "run", key)
                os.makedirs(folder)
                safetensors(os.path.join(folder, "inputs.safetensors"),
                            {"x": ("F32", [4], value)})
                safetensors(os.path.join(folder, "parameters.safetensors"),
                            {"weight": ("F32", [2], b"\x00" * 8)})
                safetensors(os.path.join(folder, "outputs.safetensors"),
                            {"out": ("F32", [4], value)})
                with open(os.path.join(folder, "reply.json"), "w") as handle:
                    handle.write("{}")
            job = os.path.join(root, "job.safetensors")
            safetensors(job, {"weight": ("F32", [2], b"\x00" * 8), "x": ("F32", [4], b"\x02" * 16)})
            oracle = oracle_worker.Oracle(root)
            self.assertEqual(oracle.outputs_for(job),
                             os.path.join(root, "run", "k2", "outputs.safetensors"))
            safetensors(job, {"weight": ("F32", [2], b"\x00" * 8), "x": ("F32", [4], b"\x03" * 16)})
            with self.assertRaises(LookupError):
                oracle.outputs_for(job)
            self.assertEqual(oracle_worker.tensor_bytes(job), 24)

    def test_tells_apart_large_runs_alike_at_both_ends_by_their_whole_content(self):
        # Tensors over twice the sample are indexed by their ends; two runs whose inputs differ
        # only in the middle share that key and are told apart by a whole-content digest.
        size = 4 * oracle_worker.SAMPLE
        with tempfile.TemporaryDirectory() as root:
            for key, middle in (("k1", b"\x01"), ("k2", b"\x02")):
                data = b"\x00" * (size // 2) + middle * 4 + b"\x00" * (size // 2 - 4)
                folder = os.path.join(root, "run", key)
                os.makedirs(folder)
                safetensors(os.path.join(folder, "inputs.safetensors"),
                            {"x": ("F32", [size // 4], data)})
                safetensors(os.path.join(folder, "parameters.safetensors"), {})
                safetensors(os.path.join(folder, "outputs.safetensors"),
                            {"out": ("F32", [1], middle * 4)})
                with open(os.path.join(folder, "reply.json"), "w") as handle:
                    handle.write("{}")
            job = os.path.join(root, "job.safetensors")
            safetensors(job, {"x": ("F32", [size // 4],
                                    b"\x00" * (size // 2) + b"\x02" * 4 + b"\x00" * (size // 2 - 4))})
            oracle = oracle_worker.Oracle(root)
            self.assertEqual(oracle.outputs_for(job),
                             os.path.join(root, "run", "k2", "outputs.safetensors"))
            self.assertEqual(len(oracle.known), 1)  # one sampled key for both runs

    def test_answers_from_the_named_tasks_runs_when_two_tasks_share_inputs(self):
        # relu and gelu_tanh draw the same inputs: the emulated check once answered relu's
        # evaluation with gelu_tanh's outputs (incorrect, max abs error 0.17).
        with tempfile.TemporaryDirectory() as root:
            for key, task, output in (("k1", "builtin/relu", b"\x01" * 4),
                                      ("k2", "builtin/gelu_tanh", b"\x02" * 4)):
                folder = os.path.join(root, "run", key)
                os.makedirs(folder)
                safetensors(os.path.join(folder, "inputs.safetensors"),
                            {"x": ("F32", [1], b"\x07" * 4)})
                safetensors(os.path.join(folder, "parameters.safetensors"), {})
                safetensors(os.path.join(folder, "outputs.safetensors"),
                            {"out": ("F32", [1], output)})
                with open(os.path.join(folder, "reply.json"), "w") as handle:
                    json.dump({"name": task}, handle)
            job = os.path.join(root, "job.safetensors")
            safetensors(job, {"x": ("F32", [1], b"\x07" * 4)})
            for key, task in (("k1", "builtin/relu"), ("k2", "builtin/gelu_tanh")):
                self.assertEqual(oracle_worker.Oracle(root, task).outputs_for(job),
                                 os.path.join(root, "run", key, "outputs.safetensors"))
            with self.assertRaisesRegex(LookupError, "give --task"):
                oracle_worker.Oracle(root).outputs_for(job)

    def test_greets_with_the_protocol_version_kforge_speaks(self):
        with open(os.path.join(ROOT, "sandbox", "gpu_protocol.hpp")) as handle:
            written = int(re.search(r"kGpuProtocolVersion = (\d+);", handle.read()).group(1))
        with tempfile.TemporaryDirectory() as cache:
            hello = subprocess.run(
                [sys.executable, os.path.join(HERE, "oracle_worker.py"), "--reference-cache",
                 cache], input='{"op":"hello","id":1}\n{"op":"exit"}\n', capture_output=True,
                text=True, timeout=30)
        reply = json.loads(hello.stdout.splitlines()[0])
        self.assertTrue(reply["ok"], hello.stdout + hello.stderr)
        self.assertEqual(reply["protocol"], written)


TINY_RELU_TASK = """import torch
import torch.nn as nn


class Model(nn.Module):
    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(64, 100)]


def get_init_inputs():
    return []
"""

TINY_RELU_KERNEL = """/* kforge:launch
{"kernels": [{"name": "relu", "grid": ["ceil_div(x.numel, 128)"], "block": ["128"],
  "shared_bytes": "0", "args": ["x", "out", "x.numel"]}], "scratch": [], "defines": {}}
*/
extern "C" __global__ void relu(const float* x, float* out, long long n) {
  long long i = (long long)blockIdx.x * 128 + threadIdx.x;
  if (i < n) out[i] = x[i] > 0.0f ? x[i] : 0.0f;
}
"""


class OracleThroughKforge(unittest.TestCase):
    """The emulated check's GPU side, through the real binary (KFORGE_BIN, which ctest's
    gpu_check.oracle sets): one `kforge eval` with the oracle worker as its GPU worker goes through
    every stage a device run does (hello, measure, run, time, profile). A protocol the oracle has
    fallen behind on shows as a verdict other than correct, the way the emulated rehearsal of
    2026-12-05 found it greeting with version 2 after kforge had moved to 3."""

    def test_an_honest_kernel_is_verified_timed_and_profiled_as_unavailable(self):
        binary = os.environ.get("KFORGE_BIN") or os.path.join(ROOT, "build", "kforge")
        self.assertTrue(os.access(binary, os.X_OK), "no kforge binary at %s" % binary)
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "problems"))
            with open(os.path.join(root, "problems", "tiny_relu.py"), "w") as handle:
                handle.write(TINY_RELU_TASK)
            with open(os.path.join(root, "relu.cu"), "w") as handle:
                handle.write(TINY_RELU_KERNEL)
            python = os.environ.get("KFORGE_REFERENCE_PYTHON", "/usr/bin/python3")
            with open(os.path.join(root, "kforge.toml"), "w") as handle:
                handle.write(check.toml_text({"python": python, "timing": {"baselines": False}}))

            def kforge(*arguments, worker=None):
                environment = dict(os.environ)
                environment.pop("KFORGE_GPU_WORKER", None)
                if worker:
                    environment["KFORGE_GPU_WORKER"] = worker
                return subprocess.run([binary, "--workspace", root] + list(arguments),
                                      capture_output=True, text=True, timeout=240,
                                      env=environment)

            imported = kforge("tasks", "import", os.path.join(root, "problems"), "--suite", "tiny")
            self.assertEqual(imported.returncode, 0, imported.stderr)
            worker = "%s %s --reference-cache %s" % (
                sys.executable, os.path.join(HERE, "oracle_worker.py"),
                os.path.join(root, ".kforge", "reference"))
            evaluated = kforge("eval", os.path.join(root, "relu.cu"), "--task", "tiny/tiny_relu",
                               "--json", worker=worker)
            self.assertEqual(evaluated.returncode, 0, evaluated.stderr)
            report = json.loads(evaluated.stdout)
            self.assertEqual(report["verdict"], "correct", report.get("detail"))
            self.assertGreater(report["timing"]["median_us"], 0)
            self.assertEqual(report["profile"]["status"], "unavailable")
            self.assertEqual(report["profile"]["reason"], "not_supported")


if __name__ == "__main__":
    unittest.main()
