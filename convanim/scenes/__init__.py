"""The figure kinds, one module each, and the scene helpers they share.

Each module holds one :class:`~convanim.kind.Kind`: its options, and how a
:class:`~convanim.spec.ConvSpec` becomes what its template draws (the scene: plain,
JSON-serialisable per-frame data) and what ``--json`` reports. A scene never
computes a size itself; that is geometry's job.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np

from .. import geometry
from ..spec import ConvSpec


def figure_data(kind: str, spec: ConvSpec, steps: int) -> dict:
    """The fields every figure's JSON shares (GUIDE, "Figure data")."""
    return {
        "kind": kind,
        "transposed": spec.transposed,
        "input_size": list(spec.input_size),
        "kernel_size": list(spec.kernel_size),
        "stride": list(spec.stride),
        "padding": list(spec.padding_pair),
        "padding_sides": list(spec.sides),
        "padding_mode": spec.padding_mode,
        "dilation": list(spec.dilation),
        "output_padding": list(spec.output_padding),
        "output_size": list(spec.output_size),
        "steps": steps,
    }


def canvas_kinds(low: geometry.Lowered, output_padding=(0, 0)) -> np.ndarray:
    """``(H, W)`` names of the canvas cells: data, padding, inserted or outpad.

    ``outpad`` marks the padding cells that only the transposed conv's output
    padding adds (the last ``a`` rows and columns).
    """
    kinds = low.canvas_kinds()
    names = np.array(["data", "padding", "inserted"], dtype=object)[kinds]
    h, w = low.canvas
    extra = np.zeros(kinds.shape, dtype=bool)
    extra[h - output_padding[0]:, :] = output_padding[0] > 0
    extra[:, w - output_padding[1]:] |= output_padding[1] > 0
    names[extra & (kinds == geometry.PADDING)] = "outpad"
    return names


def canvas_grid(low: geometry.Lowered, output_padding=(0, 0)) -> list[list[dict]]:
    """Row by row, each canvas cell's kind, the operand cell ``[y, x]`` it holds (or None)
    and, for a padding cell of reflect, replicate or circular padding, the operand cell
    ``copies`` whose value it holds (None for a zero)."""
    kinds = canvas_kinds(low, output_padding)
    ys = low.rows.source(np.arange(low.rows.canvas))
    xs = low.cols.source(np.arange(low.cols.canvas))
    cy = low.rows.reads_from(np.arange(low.rows.canvas))
    cx = low.cols.reads_from(np.arange(low.cols.canvas))
    return [[{"kind": kinds[r, c],
              "cell": [int(ys[r]), int(xs[c])] if kinds[r, c] == "data" else None,
              "copies": ([int(cy[r]), int(cx[c])]
                         if kinds[r, c] != "data" and cy[r] >= 0 and cx[c] >= 0 else None)}
             for c in range(low.cols.canvas)] for r in range(low.rows.canvas)]


def is_sequence(low: geometry.Lowered) -> bool:
    """A 1-D figure: one row of operand, canvas and output (``-i 1xN -k 1xK``), drawn as a
    sequence rather than as a flat 2-D slab."""
    return low.canvas[0] == 1 and low.out[0] == 1


def out_offset(low: geometry.Lowered) -> float:
    """Where a sequence's output row starts, in canvas cells: at stride 1 output t sits
    above input t (its window's last tap when causal), else the row is centred."""
    if low.cols.stride == 1 and low.cols.spacing == 1:
        return float(low.cols.pad_lo)
    return (low.canvas[1] - low.out[1]) / 2


def cells_by_kind(names: np.ndarray) -> dict[str, list[list[int]]]:
    return {kind: [[int(r), int(c)] for r, c in zip(*np.nonzero(names == kind))]
            for kind in ("data", "padding", "inserted", "outpad")}


def window(low: geometry.Lowered, step: int) -> dict:
    """The output cell of a step and the canvas cells its kernel taps cover."""
    rows, cols = low.window(step)
    return {
        "step": step,
        "out": list(low.step_cell(step)),
        "taps": [[int(r), int(c)] for r in rows for c in cols],
        "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
    }


def too_large(kind: str, what: str, size, limit: int) -> str | None:
    """The refusal for a figure whose ``what`` exceeds ``limit`` cells per axis."""
    if max(size) > limit:
        return (f"figure too large: the {what} is {size[0]}x{size[1]} cells; "
                f"{kind} figures draw at most {limit} cells per axis")
    return None


def format_number(value) -> str:
    """Integers without ".0"; others exact if two decimals hold them, else two decimals.

    An inexact value keeps both decimals (2.996 prints "3.00", not "3"), so a
    rounded number never looks exact.
    """
    q = Fraction(value).limit_denominator(10**6)
    if q.denominator == 1:
        return str(q.numerator)
    rounded = (Decimal(q.numerator) / Decimal(q.denominator)).quantize(Decimal("0.01"),
                                                                      rounding=ROUND_HALF_UP)
    text = str(rounded)
    if rounded == q:  # exact: drop the zeros that carry no information
        text = text.rstrip("0").rstrip(".")
    return {"-0": "0", "-0.00": "0.00"}.get(text, text)


def grid_lines(names: np.ndarray) -> dict[str, list[list[int]]]:
    """The canvas grid as maximal straight runs of edges, by line style.

    An edge beside an operand cell is solid (the input keeps its outline), else
    dashed beside padding, else dotted (between inserted zeros). Each run is one
    path ``[x0, y0, x1, y1]`` in cell units (x = column, y = row counted down), so a
    dash pattern runs on evenly across cells instead of restarting in every cell.
    """
    h, w = names.shape

    def style(*kinds) -> str:
        if "data" in kinds:
            return "solid"
        return "dashed" if {"padding", "outpad"} & set(kinds) else "dotted"

    lines = {"solid": [], "dashed": [], "dotted": []}

    def runs(styles, make):
        start = 0
        for i in range(1, len(styles) + 1):
            if i == len(styles) or styles[i] != styles[start]:
                lines[styles[start]].append(make(start, i))
                start = i

    for r in range(h + 1):  # horizontal edges on row boundary r
        runs([style(*(names[rr, c] for rr in (r - 1, r) if 0 <= rr < h)) for c in range(w)],
             lambda a, b, r=r: [a, r, b, r])
    for c in range(w + 1):  # vertical edges on column boundary c
        runs([style(*(names[r, cc] for cc in (c - 1, c) if 0 <= cc < w)) for r in range(h)],
             lambda a, b, c=c: [c, a, c, b])
    return lines
