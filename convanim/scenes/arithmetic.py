"""Convolution arithmetic: the classic slanted view of input, kernel window and output."""
from __future__ import annotations

from .. import geometry
from ..spec import ConvSpec
from . import canvas_kinds, cells_by_kind, grid_lines, too_large, window

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


def lowered(spec: ConvSpec, args):
    """The direct convolution this figure animates."""
    return spec.lowered()


def limits(spec: ConvSpec, args) -> str | None:
    """Why this figure is too large to draw, or None."""
    what = "zero-inserted, padded input" if spec.transposed else "padded input"
    return too_large("arithmetic", what, spec.lowered().canvas, MAX_CANVAS)


def scene(spec: ConvSpec, steps: list[int], args) -> dict:
    low = spec.lowered()
    names = canvas_kinds(low, spec.output_padding)
    return {
        "canvas": list(low.canvas),
        "output": list(low.out),
        "cells": cells_by_kind(names),
        "grid": grid_lines(names),
        "frames": [window(low, step) for step in steps],
        "labels": _labels(spec, low, names) if args.labels else None,
        "caption": args.caption,
    }


def _labels(spec: ConvSpec, low: geometry.Lowered, names) -> dict:
    """Sizes, and a key to every kind of cell the figure shows (and only those)."""
    shown = set(names.ravel().tolist())
    done = [what for what, kind in (("zeros inserted", "inserted"), ("padded", "padding"))
            if kind in shown]
    keys = [("padding", "padding"), ("inserted", "inserted zeros"), ("outpad", "output padding")]
    return {
        "operand": {"name": "operand of the transposed conv" if spec.transposed else "input",
                    "size": list(low.operand), "note": ", ".join(done),
                    "canvas": list(low.canvas),
                    "kinds": [[kind, text] for kind, text in keys if kind in shown]},
        "output": {"size": list(low.out), "note": "transposed conv" if spec.transposed else ""},
    }
