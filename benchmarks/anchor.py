"""convanim beside the Jarvis73 script it replaces, cold, alternated, at the same DPI.

The anchor is ``produce_figure.py`` of github.com/Jarvis73/conv_arithmetic, run as its
README says: one pdflatex per frame, ImageMagick's ``convert`` per frame and for the GIF,
then ``gifsicle -O3``. It needs ImageMagick with its PDF policy opened (Debian blocks PDF
in /etc/ImageMagick-6/policy.xml) and Ghostscript (its PDF reader), gifsicle, and the
``standalone`` class from
texlive-latex-extra; ``--texinputs DIR`` points TeX at a folder holding standalone.cls
instead of installing the package (``apt-get download texlive-latex-extra`` and
``dpkg -x`` it). Each run starts from a fresh copy of the script (its out/ and gif/ live
beside it) and convanim from an empty figure cache (the preamble's format kept, as for
any user after the first figure). Runs alternate, anchor then convanim, case by case, so
a noisy spell slows both; the table gives medians and their ratio.

    python benchmarks/anchor.py --anchor DIR [--texinputs DIR] [--repeat 3] [--case WORDS]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import cold_cache, prepare_trees  # noqa: E402

#: convanim's command, and the anchor's arguments for the same figure: the anchor takes
#: the output size (its frame count is o²) and defaults to 300 DPI, ours to 150.
CASES = [
    ("arithmetic -i 7 -k 3 -p 1 -t -a", "arithmetic -i 7 -o 7 -k 3 -p 1 -t -a -qa 150"),
    ("alphabet -i 5 -k 3 -a", "alphabet -i 5 -o 3 -k 3 -a -qa 150"),
    ("arithmetic -i 5 -k 3 -s 2 -a", "arithmetic -i 5 -o 2 -k 3 -s 2 -a -qa 150"),
]


def timed(cmd: list[str], cwd: Path, env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_anchor(anchor: Path, args: str, work: Path, env: dict) -> float:
    copy = work / "anchor"
    shutil.copytree(anchor, copy, ignore=shutil.ignore_patterns(".git", "out", "gif"))
    kind, rest = args.split(" ", 1)
    seconds = timed([sys.executable, "produce_figure.py", kind, "fig", *rest.split()], copy, env)
    gif = copy / "gif" / "fig.gif"
    if not gif.is_file() or gif.stat().st_size == 0:
        raise SystemExit(f"anchor wrote no GIF for {args!r}: check ImageMagick's PDF policy "
                         "and that TeX finds standalone.cls (--texinputs)")
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anchor", type=Path, required=True,
                    help="a checkout of Jarvis73/conv_arithmetic")
    ap.add_argument("--texinputs", type=Path, help="a folder holding standalone.cls")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case", action="append", metavar="WORDS",
                    help="only the case whose command starts with WORDS (repeatable)")
    opts = ap.parse_args()
    cases = [c for c in CASES if not opts.case or any(c[0].startswith(w) for w in opts.case)]
    if not cases:
        raise SystemExit(f"no case starts with {opts.case}; the cases: "
                         + "; ".join(c for c, _ in CASES))
    for tool in ("convert", "gifsicle", "pdflatex", "pdftoppm"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found (Debian: apt-get install imagemagick ghostscript gifsicle)")

    base_env = dict(os.environ)
    if opts.texinputs:
        base_env["TEXINPUTS"] = f"{opts.texinputs.resolve()}//:"
    times = {case: {"anchor": [], "convanim": []} for case, _ in cases}
    with tempfile.TemporaryDirectory() as installed:
        shared = prepare_trees({"now": ROOT}, installed, [c.split() for c, _ in cases])["now"]
        for _ in range(opts.repeat):
            for case, anchor_args in cases:
                with tempfile.TemporaryDirectory() as tmp:
                    tmp = Path(tmp)
                    times[case]["anchor"].append(run_anchor(opts.anchor, anchor_args, tmp,
                                                            base_env))
                    cache = cold_cache(shared, tmp / "cache")
                    env = {**base_env, "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)}
                    times[case]["convanim"].append(timed(
                        [sys.executable, "-m", "convanim", *case.split(), "--quiet"], tmp, env))
    print(f"{os.cpu_count()} CPUs, median of {opts.repeat} alternated cold runs, 150 DPI")
    print("| case | anchor s | convanim s | speed-up |")
    print("|---|---:|---:|---:|")
    for case, _ in cases:
        a = statistics.median(times[case]["anchor"])
        c = statistics.median(times[case]["convanim"])
        print(f"| `{case} -a` | {a:.2f} | {c:.3f} | {a / c:.1f}× |".replace(" -a -a", " -a"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
