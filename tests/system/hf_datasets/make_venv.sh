#!/usr/bin/env bash
# Creates (once) a Python virtual environment with Hugging Face `datasets` and TRL from PyPI, for
# the test that loads kforge's exports as their users would (tests/system/hf_datasets_test.cpp).
#
#   make_venv.sh <folder>    prints the venv's python on its last line
#
# TRL goes in without its dependencies: it requires accelerate, and accelerate torch >= 2
# (Debian's python3-torch is 1.13, so even --system-site-packages would not spare pip a torch
# with its CUDA wheels, gigabytes). What the dataset helpers (trl.data_utils) import is datasets,
# transformers (which imports without torch), numpy and pyarrow, all installed here with their own
# dependencies. Kept between runs; exit 77 when PyPI cannot be reached
# (tests/support/make_pypi_venv.sh).
set -euo pipefail
exec "$(dirname "$0")/../../support/make_pypi_venv.sh" "${1:?usage: make_venv.sh <folder>}" \
  datasets==5.2.0 transformers==5.24.0 jinja2 --no-deps trl==1.16.0
