"""Convolution arithmetic: the classic slanted view of input, kernel window and output."""
from __future__ import annotations

from dataclasses import dataclass

from .. import geometry
from ..kind import Kind
from ..options import FigureOptions, Flag, option
from ..spec import ConvSpec
from ..spec import SpecError
from . import (canvas_grid, canvas_kinds, cells_by_kind, grid_lines, is_sequence, out_offset,
               too_large, window)

#: Beyond this many canvas cells per axis the cells are too small to read.
MAX_CANVAS = 32


@dataclass(frozen=True)
class ArithmeticOptions(FigureOptions):
    labels: bool = option(False, "--labels", type=Flag(),
                          help="name the input and output maps and give their sizes")
    copies: bool = option(False, "--copies", type=Flag(),
                          help="write in each cell the input cell it holds: a padding cell of "
                               "--padding-mode reflect, replicate or circular the one it "
                               "copies")


class Arithmetic(Kind):
    """Every valid conv can be drawn; it shows cells, not numbers."""

    name = "arithmetic"
    summary = "Convolution arithmetic: the classic slanted view of input, kernel window and output."
    Options = ArithmeticOptions
    template = "arithmetic.tex.j2"

    def check(self, spec: ConvSpec, options) -> None:
        if options.copies and spec.padding_mode == "zeros":
            raise SpecError("--copies marks what padding cells copy: give --padding-mode "
                            "reflect, replicate or circular")

    def limits(self, spec: ConvSpec, options) -> str | None:
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        return too_large("arithmetic", what, spec.lowered().canvas, MAX_CANVAS)

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        low = spec.lowered()
        names = canvas_kinds(low, spec.output_padding)
        return {
            "canvas": list(low.canvas),
            "output": list(low.out),
            "cells": cells_by_kind(names),
            "grid": grid_lines(names),
            "frames": [window(low, step) for step in steps],
            "labels": _labels(spec, low, names) if options.labels else None,
            "sequence": is_sequence(low),
            "out_offset": out_offset(low),
            "copies": _copies(low, is_sequence(low)) if options.copies else [],
            "caption": options.caption,
        }

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        """Each frame's taps on input cells, counted on the backend."""
        from ..verify import check_arithmetic

        data_cells = {tuple(c) for c in scene["cells"]["data"]}
        counts = [sum(tuple(t) in data_cells for t in f["taps"]) for f in scene["frames"]]
        return check_arithmetic(data, backend, counts)


def _labels(spec: ConvSpec, low: geometry.Lowered, names) -> dict:
    """Sizes, and a key to every kind of cell the figure shows (and only those)."""
    shown = {name for row in names for name in row}
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


def _copies(low: geometry.Lowered, sequence: bool) -> list:
    """``[row, col, text, copied]`` per canvas cell: the input cell it holds (``y,x``, or
    ``x`` for a sequence), and whether it is a padding cell holding a copy."""
    out = []
    for r, row in enumerate(canvas_grid(low)):
        for c, cell in enumerate(row):
            held = cell["cell"] or cell["copies"]
            if held:
                text = str(held[1]) if sequence else f"{held[0]},{held[1]}"
                out.append([r, c, text, cell["copies"] is not None])
    return out
