#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets (tests/fuzz/corpus/<target>/) from real files of
this repository and real output of kforge's own parts. Run from anywhere; it rewrites only the
seeds it generates (names starting with "seed-"), so inputs kept from fuzzing (crash
regressions, "regression-*") stay.

Sources: the seed kernels and their manifests (kernels/seeds), the adversarial catalogue's
candidates (tests/adversarial), PTX that nvcc compiles from the seed kernels (when nvcc is
present), safetensors written by the reference runner's own writer, the streams and answers of
tests/support/fake_llm_server.py for both protocols, the replies of
tests/support/emulated_gpu_worker.py, the counters files of the profile tests, and, with
--kforge BINARY, the replies of the real `kforge worker compile` and `kforge worker gpu`."""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n--\n"


def put(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    folder = os.path.join(CORPUS, target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "seed-" + name), "wb") as out:
        out.write(data)


def clear_seeds():
    for path in glob.glob(os.path.join(CORPUS, "*", "seed-*")):
        os.remove(path)


def plan_text(source):
    match = re.search(r"/\*\s*kforge:launch(.*?)\*/", source, re.S)
    return match.group(1) if match else None


def kernel_files():
    seeds = sorted(glob.glob(os.path.join(ROOT, "kernels", "seeds", "*", "*", "kernel.cu")))
    adversarial = sorted(glob.glob(os.path.join(ROOT, "tests", "adversarial", "*", "*.cu")))
    return seeds, adversarial


def candidates():
    seeds, adversarial = kernel_files()
    expressions = set()
    for path in seeds + adversarial:
        name = os.path.relpath(path, ROOT).replace("/", "_").replace(".", "_")
        source = open(path, encoding="utf-8").read()
        put("candidate_file", name, source)
        put("kernel_declarations", name, source)
        if path in seeds:
            put("kernel_file", name, source)
            put("source_policy", name, source)
        plan = plan_text(source)
        if plan is None:
            continue
        put("located_json", name + "_plan", plan)
        try:
            parsed = json.loads(plan)
        except ValueError:
            continue
        for kernel in parsed.get("kernels", []):
            for key in ("grid", "block", "args"):
                expressions.update(str(item) for item in kernel.get(key, []))
            expressions.add(str(kernel.get("shared_bytes", "0")))
        for buffer in parsed.get("scratch", []):
            expressions.add(str(buffer.get("numel", "")))
    for text in sorted(expressions):
        put("expression", hashlib.sha1(text.encode()).hexdigest()[:12], text)
    for manifest in sorted(glob.glob(os.path.join(ROOT, "kernels", "**", "manifest.json"),
                                     recursive=True)):
        name = os.path.relpath(manifest, ROOT).replace("/", "_").replace(".", "_")
        text = open(manifest, encoding="utf-8").read()
        put("manifest", name, text)
        put("launch_plan_json", name, json.dumps(json.loads(text)["launch"]))
    # A define and options for the source policy, after the source (separator lines).
    relu = open(seeds[0], encoding="utf-8").read()
    put("source_policy", "define-and-options",
        relu.encode() + SEP + b"BLOCK" + SEP + b"256" + SEP + b"-lineinfo\n--use_fast_math")
    put("source_policy", "includes",
        "#include <cuda_fp16.h>\n#include <cuda/std/cstdint>\n%:include <cuda_bf16.h>\n"
        "#if __has_include(<cuda_fp8.h>)\n#endif\n#define CAT(a,b) a##b\n"
        "#inc\\\nlude \"x.h\"\nR\"(#include <y>)\"\n")


def ptx():
    nvcc = shutil.which("nvcc") or "/usr/local/cuda/bin/nvcc"
    if not os.path.exists(nvcc):
        print("make_seed_corpus: no nvcc, no PTX seeds", file=sys.stderr)
        return
    seeds, _ = kernel_files()
    with tempfile.TemporaryDirectory() as work:
        for path in seeds[:8]:
            out = os.path.join(work, "k.ptx")
            result = subprocess.run([nvcc, "-ptx", "-arch=sm_90", "-x", "cu", path, "-o", out],
                                    capture_output=True)
            if result.returncode != 0:
                continue
            # The header and every entry's parameter list, bodies cut down to `ret;` (a
            # small seed keeps the fuzzer fast; the bodies are not what the parser reads).
            text = open(out, encoding="utf-8").read()
            header = text[: text.find(".visible")] if ".visible" in text else text[:2000]
            entries = re.findall(r"\.visible \.entry [^(]*\([^)]*\)", text)
            small = header + "".join(entry + "\n{\n\tret;\n}\n\n" for entry in entries)
            name = os.path.relpath(path, ROOT).replace("/", "_").replace(".", "_") + "_ptx"
            put("ptx_entries", name, small)


def safetensors():
    # The reference runner's own writer, on tensors of several dtypes and ranks.
    script = os.path.join(ROOT, "harness", "reference", "kforge_reference.py")
    code = r"""
import importlib.util, sys, torch
spec = importlib.util.spec_from_file_location("runner", sys.argv[1])
runner = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runner)
writer = getattr(runner, "write_safetensors")
writer(torch, sys.argv[2], [("x", torch.arange(6, dtype=torch.float32).reshape(2, 3)),
                            ("idx", torch.tensor([1, -2], dtype=torch.int64)),
                            ("h", torch.ones(3, dtype=torch.float16)),
                            ("b", torch.tensor([True, False])),
                            ("scalar", torch.tensor(2.5, dtype=torch.float64)),
                            ("bf", torch.zeros(1, 2, dtype=torch.bfloat16)),
                            ("empty", torch.zeros(0, 4))], {"seed": 7})
writer(torch, sys.argv[3], [("out", torch.full((4,), -1.0))])
"""
    with tempfile.TemporaryDirectory() as work:
        a, b = os.path.join(work, "a.safetensors"), os.path.join(work, "b.safetensors")
        result = subprocess.run([sys.executable, "-c", code, script, a, b], capture_output=True,
                                text=True)
        if result.returncode != 0:
            print("make_seed_corpus: the reference runner's writer failed:\n" + result.stderr,
                  file=sys.stderr)
            return
        put("safetensors", "reference-inputs.safetensors", open(a, "rb").read())
        put("safetensors", "reference-output.safetensors", open(b, "rb").read())


def llm_streams():
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "support",
                                                            "fake_llm_server.py")],
                              stdout=subprocess.PIPE, text=True)
    try:
        port = int(server.stdout.readline())
        for protocol, path in (("openai", "/v1/chat/completions"), ("anthropic", "/v1/messages")):
            for behaviour in ("ok", "malformed", "truncate", "nocode"):
                for stream in (True, False):
                    body = json.dumps({"model": behaviour, "stream": stream, "max_tokens": 100,
                                       "messages": [{"role": "user", "content": "hi"}]}).encode()
                    request = urllib.request.Request(
                        f"http://127.0.0.1:{port}{path}", data=body,
                        headers={"Content-Type": "application/json"})
                    try:
                        with urllib.request.urlopen(request, timeout=20) as response:
                            data = response.read()
                    except Exception as error:  # truncated on purpose: keep what came
                        data = getattr(error, "partial", b"") or b""
                    if not data:
                        continue
                    kind = "stream" if stream else "answer"
                    # The first byte picks the chunk sizes in the sse_stream target.
                    put("sse_stream", f"{protocol}-{behaviour}-{kind}", b"\x05" + data)
                    if not stream and behaviour in ("ok", "nocode"):
                        answer = json.loads(data)
                        text = (answer["choices"][0]["message"]["content"]
                                if protocol == "openai" else answer["content"][0]["text"])
                        put("response_parser", f"{protocol}-{behaviour}", text)
    finally:
        server.kill()
        server.wait()


def response_texts():
    kernel = open(kernel_files()[0][0], encoding="utf-8").read()
    put("response_parser", "prose-and-fences",
        "Here it is.\n\n```python\nprint(1)\n```\n```cuda\n" + kernel + "```\nDone.\n")
    put("response_parser", "tilde-fence", "~~~cpp\n" + kernel + "~~~\n")
    put("response_parser", "unfenced", "Sure:\n" + kernel + "\nThat is all.")
    put("response_parser", "cut-off", "```cuda\n" + kernel[: len(kernel) // 2])


def configs():
    put("config_toml", "full.toml", """# kforge.toml
[llm]
provider = "anthropic"
model = "claude-sonnet-4"
base_url = "https://api.anthropic.com/v1"
api_key_env = "ANTHROPIC_API_KEY"
temperature = 0.7
max_tokens = 8192
stream = true

[compile]
workers = 2
memory_mb = 4096
timeout_s = 60

[plan]
max_kernels = 16
""")
    put("config_toml", "dotted.toml", 'llm.model = "m"\ncompile.workers = 4\nunknown.key = 1\n')
    put("config_toml", "bad.toml", '[llm\nmodel = "x"\n')


def profile_counters():
    """Counters files for `kforge profile explain`: the diagnosis tests' counter sets (kforge's
    JSON form), the system test's ncu raw-page export and JSON files, and the export cut down:
    one launch, no units row, CRLF line ends (as a Windows ncu writes)."""
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "unit", "data", "diagnosis", "*.json"))):
        put("counter_file", "diagnosis-" + os.path.basename(path), open(path, "rb").read())
    profile = os.path.join(ROOT, "tests", "system", "data", "profile")
    for name in ("counters.json", "malformed.json", "ncu_raw_h100.csv"):
        put("counter_file", "profile-" + name, open(os.path.join(profile, name), "rb").read())
    export = open(os.path.join(profile, "ncu_raw_h100.csv"), "rb").read()
    put("ncu_csv", "ncu_raw_h100.csv", export)
    lines = export.split(b"\n")
    header = next(i for i, line in enumerate(lines) if line.startswith(b'"ID",'))
    rows = [line for line in lines[header + 2:] if line.startswith(b'"')]
    put("ncu_csv", "one-launch.csv", b"\n".join(lines[header:header + 2] + rows[:1]) + b"\n")
    put("ncu_csv", "no-units-row.csv", b"\n".join([lines[header]] + rows) + b"\n")
    put("ncu_csv", "crlf.csv", export.replace(b"\n", b"\r\n"))


def tuning_spaces():
    """Recorded spaces for `kforge tune --replay`: the pnpoly sub-space of the system tests
    (gzip'd, and inflated and cut to its first 40 configurations), a small Kernel Tuner cache with
    a failed configuration, and the same points as T4 results (as kforge and Kernel Tuner write
    them: failures by invalidity, times as measurements)."""
    import gzip
    recorded = open(os.path.join(ROOT, "tests", "system", "data",
                                 "pnpoly_RTX_3090_subspace.json.gz"), "rb").read()
    put("tuning_space", "pnpoly-subspace.json.gz", recorded)
    document = json.loads(gzip.decompress(recorded))
    document["cache"] = dict(list(document["cache"].items())[:40])
    for entry in document["cache"].values():
        entry.pop("times", None)
    put("tuning_space", "pnpoly-cut.json", json.dumps(document))
    cache = {"device_name": "gpu", "kernel_name": "k", "problem_size": [4096],
             "tune_params_keys": ["BLOCK", "MODE"],
             "tune_params": {"BLOCK": [64, 128, 256], "MODE": ["a", "b"]}, "objective": "time",
             "cache": {"64,a": {"BLOCK": 64, "MODE": "a", "time": 2.5},
                       "128,a": {"BLOCK": 128, "MODE": "a", "time": 1.5},
                       "256,b": {"BLOCK": 256, "MODE": "b", "time": "CompilationFailedConfig"}}}
    put("tuning_space", "small-cache.json", json.dumps(cache, indent=1))
    results = []
    for entry in cache["cache"].values():
        time = entry["time"]
        results.append({
            "timestamp": "2026-12-03T10:00:00.000Z",
            "configuration": {"BLOCK": entry["BLOCK"], "MODE": entry["MODE"]},
            "times": {"compilation": 30.0, "benchmark": 5.0, "framework": 1.0,
                      "search_algorithm": 0.0, "validation": 2.0,
                      "runtimes": [time, time] if isinstance(time, float) else []},
            "invalidity": "correct" if isinstance(time, float) else "compile",
            "correctness": 1,
            "measurements": [{"name": "time", "value": time, "unit": "ms"}],
            "objectives": ["time"]})
    put("tuning_space", "small-t4.json", json.dumps({"schema_version": "1.0.0", "results": results}))


def emulated_gpu_replies():
    worker = os.path.join(ROOT, "tests", "support", "emulated_gpu_worker.py")
    put("gpu_reply", "failure",
        json.dumps({"id": 3, "ok": False, "failure": {
            "kind": "runtime_error", "cuda_error": "CUDA_ERROR_ILLEGAL_ADDRESS",
            "message": "an illegal memory access was encountered", "kernel": "k",
            "context_lost": True}}))
    put("gpu_reply", "run", json.dumps({"id": 4, "ok": True,
        "outputs": ["/job/out-0.safetensors", "/job/out-1.safetensors"],
        "inputs_after": "/job/inputs-after.safetensors"}))
    put("gpu_reply", "time", json.dumps({"id": 5, "ok": True, "device_us": [10.5, 10.25, 11.0],
        "span_us": [10.75, 10.5, 11.25], "kernels_per_iteration": 1, "fresh_iteration": 1,
        "fresh_outputs": "/job/fresh.safetensors", "hit_time_cap": False}))
    try:
        result = subprocess.run([sys.executable, worker], input='{"op":"hello","id":1}\n'
                                '{"op":"measure","id":2}\n{"op":"exit"}\n', capture_output=True,
                                text=True, timeout=60)
    except Exception as error:
        print(f"make_seed_corpus: the emulated GPU worker did not run: {error}", file=sys.stderr)
        return
    for number, line in enumerate(result.stdout.splitlines()):
        put("gpu_reply", f"emulated-{number}", line)


def real_worker_replies(kforge):
    request = {"id": 1, "source": open(kernel_files()[0][0], encoding="utf-8").read(),
               "defines": {"BLOCK": "256", "ITEMS": "2", "VEC": "4"}, "arch": "sm_90",
               "options": [], "name": "kernel.cu"}
    bad = dict(request, id=2, source="extern \"C\" __global__ void k() { syntax error }")
    forbidden = dict(request, id=3, source="#include </etc/passwd>\n")
    with tempfile.TemporaryDirectory() as work:
        lines = "\n".join(json.dumps(dict(r, out_dir=work)) for r in (request, bad, forbidden))
        try:
            result = subprocess.run([kforge, "worker", "compile"], input=lines + "\n",
                                    capture_output=True, text=True, timeout=120, cwd=work)
            for number, line in enumerate(result.stdout.splitlines()):
                put("compile_reply", f"worker-{number}", line)
        except Exception as error:
            print(f"make_seed_corpus: kforge worker compile: {error}", file=sys.stderr)
        try:
            result = subprocess.run([kforge, "worker", "gpu"], input='{"op":"hello","id":1}\n',
                                    capture_output=True, text=True, timeout=60)
            for number, line in enumerate(result.stdout.splitlines()):
                put("gpu_reply", f"worker-gpu-{number}", line)
        except Exception as error:
            print(f"make_seed_corpus: kforge worker gpu: {error}", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kforge", help="a built kforge binary, for real worker replies")
    args = parser.parse_args()
    clear_seeds()
    candidates()
    ptx()
    safetensors()
    llm_streams()
    response_texts()
    configs()
    profile_counters()
    tuning_spaces()
    emulated_gpu_replies()
    if args.kforge:
        real_worker_replies(args.kforge)
    for target in sorted(os.listdir(CORPUS)):
        print(f"{target}: {len(os.listdir(os.path.join(CORPUS, target)))} files")


if __name__ == "__main__":
    main()
