"""Drives `kforge mcp` with the official MCP Python SDK's client (the `mcp` package from PyPI)
over stdio, as an agent would: list the tools, read the candidate format, import a task,
evaluate an honest and a hostile candidate, cancel a long call, and check the server still
answers. Prints one JSON line of what it saw; exits non-zero on the first thing that is wrong.

Usage: drive_kforge.py KFORGE WORKSPACE HONEST.cu HOSTILE.cu HANG.cu TASK.py
The GPU worker is whatever KFORGE_GPU_WORKER in the environment names (the test sets the
emulated one).
"""

import json
import os
import sys

import anyio
import mcp_types
from mcp import Client, StdioServerParameters


def check(condition, what):
    if not condition:
        raise SystemExit(f"drive_kforge.py: {what}")


async def main(kforge, workspace, honest, hostile, hang, task_file):
    server = StdioServerParameters(command=kforge, args=["mcp"], cwd=workspace,
                                   env={key: value for key, value in os.environ.items()
                                        if key.startswith(("KFORGE_", "CUDA_"))
                                        or key == "LD_LIBRARY_PATH"})
    seen = {}
    async with Client(server, client_info=mcp_types.Implementation(
            name="mcp-python-sdk-test", version="1.0")) as client:
        seen["protocol_version"] = client.protocol_version
        tools = await client.list_tools()
        names = sorted(tool.name for tool in tools.tools)
        seen["tools"] = names
        for wanted in ("list_tasks", "show_task", "import_task", "evaluate", "compare",
                       "best_candidates", "candidate_history", "promote"):
            check(wanted in names, f"tool {wanted} missing from {names}")
        evaluate = next(tool for tool in tools.tools if tool.name == "evaluate")
        check(evaluate.output_schema is not None, "evaluate has no output schema")

        document = await client.read_resource("kforge://docs/candidate-format")
        check("kforge:launch" in document.contents[0].text, "the candidate format document")

        with open(task_file) as source:
            imported = await client.call_tool(
                "import_task", {"name": "sdk_relu", "suite": "sdk", "source": source.read()})
        check(not imported.is_error, f"import_task failed: {imported.content}")
        check(imported.structured_content["name"] == "sdk/sdk_relu", str(imported.structured_content))
        seen["imported"] = imported.structured_content

        verdicts = {}
        for label, path in (("honest", honest), ("hostile", hostile)):
            progress = []

            async def on_progress(done, total, message):
                progress.append(done)

            with open(path) as source:
                result = await client.call_tool(
                    "evaluate", {"task": "sdk/sdk_relu", "source": source.read()},
                    progress_callback=on_progress)
            check(not result.is_error, f"evaluate {label} failed: {result.content}")
            verdicts[label] = {"verdict": result.structured_content["verdict"],
                               "reason": result.structured_content["reason"],
                               "candidate_id": result.structured_content["candidate_id"],
                               "speedup_eager": result.structured_content["speedup_eager"],
                               "progress": progress}
        seen["evaluations"] = verdicts

        # A long call cancelled once it is running (its first progress report): the SDK sends
        # notifications/cancelled; the server must go on answering.
        started = anyio.Event()

        async def on_hang_progress(done, total, message):
            started.set()

        async def long_call():
            with open(hang) as source:
                await client.call_tool("evaluate",
                                       {"task": "sdk/sdk_relu", "source": source.read()},
                                       progress_callback=on_hang_progress)

        cancelled = False
        async with anyio.create_task_group() as group:
            group.start_soon(long_call)
            with anyio.fail_after(120):
                await started.wait()
            group.cancel_scope.cancel()
            cancelled = True
        seen["cancelled"] = cancelled
        with anyio.fail_after(60):
            await client.send_ping()
            best = await client.call_tool("best_candidates", {"task": "sdk/sdk_relu"})
        check(not best.is_error, f"best_candidates after the cancel: {best.content}")
        seen["best"] = [entry["candidate_id"] for entry in best.structured_content["candidates"]]

        wrong = await client.call_tool("compare", {"a": 1})
        check(wrong.is_error, "compare without b was accepted")
    print(json.dumps(seen))


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:7])
