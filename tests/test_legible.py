"""Clean on paper and screen (issue 19): labels inside their cells.
Measured on real PDFs with poppler where a label's place matters, and on the palette's
own values for colours."""
from __future__ import annotations

import os
import re
import subprocess
import sys


PT_PER_CM = 72 / 2.54
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r'([^<]*)</word>')


def words(tmp_path, *args) -> list[tuple[float, float, float, float, str]]:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "convanim", *args, "-y", "pdf", "fig", "--quiet",
                        "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pdf = [line for line in r.stdout.split() if line.endswith(".pdf")][0]
    html = subprocess.run(["pdftotext", "-bbox", pdf, "-"], capture_output=True,
                          text=True).stdout
    return [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(html)]


def test_weights_stand_clear_of_the_cell_edges(tmp_path):
    """``numerical -i 5 -k 3 -t -e 2``: each ``×w`` sat on its cell's right edge, where a
    dashed line or the window's frame cut through it."""
    ws = words(tmp_path, "numerical", "-i", "5", "-k", "3", "-t", "-e", "2")
    pitch = 0.8 * PT_PER_CM  # the numerical view's cell
    values = [w for w in ws if re.fullmatch(r"-?\d+", w[4]) and w[2] < 7 * pitch]
    first_centre = min((w[0] + w[2]) / 2 for w in values)
    edges = [first_centre - pitch / 2 + k * pitch for k in range(8)]
    weights = [w for w in ws if w[4].startswith("×")]
    assert len(weights) == 9
    for x0, _, x1, _, text in weights:
        assert min(abs(x1 - e) for e in edges) >= 2.0, text
        assert min(abs(x0 - e) for e in edges) >= 2.0, text


def labels(ws, letter):
    """Boxes of the labels ``letter`` with a subscript (pdftotext reads them as two
    words): ``(x0, y0, x1)``."""
    out = []
    for x0, y0, x1, y1, t in ws:
        if t != letter:
            continue
        sub = [w for w in ws if re.fullmatch(r"\d+,?\d*", w[4]) and abs(w[0] - x1) < 1.0
               and w[1] < y1]
        out.append((x0, y0, max(s[2] for s in sub)))
    return out


def test_matrix_entries_never_run_into_each_other(tmp_path):
    """The alphabet matrix's ``w00 w01 w02`` touched (1.6 pt apart at 8 pt)."""
    ws = words(tmp_path, "alphabet", "-i", "4", "-k", "3")
    rows: dict[float, list] = {}
    for x0, y0, x1 in labels(ws, "w"):
        rows.setdefault(round(y0), []).append((x0, x1))
    gaps = [b[0] - a[1] for row in rows.values() for a, b in zip(sorted(row), sorted(row)[1:])]
    assert len(gaps) > 20
    assert min(gaps) >= 3.0
