"""The highlighted row of alphabet's matrix and column of im2col's, in pixels (#31 §2).

Each case is drawn as a PNG in every theme. The highlighted row (column) is found by
its non-zero entries' fill; a scan line just inside its outline, clear of any name, reads its
runs of non-zero and zero fills. Their share must be the share of non-zero entries in
the step's row of the matrix the figure's --json holds, a zero and a non-zero entry
inside it must keep >= 3:1 WCAG contrast (as drawn), and the row must stand apart from
its unhighlighted neighbour: a thicker run of line colour at its edge (its outline).
"""
from __future__ import annotations

import json
import shlex

import numpy as np
import pytest
from PIL import Image

from convanim import theme
from helpers import run

DPI = 300
CASES = [
    ("alphabet -i 5 -k 3 -s 2 -p 1 -e 2", "row"),
    ("alphabet -i 1x8 -k 1x3 -e 0", "row"),
    ("alphabet -i 7 -k 3 -p 1 -e 10", "row"),
    ("alphabet -i 4 -k 3 --in-channels 2 --out-channels 4 --groups 2 -e 5", "row"),
    ("im2col -i 5 -k 3 -s 2 -p 1 --phase loss -e 6", "column"),
    ("im2col -i 4 -k 3 -p 1 -e 0", "column"),
    ("im2col -i 5 -k 3 -p 1 --in-channels 2 --out-channels 2 -e 0", "column"),
]


def rgb(hex_colour: str) -> np.ndarray:
    return np.array([int(hex_colour[i:i + 2], 16) for i in (0, 2, 4)], dtype=int)


def hex_of(pixel) -> str:
    return "".join(f"{int(v):02X}" for v in pixel[:3])


def draw(case: str, theme_name: str, tmp_path, capsys):
    argv = shlex.split(case)
    status, out, err = run(capsys, *argv, "--theme", theme_name, "-y", "png", "-q", str(DPI),
                           "--json", "--quiet", "--out-dir", str(tmp_path),
                           "--gif-dir", str(tmp_path))
    assert status == 0, err
    png = [p for p in out if p.suffix == ".png"]
    data = json.loads(next(tmp_path.glob("*.json")).read_text())
    return np.asarray(Image.open(png[0]).convert("RGB")).astype(int), data


def runs(line: np.ndarray, colours: dict[str, np.ndarray], tol: int = 4):
    """Runs of ``line``'s pixels that match one of ``colours``: [(name, start, length)]."""
    names = np.full(len(line), "", dtype=object)
    for name, c in colours.items():
        names[np.abs(line - c).max(axis=1) <= tol] = name
    out = []
    for i, n in enumerate(names):
        if out and out[-1][0] == n and out[-1][1] + out[-1][2] == i:
            out[-1][2] += 1
        else:
            out.append([n, i, 1])
    return [tuple(r) for r in out if r[0]]


def dark_run(pixels: np.ndarray, line: np.ndarray) -> int:
    """Length of the longest run of pixels within 40 of the line colour."""
    best = cur = 0
    for p in pixels:
        cur = cur + 1 if np.abs(p - line).max() <= 40 else 0
        best = max(best, cur)
    return best


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("theme_name", theme.THEMES)
@pytest.mark.parametrize("case,axis", CASES)
def test_highlight_keeps_zero_and_non_zero_apart(case, axis, theme_name, tmp_path, capsys):
    img, data = draw(case, theme_name, tmp_path, capsys)
    p = theme.palette(theme_name)
    entry, zero, line = rgb(p["hientry"]), rgb(p["hizero"]), rgb(p["line"])
    step = int(shlex.split(case)[shlex.split(case).index("-e") + 1])
    matrix = data["matrix"] if "matrix" in data else data["im2col"]
    cells = matrix[step] if axis == "row" else [row[step] for row in matrix]
    if axis == "column":
        img = img.transpose(1, 0, 2)            # the column becomes a row
    per_row = (np.abs(img - entry).max(axis=2) <= 4).sum(axis=1)
    assert per_row.max() > 0, f"no highlighted entry drawn in {p['hientry']}"
    rows = np.flatnonzero(per_row >= per_row.max() / 2)   # not a glyph's antialiased edge
    top, bottom = rows.min(), rows.max()
    height = bottom - top + 1
    assert height <= 1.0 / 2.54 * DPI, "the highlight spans one row"
    scan = top + 4                           # inside the outline, clear of any name
    found = runs(img[scan], {"entry": entry, "zero": zero})
    width = {k: sum(n for name, _, n in found if name == k) for k in ("entry", "zero")}
    nonzero = sum(e is not None for e in cells)
    share = width["entry"] / (width["entry"] + width["zero"])
    assert share == pytest.approx(nonzero / len(cells), abs=0.06)
    # a non-zero and a zero entry, sampled at the centres of their runs, as drawn
    e_run = max((r for r in found if r[0] == "entry"), key=lambda r: r[2])
    z_run = max((r for r in found if r[0] == "zero"), key=lambda r: r[2])
    e_px = img[scan, e_run[1] + e_run[2] // 2]
    z_px = img[scan, z_run[1] + z_run[2] // 2]
    assert theme.contrast(hex_of(e_px), hex_of(z_px)) >= 3.0
    # the outline: at the zero's centre, the edge above the highlighted row is a thick
    # run of line colour; the edge below the next (unhighlighted) row is not
    x = z_run[1] + z_run[2] // 2
    o = round(1.6 / 72 * DPI)                # the outline's width in pixels
    edge, pitch = top - o // 2, height + o   # the row's top edge, the row pitch
    above = img[max(0, edge - pitch // 5):edge + pitch // 5, x]
    below_next = img[edge + 2 * pitch - pitch // 5:edge + 2 * pitch + pitch // 5, x]
    assert dark_run(above, line) >= 3 * max(1, dark_run(below_next, line))
    assert dark_run(above, line) >= 1.2 / 72 * DPI       # >= 1.2 pt of outline


@pytest.mark.parametrize("theme_name", theme.THEMES)
def test_highlight_colours_keep_their_contrast(theme_name):
    """From the values: zero vs non-zero >= 3:1 inside the highlight, text >= 4.5:1 on
    the non-zero entries (named) and muted zeros >= 4.5:1 on the zeros."""
    p = theme.palette(theme_name)
    assert theme.contrast(p["hientry"], p["hizero"]) >= 3.0
    assert theme.contrast(p["text"], p["hientry"]) >= 4.5
    assert theme.contrast(p["muted"], p["hizero"]) >= 4.5
    assert theme.contrast(p["text"], p["hizero"]) >= 4.5
