"""Where the channels figure puts its planes, for the width asked (--width, --column).

The figure has C input planes, D filters of C/G slices (the filter bank) and D output
planes. Six arrangements, all in cells (x to the right, y down from the top of the
first input plane; a grid whose top is ``top`` and left ``left`` has cell (r, c) at
x = left + c, y = top + r):

- ``beside`` (without --width, always): the input planes down the left, one column per
  filter right of them (the slice for plane j in row j, its partial sum beside it), each
  output plane under its filter's column.
- ``packed`` (without --width where ``beside`` would not fit 16 x 22 cm; with it, after
  the others): the planes down the left, each filter's slices stacked from the top of
  its column, its output plane right under them, centred on the column.
- ``compact``: as ``beside`` with narrow bank columns (each partial sum under its slice)
  and the output planes in a row of their own under the bank: for narrow columns.
- ``stacked``: the input planes in a row on top, one row per filter under them (the slice
  for plane j under plane j), the output planes in a row below: for wide, short pages.
- ``sequence`` (an input of height 1): each plane a row of values, the output rows above
  the input rows (output t above input t at stride 1), the bank of 1-D kernels right of
  the input rows; ``sequence below``, for narrow columns: the bank under the input rows.

:func:`layout` measures each candidate (in cm, with the title and the step's
arithmetic estimated) and lets :func:`convanim.layout.arrange` pick the first that
keeps text >= 5 pt and the page <= 22 cm at the width asked. With --width the
template also wraps the title and the arithmetic to the width allowed, and sets
subscripts at 8 pt (as large as the numbers), so the smallest text is the numbers'.
"""
from __future__ import annotations

import math

from .. import geometry
from .. import layout as fitting
from . import out_offset

#: Room right of a slice for its partial sum, and the gaps: between rows of planes,
#: between the planes and the bank, between the bank and the outputs.
PARTIAL = 1.9
ROW_GAP = 0.8
BANK_GAP = 1.4
OUT_GAP = 1.6
#: The names left of the planes (x0) take this much room, in cells.
NAMES = 1.3
#: The narrow bank (compact): a column is its slice and this gap; a partial sum under
#: its slice needs this much height.
COLUMN_GAP = 0.8
PARTIAL_HEIGHT = 1.0
#: Rough sizes of the text around the drawing (cm): a line of the title or labels, a line
#: of the arithmetic, and one product "3×2 + " of it.
LINE_CM = 0.45
PRODUCT_CM = 0.95
#: A cell is this wide (cm) when its longest number has this many characters at most.
UNITS = ((3, 0.6), (4, 0.8), (5, 0.95))
WIDE_UNIT = 1.15
#: With a width asked, cells of numbers at most 2 characters wide may shrink to this.
TIGHT_UNIT = 0.5
#: The page a figure must fit at its natural size (cm), less the border (layout.py).
PAGE_CM = (16.0 - 2 * fitting.BORDER_CM, fitting.PAGE_HEIGHT_CM - 2 * fitting.BORDER_CM)


def unit_for(label_chars: int) -> float:
    """Cells of 0.6 cm hold 3 characters; longer numbers (-0.12) get wider cells."""
    for chars, unit in UNITS:
        if label_chars <= chars:
            return unit
    return WIDE_UNIT


def layout(g: geometry.Grouped, kernel_size, label_chars: int, sequence: bool,
           width_cm: float | None, text_lines: int = 1) -> dict:
    """The arrangement drawn: the positions the template needs (see the module doc), its
    ``width`` and ``height`` estimated in cm, and ``text_width``, the width (cm) the title
    and the arithmetic wrap to where they are wider (None: no width asked, they keep
    their natural width)."""
    budget = fitting.fit("channels", width_cm)
    unit = unit_for(label_chars)
    units = [unit] + ([TIGHT_UNIT] if budget and label_chars <= 2 and unit > TIGHT_UNIT else [])
    if sequence:
        names = ["sequence"] + (["sequence below"] if budget else [])
    elif budget is None:
        names = ["beside", "packed"]
    else:
        names = ["beside", "compact", "stacked", "packed"]
    candidates = [place(name, g, kernel_size, u, text_lines, budget)
                  for u in units for name in names]
    if budget is None and not sequence:
        # the natural size: the first that fits 16 x 22 cm as it is (text never shrunk)
        fits = [c for c in candidates if c["width"] <= PAGE_CM[0] and c["height"] <= PAGE_CM[1]]
        return fits[0] if fits else min(candidates, key=lambda c: c["height"])
    return fitting.arrange(candidates, budget)


def place(name: str, g: geometry.Grouped, kernel_size, unit: float, text_lines: int = 1,
          budget: dict | None = None) -> dict:
    """One arrangement's positions (cells) and its estimated size (cm)."""
    at = {"beside": _beside, "packed": _packed, "compact": _compact, "stacked": _stacked,
          "sequence": _sequence,
          "sequence below": lambda *a: _sequence(*a, below=True)}[name](g, tuple(kernel_size))
    left, top, right, bottom = at["box"]
    width = (right - left) * unit
    # the title (and --labels lines) above, the step's arithmetic below: one line per
    # plane read and the total, each wrapped to the width allowed
    # (wrapped with a width asked to the drawing's width, at least 6 cm, at most the
    # widest a page may be)
    line = kernel_size[0] * kernel_size[1] * PRODUCT_CM + 1.5
    wrap = min(budget["width"], max(width, 6.0)) if budget else None
    text = min(line, wrap) if wrap else line
    per_line = max(1, math.ceil(line / max(text, width)))
    lines = text_lines + (g.in_per_group * per_line + 1)
    return {**at, "at": name, "unit": unit, "width": max(width, text), "text_width": wrap,
            "height": (bottom - top) * unit + lines * LINE_CM + 0.6}


def _sizes(g: geometry.Grouped, kernel_size):
    h, w = g.plane.canvas
    oh, ow = g.plane.out
    return h, w, kernel_size[0], kernel_size[1], oh, ow


def _straight(x0, y0, x1, y1) -> dict:
    """A sum arrow from (x0, y0) to (x1, y1), its Σ left of its middle."""
    return {"path": [[x0, y0], [x1, y1]],
            "label": [(x0 + x1) / 2 - 0.15, (y0 + y1) / 2 - 0.15, "right"]}


def _elbow(x0, y0, x1, below, out_top) -> dict:
    """A sum arrow down from (x0, y0) to the output plane whose top is ``out_top``: where
    the output is not under the column it turns in the gap under the bank (``below``),
    runs across and drops into a cell at x1, so it never crosses a plane or a label
    (a diagonal ran through an input's padding); its Σ left of its first leg."""
    if abs(x1 - x0) < 1e-9:
        return _straight(x0, y0, x1, out_top - 0.15)
    turn = (below + out_top) / 2
    return {"path": [[x0, y0], [x0, turn], [x1, turn], [x1, out_top - 0.15]],
            "label": [x0 - 0.15, (y0 + turn) / 2 - 0.05, "right"]}


def _beside(g, kernel_size) -> dict:
    """The natural layout: the planes down the left, the bank right of them, each output
    under its filter's column, centred on it (it sat a third of a plane right of it)."""
    h, w, kh, kw, oh, ow = _sizes(g, kernel_size)
    colw = max(kw + PARTIAL, ow + 0.6)
    rows = [j * (h + ROW_GAP) for j in range(g.planes_in)]
    cols = [w + BANK_GAP + q * colw for q in range(g.planes_out)]
    dy = (h - kh) / 2
    out_top = rows[-1] + h + OUT_GAP
    lefts = [_under(c + kw / 2, ow) for c in cols]  # centred on the filter's column
    sums = []
    for q in range(g.planes_out):
        last = rows[g.inputs_of(q)[-1]] + dy + kh
        x = cols[q] + kw / 2
        sums.append({"path": [[x, last + 0.1], [x, out_top - 0.65]],
                     "label": [x - 0.15, (last + out_top) / 2 - 0.15, "right"]})
    return {
        "inputs": [[0, top] for top in rows],
        "slices": [[[cols[q], rows[j] + dy] for j in g.inputs_of(q)]
                   for q in range(g.planes_out)],
        "partials": [[[cols[q] + kw + 0.2, rows[j] + h / 2, "left"] for j in g.inputs_of(q)]
                     for q in range(g.planes_out)],
        "outputs": [[x, out_top] for x in lefts],
        "x_names": [[-NAMES + 0.2, top + h / 2, "left"] for top in rows],
        "w_names": [[c + kw / 2, -0.25, "bottom"] for c in cols],
        "y_names": [[x + ow / 2, out_top + oh + 0.2, "top"] for x in lefts],
        "sums": sums,
        "box": [min(-NAMES, lefts[0]), -0.9,
                max(cols[-1] + kw + PARTIAL - 0.3, lefts[-1] + ow) + 0.1, out_top + oh + 0.8],
    }


def _under(x: float, ow: int) -> float:
    """The left edge of an ``ow``-wide output plane whose middle cell's centre is at ``x``:
    a sum arrow straight down at ``x`` lands in a cell, never on a border."""
    return x - (ow // 2 + 0.5)


def _packed(g, kernel_size) -> dict:
    """For a natural page too tall in ``beside``: the planes down the left; each filter's
    slices packed from the top of its column (the partial sums beside them), its output
    plane right under them, centred on the column, not under every input plane."""
    h, w, kh, kw, oh, ow = _sizes(g, kernel_size)
    colw = max(kw + PARTIAL, ow + COLUMN_GAP)
    rows = [j * (h + ROW_GAP) for j in range(g.planes_in)]
    # the first output clears the input planes by a row gap
    shift = max(0.0, (ow // 2 + 0.5) - kw / 2 - BANK_GAP + ROW_GAP)
    cols = [w + BANK_GAP + shift + q * colw for q in range(g.planes_out)]
    tops = [jj * (kh + ROW_GAP) for jj in range(g.in_per_group)]
    bank_bottom = tops[-1] + kh
    out_top = bank_bottom + OUT_GAP + 0.4
    lefts = [_under(c + kw / 2, ow) for c in cols]
    sums = [_straight(c + kw / 2, bank_bottom + 0.1, c + kw / 2, out_top - 0.15) for c in cols]
    right = max(cols[-1] + kw + PARTIAL - 0.3, lefts[-1] + ow)
    return {
        "inputs": [[0, top] for top in rows],
        "slices": [[[cols[q], top] for top in tops] for q in range(g.planes_out)],
        "partials": [[[cols[q] + kw + 0.2, top + kh / 2, "left"] for top in tops]
                     for q in range(g.planes_out)],
        "outputs": [[x, out_top] for x in lefts],
        "x_names": [[-NAMES + 0.2, top + h / 2, "left"] for top in rows],
        "w_names": [[c + kw / 2, -0.25, "bottom"] for c in cols],
        "y_names": [[x + ow / 2, out_top + oh + 0.2, "top"] for x in lefts],
        "sums": sums,
        "box": [-NAMES, -0.9, right + 0.1, max(rows[-1] + h, out_top + oh + 0.8)],
    }


def _output_row(centres: list[float], ow: int, lo: float, hi: float) -> list[float]:
    """Left edges of the output planes in one row: each centred on ``centres`` where they
    do not overlap, else packed side by side centred on them, kept within ``hi`` where
    they can be (the figure does not widen for them) and never left of ``lo``."""
    pitch = ow + COLUMN_GAP
    if all(b - a >= pitch for a, b in zip(centres, centres[1:])) and centres[0] - ow / 2 >= lo:
        return [c - ow / 2 for c in centres]
    span = len(centres) * pitch - COLUMN_GAP
    start = max(lo, min((centres[0] + centres[-1]) / 2 - span / 2, hi - span))
    return [start + q * pitch for q in range(len(centres))]


def _compact(g, kernel_size) -> dict:
    """The planes down the left; bank columns one slice wide, each partial sum under its
    slice; the outputs in a row under the bank."""
    h, w, kh, kw, oh, ow = _sizes(g, kernel_size)
    gap = max(ROW_GAP, kh + PARTIAL_HEIGHT - h + 0.2)
    dy = max(0.0, (h - kh - PARTIAL_HEIGHT) / 2)
    colw = max(kw, 1.6) + COLUMN_GAP
    rows = [j * (h + gap) for j in range(g.planes_in)]
    cols = [w + BANK_GAP - 0.4 + q * colw for q in range(g.planes_out)]
    bank_bottom = max(rows[-1] + h, rows[-1] + dy + kh + PARTIAL_HEIGHT)
    out_top = bank_bottom + OUT_GAP
    lefts = _output_row([c + kw / 2 for c in cols], ow, 0.0, cols[-1] + kw)
    sums = []
    for q in range(g.planes_out):
        last = rows[g.inputs_of(q)[-1]] + dy + kh + PARTIAL_HEIGHT
        sums.append(_elbow(cols[q] + kw / 2, last, lefts[q] + ow // 2 + 0.5, bank_bottom,
                           out_top))
    right = max(cols[-1] + colw - COLUMN_GAP, lefts[-1] + ow)
    return {
        "inputs": [[0, top] for top in rows],
        "slices": [[[cols[q], rows[j] + dy] for j in g.inputs_of(q)]
                   for q in range(g.planes_out)],
        "partials": [[[cols[q] + kw / 2, rows[j] + dy + kh + PARTIAL_HEIGHT / 2, ""]
                      for j in g.inputs_of(q)] for q in range(g.planes_out)],
        "outputs": [[x, out_top] for x in lefts],
        "x_names": [[-NAMES + 0.2, top + h / 2, "left"] for top in rows],
        "w_names": [[c + kw / 2, -0.25, "bottom"] for c in cols],
        "y_names": [[x + ow / 2, out_top + oh + 0.2, "top"] for x in lefts],
        "sums": sums,
        "box": [-NAMES, -0.9, right + 0.1, out_top + oh + 0.8],
    }


def _stacked(g, kernel_size) -> dict:
    """The planes in a row on top, a row per filter under them (the slice for plane j
    under plane j, its partial sum beside it), the outputs in a row below. The sum
    arrow of filter q runs from its row down a lane right of the bank to its output."""
    h, w, kh, kw, oh, ow = _sizes(g, kernel_size)
    pitch = max(w, kw + PARTIAL) + ROW_GAP
    xs = [j * pitch for j in range(g.planes_in)]
    inset = max(0.0, (w - kw - PARTIAL) / 2)
    bank_top = h + 1.2
    tops = [bank_top + q * (kh + ROW_GAP) for q in range(g.planes_out)]
    bank_right = xs[-1] + max(w, kw + PARTIAL)
    bank_bottom = tops[-1] + kh
    out_top = bank_bottom + OUT_GAP
    centre = bank_right / 2
    lefts = _output_row([centre + (q - (g.planes_out - 1) / 2) * (ow + COLUMN_GAP)
                         for q in range(g.planes_out)], ow, 0.0, bank_right)
    lane = bank_right + 0.4
    sums = []
    for q in range(g.planes_out):
        mid = tops[q] + kh / 2
        xc = lefts[q] + ow // 2 + 0.5  # into a cell, not onto a border
        if g.planes_out == 1 and g.planes_in == 1:
            sums.append(_elbow(xs[0] + inset + kw / 2, tops[q] + kh + 0.1, xc, bank_bottom,
                               out_top))
            continue
        turn = out_top - 0.6
        last = xs[g.inputs_of(q)[-1]] + inset + kw + PARTIAL - 0.1
        sums.append({"path": [[last, mid], [lane, mid], [lane, turn], [xc, turn],
                              [xc, out_top - 0.1]],
                     "label": [lane + 0.15, (mid + turn) / 2, "left"]})
    right = max(lane + 0.9 if g.planes_in * g.planes_out > 1 else bank_right, lefts[-1] + ow)
    return {
        "inputs": [[x, 0] for x in xs],
        "slices": [[[xs[j] + inset, tops[q]] for j in g.inputs_of(q)]
                   for q in range(g.planes_out)],
        "partials": [[[xs[j] + inset + kw + 0.2, tops[q] + kh / 2, "left"]
                      for j in g.inputs_of(q)] for q in range(g.planes_out)],
        "outputs": [[x, out_top] for x in lefts],
        "x_names": [[x + w / 2, -0.25, "bottom"] for x in xs],
        "w_names": [[-0.2, top + kh / 2, "right"] for top in tops],
        "y_names": [[x + ow / 2, out_top + oh + 0.2, "top"] for x in lefts],
        "sums": sums,
        "box": [-NAMES, -0.9, right + 0.1, out_top + oh + 0.8],
    }


def _sequence(g, kernel_size, below: bool = False) -> dict:
    """A 1-D figure: the input rows x_j one under another, the output rows y_q above them
    (y_0 on top; output t above input t at stride 1, as numerical draws a sequence), the
    bank of 1 x k kernels right of the input rows (kernel q's slice for x_j beside x_j)
    or, ``below``, under them. The sum arrow of filter q rises from its column to the
    end of row y_q; from a bank below, it leaves the column at its foot and rises in a
    lane right of the rows."""
    h, w, kh, kw, oh, ow = _sizes(g, kernel_size)
    gap = 0.6
    rows = [j * (h + gap) for j in range(g.planes_in)]
    colw = kw + PARTIAL
    ox = out_offset(g.plane)
    if below:
        bank_top = rows[-1] + h + 1.4
        cols = [q * (colw + 0.4) for q in range(g.planes_out)]
        # row jj of the bank holds slice jj of every filter (the planes of its group)
        slice_top = [[bank_top + jj * (kh + gap) for jj in range(g.in_per_group)]
                     for q in range(g.planes_out)]
        bank_bottom = bank_top + g.in_per_group * (kh + gap) - gap
        first = -OUT_GAP - g.planes_out * (oh + gap) + gap
        right = max(w, cols[-1] + colw - 0.2)
        lane = right + 1.0
    else:
        cols = [w + BANK_GAP + q * colw for q in range(g.planes_out)]
        slice_top = [[rows[j] + (h - kh) / 2 for j in g.inputs_of(q)]
                     for q in range(g.planes_out)]
        # the filter names sit above the bank's columns; the output rows above them
        first = -1.0 - OUT_GAP - g.planes_out * (oh + gap) + gap
        right = cols[-1] + kw + PARTIAL - 0.2
    outs = [first + q * (oh + gap) for q in range(g.planes_out)]
    sums = []
    for q in range(g.planes_out):
        x = cols[q] + kw / 2
        mid = outs[q] + oh / 2
        if below:
            foot = bank_bottom + 0.6
            sums.append({"path": [[x, bank_bottom + 0.15], [x, foot], [lane, foot], [lane, mid],
                                  [ox + ow + 0.2, mid]],
                         "label": [lane + 0.15, (mid + foot) / 2, "left"]})
        else:
            sums.append({"path": [[x, -0.95], [x, mid], [ox + ow + 0.2, mid]],
                         "label": [x + 0.15, (mid - 0.95) / 2, "left"]})
    return {
        "inputs": [[0, top] for top in rows],
        "slices": [[[cols[q], top] for top in slice_top[q]] for q in range(g.planes_out)],
        "partials": [[[cols[q] + kw + 0.2, top + kh / 2, "left"] for top in slice_top[q]]
                     for q in range(g.planes_out)],
        "outputs": [[ox, top] for top in outs],
        "x_names": [[-NAMES + 0.2, top + h / 2, "left"] for top in rows],
        "w_names": [[c + kw / 2, (bank_top if below else 0) - 0.25, "bottom"] for c in cols],
        "y_names": [[-NAMES + 0.2, top + oh / 2, "left"] for top in outs],
        "sums": sums,
        "box": [-NAMES, outs[0] - 0.9, (lane + 0.8) if below else right,
                (bank_bottom + 0.8) if below else rows[-1] + h + 0.3],
    }
