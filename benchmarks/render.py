"""Wall time of figure commands, cold and warm, beside the pipeline floor.

The floor is what no implementation can beat with this TeX: one bare pdflatex
of the very document the command compiles, plus one pdftoppm of all its pages at
the same DPI. Cold runs start from an empty cache; warm runs repeat the command
with the cache it left. A case with ``-y FORMAT`` is also compared with the same
command without it (the GIF): "vs gif" is the ratio of their cold medians. Runs
are interleaved (floor, cold, warm of each case in turn, then the next round) so
that a noisy machine slows all alike; the table reports medians.

    python benchmarks/render.py [--repeat 7] [--csv FILE]
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
sys.path.insert(0, str(ROOT))

from common import write_csv  # noqa: E402

from convanim.cli import plan_command  # noqa: E402

CASES = [
    "arithmetic -i 5 -k 3 -s 2 -a",
    "arithmetic -i 7 -k 3 -p 1 -t -a",
    # the same figure in the other animation formats: "vs gif" compares with the row above
    "arithmetic -i 7 -k 3 -p 1 -t -a -y html",
    "arithmetic -i 7 -k 3 -p 1 -t -a -y svg",
    "arithmetic -i 7 -k 3 -p 1 -t -a -y webp",
    "arithmetic -i 7 -k 3 -p 1 -t -a -y apng",
    "arithmetic -i 7 -k 3 -p 1 -t -a -y mp4",
    "arithmetic -i 7 -k 3 -p 1 -t -a -y webm",
    "alphabet -i 5 -k 3 -a",
    "numerical -i 7 -k 3 -p 1 -a",
    "im2col -i 7 -k 3 -p 1 --phase loss -a",
    "channels -i 5 -k 3 --in-channels 3 --out-channels 2 -a",
]


def timed(cmd, cwd, env=None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def floor(command: str, work: Path) -> float:
    """pdflatex of the command's own document + pdftoppm of every page."""
    figure = plan_command(command.split())
    (work / "figure.tex").write_text(figure.tex())
    o = figure.options
    dpi = str(o.quality_animation if o.animation else o.quality)
    return (timed(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "figure.tex"], work)
            + timed(["pdftoppm", "-r", dpi, "figure.pdf", "frame"], work))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--csv", type=Path, help="also write the table as CSV")
    ap.add_argument("cases", nargs="*", default=CASES, help="figure commands (default: %(default)s)")
    opts = ap.parse_args()

    py = [sys.executable, "-m", "convanim"]
    rows = []
    startup = statistics.median(timed([sys.executable, "-c", "pass"], ROOT) for _ in range(5))
    times = {case: {"floor": [], "cold": [], "warm": []} for case in opts.cases}
    for _ in range(opts.repeat):  # every case once per round: a slow spell hits all alike
        for case in opts.cases:
            with tempfile.TemporaryDirectory() as tmp:
                tmp = Path(tmp)
                (tmp / "tex").mkdir()
                env = {**os.environ, "XDG_CACHE_HOME": str(tmp / "cache"),
                       "PYTHONPATH": str(ROOT)}
                times[case]["floor"].append(floor(case, tmp / "tex"))
                times[case]["cold"].append(timed(py + case.split() + ["--quiet"], tmp, env))
                times[case]["warm"].append(timed(py + case.split() + ["--quiet"], tmp, env))
    for case in opts.cases:
        med = {k: statistics.median(v) for k, v in times[case].items()}
        frames = plan_command(case.split()).steps
        rows.append({"case": case, "frames": frames, **{k: round(v, 3) for k, v in med.items()},
                     "cold/floor": round(med["cold"] / med["floor"], 2), "vs gif": ""})
        gif = next((r for r in rows if r["case"] == case.split(" -y ")[0]), None)
        if " -y " in case and gif is not None:
            rows[-1]["vs gif"] = round(med["cold"] / gif["cold"], 2)

    print(f"{os.cpu_count()} CPUs, median of {opts.repeat} interleaved runs; "
          f"bare `python -c pass` takes {startup:.3f} s")
    print("| case | frames | floor s | cold s | warm s | cold/floor | vs gif |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| `{r['case']}` | {r['frames']} | {r['floor']:.3f} | {r['cold']:.3f} | "
              f"{r['warm']:.3f} | {r['cold/floor']:.2f} | {r['vs gif']} |")
    if opts.csv:
        write_csv(opts.csv, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
