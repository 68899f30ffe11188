#!/usr/bin/env bash
# Here, before a device call: the wheels the GPU machine's image lacks, for its Python
# 3.12 on x86-64. numpy 2.4: numba-cuda 0.30.4 cannot import under the image's numpy 2.5
# (no numpy.row_stack). configargparse: the tests' helpers import convanim's CLI.
# benchmarks/device.sh installs them there into a private folder, first on PYTHONPATH.
#
#   bash benchmarks/device_wheels.sh [DIR]     # DIR: .whl (git-ignored) by default
set -euo pipefail
dir="${1:-.whl}"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d "$dir" "numpy>=2.4,<2.5" "configargparse>=1.7"
ls "$dir"
