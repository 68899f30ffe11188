#!/usr/bin/env bash
# One command on a GPU machine (issue 32), under 8 minutes: the sparse kernels' tests on
# the GPU, then the quick table (benchmarks/sparse_gpu.py --quick). Logs and CSVs go to
# $OUT when set (the device tool's folder), else benchmarks/results/.
#
#   bash benchmarks/device.sh
#
# The image's numpy (2.5) breaks numba-cuda 0.30.4's import: first, that one line is
# recorded (env.txt); then the wheels in CONVANIM_WHEELS (folders, default
# "shared/numpy24 .whl"; benchmarks/device_wheels.sh fetches them) are installed into a
# private folder put first on PYTHONPATH. A folder holding an unpacked numpy is used as
# it is. BUDGET (seconds, default 180) bounds the table; each row is written as measured.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-benchmarks/results}"
mkdir -p "$out"
python="${PYTHON:-python3}"
export PYTHONUNBUFFERED=1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
start=$SECONDS

probe() {  # one line: whether numba.cuda starts on the GPU, and with what
  NUMBA_ENABLE_CUDASIM=0 "$python" -c '
from convanim.sparse import backend
try:
    backend.cuda_module("cuda")
    print("numba.cuda starts:", backend.versions())
except backend.BackendError as e:
    print(e)'
}

{
  echo "== GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1)"
  echo "== the image's own packages: $(probe)"
} 2>&1 | tee "$out/env.txt"

for dir in ${CONVANIM_WHEELS:-shared/numpy24 .whl}; do
  if ls "$dir"/*.whl >/dev/null 2>&1; then
    site=/tmp/convanim-site
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
      --target "$site" "$dir"/*.whl 2>&1 | tee -a "$out/env.txt"
  elif [ -d "$dir/numpy" ]; then
    site="$PWD/$dir"
  else
    continue
  fi
  export PYTHONPATH="$site:$PYTHONPATH"
  echo "== wheels from $dir: $(probe)" | tee -a "$out/env.txt"
  break
done

echo "== tests on the GPU" | tee "$out/tests.log"
CONVANIM_TEST_BACKEND=cuda NUMBA_ENABLE_CUDASIM=0 timeout 210 "$python" -m pytest \
  -p no:cacheprovider -q tests/test_sparse.py tests/test_sparse_tiled.py 2>&1 \
  | tee -a "$out/tests.log"
tests=${PIPESTATUS[0]}

echo "== quick table" | tee "$out/quick.log"
timeout $(( ${BUDGET:-180} + 60 )) "$python" benchmarks/sparse_gpu.py --quick \
  --budget "${BUDGET:-180}" --csv "$out/quick.csv" --markdown "$out/quick.md" 2>&1 \
  | tee -a "$out/quick.log"
bench=${PIPESTATUS[0]}

echo "== tests exit $tests, table exit $bench, $(( SECONDS - start )) s" | tee -a "$out/env.txt"
[ "$tests" = 0 ] && [ "$bench" = 0 ]
