"""How long a figure-sized check takes from a fresh process: JIT cold, then from Numba's
on-disk kernel cache (the kernels are compiled with ``cache=True``).

    python benchmarks/verify_startup.py [--backend cuda|simulator] [--repeat 3]

Cold: an empty NUMBA_CACHE_DIR, so every kernel the check needs is compiled. Warm: the
same folder again, so kernels load from disk. Each is the wall time of a whole
``python -m convanim verify numerical -i 6 -k 3 -s 2 -p 1`` process.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMAND = ["verify", "numerical", "-i", "6", "-k", "3", "-s", "2", "-p", "1"]


def once(backend: str, cache: str) -> float:
    env = {**os.environ, "NUMBA_CACHE_DIR": cache,
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "convanim", *COMMAND, "--backend", backend],
                   check=True, capture_output=True, env=env)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", action="append", choices=["cuda", "simulator", "numpy"])
    ap.add_argument("--repeat", type=int, default=3)
    opts = ap.parse_args()
    print("| backend | cold s | warm s |\n|---|---:|---:|")
    for backend in opts.backend or ["simulator"]:
        cold, warm = [], []
        for _ in range(opts.repeat):
            with tempfile.TemporaryDirectory() as cache:
                cold.append(once(backend, cache))
                warm.append(once(backend, cache))
        print(f"| {backend} | {statistics.median(cold):.2f} | {statistics.median(warm):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
