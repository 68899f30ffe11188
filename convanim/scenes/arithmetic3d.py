"""Convolution arithmetic of a volume (a 3-D conv): the input as a stack of depth slices.

Each depth slice is a plane of the classic slanted view, the slices stacked upward
with a gap between them (slice 0 on top, as a clip's first frame); the window is a box
spanning the ``k_d`` slices it reads: its taps shadowed and outlined on each slice it
touches, its edges running between them; the output volume, a stack of its own slices,
stands above. One step per output cell, or with ``--per-slice`` one per output slice.
Every index comes from the geometry's :class:`~convanim.geometry.Volume`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import geometry
from ..spec import ConvSpec
from . import grid_lines, plane_labels

#: Cells per axis of the padded (zero-inserted) input beyond which cells are too small.
MAX_CANVAS = 32
#: The page's height (cm) and width, and the smallest cell (cm) a volume is drawn with.
PAGE_H, PAGE_W, MIN_UNIT = 22.0, 16.0, 0.2
#: Gap between two slices, and between the input and output stacks, in cells.
GAP, STACK_GAP = 1.0, 1.5
#: Gap between two stacks of slices (--width lays a tall volume out in several), in cells.
COLUMN_GAP = 1.5


@dataclass(frozen=True)
class PerSlice:
    """A volume stepped one output depth slice at a time (``--per-slice``)."""

    volume: geometry.Volume

    @property
    def axes(self):
        return self.volume.axes

    @property
    def steps(self) -> int:
        return self.volume.depth.out


def slice_kinds(low: geometry.Volume, z: int, output_padding) -> list[list[str]]:
    """Slice ``z`` of the canvas, row by row: data, padding, inserted, outpad or copy (as
    :func:`convanim.scenes.canvas_kinds` names a plane's cells)."""
    names = {geometry.DATA: "data", geometry.PADDING: "padding", geometry.INSERTION: "inserted"}
    size = low.canvas
    copied = [[a.reads_from(p) for p in range(a.canvas)] for a in low.axes]

    def name(r: int, c: int) -> str:
        kind = low.kind_at(z, r, c)
        if kind != geometry.PADDING:
            return names[kind]
        if any(a and p >= n - a for a, p, n in zip(output_padding, (z, r, c), size)):
            return "outpad"
        held = (copied[0][z], copied[1][r], copied[2][c])
        return "copy" if min(held) >= 0 else "padding"

    return [[name(r, c) for c in range(size[2])] for r in range(size[1])]


def _union(axis: geometry.Axis) -> list[int]:
    """Canvas positions some output of ``axis`` reads: a whole slice's taps."""
    return sorted({p for o in range(axis.out) for p in axis.taps(o)})


def volume_frame(low: geometry.Volume, step: int, per_slice: bool) -> dict:
    """A step's output cell (or slice), the slices its window touches, and its taps there."""
    if per_slice:
        z = low.depth.taps(step)
        rows, cols = _union(low.rows), _union(low.cols)
        out = [step]
    else:
        z, rows, cols = low.window(step)
        out = list(low.step_cell(step))
    taps = [[int(r), int(c)] for r in rows for c in cols]
    return {"step": step, "out": out, "slice": per_slice,
            "slices": [int(v) for v in z], "taps": taps,
            "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])]}


def placement(low: geometry.Volume, columns: int = 1) -> dict:
    """Where each slice sits on the page (in cells: ``x``, ``base`` of its plane's origin)
    and the unit (cm per cell). The input's slices stand in ``columns`` stacks, slice 0
    at the top of the first; the output's slices in as many stacks above, centred."""
    (d, h, w), (od, oh, ow) = low.canvas, low.out
    rise, orise = (w + h) / 2 + GAP, (ow + oh) / 2 + GAP
    step = w + h + COLUMN_GAP
    per, oper = -(-d // columns), -(-od // columns)
    x = [(z // per) * step for z in range(d)]
    base = [(per - 1 - z % per) * rise for z in range(d)]
    top = per * rise - GAP + STACK_GAP
    right = x[-1] + w
    ocols = -(-od // oper)
    shift = (right - h) / 2 - ((ocols - 1) * (ow + oh + COLUMN_GAP) + ow - oh) / 2
    ox = [shift + (z // oper) * (ow + oh + COLUMN_GAP) for z in range(od)]
    obase = [top + (oper - 1 - z % oper) * orise for z in range(od)]
    height = top + oper * orise - GAP
    return {"x": x, "base": base, "ox": ox, "obase": obase, "height": height,
            "per": per, "left": -h, "right": right, "across": right + h,
            "unit": min(0.5, PAGE_W / (right + h), (PAGE_H - 0.5) / (height + 0.2))}


def columns_for(low: geometry.Volume, options, labels: dict | None = None) -> int:
    """How many stacks the input's slices stand in: one at the natural size; for
    --width or --column the fewest whose page fits 22 cm once scaled to that width
    (:func:`convanim.layout.arrange`), labels beside them counted."""
    from ..layout import arrange, fit

    width = options.width_cm()
    budget = fit("arithmetic", width)
    if budget is None:
        return 1
    beside = 0.6 + _label_cm(labels) if labels else 0.0
    candidates = []
    for n in range(1, low.canvas[0] + 1):
        place = placement(low, n)
        candidates.append({"columns": n, "height": (place["height"] + 0.2) * place["unit"],
                           "width": (place["across"] + 0.6) * place["unit"] + beside})
    return arrange(candidates, budget)["columns"]


def box_edges(place: dict, zs: list[int]) -> list[list[int]]:
    """The window box's edges as ``[lowest, highest]`` slice pairs, one per stack the
    box spans (slices ``min(zs)..max(zs)``), where it spans two slices or more."""
    per, out = place["per"], []
    lo, hi = min(zs), max(zs)
    for col in range(lo // per, hi // per + 1):
        a, b = max(lo, col * per), min(hi, col * per + per - 1)
        if b > a:
            out.append([b, a])
    return out


def limits(spec: ConvSpec) -> str | None:
    """Why a volume is too large to draw, naming the largest that is drawn."""
    low = spec.lowered()
    what = "zero-inserted, padded input" if spec.transposed else "padded input"
    if max(low.canvas) > MAX_CANVAS:
        return (f"figure too large: the {what} is {'x'.join(map(str, low.canvas))} cells; "
                f"arithmetic figures draw at most {MAX_CANVAS} cells per axis")
    place = placement(low)
    if place["unit"] < MIN_UNIT:
        return (f"figure too large: the {what} ({'x'.join(map(str, low.canvas))}) and its "
                f"output stacked as slices are {place['height']:.0f} cells tall; arithmetic "
                f"draws at most {PAGE_H / MIN_UNIT - 0.2:.0f} (a cell of {MIN_UNIT * 10:g} mm on "
                f"a {PAGE_H:g} cm page), e.g. -i 8x8x8 -k 3")
    return None


def scene(spec: ConvSpec, steps: list[int], options) -> dict:
    low = spec.lowered()
    per_slice = options.per_slice
    kinds = [slice_kinds(low, z, spec.output_padding) for z in range(low.canvas[0])]
    labels = (plane_labels(spec, low, {k for names in kinds for row in names for k in row},
                           copy=f"{spec.padding_mode} padding") if options.labels else None)
    place = placement(low, columns_for(low, options, labels))
    # slices of one pattern share a drawing (one PDF form each)
    patterns: list = []
    of_slice = []
    for names in kinds:
        if names not in patterns:
            patterns.append(names)
        of_slice.append(patterns.index(names))
    from . import cells_by_kind

    return {
        "volume": True,
        "canvas": list(low.canvas),
        "output": list(low.out),
        "patterns": [{"cells": cells_by_kind(p), "grid": grid_lines(p)} for p in patterns],
        "of_slice": of_slice,
        "kinds": kinds,
        "frames": [{**f, "edges": box_edges(place, f["slices"])}
                   for f in (volume_frame(low, step, per_slice) for step in steps)],
        "place": place,
        "labels": labels,
        "caption": options.caption,
    }


def _label_cm(labels: dict) -> float:
    """About how wide the labels beside the stacks are (\\small, 0.18 cm a character)."""
    op = labels["operand"]
    lines = [f"{op['name']} {op['size']}", f"{op['note']}: {op['canvas']}",
             "slice 0 on top", *(f"xx {text}" for _, text in op["kinds"]),
             f"output {labels['output']['size']}"]
    return 0.18 * max(map(len, lines))


def tap_counts(data: dict, scene: dict) -> list[int]:
    """Per output cell, the taps the figure draws on a cell holding an input value (data,
    or a copy of padding): the count ``--verify`` checks against a conv3d of ones."""
    reads, kinds = {"data", "copy"}, scene["kinds"]
    frames = scene["frames"]
    if frames and not frames[0]["slice"]:  # the taps each frame draws
        return [sum(kinds[z][r][c] in reads for z in f["slices"] for r, c in f["taps"])
                for f in frames]
    low = ConvSpec.from_dict(data).lowered()  # --per-slice: each cell's window
    out = []
    for step in range(low.steps):
        zs, rows, cols = low.window(step)
        out.append(sum(kinds[z][r][c] in reads for z in zs for r in rows for c in cols))
    return out
