#!/usr/bin/env python3
"""Kernel Tuner's own strategies on recorded spaces, in its simulation mode, for tune_bench.sh.

Each (strategy, space, budget) runs `repeats` times, repeat r seeded with r (Python's and
numpy's generators, which Kernel Tuner's strategies draw from), through kernel_tuner.tune_cache:
the space is the cache's configurations (Kernel Tuner infers the restrictions from the cache),
evaluating one is a look-up, and `max_fevals` is the budget, counted as Kernel Tuner counts it
(unique configurations). A run's score is the optimum's time over the best time it found, the
same as `kforge tune --replay`. Prints one JSON line per (strategy, space, budget):
{"strategy", "space", "fraction", "budget", "scores": [...], "reach": {"0.90": [...], ...}}.

Usage: tune_bench_kernel_tuner.py --work DIR --repeats N --fractions 0.01,0.02 \
           --strategies a,b SPACE.json.gz...
"""

import argparse
import gzip
import json
import math
import os
import random
import sys
import time
import warnings

import numpy
import kernel_tuner

REACH = (0.90, 0.95, 0.99)


def plain_cache(path, work):
    """Kernel Tuner reads only uncompressed .json caches: a copy in the work folder."""
    name = os.path.basename(path)
    target = os.path.join(work, name[:-3] if name.endswith(".gz") else name)
    if not os.path.exists(target):
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rt") as source:
            document = json.load(source)
        # Every sample of every configuration is dropped (the `time` kept is their summary):
        # Kernel Tuner reads the file twice per run, and the samples are most of it.
        for entry in document["cache"].values():
            entry.pop("times", None)
        with open(target + ".part", "w") as out:
            json.dump(document, out)
        os.replace(target + ".part", target)
    with open(target) as text:
        document = json.load(text)
    times = [entry["time"] for entry in document["cache"].values()]
    optimum = min(t for t in times if isinstance(t, (int, float)))
    return target, document["tune_params_keys"], len(times), optimum


def one_run(cache_path, parameters, strategy, budget, seed, optimum):
    random.seed(seed)
    numpy.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results, _ = kernel_tuner.tune_cache(cache_path, strategy=strategy,
                                             strategy_options={"max_fevals": budget},
                                             quiet=True, verbose=False)
    best = math.inf
    seen = set()
    first = {fraction: None for fraction in REACH}
    for result in results:
        config = tuple(str(result.get(name)) for name in parameters)
        if config in seen:
            continue
        seen.add(config)
        value = result.get("time")
        if isinstance(value, (int, float)) and "__error__" not in result:
            best = min(best, value)
        for fraction in REACH:
            if first[fraction] is None and best < math.inf and optimum / best >= fraction - 1e-12:
                first[fraction] = len(seen)
    return (optimum / best if best < math.inf else 0.0), first, len(seen)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--fractions", default="0.01,0.02,0.05")
    parser.add_argument("--strategies", required=True)
    parser.add_argument("spaces", nargs="+")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    for space in args.spaces:
        cache_path, parameters, size, optimum = plain_cache(space, args.work)
        for fraction in [float(f) for f in args.fractions.split(",")]:
            budget = max(1, math.ceil(fraction * size - 1e-9))
            for strategy in args.strategies.split(","):
                start, cpu_start = time.monotonic(), time.process_time()
                scores, reach, evaluated = [], {f"{f:.2f}": [] for f in REACH}, []
                for repeat in range(args.repeats):
                    score, first, count = one_run(cache_path, parameters, strategy, budget, repeat,
                                                    optimum)
                    scores.append(score)
                    evaluated.append(count)
                    for fraction_reached, step in first.items():
                        reach[f"{fraction_reached:.2f}"].append(step)
                print(json.dumps({"strategy": strategy, "space": os.path.basename(space),
                                  "fraction": fraction, "budget": budget, "scores": scores,
                                  "evaluated": evaluated, "reach": reach,
                                  "seconds": time.monotonic() - start,
                                  "cpu_seconds": time.process_time() - cpu_start}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
