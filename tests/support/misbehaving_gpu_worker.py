"""A GPU worker for tests of the supervision (GpuWorkerClient) on machines without a GPU.

It speaks the real protocol of sandbox/gpu_protocol.hpp and runs nothing. A run or time request
whose plan has "test_fault" misbehaves on command (the fault injection lives here alone: the
shipped worker and its client have no switch for it): crash, hang, garbage, huge, partial, wrong_id, context_lost, launch_error,
out_of_memory, bad_request, unknown_kind (a failure of a kind the protocol does not have),
slow:<ms>, exit_after_reply.
Arguments: --exit-before-hello, --no-gpu (answers hello as a machine without libcuda does),
--measure-fault <fault> (the same faults for measure requests), --hello-field NAME=JSON (the
hello reply's field NAME set to that JSON value; repeatable).
"""
import json
import os
import signal
import sys
import time

arguments = sys.argv[1:]
measure_fault = ""
if "--measure-fault" in arguments:
    measure_fault = arguments[arguments.index("--measure-fault") + 1]


def send(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def misbehave(fault, request_id):
    """Acts out `fault`; returns True when the request has been dealt with."""
    if fault == "crash":
        sys.stderr.write("test worker: about to crash\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    if fault == "hang":
        time.sleep(3600)
    if fault == "garbage":
        send_raw("this is not a reply\n")
        return True
    if fault == "huge":
        send_raw("x" * (3 << 20) + "\n")
        return True
    if fault == "partial":
        send_raw('{"id": %d, "ok": tr' % request_id)
        sys.exit(0)
    if fault == "wrong_id":
        send({"id": request_id + 100, "ok": True, "outputs": [], "inputs_after": ""})
        return True
    if fault == "context_lost":
        sys.stderr.write("test worker: the context is lost\n")
        sys.stderr.flush()
        send({"id": request_id, "ok": False,
              "failure": {"kind": "runtime_error", "cuda_error": "CUDA_ERROR_ILLEGAL_ADDRESS",
                          "message": "an illegal memory access was encountered",
                          "kernel": "bad_kernel", "context_lost": True}})
        sys.exit(0)
    if fault == "launch_error":
        send({"id": request_id, "ok": False,
              "failure": {"kind": "launch_error", "cuda_error": "CUDA_ERROR_INVALID_VALUE",
                          "message": "too many threads", "kernel": "big_block",
                          "context_lost": False}})
        return True
    if fault == "out_of_memory":
        send({"id": request_id, "ok": False,
              "failure": {"kind": "out_of_memory", "cuda_error": "CUDA_ERROR_OUT_OF_MEMORY",
                          "message": "cuMemAlloc failed: out of memory", "context_lost": False}})
        return True
    if fault == "bad_request":
        send({"id": request_id, "ok": False,
              "failure": {"kind": "bad_request",
                          "message": "cannot read the cubin /nonexistent/candidate.cubin"}})
        return True
    if fault == "unknown_kind":
        send({"id": request_id, "ok": False,
              "failure": {"kind": "melted", "message": "the GPU melted"}})
        return True
    if fault.startswith("slow:"):
        time.sleep(int(fault[5:]) / 1000.0)
    return False


def send_raw(text):
    sys.stdout.write(text)
    sys.stdout.flush()


hello_fields = {}
for index, argument in enumerate(arguments[:-1]):
    if argument == "--hello-field":
        name, value = arguments[index + 1].split("=", 1)
        hello_fields[name] = json.loads(value)

if "--exit-before-hello" in arguments:
    sys.stderr.write("test worker: leaving before hello\n")
    sys.exit(3)

for line in sys.stdin:
    request = json.loads(line)
    op = request.get("op")
    request_id = request.get("id", 0)
    if op == "exit":
        sys.exit(0)
    if op == "hello":
        if "--no-gpu" in arguments:
            send(dict({"id": request_id, "ok": False,
                       "error": "no CUDA driver: libcuda.so.1 could not be opened"},
                      **hello_fields))
            sys.exit(1)
        send(dict({"id": request_id, "ok": True, "protocol": 3,
                   "device": {"ordinal": 0, "name": "kforge test worker (no GPU)",
                              "arch": "sm_90", "sm_count": 1, "cupti": False}},
                  **hello_fields))
        continue
    fault = ""
    if op in ("run", "time"):
        fault = (request.get("plan") or {}).get("test_fault", "")
    elif op == "measure":
        fault = measure_fault
    if fault and misbehave(fault, request_id):
        continue
    if op == "run":
        out_dir = request["out_dir"]
        outputs = [os.path.join(out_dir, "outputs-%d.safetensors" % i)
                   for i in range(request.get("repeats", 2))]
        send({"id": request_id, "ok": True, "outputs": outputs,
              "inputs_after": os.path.join(out_dir, "inputs_after.safetensors")})
        if fault == "exit_after_reply":
            sys.exit(0)  # dies while idle: the next request finds it gone
    elif op == "time":
        samples = request.get("min_samples", 20)
        send({"id": request_id, "ok": True, "device_us": [10.0] * samples,
              "span_us": [11.0] * samples, "kernels_per_iteration": 1,
              "fresh_iteration": samples // 2,
              "fresh_outputs": os.path.join(request["out_dir"], "fresh.safetensors"),
              "hit_time_cap": False})
    elif op == "measure":
        send({"id": request_id, "ok": True, "copy_bandwidth_bytes_per_s": 1.0e12,
              "peak_fp32_flops_per_s": 5.0e13, "details": {"method": "test worker"}})
    else:
        send({"id": request_id, "ok": False,
              "failure": {"kind": "bad_request", "message": "unknown op '%s'" % op}})
