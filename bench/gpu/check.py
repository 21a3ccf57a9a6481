#!/usr/bin/env python3
"""The evaluation steps of scripts/gpu-check.sh: each `kforge eval` the GPU check makes, run
concurrently where no GPU time is measured and one at a time where it is, each table row printed
the moment it is known.

    check.py plan      WORK   the time plan: each step's expected device duration (an estimate)
    check.py prepare   WORK   workspaces (shared reference and compile caches), tasks analysed
    check.py parallel  WORK   concurrently: every seed once in a throwaway store (fills the caches
                              and torch's compile cache; its timings are discarded), and every
                              catalogue entry whose verdict is decided before timing
    check.py seeds     WORK   one at a time: every seed kernel's verdict and time (no baselines)
    check.py catalogue WORK   one at a time: the catalogue entries that reach the timing stage
    check.py ncu       WORK   kforge's median device time against Nsight Compute's
                              gpu__time_duration.sum, for 5-6 seeds from ~10 us to ~10 ms
    check.py spread    WORK   the same eval of the ~1 ms seed five times: run-to-run CV of the
                              median, and kforge eval's wall time on a warm workspace
    check.py baselines WORK   every seed task's PyTorch eager and torch.compile baselines, all in
                              ONE reference-runner process (op "baselines": torch and CUDA start
                              once), and each seed's speedups over them

Every step takes --seconds (its own time limit; it starts no eval that cannot finish inside it
and says what it left out). Only the standard library is used: on the device this runs under
the torch Python, here under any python3. Environment (set by scripts/gpu-check.sh):
KFORGE_BIN (the kforge binary), KFORGE_GPU_CHECK_OUT (where logs go), KFORGE_GPU_CHECK_EMULATED
("1": the emulated worker stands in for the GPU; ncu is skipped), KFORGE_GPU_CHECK_JOBS
(concurrent evals), KFORGE_GPU_CHECK_SEEDS / KFORGE_GPU_CHECK_ENTRIES (comma-separated subsets,
for a short run), NCU (the ncu program), KFORGE_GPU_CHECK_PYTHON (the reference runner's
Python), KFORGE_GPU_CHECK_BASELINE_CAP_MS (each baseline mode's time cap, default 300).
"""

import argparse
import concurrent.futures
import csv
import io
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CATALOGUE_DIR = os.path.join(ROOT, "tests", "adversarial")
SEEDS_DIR = os.path.join(ROOT, "kernels", "seeds")
SUITES_DIR = os.path.join(ROOT, "datasets", "suites")
REFERENCE_SCRIPT = os.path.join(ROOT, "harness", "reference", "kforge_reference.py")
LOG_LOCK = threading.Lock()

# Verdicts only the timing stage gives; an entry that may get one of them is evaluated alone.
TIMED_VERDICTS = {"correct", "suspicious"}
# Device times (us) the Nsight Compute comparison aims at: one seed nearest to each.
NCU_TARGETS_US = (10.0, 30.0, 100.0, 300.0, 1000.0, 10000.0)
# Built-in tasks whose seeds are expected (from bytes and FLOPs, not yet measured) to span that
# range: row_sum ~15-25 us, relu ~30-45 us, matvec ~60-90 us, matmul_tall_skinny ~0.2-0.5 ms,
# batched_matmul ~1-3 ms, matmul_square ~5-10 ms on an H100/H200.
SPANNING_SEEDS = ("row_sum", "relu", "matvec", "matmul_tall_skinny", "batched_matmul",
                  "matmul_square")


# ---- pure pieces (tests: bench/gpu/test_check.py) ---------------------------------------------

def decided_before_timing(entry):
    """True when every verdict the catalogue allows for `entry` is given before timing."""
    verdicts = {entry["verdict"], *entry.get("alternative_verdicts", [])}
    return not verdicts & TIMED_VERDICTS


def entry_passes(entry, verdict, reason):
    allowed = {entry["verdict"], *entry.get("alternative_verdicts", [])}
    if verdict not in allowed:
        return False
    return not (entry.get("strict") and verdict == entry["verdict"] and reason != entry["reason"])


def pick_ncu_kernels(results, targets=NCU_TARGETS_US, count=6):
    """From seed results ({"name", "median_us", "kernels_per_iteration", "verdict"}), the
    correct single-kernel ones nearest (in log time) to each target, distinct, fastest first."""
    usable = [r for r in results if r.get("verdict") == "correct" and r.get("median_us")
              and r["median_us"] > 0 and r.get("kernels_per_iteration") == 1]
    chosen = []
    for target in targets:
        remaining = [r for r in usable if r not in chosen]
        if not remaining or len(chosen) >= count:
            break
        chosen.append(min(remaining, key=lambda r: abs(math.log(r["median_us"] / target))))
    return sorted(chosen, key=lambda r: r["median_us"])


def nearest(results, target_us):
    usable = [r for r in results if r.get("verdict") == "correct" and r.get("median_us")]
    if not usable:
        return None
    return min(usable, key=lambda r: abs(math.log(r["median_us"] / target_us)))


def parse_ncu_csv(text, metric="gpu__time_duration.sum"):
    """Nsight Compute's `--csv --page raw` output (mixed with ==PROF== lines) as a list of
    {"kernel", "grid", "block", "us"}; the unit row (with --print-units base: nsecond) is read,
    not assumed."""
    lines = [line for line in text.splitlines() if line.startswith('"')]
    if not lines:
        return []
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = rows[0]
    if metric not in header:
        return []
    column = header.index(metric)
    scale = {"nsecond": 1e-3, "ns": 1e-3, "usecond": 1.0, "us": 1.0, "msecond": 1e3,
             "ms": 1e3, "second": 1e6, "s": 1e6}
    unit = 1e-3
    records = []
    for row in rows[1:]:
        if len(row) <= column:
            continue
        value = row[column].replace(",", "")
        if not re.match(r"^-?[0-9.]+(e[-+]?[0-9]+)?$", value):
            unit = scale.get(value.strip(), unit)  # the unit row
            continue
        field = lambda name: row[header.index(name)] if name in header else ""
        records.append({"kernel": field("Kernel Name"), "grid": field("Grid Size"),
                        "block": field("Block Size"), "us": float(value) * unit})
    return records


def grid_text(dims):
    """[x, y, z] as Nsight Compute writes a launch's size: (x, y, z)."""
    dims = list(dims) + [1] * (3 - len(dims))
    return "(%d, %d, %d)" % tuple(dims[:3])


def baselines_request(tasks, config, cap_ms, task_seconds):
    """One request for the reference runner's batched op: every task (name, source, filename),
    kforge's timing configuration (`kforge config show --json`'s dotted keys) as kforge's own
    baseline stage sends it, the benchmark shape and seed 0, but each mode capped at `cap_ms`."""
    return {"op": "baselines",
            "tasks": [{"name": t["name"], "source": t["source"], "filename": t["filename"],
                       "constants": {}, "seed": 0} for t in tasks],
            "dtype": config.get("verify.dtype", "float32"),
            "device_index": int(config.get("gpu.device", 0)),
            "warmup": int(config.get("timing.warmup", 10)),
            "min_samples": int(config.get("timing.min_samples", 20)),
            "max_samples": int(config.get("timing.max_samples", 1000)),
            "target_spread": float(config.get("timing.target_spread", 0.02)),
            "flush_l2": bool(config.get("timing.flush_l2", True)),
            "time_cap_ms": float(cap_ms), "time_limit_s": task_seconds}


def baseline_medians(reply):
    """(eager median us, compile median us, note) from one baseline reply; a mode that failed
    or has no samples is None and named in the note."""
    if not reply.get("ok"):
        error = reply.get("error") or {}
        return None, None, "%s: %s" % (error.get("kind"), (error.get("message") or "")[:80])
    medians, notes = [], []
    for mode in ("eager", "compile"):
        part = reply.get(mode) or {}
        samples = [x for x in part.get("samples") or [] if isinstance(x, (int, float))]
        medians.append(statistics.median(samples) if samples else None)
        if part.get("error") or not samples:
            notes.append("%s: %s" % (mode, (part.get("error") or "no samples")[:60]))
        elif part.get("hit_time_cap"):
            notes.append("%s: %d samples (time cap)" % (mode, len(samples)))
    return medians[0], medians[1], "; ".join(notes)


def speedup(baseline_us, candidate_us):
    if not baseline_us or not candidate_us or baseline_us <= 0 or candidate_us <= 0:
        return None
    return baseline_us / candidate_us


# The time plan: each step's expected duration on the device (one H200, 16 cores) in seconds.
# ESTIMATES, not measurements: nothing has run on a GPU yet. Each is a per-unit cost times the
# units this checkout has (seeds, tasks, catalogue entries); the per-unit costs come from the
# CPU side measured here with the emulated worker plus the GPU-side work each unit needs
# (docs/gpu-validation.md says how). The first device run's step times replace them.
PLAN_BUDGET_S = 440
DEVICE_CORES = 16


def time_plan(seeds, tasks, before_timing, alone, honest, cores=DEVICE_CORES):
    """[(step, expected seconds, how it is derived)] for the given counts."""
    return [
        ("machine", 5.0, "nvidia-smi, nvcc, ncu, one torch probe"),
        ("doctor", 5.0, "one NVRTC compile, the driver, CUPTI and torch probes"),
        ("gpu-worker", 20.0, "GpuWorkerDevice tests: worker starts, bandwidth and peak runs"),
        ("prepare", 15.0, "4 stores created; every task analysed at once"),
        ("parallel", 10.0 + (seeds * 70.0 + before_timing * 6.0) / cores,
         "%d cold seed warm-ups at ~70 s CPU and %d verdict evals at ~6 s CPU, on %d cores"
         % (seeds, before_timing, cores)),
        ("seeds", seeds * 5.0,
         "%d warm evals, one at a time, no baseline: ~5 s each (kforge's CPU side, worker "
         "start, timing loop)" % seeds),
        ("catalogue", alone * 5.0 + (15.0 if honest else 0.0),
         "%d entries one at a time at ~5 s, then %d honest ones at once in ~15 s"
         % (alone, honest)),
        ("ncu", 6 * 7.0, "6 evals under ncu at ~7 s"),
        ("spread", 5 * 4.5, "5 warm evals at ~4.5 s"),
        ("baselines", 6.0 + tasks * 2.3,
         "ONE torch process: start with CUDA ~6 s, then %d tasks at ~2.3 s (10 warm-up "
         "forwards, eager and torch.compile at most 0.3 s each, a warm torch.compile ~1.5 s)"
         % tasks),
    ]


def plan_for_checkout():
    seeds = seed_kernels()
    entries = catalogue_entries()
    timed = [e for e in entries if not decided_before_timing(e)]
    return time_plan(len(seeds), len({s["task"] for s in seeds}),
                     len(entries) - len(timed), len([e for e in timed if not honest_only(e)]),
                     len([e for e in timed if honest_only(e)]))


def cv(values):
    if len(values) < 2 or statistics.mean(values) <= 0:
        return None
    return statistics.stdev(values) / statistics.mean(values)


def toml_text(config):
    """{"python": "...", "timing": {"baselines": False}} as kforge.toml text."""
    def value(item):
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, str):
            return json.dumps(item)
        return repr(item)
    lines = ["%s = %s" % (key, value(item)) for key, item in config.items()
             if not isinstance(item, dict)]
    for section, items in config.items():
        if isinstance(items, dict):
            lines.append("[%s]" % section)
            lines.extend("%s = %s" % (key, value(item)) for key, item in items.items())
    return "\n".join(lines) + "\n"


# ---- running kforge ---------------------------------------------------------------------------

def emulated():
    return os.environ.get("KFORGE_GPU_CHECK_EMULATED") == "1"


def out_dir():
    return os.environ.get("KFORGE_GPU_CHECK_OUT") or os.path.join(ROOT, "gpu-check-out")


def log(title, text):
    """Appends a command's output to the one combined log."""
    with LOG_LOCK, open(os.path.join(out_dir(), "steps.log"), "a") as handle:
        handle.write("\n==== %s\n%s" % (title, text))
        if text and not text.endswith("\n"):
            handle.write("\n")


def row(text):
    print(text, flush=True)


def run(command, seconds, env=None, cwd=None):
    """Runs a command in its own process group, killing the whole group at the limit.
    Returns (exit code or None on timeout, stdout, stderr, wall seconds)."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=cwd, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=max(1.0, seconds))
        code = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None
    return code, stdout, stderr, time.monotonic() - started


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


def kforge_eval(work, workspace, file, task, seconds, env=None, label=None):
    """One `kforge eval --json`; its JSON and stderr go to the logs. Returns a result dict."""
    command = [os.environ["KFORGE_BIN"], "--workspace", os.path.join(work, workspace), "eval",
               "--json", file, "--task", task]
    if emulated() and env is None and os.environ.get("KFORGE_GPU_WORKER"):
        # The oracle answers from this task's reference runs only: tasks with the same inputs
        # (relu and gelu_tanh, the matmul family) would otherwise get each other's outputs.
        env = dict(os.environ, KFORGE_GPU_WORKER=os.environ["KFORGE_GPU_WORKER"] + " --task " +
                   task)
    code, stdout, stderr, wall = run(command, seconds, env=env)
    label = label or os.path.relpath(file, ROOT)
    log("%s: kforge eval %s --task %s (%s, exit %s, %.1f s)" %
        (workspace, label, task, workspace, code, wall), stderr)
    result = {"label": label, "task": task, "workspace": workspace, "exit": code,
              "wall_s": round(wall, 3)}
    try:
        report = json.loads(stdout)
    except ValueError:
        result["verdict"] = "timeout-of-step" if code is None else "no-json"
        last = (stderr.strip().splitlines() or [""])[-1]
        result["error"] = last[:200]
        return result
    for heavy in ("samples", "span_samples"):
        (report.get("timing") or {}).pop(heavy, None)
    with LOG_LOCK, open(os.path.join(out_dir(), "evals.jsonl"), "a") as handle:
        handle.write(json.dumps({"step_workspace": workspace, "label": label, "wall_s": wall,
                                 "report": report}) + "\n")
    timing = report.get("timing") or {}
    floor = (report.get("evidence") or {}).get("floor") or {}
    bindings = (report.get("evidence") or {}).get("bindings") or {}
    launches = (bindings.get("benchmark") or {}).get("launches") or []
    checks = (report.get("evidence") or {}).get("checks") or []
    baseline_stage = [s for s in report.get("stages", []) if s.get("name") == "baseline"]
    result.update({
        "verdict": report.get("verdict"), "reason": report.get("reason"),
        "detail": report.get("detail", ""),
        "median_us": timing.get("median_us"), "cv": timing.get("cv"),
        "samples": timing.get("count"),
        "kernels_per_iteration": timing.get("kernels_per_iteration"),
        "speedup_eager": report.get("speedup_eager"),
        "speedup_compile": report.get("speedup_compile"),
        "fraction_of_floor": floor.get("fraction_of_floor"),
        "kernels": [launch.get("kernel") for launch in launches],
        "grids": [launch.get("grid") for launch in launches],
        "checks_untimed": len([c for c in checks if not c.get("timed")]),
        "stages": {s.get("name"): round(s.get("ms", 0) / 1000, 2)
                   for s in report.get("stages", [])},
        "compile_cached": ((report.get("compile") or {}).get("from_cache")),
        "baseline_stage": baseline_stage[0].get("status") if baseline_stage else None,
        "baseline_detail": baseline_stage[0].get("detail") if baseline_stage else None,
    })
    return result


def state_path(work, name):
    return os.path.join(work, name + ".json")


def save(work, name, value):
    with open(state_path(work, name), "w") as handle:
        json.dump(value, handle, indent=1)


def load(work, name, default=None):
    try:
        with open(state_path(work, name)) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return default


def subset(variable):
    value = os.environ.get(variable, "").strip()
    return [item for item in value.split(",") if item] if value else None


# Tasks the prepare step left out because their reference runs would not fit on the disk
# (task -> the reason); read by main() for every later step.
EXCLUDED = {}


def catalogue_entries():
    with open(os.path.join(CATALOGUE_DIR, "catalogue.json")) as handle:
        entries = json.load(handle)["entries"]
    wanted = subset("KFORGE_GPU_CHECK_ENTRIES")
    if wanted:
        entries = [e for e in entries if any(w in e["file"] for w in wanted)]
    return [e for e in entries if e["task"] not in EXCLUDED]


def seed_kernels():
    seeds = []
    for task in sorted(os.listdir(SEEDS_DIR)):
        folder = os.path.join(SEEDS_DIR, task)
        if not os.path.isdir(folder):
            continue
        for variant in sorted(os.listdir(folder)):
            manifest = os.path.join(folder, variant, "manifest.json")
            if not os.path.isfile(manifest):
                continue
            with open(manifest) as handle:
                name = json.load(handle)["task"]["name"]
            seeds.append({"name": "%s/%s" % (task, variant), "task": name,
                          "file": os.path.join(folder, variant, "kernel.cu")})
    wanted = subset("KFORGE_GPU_CHECK_SEEDS")
    if wanted:
        seeds = [s for s in seeds if s["name"].split("/")[0] in wanted]
    seeds = [s for s in seeds if s["task"] not in EXCLUDED]
    # Seeds that span ~10 us to ~10 ms first, so that a step cut short still leaves the Nsight
    # Compute comparison its range.
    first = {task: rank for rank, task in enumerate(SPANNING_SEEDS)}
    return sorted(seeds, key=lambda s: first.get(s["name"].split("/")[0], len(first)))


def jobs():
    # Mostly one Python (torch import, one reference) per eval at a time, about a core each.
    # Every seed's warm-up at once on the device (16 cores, 21 seeds): shorter than two waves.
    default = max(2, min(22, (os.cpu_count() or 2) + 6))
    return int(os.environ.get("KFORGE_GPU_CHECK_JOBS", default))


def fmt(value, form, missing="-"):
    return missing if value is None else form % value


# ---- steps ------------------------------------------------------------------------------------

WORKSPACES = {
    # The one store every timed number comes from. No baselines here: a baseline in an eval
    # costs a torch process of its own (torch and CUDA start, torch.compile); the baselines
    # step times every seed task's baselines in one process instead.
    "ws": {"timing": {"baselines": False}},
    # Throwaway: every seed once, concurrently, to fill the shared caches (references, compiles,
    # torch.compile's); its timings are discarded, so they are kept short. Its evals run
    # kforge's own baseline stage (contended, so only whether it works is reported).
    "ws-warm": {"timing": {"time_cap_ms": 200.0}},
    # Verdicts decided before timing: never timed, so never a baseline.
    "ws-verdict": {"timing": {"baselines": False}, "gpu": {"run_limit_s": 20}},
    # Nsight Compute: one seed, no baselines, a short timing cap (the worker runs under ncu).
    "ws-ncu": {"timing": {"baselines": False, "time_cap_ms": 200.0},
               "verify": {"seeds": 1}, "gpu": {"time_limit_s": 60}},
}


DTYPE_BYTES = {"float64": 8, "int64": 8, "float32": 4, "int32": 4, "float16": 2, "bfloat16": 2,
               "int16": 2, "int8": 1, "uint8": 1, "bool": 1}


def signature_bytes(signature, kind):
    """Bytes of the tensors of one signature list (inputs, parameters, outputs); with
    float64=True, of the outputs as the float64 reference the runner also writes."""
    total = 0
    for entry in signature.get(kind) or []:
        if entry.get("kind", "tensor") != "tensor":
            continue
        total += math.prod(entry.get("shape") or [1]) * DTYPE_BYTES.get(entry.get("dtype"), 4)
    return total


def reference_cache_bytes(task, seeds=3, input_sets=3):
    """What a seed's evaluation leaves in the reference cache for `task` (`kforge tasks show
    --json`), as the cache of 2026-12-05's emulated run held it: at the benchmark shape, seeds + 1
    runs (the verification seeds and the fresh timed set) with inputs, parameters, outputs and
    the outputs in float64, and input_sets runs (the rotating timing sets) without float64; at
    each check shape, `seeds` runs with float64."""
    def run_bytes(signature, exact):
        plain = sum(signature_bytes(signature, k) for k in ("inputs", "parameters", "outputs"))
        if not exact:
            return plain
        outputs = signature.get("outputs") or []
        elements = sum(math.prod(o.get("shape") or [1]) for o in outputs
                       if o.get("kind", "tensor") == "tensor")
        return plain + 8 * elements
    benchmark = (task.get("benchmark") or {}).get("signature") or {}
    need = (seeds + 1) * run_bytes(benchmark, True) + input_sets * run_bytes(benchmark, False)
    for shape in task.get("check_shapes") or []:
        need += seeds * run_bytes(shape.get("signature") or {}, True)
    return need


def tasks_that_fit(needs, free, margin):
    """The tasks to leave out so that the rest's reference runs fit in `free` bytes less
    `margin`: the largest first, as few as possible. needs: task -> bytes. Returns task ->
    reason."""
    left_out = {}
    total = sum(needs.values())
    for task in sorted(needs, key=lambda t: -needs[t]):
        if total <= free - margin:
            break
        total -= needs[task]
        left_out[task] = ("its reference runs need about %.1f GiB, and the %.1f GiB free on "
                          "the work folder (less %.0f GiB kept free) do not hold every task's"
                          % (needs[task] / 2**30, free / 2**30, margin / 2**30))
    return left_out


def step_prepare(work, deadline):
    python = os.environ.get("KFORGE_GPU_CHECK_PYTHON", "")
    for cache in ("reference", "compile"):
        os.makedirs(os.path.join(work, "cache", cache), exist_ok=True)
    for name, config in WORKSPACES.items():
        root = os.path.join(work, name)
        os.makedirs(os.path.join(root, ".kforge"), exist_ok=True)
        for cache in ("reference", "compile"):
            link = os.path.join(root, ".kforge", cache)
            if not os.path.islink(link):
                os.symlink(os.path.join(work, "cache", cache), link)
        full = dict(config)
        if python:
            full["python"] = python
        with open(os.path.join(root, "kforge.toml"), "w") as handle:
            handle.write(toml_text(full))
    # Each store created by one process before any runs concurrently in it.
    for name in WORKSPACES:
        code, _, stderr, wall = run([os.environ["KFORGE_BIN"], "--workspace",
                                     os.path.join(work, name), "tasks", "list", "--json"],
                                    deadline.left())
        log("%s: kforge tasks list (exit %s, %.1f s)" % (name, code, wall), stderr)
    tasks = sorted({s["task"] for s in seed_kernels()} |
                   {e["task"] for e in catalogue_entries()})
    # Each task analysed once, concurrently, into the shared analysis cache.
    failed = []

    shown = {}

    def analyse(task):
        code, stdout, stderr, wall = run(
            [os.environ["KFORGE_BIN"], "--workspace", os.path.join(work, "ws"), "tasks", "show",
             "--json", task], deadline.left())
        log("ws: kforge tasks show %s (exit %s, %.1f s)" % (task, code, wall), stderr)
        if code != 0:
            failed.append(task)
        else:
            try:
                shown[task] = json.loads(stdout)
            except ValueError:
                failed.append(task)
        return wall
    with concurrent.futures.ThreadPoolExecutor(jobs()) as pool:
        walls = list(pool.map(analyse, tasks))
    row("%-44s %s" % ("prepare: %d tasks analysed" % len(tasks),
                      "ok" if not failed else "FAIL: " + ", ".join(failed)))
    row("  (longest analysis %.1f s, %d concurrent)" % (max(walls or [0]), jobs()))
    # The reference cache of every task's seed must fit on the disk: the largest tasks are left
    # out (a row each) rather than every step failing on a full disk.
    config = kforge_config(work, deadline)
    needs = {task: reference_cache_bytes(shown[task], int(config.get("verify.seeds", 3)),
                                         int(config.get("timing.input_sets", 3)))
             for task in shown}
    free = shutil.disk_usage(work).free
    margin = float(os.environ.get("KFORGE_GPU_CHECK_DISK_MARGIN_GIB", 6)) * 2**30
    left_out = tasks_that_fit(needs, free, margin)
    save(work, "excluded_tasks", left_out)
    row("  reference cache: about %.1f GiB for %d tasks, %.1f GiB free on the work folder%s"
        % (sum(needs.values()) / 2**30, len(needs), free / 2**30,
           "" if not left_out else "; left out: %d" % len(left_out)))
    for task, reason in sorted(left_out.items()):
        row("  left out %s: %s" % (task, reason))
    return 0 if not failed else 1


CATALOGUE_HEADER = "%-46s %-36s %-36s %6s %s" % ("entry", "expected", "got", "wall", "")


def catalogue_row(entry, result):
    expected = entry["verdict"] + (" (%s)" % entry["reason"] if entry.get("strict") else "")
    if entry.get("alternative_verdicts"):
        expected += " | " + "|".join(entry["alternative_verdicts"])
    why = result.get("reason") or result.get("error")
    got = "%s (%s)" % (result.get("verdict"), why) if why else str(result.get("verdict"))
    passed = entry_passes(entry, result.get("verdict"), result.get("reason"))
    mark = "ok" if passed else ("emulated" if emulated() else "FAIL")
    row("%-46s %-36s %-36s %5.1fs %s" % (entry["file"][:46], expected[:36], got[:36],
                                        result["wall_s"], mark))
    return passed


def step_parallel(work, deadline):
    seeds = seed_kernels()
    entries = [e for e in catalogue_entries() if decided_before_timing(e)]
    warm = {}
    results = []
    lock = threading.Lock()
    pool = concurrent.futures.ThreadPoolExecutor(jobs())
    env = dict(os.environ, TORCHINDUCTOR_COMPILE_THREADS="1")

    def warm_seed(seed):
        return kforge_eval(work, "ws-warm", seed["file"], seed["task"], deadline.left(), env=env,
                           label=seed["name"])

    def verdict(entry):
        if entry["task"] in warm:  # its references are being computed: wait, then share them
            concurrent.futures.wait([warm[entry["task"]]], timeout=max(0, deadline.left()))
        if deadline.left() < 5:
            return entry, {"verdict": "not-run", "reason": "step time limit", "wall_s": 0}
        return entry, kforge_eval(work, "ws-verdict", os.path.join(CATALOGUE_DIR, entry["file"]),
                                  entry["task"], deadline.left())
    # The seeds of the catalogue's tasks first: the entries on those tasks wait for them.
    needed = {e["task"] for e in entries}
    for seed in sorted(seeds, key=lambda s: s["task"] not in needed):
        warm.setdefault(seed["task"], pool.submit(warm_seed, seed))
    row("parallel: %d seed warm-ups and %d catalogue entries decided before timing, %d at once"
        % (len(warm), len(entries), jobs()))
    row(CATALOGUE_HEADER)
    passed = 0
    for future in concurrent.futures.as_completed([pool.submit(verdict, e) for e in entries]):
        entry, result = future.result()
        with lock:
            passed += catalogue_row(entry, result)
            results.append({"entry": entry["file"], **result})
    warmed = [f.result() for f in warm.values()]
    pool.shutdown()
    for result in warmed:
        log("warm-up result", json.dumps(result))
    slow = max(warmed, key=lambda r: r["wall_s"]) if warmed else None
    row("catalogue (decided before timing): %d of %d as catalogued; seed warm-ups %d, longest "
        "%s" % (passed, len(entries), len(warmed),
                "%s %.0f s" % (slow["label"], slow["wall_s"]) if slow else "-"))
    stages = [r.get("baseline_stage") for r in warmed]
    row("kforge's own baseline stage in the warm-ups (contended, timings discarded): ok in %d "
        "of %d (%s)" % (stages.count("ok"), len(stages),
                        ", ".join("%s %d" % (status, stages.count(status))
                                  for status in sorted({str(s) for s in stages}))))
    other = [r for r in warmed if r.get("baseline_stage") not in ("ok", None)]
    if other:
        row("  e.g. %s: %s" % (other[0]["label"], (other[0].get("baseline_detail") or "")[:120]))
    save(work, "catalogue-parallel", results)
    return 0 if passed == len(entries) or emulated() else 1


def honest_only(entry):
    """An entry whose only right verdict is `correct`: contention can only slow it, which can
    neither make nor hide a pass, so it may be timed beside others (its time is not reported)."""
    return entry["verdict"] == "correct" and not entry.get("alternative_verdicts")


def step_catalogue(work, deadline):
    """The entries that reach timing: the suspicious ones one at a time in ws (a cache or a timed
    behaviour is caught by being faster than the floor or by its launch gaps, which contention
    changes), then the honest ones concurrently, also in ws (its store's floor was measured by
    a candidate timed alone)."""
    timed = [e for e in catalogue_entries() if not decided_before_timing(e)]
    alone = [e for e in timed if not honest_only(e)]
    honest = [e for e in timed if honest_only(e)]
    row("catalogue, reaching timing: %d one at a time, then %d honest ones %d at once" % (
        len(alone), len(honest), jobs()))
    row(CATALOGUE_HEADER)
    passed = 0
    results = []
    for index, entry in enumerate(alone):
        if deadline.left() < 10:
            row("  step time limit: %d entries not run" % (len(alone) - index))
            break
        result = kforge_eval(work, "ws", os.path.join(CATALOGUE_DIR, entry["file"]),
                             entry["task"], deadline.left())
        passed += catalogue_row(entry, result)
        results.append({"entry": entry["file"], **result})

    def evaluate(entry):
        if deadline.left() < 5:
            return entry, {"verdict": "not-run", "reason": "step time limit", "wall_s": 0}
        return entry, kforge_eval(work, "ws", os.path.join(CATALOGUE_DIR, entry["file"]),
                                  entry["task"], deadline.left())
    with concurrent.futures.ThreadPoolExecutor(jobs()) as pool:
        for future in concurrent.futures.as_completed([pool.submit(evaluate, e) for e in honest]):
            entry, result = future.result()
            passed += catalogue_row(entry, result)
            results.append({"entry": entry["file"], **result})
    entries = timed
    save(work, "catalogue-timed", results)
    row("catalogue (timed): %d of %d as catalogued" % (passed, len(entries)))
    return 0 if passed == len(entries) or emulated() else 1


SEED_HEADER = "%-42s %-24s %11s %7s %7s %6s" % (
    "seed", "verdict", "median us", "cv", "floor", "wall")


def step_seeds(work, deadline):
    seeds = seed_kernels()
    row("seeds, timed one at a time: %d kernels (speedups: the baselines step)" % len(seeds))
    row(SEED_HEADER)
    results = []
    correct = 0
    for index, seed in enumerate(seeds):
        if deadline.left() < 15:
            row("  step time limit: %d seeds not run" % (len(seeds) - index))
            break
        result = kforge_eval(work, "ws", seed["file"], seed["task"], deadline.left(),
                             label=seed["name"])
        result["name"] = seed["name"]
        result["file"] = seed["file"]
        results.append(result)
        save(work, "seeds", results)
        correct += result.get("verdict") == "correct"
        verdict = "%s%s" % (result.get("verdict"),
                            " (%s)" % result["reason"] if result.get("reason") else "")
        row("%-42s %-24s %11s %7s %7s %5.1fs" % (
            seed["name"][:42], verdict[:24], fmt(result.get("median_us"), "%.2f"),
            fmt(result.get("cv"), "%.4f"), fmt(result.get("fraction_of_floor"), "%.2f"),
            result["wall_s"]))
        if result.get("verdict") != "correct" and result.get("detail"):
            row("    %s" % result["detail"][:150])
        elif result.get("error"):
            row("    %s" % result["error"][:150])
    row("seeds: %d of %d correct" % (correct, len(seeds)))
    return 0 if correct == len(seeds) else 1


def step_ncu(work, deadline):
    seeds = load(work, "seeds", [])
    chosen = pick_ncu_kernels(seeds)
    row("ncu: %d seeds from %s to %s us (kforge median, store ws) against Nsight Compute" % (
        len(chosen), fmt(chosen[0]["median_us"] if chosen else None, "%.1f"),
        fmt(chosen[-1]["median_us"] if chosen else None, "%.1f")))
    if emulated():
        for result in chosen:
            row("  %-40s kforge %10.2f us  ncu: skipped (emulated: no GPU, no ncu)" % (
                result["name"], result["median_us"]))
        return 0
    ncu = os.environ.get("NCU", "ncu")
    row("%-40s %12s %12s %8s %7s %s" % ("seed", "kforge us", "ncu us", "ratio", "n", "note"))
    ratios = []
    for result in chosen:
        if deadline.left() < 20:
            row("  step time limit: the rest not profiled")
            break
        name = result["name"].replace("/", "_")
        log_file = os.path.join(work, "ncu-%s.log" % name)
        pid_file = os.path.join(work, "ncu-%s.pid" % name)
        kernel = result["kernels"][0]
        # Verify (one seed in ws-ncu) launches the kernel twice per shape, the benchmark shape
        # first; then warm-up launches at the benchmark shape, if the worker can time under ncu.
        shapes = max(1, result.get("checks_untimed", 3) // 3)
        count = 2 * shapes + 4
        worker = " ".join(["/bin/bash", os.path.join(ROOT, "bench", "gpu", "ncu-worker.sh"),
                           pid_file, log_file, ncu, "regex:^%s$" % kernel, str(count),
                           os.environ["KFORGE_BIN"]])
        env = dict(os.environ, KFORGE_GPU_WORKER=worker)
        profiled = kforge_eval(work, "ws-ncu", result["file"], result["task"],
                               min(120, deadline.left() - 5), env=env,
                               label=result["name"] + " under ncu")
        # ncu runs in its own session so that it outlives the 2 s the client gives a leaving
        # worker: wait for it to finish writing.
        waited = time.monotonic()
        while time.monotonic() - waited < 30:
            try:
                pid = int(open(pid_file).read().strip())
                os.kill(pid, 0)
            except (OSError, ValueError):
                break
            time.sleep(0.2)
        text = open(log_file).read() if os.path.exists(log_file) else ""
        log("ncu log for %s" % result["name"], text)
        records = parse_ncu_csv(text)
        grid = grid_text(result["grids"][0]) if result.get("grids") else None
        if any(r["grid"] for r in records):
            at_benchmark = [r["us"] for r in records if grid is None or r["grid"] == grid]
        else:  # no launch sizes in the output: verify launches the benchmark shape first, twice
            at_benchmark = [r["us"] for r in records[:2]]
        note = ""
        if not records:
            refused = re.search(r"ERR_NVGPUCTRPERM|permission|[Ee]rror.*", text)
            note = "no ncu result: " + (refused.group(0)[:80] if refused else
                                         "see ncu log (eval: %s)" % profiled.get("verdict"))
        elif not at_benchmark:
            note = "no launch at the benchmark grid %s" % grid
        if at_benchmark:
            ncu_us = statistics.median(at_benchmark)
            ratio = result["median_us"] / ncu_us
            ratios.append(ratio)
            row("%-40s %12.2f %12.2f %8.3f %7d %s" % (result["name"][:40], result["median_us"],
                                                      ncu_us, ratio, len(at_benchmark), note))
        else:
            row("%-40s %12.2f %12s %8s %7s %s" % (result["name"][:40], result["median_us"], "-",
                                                  "-", "0", note))
    if ratios:
        row("ncu: kforge/ncu ratio from %.3f to %.3f over %d kernels" % (min(ratios),
                                                                          max(ratios),
                                                                          len(ratios)))
    return 0 if len(ratios) >= 5 else 1


def step_spread(work, deadline, runs=5):
    seeds = load(work, "seeds", [])
    pick = nearest(seeds, 1000.0)
    if not pick:
        row("spread: no correct seed to repeat")
        return 1
    row("spread and latency: %s (%.1f us) evaluated %d times on the warm store ws" % (
        pick["name"], pick["median_us"], runs))
    row("%-6s %12s %8s %9s  %s" % ("run", "median us", "cv", "wall s", "stages (s)"))
    medians, walls = [], []
    for index in range(runs):
        if deadline.left() < 10:
            row("  step time limit after %d runs" % index)
            break
        result = kforge_eval(work, "ws", pick["file"], pick["task"], deadline.left(),
                             label=pick["name"] + " repeat %d" % index)
        if result.get("median_us"):
            medians.append(result["median_us"])
        walls.append(result["wall_s"])
        stages = " ".join("%s %.2f" % item for item in (result.get("stages") or {}).items())
        row("%-6d %12s %8s %9.2f  %s" % (index, fmt(result.get("median_us"), "%.2f"),
                                         fmt(result.get("cv"), "%.4f"), result["wall_s"], stages))
    spread = cv(medians)
    row("spread: run-to-run CV of the median %s over %d runs (min %s, max %s us); eval wall "
        "time median %s s" % (fmt(spread, "%.4f"), len(medians),
                              fmt(min(medians) if medians else None, "%.2f"),
                              fmt(max(medians) if medians else None, "%.2f"),
                              fmt(statistics.median(walls) if walls else None, "%.2f")))
    return 0 if len(medians) == runs else 1


def step_plan(work, deadline):
    plan = plan_for_checkout()
    row("time plan (ESTIMATES for one H200 with %d cores, not measurements):" % DEVICE_CORES)
    for name, seconds, how in plan:
        row("  %-11s %5.0f s  %s" % (name, seconds, how))
    total = sum(seconds for _, seconds, _ in plan)
    row("  %-11s %5.0f s  (budget %d s)" % ("total", total, PLAN_BUDGET_S))
    return 0 if total <= PLAN_BUDGET_S else 1


def seed_tasks():
    """Each seed task once, in the seeds' order, with its source: a task `suite/name` is the
    file datasets/suites/suite/name.py."""
    tasks = []
    for seed in seed_kernels():
        if seed["task"] in [t["name"] for t in tasks]:
            continue
        path = os.path.join(SUITES_DIR, seed["task"] + ".py")
        source = open(path).read() if os.path.isfile(path) else None
        tasks.append({"name": seed["task"], "source": source, "filename": path})
    return tasks


def kforge_config(work, deadline):
    code, stdout, stderr, wall = run([os.environ["KFORGE_BIN"], "--workspace",
                                      os.path.join(work, "ws"), "config", "show", "--json"],
                                     min(30, deadline.left()))
    log("ws: kforge config show --json (exit %s, %.1f s)" % (code, wall), stderr)
    try:
        return json.loads(stdout)
    except ValueError:
        return {}


BASELINE_HEADER = "%-26s %11s %11s %11s %8s %9s  %s" % (
    "task", "eager us", "compile us", "seed us", "x eager", "x compile", "note")


def step_baselines(work, deadline):
    """Every seed task's baselines in one reference-runner process, rows as replies arrive."""
    tasks = [t for t in seed_tasks() if t["source"] is not None]
    missing = [t["name"] for t in seed_tasks() if t["source"] is None]
    config = kforge_config(work, deadline)
    python = os.environ.get("KFORGE_GPU_CHECK_PYTHON") or config.get("python") or "python3"
    cap_ms = float(os.environ.get("KFORGE_GPU_CHECK_BASELINE_CAP_MS", 300))
    request = baselines_request(tasks, config, cap_ms, 60)
    seeds = {}
    for result in load(work, "seeds", []):
        seeds.setdefault(result["task"], result)
    row("baselines: %d tasks in ONE reference-runner process (%s), each mode capped at %.0f ms"
        % (len(tasks), python, cap_ms))
    for name in missing:
        row("  %s: no task file in %s" % (name, os.path.relpath(SUITES_DIR, ROOT)))
    row(BASELINE_HEADER)
    stderr_path = os.path.join(work, "baselines.stderr")
    started = time.monotonic()
    with open(stderr_path, "w") as stderr:
        process = subprocess.Popen([python, REFERENCE_SCRIPT], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True,
                                   start_new_session=True)
    replies = []

    def read():  # replies into the list, so that the deadline can be waited for
        try:
            process.stdin.write(json.dumps(request))
            process.stdin.close()
        except OSError:  # the runner ended without reading: its stderr says why
            pass
        for line in process.stdout:
            try:
                replies.append(json.loads(line))
            except ValueError:
                replies.append({"ok": False, "error": {"kind": "bad_reply", "message": line}})
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    results, shown = [], 0
    while True:
        reader.join(timeout=max(0.0, min(0.2, deadline.left())))
        for reply in replies[shown:]:
            shown += 1
            if reply.get("done"):
                continue
            name = reply.get("name") or (tasks[len(results)]["name"] if len(results) < len(tasks)
                                         else "?")
            eager, compiled, note = baseline_medians(reply)
            seed_us = (seeds.get(name) or {}).get("median_us")
            results.append({"task": name, "eager_us": eager, "compile_us": compiled,
                            "seed_us": seed_us, "speedup_eager": speedup(eager, seed_us),
                            "speedup_compile": speedup(compiled, seed_us), "note": note})
            row("%-26s %11s %11s %11s %8s %9s  %s" % (
                name[:26], fmt(eager, "%.2f"), fmt(compiled, "%.2f"), fmt(seed_us, "%.2f"),
                fmt(results[-1]["speedup_eager"], "%.2fx"),
                fmt(results[-1]["speedup_compile"], "%.2fx"), note))
        if not reader.is_alive() or deadline.left() <= 0:
            break
    if reader.is_alive():
        os.killpg(process.pid, signal.SIGKILL)
        row("  step time limit: %d of %d tasks not timed" % (len(tasks) - len(results),
                                                            len(tasks)))
    process.wait()
    with open(stderr_path) as handle:
        log("baselines: %s %s (exit %s, %.1f s)" % (python, REFERENCE_SCRIPT, process.returncode,
                                                     time.monotonic() - started), handle.read())
    save(work, "baselines", results)
    timed = [r for r in results if r["eager_us"] is not None]
    row("baselines: %d of %d tasks timed, in 1 reference-runner process, %.0f s" % (
        len(timed), len(tasks), time.monotonic() - started))
    return 0 if len(timed) == len(tasks) and not missing or emulated() else 1


STEPS = {"plan": step_plan, "prepare": step_prepare, "parallel": step_parallel, "catalogue": step_catalogue,
         "seeds": step_seeds, "ncu": step_ncu, "spread": step_spread,
         "baselines": step_baselines}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=sorted(STEPS))
    parser.add_argument("work")
    parser.add_argument("--seconds", type=float, default=300)
    options = parser.parse_args()
    os.makedirs(options.work, exist_ok=True)
    os.makedirs(out_dir(), exist_ok=True)
    EXCLUDED.update(load(options.work, "excluded_tasks", {}) or {})
    return STEPS[options.step](os.path.abspath(options.work), Deadline(options.seconds))


if __name__ == "__main__":
    sys.exit(main())
