#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer it may not use.

kforge's folders are layers in pipeline order (ARCHITECTURE.md draws them). Each layer below
names the paths it owns and the layers it may use directly; what those may use, it may use
too. An `#include "a/b.hpp"` from a file of one layer to a header of a layer outside that
closure is a wrong-way include: one line per offence, `file:line: layer X includes Y (layer Z)`,
and exit status 1. A C++ source under a layer folder that matches no layer is an error too, so
a new folder is placed in the picture before it is used.

Usage: scripts/check-layers.py [--root DIR]     check the tree (default: the repository)
       scripts/check-layers.py --self-test      show that the check catches a wrong-way include
"""

import argparse
import os
import re
import sys
import tempfile

# (layer, path prefixes it owns, layers it may use directly). The order is the pipeline's.
LAYERS = [
    ("runtime", ["kernels/"], []),
    # util wraps the runtime's one dlopen layer, driver table, NVRTC loader and CUDA search.
    # harness/options/: the option structs whose defaults the configuration table reads, plain
    # settings at the bottom so that harness/config.cpp includes nothing above the model.
    ("util", ["harness/util/", "harness/options/"], ["runtime"]),
    ("datasets", ["datasets/"], ["util"]),
    ("sandbox", ["sandbox/"], ["util"]),
    ("profiler", ["profiler/"], ["util"]),
    ("model", ["harness/verdict.", "harness/signature.", "harness/config.",
               "harness/reference_failure."], ["util"]),
    ("agents", ["agents/"], ["model"]),
    ("core", ["harness/task.", "harness/workspace.", "harness/verification/"],
     ["model", "datasets"]),
    ("candidate", ["harness/candidate/"], ["model"]),
    ("reference", ["harness/reference_runner.", "harness/task_import.", "harness/reference/"],
     ["core", "sandbox"]),
    ("evaluation", ["harness/evaluation/", "harness/environment."],
     ["candidate", "reference", "sandbox", "profiler"]),
    ("library", ["harness/library/"], ["evaluation"]),
    ("optimize", ["harness/optimize/"], ["evaluation", "library", "agents"]),
    # Strategies and recorded spaces: util only, so an evaluator-driven tuner can sit above.
    ("tuning", ["harness/tuning/"], ["util"]),
    # The tuner: strategies driven through the evaluator, points stored, an LLM's start (an
    # agent's proposed points); library kernels tuned.
    ("autotune", ["harness/autotune/"], ["library", "tuning", "agents"]),
    # The nightly run: its steps over the optimize loop, the library and the tuner; its report.
    ("nightly", ["harness/nightly/"], ["optimize", "tuning", "autotune"]),
    # The MCP server: the protocol, and kforge's tools over the services the commands use.
    ("mcp", ["cli/mcp/"], ["optimize", "autotune"]),
    ("cli", ["cli/"], ["nightly", "mcp"]),
]
SOURCE_ROOTS = ["kernels", "harness", "datasets", "sandbox", "profiler", "agents", "cli"]
SOURCE_SUFFIXES = (".cpp", ".hpp", ".h", ".cu", ".cuh")
# Headers the shipped runtime installs are included as "kforge/...".
RUNTIME_PUBLIC = "kforge/"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    if path.startswith(RUNTIME_PUBLIC):
        return "runtime"
    best = None
    for name, prefixes, _ in LAYERS:
        for prefix in prefixes:
            if path.startswith(prefix) and (best is None or len(prefix) > best[1]):
                best = (name, len(prefix))
    return best[0] if best else None


def closure():
    direct = {name: set(uses) for name, _, uses in LAYERS}
    allowed = {}
    for name in direct:
        seen, stack = set(), list(direct[name])
        while stack:
            layer = stack.pop()
            if layer not in seen:
                seen.add(layer)
                stack.extend(direct[layer])
        allowed[name] = seen | {name}
    return allowed


def check(root):
    allowed = closure()
    problems = []
    for top in SOURCE_ROOTS:
        for folder, _, files in os.walk(os.path.join(root, top)):
            for file in sorted(files):
                if not file.endswith(SOURCE_SUFFIXES):
                    continue
                path = os.path.relpath(os.path.join(folder, file), root)
                layer = layer_of(path)
                if layer is None:
                    problems.append(f"{path}: in no layer (add it to scripts/check-layers.py "
                                    "and ARCHITECTURE.md)")
                    continue
                with open(os.path.join(root, path), encoding="utf-8", errors="replace") as text:
                    for number, line in enumerate(text, 1):
                        match = INCLUDE.match(line)
                        if not match or "/" not in match.group(1):
                            continue
                        target = layer_of(match.group(1))
                        if target is not None and target not in allowed[layer]:
                            problems.append(f"{path}:{number}: layer {layer} includes "
                                            f"{match.group(1)} (layer {target})")
    return problems


def self_test():
    # A tree with one include each way: sandbox may not see the evaluation, the reverse is fine.
    with tempfile.TemporaryDirectory() as root:
        files = {
            "sandbox/bad.cpp": '#include "harness/evaluation/evaluator.hpp"\n',
            "harness/evaluation/good.cpp": '#include "sandbox/compile_pool.hpp"\n',
            "harness/stray.cpp": "int x;\n",
        }
        for path, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
            with open(os.path.join(root, path), "w") as out:
                out.write(text)
        problems = check(root)
    expected = ["sandbox/bad.cpp:1: layer sandbox includes harness/evaluation/evaluator.hpp "
                "(layer evaluation)", "harness/stray.cpp: in no layer"]
    for want in expected:
        if not any(problem.startswith(want) for problem in problems):
            print(f"check-layers self-test: missed: {want}; found: {problems}")
            return 1
    if len(problems) != len(expected):
        print(f"check-layers self-test: unexpected findings: {problems}")
        return 1
    print("check-layers self-test: a wrong-way include and an unplaced file are caught")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    problems = check(os.path.abspath(args.root))
    for problem in problems:
        print(problem)
    if problems:
        print(f"check-layers: {len(problems)} include(s) cross a layer the wrong way")
        return 1
    print("check-layers: every include goes down the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
