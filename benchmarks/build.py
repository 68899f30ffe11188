"""Wall time of `convanim build` on a gallery beside one process per figure.

Per repeat, interleaved so a noisy machine slows all alike, each from an empty cache:
- baseline: one `python -m convanim KIND NAME ...` per figure, JOBS at a time (what a
  Makefile or script did before `build`);
- build: `python -m convanim build --gallery NAME -j JOBS` (threads, one process);
- processes: the same figures on a process pool of JOBS in one script (to compare
  threads with processes);
- warm: the build again, nothing changed; check: `build --check` of it;
- one change: one figure's stride edited in a copy of the config, then rebuilt;
- base build: with ``--baseline DIR``, the build by another source tree (an earlier
  commit), for a before/after ratio measured in one run.

"Empty" caches hold no figure but what convanim keeps once per installation (the
preamble's pdflatex format, the compiled templates), built before timing; both
trees are byte-compiled first, as pip install does.

    python benchmarks/build.py [--gallery classic] [--jobs 2] [--repeat 3]
                               [--config FILE] [--baseline DIR] [--csv FILE]
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import byte_compile, cold_cache, write_csv  # noqa: E402

from convanim import build, index  # noqa: E402

PY = [sys.executable, "-m", "convanim"]


def children_cpu() -> float:
    """CPU seconds of the finished child processes: steadier than wall time on a shared
    machine, where others' jobs stretch the wall clock."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(cmd, cwd, env) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)
    return time.perf_counter() - start, proc.stdout


def baseline(commands, cwd, env, jobs) -> float:
    start = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(lambda c: timed(PY + c + ["--quiet"], cwd, env), commands))
    return time.perf_counter() - start


def _one(kind, name, options, out):
    from convanim.figure import figure, plan

    return plan(*figure(kind, name, **{**options, "out_dir": f"{out}/out",
                                       "gif_dir": f"{out}/gif"})).make()


def processes(entries, out, jobs) -> float:
    start = time.perf_counter()
    with ProcessPoolExecutor(jobs) as pool:
        list(pool.map(_one, *zip(*[(e.kind, e.name, e.options, out) for e in entries])))
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gallery", default="classic", choices=build.galleries())
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--config", type=Path, metavar="FILE",
                    help="time this config instead of the gallery's (say, the gallery as an "
                         "earlier commit had it, which that commit's tree can build)")
    ap.add_argument("--baseline", type=Path, metavar="DIR",
                    help="a source tree whose build is timed beside this one")
    ap.add_argument("--csv", type=Path, help="also write the table as CSV")
    opts = ap.parse_args()
    trees = {"build": ROOT, **({"base build": opts.baseline.resolve()} if opts.baseline
                               else {})}
    installed = tempfile.TemporaryDirectory()
    shared = {}
    for name, tree in trees.items():  # the per-installation cache: one build fills it
        byte_compile(tree)
        shared[name] = Path(installed.name) / name.replace(" ", "-")
        subprocess.run(PY + ["build", "--gallery", opts.gallery, "--out",
                             str(shared[name] / "g"), "-j", str(opts.jobs), "--quiet"],
                       cwd=installed.name, check=True, capture_output=True,
                       env={**os.environ, "XDG_CACHE_HOME": str(shared[name]),
                            "PYTHONPATH": str(tree)})

    source = opts.config or build.GALLERY_DIR / f"{opts.gallery}.toml"
    with tempfile.TemporaryDirectory() as tmp:
        entries = build.load(source, Path(tmp)).entries
    commands = [shlex.split(index.command(e))[3:] for e in entries]
    frames = sum(len(e.figure.frames) for e in entries)
    times: dict[str, list[float]] = {k: [] for k in
                                     ("baseline", "build", "processes", "warm", "check",
                                      "one change", *(["base build"] if opts.baseline
                                                      else []))}
    rebuilt = set()
    cpu: dict[str, list[float]] = {"build": [], "base build": []}
    for _ in range(opts.repeat):
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            for sub in ("base", "procs"):
                (tmp / sub).mkdir()

            for cache in ("c1", "c2", "c3", "c4"):
                cold_cache(shared["base build" if cache == "c4" else "build"], tmp / cache)

            def env(cache, tree=ROOT):
                return {**os.environ, "XDG_CACHE_HOME": str(tmp / cache),
                        "PYTHONPATH": str(tree)}

            times["baseline"].append(baseline(commands, tmp / "base", env("c1"), opts.jobs))
            config = tmp / "gallery.toml"
            shutil.copy(source, config)
            cmd = PY + ["build", str(config), "--out", str(tmp / "g"), "-j", str(opts.jobs),
                        "--quiet"]
            cpu0 = children_cpu()
            times["build"].append(timed(cmd, tmp, env("c2"))[0])
            cpu["build"].append(children_cpu() - cpu0)
            if opts.baseline:
                base = PY + ["build", str(config), "--out", str(tmp / "b"), "-j",
                             str(opts.jobs), "--quiet"]
                cpu0 = children_cpu()
                times["base build"].append(timed(base, tmp, env("c4", trees["base build"]))[0])
                cpu["base build"].append(children_cpu() - cpu0)
            os.environ["XDG_CACHE_HOME"] = str(tmp / "c3")
            times["processes"].append(processes(entries, tmp / "procs", opts.jobs))
            times["warm"].append(timed(cmd, tmp, env("c2"))[0])
            times["check"].append(timed(cmd + ["--check"], tmp, env("c2"))[0])
            text = config.read_text()
            changed = text.replace("[figures.padding_strides]\nkind = \"arithmetic\"\n"
                                   "description = \"Padding, strides.\"\ninput-size = 5\n",
                                   "[figures.padding_strides]\nkind = \"arithmetic\"\n"
                                   "description = \"Padding, strides.\"\ninput-size = 7\n")
            assert changed != text
            config.write_text(changed)  # a figure no cache holds: it must be drawn
            elapsed, out = timed(cmd, tmp, env("c2"))
            times["one change"].append(elapsed)
            rebuilt.add(tuple(sorted(Path(p).name for p in out.split())))
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [{"case": k, "median s": round(v, 3), "min s": round(min(times[k]), 3),
             "max s": round(max(times[k]), 3),
             "vs baseline": round(v / med["baseline"], 2)} for k, v in med.items()]
    print(f"gallery {opts.gallery}: {len(entries)} figures, {frames} frames, -j {opts.jobs}, "
          f"{opts.repeat} interleaved repeats, {os.cpu_count()} cores")
    print(f"{'case':12} {'median s':>9} {'min s':>7} {'max s':>7} {'vs baseline':>12}")
    for r in rows:
        print(f"{r['case']:12} {r['median s']:9.3f} {r['min s']:7.3f} {r['max s']:7.3f} "
              f"{r['vs baseline']:12.2f}")
    print(f"one change rewrote: {sorted(rebuilt)}")
    if opts.baseline:
        c = {k: statistics.median(v) for k, v in cpu.items()}
        print(f"build / base build: wall {med['build'] / med['base build']:.2f}, min "
              f"{min(times['build']) / min(times['base build']):.2f}; CPU {c['build']:.2f} s / "
              f"{c['base build']:.2f} s = {c['build'] / c['base build']:.2f} "
              f"(base: {opts.baseline})")
    if opts.csv:
        write_csv(opts.csv, rows)
    installed.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
