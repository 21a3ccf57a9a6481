#!/usr/bin/env bash
# Creates (once) a Python virtual environment with the official MCP SDK (the `mcp` package) from
# PyPI, for the test that drives `kforge mcp` with a client no one here wrote
# (tests/system/mcp_test.cpp). Prints the venv's python on its last line; kept between runs;
# exit 77 when PyPI cannot be reached (tests/support/make_pypi_venv.sh).
set -euo pipefail
exec "$(dirname "$0")/../../support/make_pypi_venv.sh" "${1:?usage: make_venv.sh <folder>}" mcp==2.3.0
