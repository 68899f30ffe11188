"""Where a cold figure command's time goes, stage by stage, in fresh processes.

Each run is a new interpreter (so imports count) with a cache holding no figure
but the per-installation part (as benchmarks/render.py's cold runs); the stages
are timed by wrapping the pipeline's functions, medians over ``--repeat`` runs.
``--baseline DIR`` profiles another source tree the same way, interleaved, with
the functions it has (before the precompiled preamble: pdf2image for the raster).

    python benchmarks/stages.py [--repeat 5] [--baseline DIR] ["alphabet -i 5 -k 3 -a" ...]

Stages: ``imports`` (convanim.cli and what it pulls in, after the early start of TeX
that ``python -m convanim`` makes), ``parse`` (the parser,
with every figure kind's options), ``draw`` (scene and template: the document's
TeX), ``pdflatex`` (wall time, its runs on every core together), ``raster``
(pdftoppm and pdfinfo, summed over threads),
``gif`` (palette, quantizing and writing, less the raster it waited for),
``place`` (cache entry and outputs), ``rest`` (the remainder of the command).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import cold_cache, prepare_trees  # noqa: E402

CASES = ["arithmetic -i 5 -k 3 -s 2 -a", "alphabet -i 5 -k 3 -a"]
STAGES = ["imports", "parse", "draw", "pdflatex", "raster", "gif", "place", "rest"]

# Run inside the profiled interpreter: argv[1] is the figure command.
PROBE = r'''
import functools, json, sys, threading, time
t0 = time.perf_counter()
try:  # as python -m convanim does: TeX starts on its format before the imports
    from convanim import kinds
    from convanim.cache import cache_root
    from convanim.engine.texpool import POOL
    if kinds.figure_command(sys.argv[1].split()):
        POOL.start_early(cache_root() / "formats")
except ImportError:  # a tree from before the render engine's package
    try:
        from convanim.pipeline import start_early
        start_early(sys.argv[1].split())
    except ImportError:
        pass
import convanim.cli as cli
t1 = time.perf_counter()
from convanim import files, figure
try:
    from convanim.engine import encoders, raster, texpool, tools
except ImportError:
    from convanim import pipeline as encoders
    raster = texpool = tools = encoders
T = {"imports": t1 - t0}
lock = threading.Lock()

def wrap(mod, name, stage):
    real = getattr(mod, name, None)
    if real is None:
        return
    @functools.wraps(real)
    def timed(*a, **k):
        s = time.perf_counter()
        try:
            return real(*a, **k)
        finally:
            with lock:
                T[stage] = T.get(stage, 0.0) + time.perf_counter() - s
    setattr(mod, name, timed)

wrap(figure.Figure, "tex", "draw")
# the typesetting's wall time: all of its shares (one pdflatex per core) together
wrap(texpool, "typeset" if hasattr(texpool, "typeset") else "compile_pdf", "pdflatex")
wrap(encoders, "write_gif", "gif")
wrap(raster, "page_pixels" if hasattr(raster, "page_pixels") else "_page_pixels", "raster")
wrap(files, "place_all", "place")
wrap(tools, "run" if hasattr(tools, "run") else "_run", "raster")  # pdftoppm, this tree
try:
    import pdf2image  # the baseline's raster
    wrap(pdf2image, "convert_from_path", "raster")
except ImportError:
    pass
real_parser = cli.build_parser
def build_parser(*a, **k):
    s = time.perf_counter()
    p = real_parser(*a, **k)
    T["parse"] = T.get("parse", 0.0) + time.perf_counter() - s
    return p
cli.build_parser = build_parser
status = cli.main(sys.argv[1].split() + ["--quiet"])
T["total"] = time.perf_counter() - t0
print("STAGES " + json.dumps(T))
sys.exit(status)
'''


def profile(tree: Path, case: str, cache: Path, cwd: Path) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROBE, case], cwd=cwd, env=env, check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    t = json.loads(next(x for x in out.splitlines() if x.startswith("STAGES "))[7:])
    t["gif"] = max(0.0, t.get("gif", 0.0) - t.get("raster", 0.0))  # raster waited inside
    t["rest"] = t["total"] - sum(t.get(s, 0.0) for s in STAGES if s != "rest")
    t["wall"] = wall
    return t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", type=Path, metavar="DIR")
    ap.add_argument("cases", nargs="*", default=CASES)
    opts = ap.parse_args()
    trees = {"now": ROOT, **({"base": opts.baseline.resolve()} if opts.baseline else {})}
    runs = {(name, case): [] for name in trees for case in opts.cases}
    with tempfile.TemporaryDirectory() as installed:
        shared = prepare_trees(trees, installed, [c.split() for c in opts.cases])
        for _ in range(opts.repeat):
            for case in opts.cases:
                for name, tree in trees.items():
                    with tempfile.TemporaryDirectory() as tmp:
                        cache = cold_cache(shared[name], Path(tmp) / "cache")
                        runs[name, case].append(profile(tree, case, cache, Path(tmp)))
    print(f"median of {opts.repeat} fresh processes per row, seconds; "
          "`wall` includes the interpreter's own start-up")
    print("| case | tree | " + " | ".join(STAGES) + " | wall |")
    print("|---|---|" + "---:|" * (len(STAGES) + 1))
    for (name, case), rs in runs.items():
        med = {s: statistics.median(r.get(s, 0.0) for r in rs) for s in [*STAGES, "wall"]}
        print(f"| `{case}` | {name} | " + " | ".join(f"{med[s]:.3f}" for s in STAGES)
              + f" | {med['wall']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
