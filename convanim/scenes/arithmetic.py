"""Convolution arithmetic: the classic slanted view of input, kernel window and output."""
from __future__ import annotations

from dataclasses import dataclass

from .. import geometry
from ..kind import Kind
from ..options import FigureOptions, Flag, option
from ..spec import ConvSpec, SpecError, volume_given
from . import (canvas_grid, canvas_kinds, cells_by_kind, grid_lines, is_sequence, out_offset,
               plane_labels, too_large, window)

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
    per_slice: bool = option(False, "--per-slice", type=Flag(),
                             help="a volume (-i DxHxW): one step per output depth slice, "
                                  "not per output cell")


class Arithmetic(Kind):
    """Every valid conv can be drawn; it shows cells, not numbers."""

    name = "arithmetic"
    summary = "Convolution arithmetic: the classic slanted view of input, kernel window and output."
    Options = ArithmeticOptions
    template = "arithmetic.tex.j2"
    draws_volumes = True

    def template_for(self, options) -> str:
        return "arithmetic3d.tex.j2" if volume_given(options) else self.template

    def has_words(self, options) -> bool:
        return bool(options.labels or options.caption)

    def check(self, spec: ConvSpec, options) -> None:
        if options.per_slice and not spec.is_volume:
            raise SpecError("--per-slice steps through a volume's output depth slices: give "
                            "a 3-D size, e.g. -i 4x5x5")
        if options.copies and spec.is_volume:
            raise SpecError("--copies writes each cell's input cell in 1-D and 2-D figures; a "
                            "volume's slices show the kinds of cell only (drop --copies)")
        if options.copies and spec.padding_mode == "zeros":
            raise SpecError("--copies marks what padding cells copy: give --padding-mode "
                            "reflect, replicate or circular")

    def limits(self, spec: ConvSpec, options) -> str | None:
        if spec.is_volume:
            from .arithmetic3d import limits

            return limits(spec)
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        return too_large("arithmetic", what, spec.lowered().canvas, MAX_CANVAS)

    def lowered(self, spec: ConvSpec, options):
        if spec.is_volume and options.per_slice:
            from .arithmetic3d import PerSlice

            return PerSlice(spec.lowered())
        return spec.lowered()

    def name_parts(self, options) -> list[str]:
        return ["per_slice"] if options.per_slice else []

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        if spec.is_volume:
            from .arithmetic3d import scene

            return scene(spec, steps, options)
        low = spec.lowered()
        names = canvas_kinds(low, spec.output_padding)
        seq = is_sequence(low)
        copies = _copies(low, seq) if options.copies else []
        place = _placement(low, seq)
        frames = [window(low, step) for step in steps]
        for frame in frames:
            frame["links"] = _links(frame, place, copies)
        return {
            "canvas": list(low.canvas),
            "output": list(low.out),
            "cells": cells_by_kind(names),
            "grid": grid_lines(names),
            "frames": frames,
            "place": place,
            "labels": (plane_labels(spec, low, {n for row in names for n in row})
                       if options.labels else None),
            "sequence": is_sequence(low),
            "out_offset": out_offset(low),
            "copies": copies,
            "caption": options.caption,
        }

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        """Each frame's taps on input cells, counted on the backend."""
        from ..verify import check_arithmetic

        if scene.get("volume"):
            from .arithmetic3d import tap_counts

            return check_arithmetic(data, backend, tap_counts(data, scene))
        # a copy of reflect, replicate or circular padding reads an input cell too
        data_cells = {tuple(c) for kind in ("data", "copy") for c in scene["cells"][kind]}
        counts = [sum(tuple(t) in data_cells for t in f["taps"]) for f in scene["frames"]]
        return check_arithmetic(data, backend, counts)


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



#: --copies' labels are \\scriptsize (7 pt): a digit or comma at most 3.5 pt wide, the
#: digits 5 pt tall; a link keeps a 1 pt gap around them.
_CHAR_PT, _TEXT_PT, _GAP_PT = 3.5, 5.0, 1.0
_PT_PER_CM = 72.27 / 2.54


def _placement(low: geometry.Lowered, seq: bool) -> dict:
    """The drawing's unit (cm per cell) and where the output plane sits (in units): the
    template draws with these, and the links are cut on the same page."""
    (h, w), (oh, ow) = low.canvas, low.out
    return {"seq": seq, "rows": h, "out_rows": oh,
            "unit": min(0.5, 16.0 / w) if seq else min(0.5, 16.0 / (w + h)),
            "osx": out_offset(low) if seq else (w - h) / 2 - (ow - oh) / 2,
            "osy": 2.5 if seq else (w + h) / 2 + 1.5}


def _on_page(x: float, y: float, seq: bool, dx: float = 0.0, dy: float = 0.0):
    """A plane point (x right, y up, in cells) on the page: a sequence lies flat, a plane
    is slanted (the template's ``plane`` transform, x' = x - y, y' = (x + y) / 2)."""
    return (x + dx, y + dy) if seq else (x - y + dx, (x + y) / 2 + dy)


def _inside(a, b, poly) -> tuple[float, float] | None:
    """The part [t0, t1] of segment a→b inside the convex polygon ``poly`` (Cyrus–Beck),
    or None."""
    t0, t1 = 0.0, 1.0
    area = sum((q[0] - p[0]) * (q[1] + p[1]) for p, q in zip(poly, poly[1:] + poly[:1]))
    sign = 1 if area < 0 else -1        # counter-clockwise: the outward normal is (dy, -dx)
    for p, q in zip(poly, poly[1:] + poly[:1]):
        nx, ny = sign * (q[1] - p[1]), -sign * (q[0] - p[0])
        num = nx * (a[0] - p[0]) + ny * (a[1] - p[1])
        den = nx * (b[0] - a[0]) + ny * (b[1] - a[1])
        if abs(den) < 1e-12:
            if num > 0:
                return None
            continue
        if den > 0:
            t1 = min(t1, -num / den)
        else:
            t0 = max(t0, -num / den)
        if t0 >= t1:
            return None
    return t0, t1


def _links(frame: dict, place: dict, copies: list) -> list[list[float]]:
    """The lines from the kernel window's corners to its output cell's, as page segments
    ``[x0, y0, x1, y1]`` in units, cut where they would cross the window (in the slanted
    view the front corner's line runs up the window's diagonal, through its taps) or a
    --copies label: no stroke through a tap or a word."""
    seq, h, oh = place["seq"], place["rows"], place["out_rows"]
    r0, c0, r1, c1 = frame["window"]
    oy, ox = frame["out"]
    w1, w2, w3, w4 = (c0, h - r0), (c1 + 1, h - r0), (c1 + 1, h - r1 - 1), (c0, h - r1 - 1)
    o1, o2, o3, o4 = (ox, oh - oy), (ox + 1, oh - oy), (ox + 1, oh - oy - 1), (ox, oh - oy - 1)
    pairs = [(w1, o4), (w2, o3)] if seq else [(w1, o1), (w2, o2), (w3, o3), (w4, o4)]
    holes = [[_on_page(*p, seq) for p in (w1, w2, w3, w4)]]
    unit_pt = place["unit"] * _PT_PER_CM
    for r, c, text, _ in copies:
        cx, cy = _on_page(c + 0.5, h - 0.5 - r, seq)
        hw = (len(text) * _CHAR_PT / 2 + _GAP_PT) / unit_pt
        hh = (_TEXT_PT / 2 + _GAP_PT) / unit_pt
        holes.append([(cx - hw, cy - hh), (cx + hw, cy - hh), (cx + hw, cy + hh),
                      (cx - hw, cy + hh)])
    out = []
    for w, o in pairs:
        a, b = _on_page(*w, seq), _on_page(*o, seq, place["osx"], place["osy"])
        at = lambda t: [round(a[0] + (b[0] - a[0]) * t, 4), round(a[1] + (b[1] - a[1]) * t, 4)]
        t = 0.0
        for t0, t1 in sorted(filter(None, (_inside(a, b, hole) for hole in holes))) + [(1, 1)]:
            if t0 - t > 1e-6:
                out.append(at(t) + at(t0))
            t = max(t, t1)
    return out
