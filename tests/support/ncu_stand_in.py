#!/usr/bin/env python3
"""A stand-in for Nsight Compute's CLI (`ncu`) on machines without a GPU, for tests of kforge's
ncu route (harness/evaluation/ncu_profile.hpp). Tests put it on PATH under the name `ncu`.

Like real ncu it takes its options, then the target program and that program's arguments; it
starts the target as a child process (stdin, stdout and stderr inherited), waits for it, and
writes its own output (`==PROF==` lines, `==ERROR==`/`==WARNING==` lines and, with --csv
--page raw, the raw page as CSV) to stdout or to --log-file. It cannot intercept CUDA: the
target it profiles is tests/support/emulated_gpu_worker.py, which tells it each kernel launch
and the counters the emulated device shows through a file named in the child's environment
($KFORGE_EMULATED_NCU_LAUNCHES), where real ncu injects itself into the CUDA driver. Nothing it
prints is a measurement.

The raw page, as ncu writes it with --csv: a header row of quoted fields, "ID", "Process ID",
"Process Name", "Host Name", "Kernel Name", "Context", "Stream", "Block Size", "Grid Size",
"Device", "CC", then one column per requested metric (sorted by name); a units row (the first
eleven fields empty); one row per profiled launch, IDs from 0. Numbers carry thousands
separators ("1,048,576"); a metric the device does not know is "n/a". Units: Nsight Compute's
base units with --print-units base (byte, nsecond, %, ...), else scaled as ncu's default does
(Kbyte/Mbyte/Gbyte, usecond/msecond).

Options understood (others are refused, as ncu refuses an unknown option):
  --csv, --page raw, --print-units base|auto, --metrics A,B,..., --target-processes
  all|application-only, --launch-skip N, --launch-count N, --log-file FILE, --version, --help
  (--page details and a run without --csv are outside what it stands in for: an error says so)

Where the emulated device refuses counters (a relu_counters_denied kernel), it prints what real
ncu prints where profiling is restricted to administrators:
  ==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access NVIDIA GPU
  Performance Counters on the target device 0. For instructions ... ERR_NVGPUCTRPERM
and profiles nothing. Its exit status is the target's.

Faults for tests of a broken installation, from $KFORGE_NCU_STAND_IN_FAULT:
  garbage   the CSV's rows are cut short (not a readable raw page)
  failed    `==ERROR== Failed to profile "KERNEL" in process PID` and exit status 1
"""

import json
import math
import os
import socket
import subprocess
import sys
import tempfile

DETAIL_COLUMNS = ["ID", "Process ID", "Process Name", "Host Name", "Kernel Name", "Context",
                  "Stream", "Block Size", "Grid Size", "Device", "CC"]
VALUE_OPTIONS = {"--page", "--print-units", "--metrics", "--target-processes", "--launch-skip",
                 "--launch-count", "--log-file"}
FLAG_OPTIONS = {"--csv"}
PERMISSION_ERROR = ("==ERROR== ERR_NVGPUCTRPERM - The user does not have permission to access "
                    "NVIDIA GPU Performance Counters on the target device {device}. For "
                    "instructions on enabling permissions and to get more information see "
                    "https://developer.nvidia.com/ERR_NVGPUCTRPERM")


def base_unit(metric):
    """Nsight Compute's base unit of a metric of kforge's set, by its name."""
    if metric.startswith("gpu__time_duration"):
        return "nsecond"
    if ".pct" in metric or "_pct" in metric:
        return "%"
    if "bytes" in metric:
        return "byte"
    if metric.startswith("launch__registers_per_thread"):
        return "register/thread"
    if metric.startswith("launch__occupancy_limit"):
        return "block"
    if metric.endswith("per_cycle_active"):
        return "inst/cycle"
    if "sectors_per_request" in metric:
        return "sector/request"
    if "sectors" in metric:
        return "sector"
    if "inst_executed" in metric and metric.endswith(".sum"):
        return "inst"
    return ""


def scaled(unit, largest):
    """The unit ncu's default (auto) units print a column in whose largest value (in the base
    unit) is `largest`, with its factor."""
    steps = {"byte": [("Gbyte", 1e9), ("Mbyte", 1e6), ("Kbyte", 1e3)],
             "nsecond": [("msecond", 1e6), ("usecond", 1e3)]}
    for name, factor in steps.get(unit, []):
        if largest >= factor:
            return name, factor
    return unit, 1.0


def number(value):
    if value == int(value) and abs(value) < 1e15:
        return "{:,}".format(int(value))
    return format(value, ",.15g")


def quoted(fields):
    return ",".join('"' + str(field).replace('"', '""') + '"' for field in fields)


def parse(arguments):
    options = {"--page": "details", "--print-units": "auto", "--metrics": "",
               "--target-processes": "application-only", "--launch-skip": "0",
               "--launch-count": "0", "--log-file": ""}
    flags = set()
    i = 0
    while i < len(arguments):
        argument = arguments[i]
        if not argument.startswith("-"):
            return options, flags, arguments[i:]
        name, equals, value = argument.partition("=")
        if name in ("--version", "-v"):
            flags.add("--version")
        elif name in ("--help", "-h"):
            flags.add("--help")
        elif name in FLAG_OPTIONS:
            flags.add(name)
        elif name in VALUE_OPTIONS:
            if not equals:
                i += 1
                if i >= len(arguments):
                    raise SystemExit("==ERROR== the argument ('%s') for option '%s' is invalid"
                                     % ("", name))
                value = arguments[i]
            options[name] = value
        else:
            print("==ERROR== unrecognised option '%s'. Use --help for further details." % name)
            raise SystemExit(1)
        i += 1
    return options, flags, []


def main():
    options, flags, target = parse(sys.argv[1:])
    if "--version" in flags:
        print("NVIDIA (R) Nsight Compute Command Line Profiler\n"
              "Version 2025.3.0.0 (kforge tests' stand-in, not NVIDIA's)")
        return 0
    if "--help" in flags:
        print(__doc__)
        return 0
    out = open(options["--log-file"], "w") if options["--log-file"] else sys.stdout

    def tool(line):
        out.write(line + "\n")
        out.flush()

    if not target:
        tool("==ERROR== No application or report file specified.")
        return 1
    if "--csv" not in flags or options["--page"] != "raw":
        tool("==ERROR== the kforge stand-in for ncu prints only --csv --page raw")
        return 1
    metrics = [name for name in options["--metrics"].split(",") if name]
    skip = int(options["--launch-skip"])
    count = int(options["--launch-count"])
    fault = os.environ.get("KFORGE_NCU_STAND_IN_FAULT", "")

    with tempfile.TemporaryDirectory() as folder:
        launches_file = os.path.join(folder, "launches.jsonl")
        environment = dict(os.environ, KFORGE_EMULATED_NCU_LAUNCHES=launches_file)
        try:
            child = subprocess.Popen(target, env=environment)
        except OSError as error:
            tool("==ERROR== Failed to launch process: %s" % error)
            return 1
        tool("==PROF== Connected to process %d (%s)" % (child.pid, os.path.realpath(target[0])))
        status = child.wait()
        launches = []
        if os.path.exists(launches_file):
            with open(launches_file) as lines:
                launches = [json.loads(line) for line in lines if line.strip()]

    counted = launches[skip:skip + count] if count > 0 else launches[skip:]
    passes = max(1, math.ceil(len(metrics) / 3))
    profiled = []
    for launch in counted:
        if launch["counters"] == "denied":
            tool(PERMISSION_ERROR.format(device=launch["device"]))
            break
        if fault == "failed":
            tool('==ERROR== Failed to profile "%s" in process %d' % (launch["kernel"], child.pid))
            break
        tool('==PROF== Profiling "%s" - %d: 0%%....50%%....100%% - %d passes'
             % (launch["kernel"], len(profiled), passes))
        profiled.append(launch)
    tool("==PROF== Disconnected from process %d" % child.pid)
    if fault == "failed":
        return 1
    if not profiled:
        tool("==WARNING== No kernels were profiled.")
        return status

    columns = sorted(metrics)
    # One unit per column, as ncu prints one units row: the base unit, or with auto units the
    # largest step the column's largest value reaches.
    units, factors = [], []
    for metric in columns:
        unit = base_unit(metric)
        values = [abs(launch["metrics"][metric]) for launch in profiled
                  if metric in launch["metrics"]]
        factor = 1.0
        if options["--print-units"] != "base" and values:
            unit, factor = scaled(unit, max(values))
        units.append(unit)
        factors.append(factor)
    rows = []
    for index, launch in enumerate(profiled):
        row = [index, launch["pid"], os.path.basename(target[0]), socket.gethostname(),
               launch["kernel"], 1, 13, "(%d, %d, %d)" % tuple(launch["block"]),
               "(%d, %d, %d)" % tuple(launch["grid"]), launch["device"], "9.0"]
        for metric, factor in zip(columns, factors):
            value = launch["metrics"].get(metric)
            row.append("n/a" if value is None else number(value / factor))
        rows.append(row)
    tool(quoted(DETAIL_COLUMNS + columns))
    tool(quoted([""] * len(DETAIL_COLUMNS) + units))
    for row in rows:
        if fault == "garbage":
            row = row[:len(DETAIL_COLUMNS) + 1]
        tool(quoted(row))
    return status


if __name__ == "__main__":
    sys.exit(main())
