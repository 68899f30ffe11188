"""A tiny volume's convolution as a matrix product: b = C a over the flattened volume.

C has one row per output cell and one column per operand cell, both flattened slice by
slice (depth first, then rows, then columns, as ``x.flatten()`` of a ``(D, H, W)``
array); entry ``[o][c]`` names the kernel tap ``w_zyx`` that multiplies cell c into
output o. For ``-t`` the figure slides the flipped kernel over the zero-inserted
operand, so its taps are mapped back to the entries they multiply and C is the
forward matrix transposed. Only tiny volumes are drawn: C of a 4x5x5 input already
has 100 columns, more than a page holds legibly.
"""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..spec import ConvSpec
from . import slice_rows
from .im2col3d import SLICE_GAP, operand_slices

#: Cells of the operand and of the output (columns and rows of C) drawn at most.
MAX_CELLS = 27
#: Columns of C that hold a label each; past them C is drawn compact.
LABELLED_COLUMNS = 20


def limits(spec: ConvSpec, low: geometry.Volume) -> str | None:
    """Why the volume is too large for a matrix, naming the largest drawn."""
    ins, outs = (n[0] * n[1] * n[2] for n in (low.operand, low.out))
    if max(ins, outs) <= MAX_CELLS:
        return None
    what, size, count = (("input", spec.input_size, ins) if ins > MAX_CELLS else
                         ("output", low.out, outs))
    if spec.transposed:
        what, size, count = (("operand", low.operand, ins) if ins > MAX_CELLS else
                             ("output", low.out, outs))
    return (f"figure too large: alphabet draws volumes of at most {MAX_CELLS} cells in and out "
            f"(e.g. -i 3x3x3 -k 2); the {what} {'x'.join(map(str, size))} has {count} "
            f"(C would be {outs}x{ins}): use numerical or arithmetic")


def matrix(spec: ConvSpec, low: geometry.Volume) -> list[list]:
    """C: ``od*oh*ow`` rows of ``nd*nh*nw`` entries, each the kernel entry ``[kz, ky, kx]``
    multiplying that operand cell into that output (flipped for ``-t``), or None."""
    _, nh, nw = low.operand
    k = spec.kernel_size
    g = low.gather                                       # (od, oh, ow, kd, kh, kw, 3)
    out = []
    for o in range(low.steps):
        row: list = [None] * (low.operand[0] * nh * nw)
        taps = g[low.step_cell(o)]
        for t in np.ndindex(*low.kernel):
            z, y, x = (int(v) for v in taps[t])
            if z >= 0:
                row[(z * nh + y) * nw + x] = ([k[a] - 1 - t[a] for a in range(3)]
                                              if spec.transposed else list(map(int, t)))
        out.append(row)
    return out


def layout(low: geometry.Volume, cs: float, cw: float, options) -> dict:
    """Slices per row and whether C is compact: the first that fits the width asked (a 16 cm
    column's without one) at >= 5 pt and 22 cm (:func:`convanim.layout.arrange`)."""
    from ..layout import arrange, fit

    (d, h, w), (od, oh, ow) = low.canvas, low.out
    rows, cols = low.steps, low.operand[0] * low.operand[1] * low.operand[2]
    budget = fit("alphabet", options.width_cm() or 16.0)
    candidates = []
    for compact in ([True] if cols > LABELLED_COLUMNS else [False, True]):
        mw, rh = (0.3, 0.3) if compact else (cw, 0.42)
        for per in range(max(d, od), 0, -1):
            n, on = len(slice_rows(d, per)), len(slice_rows(od, per))
            across = max(min(per, d) * (w * cs + SLICE_GAP), min(per, od) * (ow * cs + SLICE_GAP))
            tall = 0.5 + n * (h * cs + 0.55) + 0.6 + on * (oh * cs + 0.55) + 1.3 + rows * rh + 0.5
            candidates.append({"per": per, "compact": compact, "height": tall,
                               "width": max(across - SLICE_GAP, 1.3 + cols * mw, 8.0) + 0.25})
    chosen = arrange(candidates, budget)
    return {"per": chosen["per"], "compact": chosen["compact"]}


def scene(spec: ConvSpec, steps: list[int], options) -> dict:
    low = spec.lowered()
    c = matrix(spec, low)
    comma = max(*low.operand, *low.out, *spec.kernel_size) > 10
    cs, cw = (1.15, 0.85) if comma else (1.0, 0.75)
    place = layout(low, cs, cw, options)
    k = spec.kernel_size
    weights = [[k[a] - 1 - t[a] for a in range(3)] if spec.transposed else list(t)
               for t in np.ndindex(*low.kernel)]
    frames = []
    for step in steps:
        zs, rows, cols = low.window(step)
        taps = [[int(r), int(cc)] for r in rows for cc in cols]
        frames.append({"step": step, "out": list(low.step_cell(step)),
                       "slices": [int(z) for z in zs], "taps": taps,
                       "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
                       "weights": weights})
    return {
        "volume": True, "transposed": spec.transposed,
        "inserted": spec.transposed and set(spec.stride) != {1},
        "symbols": ["b", "c"] if spec.transposed else ["a", "b"],
        "comma": comma, "cell": cs, "column": cw, "compact": place["compact"],
        "canvas_size": list(low.canvas), "operand_size": list(low.operand),
        "output_size": list(low.out),
        "slices": operand_slices(low, spec.output_padding),
        "rows": slice_rows(low.canvas[0], place["per"]),
        "out_rows": slice_rows(low.out[0], place["per"]),
        "matrix": c, "frames": frames, "caption": options.caption,
    }
