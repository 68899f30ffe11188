"""Numerical convolution of a volume: the depth slices side by side, values in every cell.

The input's slices (padded, zeros inserted for ``-t``) stand in rows, slice 0 first;
each step shadows and outlines the window's taps on every slice it touches, with the
weight of each tap in its corner, fills in its output cell among the output's slices
below, and writes its sum out per slice: each touched slice's products and their sum,
then the total. The numbers come from :func:`compute`, which reads the operand
through the geometry's 3-D gather map, the map that decides which cells are shaded.
"""
from __future__ import annotations

import numpy as np

from .. import shading
from ..spec import ConvSpec
from . import factor, format_number, grid_lines, slice_rows, width
from .arithmetic3d import slice_kinds

#: Canvas cells per axis beyond which the numbers no longer fit.
MAX_CANVAS = 12
#: Terms of one slice's sum beyond which it is summarised.
MAX_TERMS = 16
#: Cells (and gaps) a row of slices may span at the natural size: 19 cm at 0.8 cm a
#: cell, shrunk to a 16 cm column its numbers stay >= 6.5 pt.
ROW_CELLS = 24


def compute(spec: ConvSpec, mode: str, operand: np.ndarray, kernel: np.ndarray):
    """``(output, values, real)`` as :func:`convanim.scenes.numerical.compute`, over three
    axes: ``values[oz, oy, ox, tz, ty, tx]`` is what tap (tz, ty, tx) reads."""
    gather = spec.lowered().gather
    real = gather[..., 0] >= 0
    at = tuple(np.where(real, gather[..., a], 0) for a in range(3))
    values = np.where(real, operand[at], 0)
    weights = kernel[::-1, ::-1, ::-1] if spec.transposed else kernel
    if mode == "convolution":
        output = np.einsum("abcdef,def->abc", values, weights)
    elif mode == "average":  # count_include_pad: the divisor is kd*kh*kw
        output = values.sum(axis=(3, 4, 5)) / kernel.size
    else:  # max over the cells of the input only
        low = np.iinfo(values.dtype).min if values.dtype.kind in "iu" else -np.inf
        output = np.where(real, values, low).max(axis=(3, 4, 5))
    return output, values, real, weights


def rows_of(count: int, cells: int, per: int | None = None) -> list[list[int]]:
    """Slices ``0..count-1`` in rows of ``per`` (default: as many as :data:`ROW_CELLS`
    cells hold), rows balanced."""
    return slice_rows(count, per or max(1, (ROW_CELLS + 1) // (cells + 1)))


def per_row(spec: ConvSpec, low, options) -> int | None:
    """Slices per row: as many as fit :data:`ROW_CELLS` at the natural size (None); for
    --width or --column the most whose page keeps 5 pt text and 22 cm once scaled
    (:func:`convanim.layout.arrange`), the nearest when none does."""
    from ..layout import arrange, fit

    # its smallest text is the sum's 7 pt subscript (6.2 pt as measured), not the 8 pt numbers
    budget = fit("numerical-volume", options.width_cm())
    if budget is None:
        return None
    (d, h, w), (od, oh, ow) = low.canvas, low.out
    sums = (spec.kernel_size[0] + 1) * (0.9 if options.mode == "convolution" else 0.5)
    candidates = []
    for per in range(max(d, od), 0, -1):
        rows, orows = rows_of(d, w, per), rows_of(od, ow, per)
        across = max(len(rows[0]) * (w + 1), len(orows[0]) * (ow + 1)) - 1
        tall = len(rows) * (h + 0.8) + 0.4 + len(orows) * (oh + 0.8) + 0.6
        candidates.append({"per": per, "width": across * 0.8, "height": tall * 0.8 + sums})
    return arrange(candidates, budget)["per"]


def _sums(mode, values, real, weights, result, slices) -> dict:
    """The step's arithmetic, one group per touched slice, then the total."""
    groups = []
    for t, z in enumerate(slices):
        vals, ok = values[t].ravel(), real[t].ravel()
        if mode == "convolution":
            terms = [[factor(format_number(v)), factor(format_number(w))]
                     for v, w in zip(vals, weights[t].ravel())]
            part = float((vals * weights[t].ravel()).sum())
        elif mode == "average":
            terms = [format_number(v) for v in vals]
            part = float(vals.sum())
        else:
            terms = [format_number(v) for v, r in zip(vals, ok) if r]
            part = float(vals[ok].max()) if ok.any() else None
        groups.append({"slice": z, "terms": terms if len(terms) <= MAX_TERMS else [],
                       "count": len(terms),
                       "part": None if part is None else format_number(part)})
    return {"groups": groups, "result": format_number(result), "count": values.size}


def scene(spec: ConvSpec, steps: list[int], options, operand, kernel) -> dict:
    low = spec.lowered()
    mode = options.mode
    output, values, real, weights = compute(spec, mode, operand, kernel)
    by_value = options.by_value()
    in_bound, out_bound = shading.bound(operand), shading.bound(output)
    d, h, w = low.canvas
    slices = []
    for z in range(d):
        names = slice_kinds(low, z, spec.output_padding)
        cells = []
        for r in range(h):
            for c in range(w):
                held = [a.reads_from(p) for a, p in zip(low.axes, (z, r, c))]
                v = operand[tuple(held)] if min(held) >= 0 else 0
                kind = names[r][c]
                cells.append({"kind": kind, "label": format_number(v), "input": min(held) >= 0,
                              "fill": shading.level(v, in_bound) if by_value and
                              min(held) >= 0 else kind})
        slices.append({"cells": cells, "grid": grid_lines(names)})
    od, oh, ow = low.out
    frames = []
    for step in steps:
        zs, rows, cols = low.window(step)
        oz, oy, ox = low.step_cell(step)
        frames.append({
            "step": step, "out": [oz, oy, ox], "slices": [int(z) for z in zs],
            "taps": [[int(r), int(c)] for r in rows for c in cols],
            "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
            "weights": ([[format_number(v) for v in weights[t].ravel()] for t in range(len(zs))]
                        if mode == "convolution" else []),
            "filled": [[*low.step_cell(s), format_number(output[low.step_cell(s)])]
                       for s in range(step + 1)],
            "shades": ([shading.level(output[low.step_cell(s)], out_bound)
                        for s in range(step + 1)] if by_value else []),
            "sums": _sums(mode, values[oz, oy, ox], real[oz, oy, ox], weights, output[oz, oy, ox],
                          [int(z) for z in zs]),
        })
    labels = [c["label"] for s in slices for c in s["cells"]]
    per = per_row(spec, low, options)
    return {
        "volume": True, "mode": mode, "transposed": spec.transposed,
        "canvas_size": [d, h, w], "output_size": [od, oh, ow],
        "rows": rows_of(d, w, per), "out_rows": rows_of(od, ow, per),
        "slices": slices, "frames": frames, "by_value": by_value,
        "numbers": not options.no_numbers, "caption": options.caption,
        "wide": max(map(width, labels + [format_number(v) for v in output.ravel()]
                        + [format_number(v) + "x" for v in weights.ravel()])) > 4,
        # figure data (--json)
        "input": operand.tolist(),
        "kernel": kernel.tolist() if mode == "convolution" else None,
        "output": output.tolist(),
    }


def step_arithmetic(frame: dict, mode: str) -> str:
    """A step's sums in words, for the HTML player's text alternative."""
    z, y, x = frame["out"]
    parts = []
    for g in frame["sums"]["groups"]:
        if g["terms"] and mode == "convolution":
            text = " + ".join(f"{v}×{w}" for v, w in g["terms"])
        elif g["terms"]:
            text = ", ".join(g["terms"])
        else:
            text = f"{g['count']} terms"
        parts.append(f"slice {g['slice']}: {text} = {g['part']}")
    return f"y[{z},{y},{x}] = {frame['sums']['result']} ({'; '.join(parts)})"
