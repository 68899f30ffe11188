"""File sizes of the classic gallery in every animation format, beside the GIF.

Builds ``build --gallery classic --format FMT`` once per format into a temporary
folder (from the figure cache when it holds them) and sums the animation files.

    python benchmarks/sizes.py [--formats gif html svg mp4 webp] [--csv FILE]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from common import write_csv  # noqa: E402

FORMATS = ["gif", "html", "svg", "mp4", "webm", "webp", "apng"]
SUFFIX = {"gif": ".gif", "html": ".html", "svg": ".svg", "mp4": ".mp4", "webm": ".webm",
          "webp": ".webp", "apng": ".png"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--formats", nargs="+", default=FORMATS, choices=FORMATS)
    ap.add_argument("--csv", type=Path, help="also write the table as CSV")
    opts = ap.parse_args()
    sizes: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in opts.formats:
            out = Path(tmp) / fmt
            subprocess.run([sys.executable, "-m", "convanim", "build", "--gallery", "classic",
                            "--out", str(out), "--format", fmt, "--quiet"], check=True,
                           stdout=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)})
            sizes[fmt] = {p.stem: p.stat().st_size for p in (out / "gif").iterdir()
                          if p.suffix == SUFFIX[fmt]}
    names = sorted(sizes[opts.formats[0]])
    rows = [{"figure": n, **{f: sizes[f][n] for f in opts.formats}} for n in names]
    total = {"figure": f"**all {len(names)}**", **{f: sum(sizes[f].values()) for f in opts.formats}}
    base = opts.formats[0]
    print("| figure | " + " | ".join(f"{f} KB" for f in opts.formats) + " |")
    print("|---|" + "---:|" * len(opts.formats))
    for r in rows + [total]:
        print(f"| {r['figure']} | " + " | ".join(f"{r[f] / 1000:.1f}" for f in opts.formats)
              + " |")
    print(f"| vs {base} | " + " | ".join(f"{total[f] / total[base]:.2f}" for f in opts.formats)
          + " |")
    if opts.csv:
        write_csv(opts.csv, rows + [total])
    return 0


if __name__ == "__main__":
    sys.exit(main())
