"""Wall time of figure commands, cold and warm, beside the pipeline floor.

The floor is what no implementation can beat with this TeX: one bare pdflatex
of the very document the command compiles (no precompiled format), plus one
pdftoppm of all its pages at the same DPI. Cold runs start from a cache without
any figure, holding only what convanim keeps once per installation (the
preamble's pdflatex format, the compiled templates; built before timing);
``--first`` also times a run from an entirely empty cache, which builds them.
Warm runs repeat the command with the cache it left. A case with ``-y FORMAT`` is
also compared with the same command without it (the GIF): "vs gif" is the ratio
of their cold medians. The CPU columns compare CPU seconds (all processes, summed
over the rounds), which others' jobs on a shared machine disturb less than wall
time; a command that uses two cores at once spends more CPU than wall time.
``--baseline DIR`` times another source tree's convanim
(an earlier commit, say) cold beside this one, in the same rounds, and the floor of the
document that tree compiles ("base floor": a cheaper document lowers its own floor as
much as the command, so "cold/base floor" also counts what TeX wins). Both trees are
byte-compiled first, as pip install does. Runs are interleaved (floor, cold, warm
of each case in turn, then the next round) so that a noisy machine slows all
alike; the table reports medians.

    python benchmarks/render.py [--repeat 7] [--first] [--baseline DIR] [--csv FILE]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import cold_cache, prepare_trees, write_csv  # noqa: E402

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
    "im2col -i 5 -k 3 -s 2 -p 1 --in-channels 4 --out-channels 4 --groups 2 -a",
    "alphabet -i 4 -k 3 --in-channels 2 --out-channels 4 --groups 2 -a",
]


#: CPU seconds of every timed command, by the label of the timing that ran it.
CPU: dict[tuple, float] = {}


def timed(cmd, cwd, env=None, cpu: tuple | None = None) -> float:
    """Wall seconds of ``cmd``; its CPU seconds (children's user + system, steadier than
    wall time when others' jobs share the machine) are added to ``CPU[cpu]``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        CPU[cpu] = CPU.get(cpu, 0.0) + (after.ru_utime + after.ru_stime
                                        - before.ru_utime - before.ru_stime)
    return wall


#: Prints the document a tree's convanim compiles for a command (the base floor's).
DOCUMENT = ("import sys; from convanim.cli import plan_command; "
            "sys.stdout.write(plan_command(sys.argv[1].split()).tex())")


def floor(command: str, work: Path, cpu: tuple | None = None, tree: Path | None = None) -> float:
    """pdflatex of the command's own document + pdftoppm of every page; with ``tree``,
    of the document that tree's convanim compiles."""
    figure = plan_command(command.split())
    if tree is None:
        (work / "figure.tex").write_text(figure.tex())
    else:
        # in the tree: `python -c` puts its working folder first on sys.path, before
        # PYTHONPATH, so run from this checkout it would import this checkout's convanim
        tex = subprocess.run([sys.executable, "-c", DOCUMENT, command], check=True, text=True,
                             capture_output=True, cwd=tree,
                             env={**os.environ, "PYTHONPATH": str(tree)})
        (work / "figure.tex").write_text(tex.stdout)
    o = figure.options
    dpi = str(o.quality_animation if o.animation else o.quality)
    return (timed(["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "figure.tex"], work,
                  cpu=cpu)
            + timed(["pdftoppm", "-r", dpi, "figure.pdf", "frame"], work, cpu=cpu))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--first", action="store_true",
                    help="also time each case from an entirely empty cache")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="a source tree whose convanim is timed cold beside this one")
    ap.add_argument("--csv", type=Path, help="also write the table as CSV")
    ap.add_argument("cases", nargs="*", default=CASES, help="figure commands (default: %(default)s)")
    opts = ap.parse_args()

    py = [sys.executable, "-m", "convanim"]
    rows = []
    trees = {"cold": ROOT, **({"base": opts.baseline.resolve()} if opts.baseline else {})}
    kinds = ["floor", "cold", "warm", *(["first"] if opts.first else []),
             *(["base", "base floor"] if opts.baseline else [])]
    times = {case: {k: [] for k in kinds} for case in opts.cases}
    with tempfile.TemporaryDirectory() as installed:
        shared = prepare_trees(trees, installed, [c.split() for c in opts.cases])
        startup = statistics.median(timed([sys.executable, "-c", "pass"], ROOT)
                                    for _ in range(5))
        for _ in range(opts.repeat):  # every case once per round: a slow spell hits all alike
            for case in opts.cases:
                cmd = py + case.split() + ["--quiet"]
                with tempfile.TemporaryDirectory() as tmp:
                    tmp = Path(tmp)
                    (tmp / "tex").mkdir()

                    def env(tree, cache):
                        return {**os.environ, "XDG_CACHE_HOME": str(cache),
                                "PYTHONPATH": str(tree)}

                    times[case]["floor"].append(floor(case, tmp / "tex", (case, "floor")))
                    cache = cold_cache(shared["cold"], tmp / "cache")
                    times[case]["cold"].append(timed(cmd, tmp, env(ROOT, cache),
                                                     (case, "cold")))
                    times[case]["warm"].append(timed(cmd, tmp, env(ROOT, cache)))
                    if opts.first:
                        empty = cold_cache(None, tmp / "empty")
                        times[case]["first"].append(timed(cmd, tmp, env(ROOT, empty)))
                    if opts.baseline:
                        base = cold_cache(shared["base"], tmp / "base")
                        times[case]["base"].append(timed(cmd, tmp, env(trees["base"], base),
                                                         (case, "base")))
                        (tmp / "base-tex").mkdir()
                        times[case]["base floor"].append(floor(case, tmp / "base-tex",
                                                               tree=trees["base"]))
    for case in opts.cases:
        med = {k: statistics.median(v) for k, v in times[case].items()}
        frames = plan_command(case.split()).steps
        rows.append({"case": case, "frames": frames, **{k: round(v, 3) for k, v in med.items()},
                     "cold/floor": round(med["cold"] / med["floor"], 2), "vs gif": ""})
        if opts.baseline:
            rows[-1]["base/floor"] = round(med["base"] / med["floor"], 2)
            # a cheaper document lowers its own floor as much as the command: against the
            # base's document, what the command wins on TeX counts too
            rows[-1]["cold/base floor"] = round(med["cold"] / med["base floor"], 2)
        # CPU seconds summed over the rounds, so their ratio weighs every round alike
        rows[-1]["cpu cold/floor"] = round(CPU[case, "cold"] / CPU[case, "floor"], 2)
        if opts.baseline:
            rows[-1]["cpu base/floor"] = round(CPU[case, "base"] / CPU[case, "floor"], 2)
        gif = next((r for r in rows if r["case"] == case.split(" -y ")[0]), None)
        if " -y " in case and gif is not None:
            rows[-1]["vs gif"] = round(med["cold"] / gif["cold"], 2)

    print(f"{os.cpu_count()} CPUs, median of {opts.repeat} interleaved runs; "
          f"bare `python -c pass` takes {startup:.3f} s"
          + (f"; base: {opts.baseline}" if opts.baseline else ""))
    extra = [k for k in ("first", "base", "base floor") if k in kinds]
    heads = ["floor s", "cold s", "warm s", *(f"{k} s" for k in extra), "cold/floor",
             *(["base/floor", "cold/base floor"] if opts.baseline else []), "CPU cold/floor",
             *(["CPU base/floor"] if opts.baseline else []), "vs gif"]
    print("| case | frames | " + " | ".join(heads) + " |")
    print("|---|---:|" + "---:|" * len(heads))
    for r in rows:
        cells = [f"{r[k]:.3f}" for k in ("floor", "cold", "warm", *extra)]
        cells.append(f"{r['cold/floor']:.2f}")
        if opts.baseline:
            cells += [f"{r['base/floor']:.2f}", f"{r['cold/base floor']:.2f}"]
        cells.append(f"{r['cpu cold/floor']:.2f}")
        if opts.baseline:
            cells.append(f"{r['cpu base/floor']:.2f}")
        cells.append(str(r["vs gif"]))
        print(f"| `{r['case']}` | {r['frames']} | " + " | ".join(cells) + " |")
    if opts.csv:
        write_csv(opts.csv, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
