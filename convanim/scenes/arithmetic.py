"""Convolution arithmetic: the classic slanted view of input, kernel window and output."""
from __future__ import annotations

import numpy as np

from .. import geometry
from ..spec import ConvSpec

TEMPLATE = "arithmetic.tex.j2"
#: Beyond this many canvas cells per axis the cells are too small to read.
MAX_CANVAS = 32


def add_arguments(parser) -> None:
    parser.add_argument("--labels", action="store_true",
                        help="name the input and output maps and give their sizes")


def check(spec: ConvSpec, args) -> None:
    """Every valid conv can be drawn; nothing beyond the spec's own checks."""


def name_parts(args) -> list[str]:
    return []


def data(spec: ConvSpec, scene: dict, args) -> dict:
    """No figure data beyond the shared fields."""
    return {}


def limits(spec: ConvSpec) -> str | None:
    """Why this figure is too large to draw, or None."""
    h, w = spec.lowered().canvas
    if max(h, w) > MAX_CANVAS:
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        return (f"figure too large: the {what} is {h}x{w} cells; "
                f"arithmetic figures draw at most {MAX_CANVAS} cells per axis")
    return None


def _cells(where) -> list[list[int]]:
    return [[int(r), int(c)] for r, c in zip(*np.nonzero(where))]


def scene(spec: ConvSpec, steps: list[int], args) -> dict:
    labels, caption = args.labels, args.caption
    low = spec.lowered()
    kinds = low.canvas_kinds()
    h, w = low.canvas
    outpad = np.zeros_like(kinds, dtype=bool)
    a = spec.output_padding
    if a[0]:
        outpad[h - a[0]:, :] = True
    if a[1]:
        outpad[:, w - a[1]:] = True
    outpad &= kinds == geometry.PADDING
    cells = {
        "data": _cells(kinds == geometry.DATA),
        "padding": _cells((kinds == geometry.PADDING) & ~outpad),
        "inserted": _cells(kinds == geometry.INSERTION),
        "outpad": _cells(outpad),
    }
    frames = []
    for step in steps:
        rows, cols = low.window(step)
        frames.append({
            "step": step,
            "out": list(low.step_cell(step)),
            "taps": [[int(r), int(c)] for r in rows for c in cols],
            "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
        })
    return {
        "canvas": [h, w],
        "output": list(low.out),
        "cells": cells,
        "frames": frames,
        "labels": _labels(spec, low) if labels else None,
        "caption": caption,
    }


def _labels(spec: ConvSpec, low: geometry.Lowered) -> dict:
    note = "zeros inserted, padded" if spec.transposed else "padded"
    return {
        "operand": {"size": list(low.operand), "note": note, "canvas": list(low.canvas)},
        "output": {"size": list(low.out), "note": "transposed conv" if spec.transposed else ""},
    }
