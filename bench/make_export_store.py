#!/usr/bin/python3
"""Generates a kforge store with N candidates, each with one evaluation, for export benchmarks.

The schema is kforge's own: the migrations' SQL is read out of datasets/migrations.cpp and
applied in order, exactly as the store would, so the export reads a store of the real shape.
Usage: make_export_store.py STORE N [TASKS]
"""
import json
import pathlib
import random
import re
import sqlite3
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERDICTS = ["correct"] * 6 + ["incorrect", "compile_error", "runtime_error", "timeout"]


def create(path):
    text = (ROOT / "datasets" / "migrations.cpp").read_text()
    blocks = re.findall(r'R"sql\((.*?)\)sql"', text, re.S)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    for block in blocks:
        db.executescript(block)
    db.execute("PRAGMA user_version = %d" % len(blocks))
    return db


def candidate_source(task, index, rng):
    block = rng.choice([128, 256, 512])
    lines = ["/* kforge:launch",
             json.dumps({"kernels": [{"name": "k", "grid": ["ceil_div(x.numel, BLOCK)"],
                                      "block": ["BLOCK"], "shared_bytes": "0",
                                      "args": ["x", "out", "x.numel"]}],
                         "scratch": [], "defines": {"BLOCK": {"default": block,
                                                              "values": [128, 256, 512]}}}),
             "*/",
             'extern "C" __global__ void k(const float* __restrict__ x, float* out, long n) {',
             "  long i = blockIdx.x * (long)blockDim.x + threadIdx.x;",
             "  if (i >= n) return;",
             "  float v = x[i];"]
    for step in range(rng.randint(20, 40)):
        lines.append("  v = fmaf(v, %d.%03df, %d.0f); // step %d of candidate %d for task %d"
                     % (rng.randint(0, 9), rng.randint(0, 999), step, step, index, task))
    lines.append("  out[i] = v;\n}")
    return "\n".join(lines) + "\n"


def main():
    path, count = sys.argv[1], int(sys.argv[2])
    tasks = int(sys.argv[3]) if len(sys.argv) > 3 else 500
    rng = random.Random(1234)
    db = create(path)
    task_source = ("import torch\nimport torch.nn as nn\n\nclass Model(nn.Module):\n"
                   "    def forward(self, x):\n        return torch.relu(x) * %d\n\n"
                   "def get_inputs():\n    return [torch.randn(16, 4096)]\n\n"
                   "def get_init_inputs():\n    return []\n")
    db.executemany(
        "INSERT INTO tasks (id, name, suite, version, source, source_hash, license) "
        "VALUES (?, ?, 'bench', 1, ?, ?, 'MIT')",
        [(t + 1, "bench/task_%05d" % t, task_source % t, "%064x" % t) for t in range(tasks)])
    db.execute("INSERT INTO runs (id, kind, model, gpu) VALUES (1, 'optimize', 'model-a', 'H100')")
    environment = json.dumps({"torch": "2.4.0", "cuda": "12.4", "driver": "550.54",
                              "nvrtc": "12.4"})
    batch_candidates, batch_evaluations = [], []
    for index in range(1, count + 1):
        task = rng.randrange(tasks)
        source = candidate_source(task, index, rng)
        verdict = rng.choice(VERDICTS)
        batch_candidates.append((index, task + 1, index, "llm", source, "%064x" % index,
                                 json.dumps({"kernels": []})))
        timed = verdict == "correct"
        median = rng.uniform(5.0, 500.0)
        samples = [median * rng.uniform(0.98, 1.02) for _ in range(50)] if timed else None
        timing = json.dumps({"median_us": median, "min_us": min(samples), "cv": 0.01,
                             "p10_us": median * 0.99, "p90_us": median * 1.01,
                             "samples": samples}) if timed else None
        evidence = json.dumps({"max_abs_error": rng.uniform(0, 1e-5), "atol": 1e-5,
                               "rtol": 1e-5, "seeds": [0, 1, 2],
                               "shapes": ["benchmark", "check0"]})
        # The shape harness/evaluation/evaluator.cpp stores: per-kernel resources in "kernels".
        kernel = {"name": "kernel", "registers": rng.randint(16, 128), "barriers": 0,
                  "shared_bytes": rng.choice([-1, 4096]), "constant_bytes": -1,
                  "stack_frame_bytes": 0, "spill_store_bytes": 0, "spill_load_bytes": 0,
                  "local_bytes": 0}
        compile_info = json.dumps({"status": "ok", "detail": "", "log": "", "log_bytes": 0,
                                   "compile_ms": rng.uniform(10, 40), "wall_ms": 50.0,
                                   "nvrtc_version": "13.0", "arch": "sm_90", "from_cache": False,
                                   "kernels": [kernel]})
        batch_evaluations.append(
            (index, index, verdict, evidence, "sm_90", "NVIDIA H100", compile_info, timing,
             median if timed else None, rng.uniform(0.3, 4.0) if timed else None,
             rng.uniform(0.2, 3.0) if timed else None, environment))
        if len(batch_candidates) == 10000 or index == count:
            db.executemany(
                "INSERT INTO candidates (id, task_id, run_id, iteration, origin, source, "
                "source_hash, plan) VALUES (?, ?, 1, ?, ?, ?, ?, ?)",
                [(c[0], c[1], c[2], c[3], c[4], c[5], c[6]) for c in batch_candidates])
            db.executemany(
                "INSERT INTO evaluations (id, candidate_id, verdict, evidence, arch, gpu, "
                "compile, timing, device_time_us, speedup_eager, speedup_compile, "
                "harness_version, environment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
                batch_evaluations)
            db.commit()
            batch_candidates, batch_evaluations = [], []
    db.close()


if __name__ == "__main__":
    main()
