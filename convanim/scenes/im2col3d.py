"""vol2col: im2col of a 3-D conv, one training phase, its operand drawn as depth slices.

The unfolded matrix X has one row per kernel tap (``kd*kh*kw``, depth first) and one
column per output cell (``od*oh*ow``, slice by slice), as :meth:`Volume.vol2col`
gives it; the operand's slices stand in rows above it (numerical3d's layout), the
window shadowed and outlined on each slice it touches. The phases are the 2-D ones
over three axes (:func:`convanim.geometry.lowering`): forward (x with w), loss (dY,
zero-inserted and padded, with the flipped w) and gradient (x with dY as the kernel).
:func:`operand_slices` and :func:`layout` also serve alphabet's volumes.
"""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..spec import ConvSpec
from . import grid_lines, slice_rows
from .arithmetic3d import slice_kinds

#: Rows (taps) and columns (outputs) of X, and canvas cells per axis, drawn at most.
MAX_MATRIX = 64
MAX_CANVAS = 12
#: Matrix columns that hold a label each, and rows that keep the page short enough:
#: past either the matrix is drawn compact (cells filled by kind, no labels).
LABELLED_COLUMNS = 20
LABELLED_ROWS = 30
#: Gap between two slices of a row, in cm.
SLICE_GAP = 0.4
SYMBOLS = {"forward": ("x", "w", "y"), "loss": ("dy", "w", "dx"), "gradient": ("x", "dy", "dw")}


def _size(v) -> str:
    return "x".join(map(str, v))


def limits(phase: str, low: geometry.Volume) -> str | None:
    """Why the phase's vol2col is too large to draw, naming the largest drawn."""
    rows, cols = int(np.prod(low.kernel)), low.steps
    if max(rows, cols) > MAX_MATRIX:
        return (f"figure too large: the {phase} vol2col matrix would be {rows}x{cols}; im2col "
                f"draws a volume's matrix of at most {MAX_MATRIX} rows (taps) and columns "
                f"(outputs), e.g. -i 4x5x5 -k 3 (27x18)")
    if max(low.canvas) > MAX_CANVAS:
        return (f"figure too large: the {phase} operand is {_size(low.canvas)} cells; im2col "
                f"draws a volume of at most {MAX_CANVAS} cells per axis")
    return None


def operand_slices(low: geometry.Volume, output_padding) -> list[dict]:
    """Each canvas slice: its cells' kinds (row by row), grid lines, and per cell the
    operand cell ``[z, y, x]`` it holds (None: a zero) or, for a padding cell of a copying
    mode, the cell it copies."""
    src = [[a.source(p) for p in range(a.canvas)] for a in low.axes]
    held = [[a.reads_from(p) for p in range(a.canvas)] for a in low.axes]
    d, h, w = low.canvas
    out = []
    for z in range(d):
        kinds = slice_kinds(low, z, output_padding)
        cells = [[{"kind": kinds[r][c],
                   "cell": [src[0][z], src[1][r], src[2][c]] if kinds[r][c] == "data" else None,
                   "copies": ([held[0][z], held[1][r], held[2][c]]
                              if kinds[r][c] == "copy" else None)}
                  for c in range(w)] for r in range(h)]
        out.append({"kinds": kinds, "grid": grid_lines(kinds), "cells": cells})
    return out


def layout(canvas, matrix: tuple[int, int], cell: float, column: float, fixed: float,
           compact_only: bool, options, kind: str = "im2col") -> dict:
    """Slices per row and whether the matrix is compact: the first arrangement (most slices
    a row, labelled before compact) whose page fits the width asked at >= 5 pt and 22 cm
    (:func:`convanim.layout.arrange`); without a width, a 16 cm column's. ``fixed``: the
    matrix's width beyond its columns (the kernel or vectors beside it), in cm."""
    from ..layout import arrange, fit

    d, h, w = canvas
    rows, cols = matrix
    budget = fit(kind, options.width_cm() or 16.0)
    candidates = []
    for compact in ([True] if compact_only else [False, True]):
        cw, rh = (0.22, 0.34) if compact else (column, 0.42)
        for per in range(d, 0, -1):
            n = len(slice_rows(d, per))
            across = per * w * cell + (per - 1) * SLICE_GAP
            tall = 0.5 + n * (h * cell + 0.55) + 1.2 + rows * rh + 0.3 + rh + 0.5
            candidates.append({"per": per, "compact": compact, "height": tall,
                               "width": max(across, cols * cw + fixed, 8.8) + 0.25})
    chosen = arrange(candidates, budget)
    return {"per": chosen["per"], "compact": chosen["compact"]}


def kernel_taps(spec: ConvSpec, phase: str, low: geometry.Volume) -> list:
    """What each tap of the phase's kernel holds, depth first: ``[kz, ky, kx]`` of w (flipped
    in the loss phase) or of dY (gradient: None where a zero sits between dY's cells)."""
    taps = list(np.ndindex(*low.kernel))
    if phase == "loss":
        return [[k - 1 - t for k, t in zip(spec.kernel_size, tap)] for tap in taps]
    if phase == "gradient":
        real = low.real_taps()
        step = [a.kernel_spacing for a in low.axes]
        return [[t // s for t, s in zip(tap, step)] if real[tap] else None for tap in taps]
    return [list(tap) for tap in taps]


def output_padding(spec: ConvSpec, phase: str):
    return geometry.auto_output_padding(*spec.args) if phase == "loss" else (0, 0, 0)


def scene(spec: ConvSpec, steps: list[int], options, low: geometry.Volume) -> dict:
    phase = options.phase
    a = output_padding(spec, phase)
    slices = operand_slices(low, a)
    unfolded = low.vol2col()                               # (taps, outputs, 3)
    kinds = np.array([s["kinds"] for s in slices], dtype=object)
    pz, py, px = (ax.positions() for ax in low.axes)       # (o, k) per axis
    at = kinds[pz[:, None, None, :, None, None], py[None, :, None, None, :, None],
               px[None, None, :, None, None, :]]
    taps, outs = unfolded.shape[:2]
    at = at.transpose(3, 4, 5, 0, 1, 2).reshape(taps, outs)
    matrix = [[e.tolist() if e[0] >= 0 else None for e in row] for row in unfolded]
    zero_kinds = [[None if matrix[r][c] else str(at[r, c]) for c in range(outs)]
                  for r in range(taps)]
    copies = [[bool(at[r, c] == "copy") for c in range(outs)] for r in range(taps)]
    symbols = SYMBOLS[phase]
    kernel = kernel_taps(spec, phase, low)
    wide = max(map(len, symbols)) > 1
    cell, column = (0.95, 0.95) if wide else (0.85, 0.85)
    compact_only = outs > LABELLED_COLUMNS or taps > LABELLED_ROWS
    place = layout(low.canvas, (taps, outs), cell, column, 0.3 + (1.15 if wide else 1.0),
                   compact_only, options)
    frames = []
    for step in steps:
        zs, rows, cols = low.window(step)
        frames.append({"step": step, "out": list(low.step_cell(step)),
                       "slices": [int(z) for z in zs],
                       "taps": [[int(r), int(c)] for r in rows for c in cols],
                       "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])]})
    elements, zeros = low.elements, low.zeros()
    return {
        "volume": True, "phase": phase, "symbols": list(symbols),
        "comma": max(*low.operand, *low.kernel, *low.out) > 10,
        "canvas_size": list(low.canvas), "output_size": list(low.out),
        "slices": slices, "rows": slice_rows(low.canvas[0], place["per"]),
        "cell": cell, "column": column, "compact": place["compact"],
        "kernel": kernel, "matrix": matrix, "zero_kinds": zero_kinds, "copies": copies,
        "counts": {"elements": elements, "zeros": zeros,
                   "sparsity": round(100 * zeros / elements, 1),
                   "kernel_zeros": low.kernel_zeros(), "kernel_taps": int(np.prod(low.kernel))},
        "frames": frames, "caption": options.caption,
    }


def torch_call(spec: ConvSpec, phase: str) -> str:
    """The PyTorch call computing the phase (vol2col itself has no module: Unfold is 2-D)."""
    from ..kind import format_torch, torch_pad

    s, p, d = (format_torch(v) for v in (spec.stride, spec.padding.triple, spec.dilation))
    kd, kh, kw = spec.kernel_size
    one_call = spec.padding.symmetric and spec.padding_mode == "zeros"
    pad = f", padding={p}" if one_call else ""
    dil = f", dilation={d}" if d != "1" else ""
    x = "x" if one_call else torch_pad(spec)
    if phase == "loss":
        size = spec.input_size if one_call else tuple(
            n + t for n, t in zip(spec.input_size, spec.padding.total))
        od, oh, ow = spec.forward_output
        return (f"torch.nn.grad.conv3d_input((1, 1, {', '.join(map(str, size))}), w, dy, "
                f"stride={s}{pad}{dil})  # w: 1x1x{kd}x{kh}x{kw}, dy: 1x1x{od}x{oh}x{ow}")
    if phase == "gradient":
        return (f"torch.nn.grad.conv3d_weight({x}, (1, 1, {kd}, {kh}, {kw}), dy, "
                f"stride={s}{pad}{dil})")
    return f"torch.nn.Conv3d(1, 1, kernel_size={format_torch(spec.kernel_size)}, stride={s}" \
           f"{pad}{dil})({x})  # as x unfolded: y = w.flatten() @ X"
