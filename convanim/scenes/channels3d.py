"""Channels of a volume (C x D x H x W): every channel's depth slices, the filter bank's
kernels as rows of their depth slices, the output channels' volumes.

Laid out top to bottom, as numerical's volume lays out one channel: each input channel
a row of its slices (slice 0 first, headed above the first channel), each filter a row
of its C/G kernels (``w_{q,j}``: filter q's kernel for channel j, its kd slices side by
side), each output channel a row of its slices. A step is one output cell of one output
channel: the window shadowed and outlined on every slice it touches in every channel of
the filter's group, the filter's kernels shadowed with each one's partial sum beside it,
the output cell filled in, and the arithmetic written out per channel (one bracket per
slice touched), then the total. The numbers come from the grouped geometry's 3-D gather
map (the map that decides which cells are shaded); the values from --seed only.

What fits is measured here (:func:`measure`), not guessed: a figure is drawn only where
some arrangement keeps its text >= 5 pt and its page <= 22 cm at 16 cm wide; above that
the refusal names the largest input that fits with the same channels and kernel.
"""
from __future__ import annotations

import dataclasses
import math

from .. import geometry, shading
from .. import layout as fitting
from ..errors import SpecError
from ..lazy import np
from ..spec import ConvSpec
from .arithmetic3d import slice_kinds
from .channels_layout import LINE_CM, PRODUCT_CM, UNITS, WIDE_UNIT
from . import factor, format_number, grid_lines, slice_rows, width

#: Slices a side (planes x padded depth): the brief's yardstick, and what fits 16 x 22 cm
#: at the sizes the issue asks for (2 channels of -i 4x5x5 -k 3).
MAX_SLICES = 8
#: Cells per axis of one slice beyond which its numbers no longer fit a row.
MAX_CANVAS = 12
#: Products of one channel's line of the arithmetic beyond which it is summarised (a
#: 3x3x3 kernel's 27 are written out, wrapped to the figure's width).
MAX_TERMS = 27
#: Layout, in cells: the names' column, a row of slice headers, the gap between rows of
#: a section and between sections, the gap between a kernel's slices.
NAMES = 1.6
HEAD = 1.0
GAP = 0.6
SECTION = 1.2
KGAP = 0.5
#: The page a figure must fit to be drawn at all: a one-column paper's width.
PAGE_WIDTH_CM = 16.0


def slice_weights(spec: ConvSpec, g: geometry.Grouped, kernel: np.ndarray) -> np.ndarray:
    """``(planes_out, in_per_group, kd, kh, kw)``: the weights each tap multiplies (as
    :func:`convanim.scenes.channels.slice_weights`, flipped on three axes for ``-t``)."""
    if not spec.transposed:
        return kernel
    out = np.empty((g.planes_out, g.in_per_group, *spec.kernel_size), dtype=kernel.dtype)
    for q in range(g.planes_out):
        for jj, j in enumerate(g.inputs_of(q)):
            out[q, jj] = kernel[j, q % g.out_per_group][::-1, ::-1, ::-1]
    return out


def compute(spec: ConvSpec, g: geometry.Grouped, operand: np.ndarray, kernel: np.ndarray):
    """``(output, partials, values, weights)``: output ``(planes_out, od, oh, ow)``, each
    channel's partial sum ``(planes_out, in_per_group, od, oh, ow)``, what every tap reads
    ``(planes_in, od, oh, ow, kd, kh, kw)`` (through the gather map) and the weights."""
    gather = g.plane.gather
    real = gather[..., 0] >= 0
    at = tuple(np.where(real, gather[..., a], 0) for a in range(3))
    values = np.where(real, operand[(slice(None), *at)], 0)
    weights = slice_weights(spec, g, kernel)
    partials = np.zeros((g.planes_out, g.in_per_group, *g.plane.out),
                        dtype=np.result_type(operand, kernel))
    for q in range(g.planes_out):
        for jj, j in enumerate(g.inputs_of(q)):
            partials[q, jj] = np.einsum("abcdef,def->abc", values[j], weights[q, jj])
    return partials.sum(axis=1), partials, values, weights


def measure(g: geometry.Grouped, kernel_size, label_chars: int, per: int, kper: int,
            legend: bool = False) -> dict:
    """Where everything goes with ``per`` slices and ``kper`` kernels a row: positions in
    cells (x right, y down from the top; a slice's (left, top)) and the page in cm, with
    the title and the step's arithmetic estimated."""
    (d, h, w), (od, oh, ow) = g.plane.canvas, g.plane.out
    kd, kh, kw = kernel_size
    unit = next((u for n, u in UNITS if label_chars <= n), WIDE_UNIT)
    part = 0.6 + 0.45 * (label_chars + 1) / (unit / 0.6)  # "= 13" beside a kernel
    r2 = lambda v: round(v, 3)  # noqa: E731
    y, headers, names = 0.0, [], []
    inputs = [[None] * d for _ in range(g.planes_in)]
    for j in range(g.planes_in):
        for r, row in enumerate(slice_rows(d, per)):
            y += HEAD if j == 0 else GAP
            for i, z in enumerate(row):
                inputs[j][z] = (r2(NAMES + i * (w + 1)), r2(y))
                if j == 0:
                    headers.append((r2(NAMES + i * (w + 1) + w / 2), r2(y - 0.15), f"slice {z}"))
            if r == 0:
                names.append((r2(NAMES - 0.3), r2(y + h / 2), f"x_{{{j}}}"))
            y += h
    kwide = kd * (kw + KGAP) - KGAP
    kernels = [[None] * g.in_per_group for _ in range(g.planes_out)]
    partials = [[None] * g.in_per_group for _ in range(g.planes_out)]
    y += SECTION - HEAD
    bank = [(q, jj) for q in range(g.planes_out) for jj in range(g.in_per_group)]
    for row in slice_rows(len(bank), kper):
        y += HEAD
        for i, n in enumerate(row):
            q, jj = bank[n]
            left = NAMES + i * (kwide + part + 1)
            kernels[q][jj] = [(r2(left + t * (kw + KGAP)), r2(y)) for t in range(kd)]
            partials[q][jj] = (r2(left + kwide + 0.2), r2(y + kh / 2))
            headers.append((r2(left + kwide / 2), r2(y - 0.15),
                            f"$w_{{{q},{g.inputs_of(q)[jj]}}}$"))
        y += kh
    outputs = [[None] * od for _ in range(g.planes_out)]
    y += SECTION - HEAD
    # the output's (smaller) slices as many a row as the rows above leave room for
    above = max(min(per, d) * (w + 1) - 1, min(kper, len(bank)) * (kwide + part + 1) - 1)
    per_out = max([n for n in range(1, od + 1) if n * (ow + 1) - 1 <= above] or [1])
    for q in range(g.planes_out):
        for r, row in enumerate(slice_rows(od, per_out)):
            y += HEAD if q == 0 else GAP
            for i, z in enumerate(row):
                outputs[q][z] = (r2(NAMES + i * (ow + 1)), r2(y))
                if q == 0:
                    headers.append((r2(NAMES + i * (ow + 1) + ow / 2), r2(y - 0.15),
                                    f"slice {z}"))
            if r == 0:
                names.append((r2(NAMES - 0.3), r2(y + oh / 2), f"y_{{{q}}}"))
            y += oh
    across = max(above, min(per_out, od) * (ow + 1) - 1)
    box = [0, 0, r2(NAMES + across + 0.1), r2(y + 0.1)]
    width_cm = box[2] * unit
    terms = kd * kh * kw
    line_cm = (terms * PRODUCT_CM + 0.3 * kd if terms <= MAX_TERMS else 3.0) + 1.5
    lines = g.in_per_group * math.ceil(line_cm / width_cm) + 1
    return {"per": per, "kper": kper, "unit": unit, "box": box, "inputs": inputs,
            "kernels": kernels, "partials": partials, "outputs": outputs,
            "headers": headers, "names": names, "width": width_cm,
            "height": box[3] * unit + (2 + lines + 3.5 * legend) * LINE_CM}


def _excess(c: dict) -> float:
    """How far a natural-size page is from fitting a 16 cm column (<= 1 fits): scaled
    down (never up) to 16 cm, its text must stay >= 5 pt and its height <= 22 cm."""
    inner = PAGE_WIDTH_CM - 2 * fitting.BORDER_CM
    scale = min(1.0, inner / c["width"])
    return max(fitting.MIN_TEXT_PT / (fitting.smallest_text("channels") * scale),
               c["height"] * scale / (fitting.PAGE_HEIGHT_CM - 2 * fitting.BORDER_CM))


def layout(g: geometry.Grouped, kernel_size, label_chars: int, width_cm,
           legend: bool = False) -> dict:
    """The first arrangement (most slices a row, then most kernels) that keeps text >= 5
    pt and the page <= 22 cm at the width asked (:func:`convanim.layout.arrange`), or
    without one, at its natural size in a 16 cm column; else the closest."""
    d, od = g.plane.canvas[0], g.plane.out[0]
    candidates = [measure(g, kernel_size, label_chars, per, kper, legend)
                  for per in range(max(d, od), 0, -1)
                  for kper in range(g.planes_out * g.in_per_group, 0, -1)]
    if width_cm is not None:
        return fitting.arrange(candidates, fitting.fit("channels", width_cm))
    return next((c for c in candidates if _excess(c) <= 1.0),
                min(candidates, key=_excess))


def _fits(spec: ConvSpec, g: geometry.Grouped) -> bool:
    """Whether some arrangement fits 16 x 22 cm with text >= 5 pt (numbers of 3 characters
    at most, the seed's), and no side has more than :data:`MAX_SLICES` slices."""
    (d, h, w), od = g.plane.canvas, g.plane.out[0]
    if max(g.planes_in * d, g.planes_out * od) > MAX_SLICES or max(h, w) > MAX_CANVAS:
        return False
    return _excess(layout(g, spec.kernel_size, 3, None)) <= 1.0


def _largest(spec: ConvSpec, g: geometry.Grouped) -> str | None:
    """The largest -i (most cells, no axis larger than given) that fits with the same
    channels, groups and kernel; None when none does."""
    best = None
    for size in np.ndindex(*spec.input_size):
        size = tuple(int(n) + 1 for n in size)
        if best and math.prod(size) <= math.prod(best):
            continue
        try:
            s = dataclasses.replace(spec, input_size=size).validate()
            low = s.lowered()
        except (SpecError, ValueError):
            continue
        if min(min(a.pad_lo, a.pad_hi) for a in low.axes) >= 0 and _fits(
                s, geometry.Grouped(low, g.planes_in, g.planes_out, g.groups)):
            best = size
    return best and "x".join(map(str, best))


def limits(spec: ConvSpec, g: geometry.Grouped) -> str | None:
    """One line where the figure does not fit 16 x 22 cm at >= 5 pt, naming the largest
    input that does."""
    if _fits(spec, g):
        return None
    given = "x".join(map(str, spec.input_size))
    (d, h, w), od = g.plane.canvas, g.plane.out[0]
    what = "zero-inserted, padded" if spec.transposed else "padded"
    if max(h, w) > MAX_CANVAS:
        why = (f"the {what} input's slices are {h}x{w} cells; channels draws slices of at "
               f"most {MAX_CANVAS} cells per axis")
    elif max(g.planes_in * d, g.planes_out * od) > MAX_SLICES:
        side, n, depth = (("input", g.planes_in, d) if g.planes_in * d >= g.planes_out * od
                          else ("output", g.planes_out, od))
        why = (f"{n} {side} channels of {depth} {what if side == 'input' else 'output'} "
               f"slices are {n * depth}; channels draws volumes of at most C*D <= "
               f"{MAX_SLICES} slices a side")
    else:
        why = ("it does not fit 16 x 22 cm with text >= 5 pt (the filter bank's "
               f"{g.planes_out}x{g.in_per_group} kernels of {'x'.join(map(str, spec.kernel_size))})")
    best = _largest(spec, g)
    hint = (f"the largest that fits with these channels and -k is -i {best}" if best else
            "no input fits with these channels and -k: fewer channels or a smaller kernel")
    return f"figure too large: -i {given}: {why}; {hint}"


def _line(values, weights, part, zs) -> dict:
    """One channel's products, one group per slice touched, and its partial sum."""
    groups = [[[factor(format_number(v)), factor(format_number(w))]
               for v, w in zip(values[t].ravel(), weights[t].ravel())] for t in range(len(zs))]
    count = values.size
    return {"groups": groups if count <= MAX_TERMS else [], "count": count,
            "slices": [int(z) for z in zs], "result": format_number(part)}


def scene(spec: ConvSpec, steps: list[int], options, g: geometry.Grouped, operand, kernel) -> dict:
    low = g.plane
    output, partials, values, weights = compute(spec, g, operand, kernel)
    by_value = options.by_value()
    bounds = [shading.bound(a) for a in (operand, kernel, output)]

    def shade(v, which):
        return shading.level(v, bounds[which]) if by_value else None
    d, h, w = low.canvas
    od, oh, ow = low.out
    kinds = [slice_kinds(low, z, spec.output_padding) for z in range(d)]
    inputs = []
    for j in range(g.planes_in):
        grp = g.group_of_input(j)
        slices = []
        for z in range(d):
            cells = []
            for r in range(h):
                for c in range(w):
                    held = [a.reads_from(p) for a, p in zip(low.axes, (z, r, c))]
                    real = min(held) >= 0
                    v = operand[(j, *held)] if real else 0
                    kind = kinds[z][r][c]
                    cells.append({"kind": f"group{grp}" if kind == "data" else kind,
                                  "label": format_number(v), "data": real,
                                  "fill": shade(v, 0) if real else None})
            slices.append({"cells": cells, "grid": grid_lines(kinds[z])})
        inputs.append({"group": grp, "slices": slices})
    kernels = [[{"group": g.group_of_output(q),
                 "weights": [[format_number(v) for v in s.ravel()] for s in weights[q, jj]],
                 "fills": [[shade(v, 1) for v in s.ravel()] for s in weights[q, jj]]}
                for jj in range(g.in_per_group)] for q in range(g.planes_out)]
    label_chars = max(width(format_number(v)) for a in (operand, kernel, output, partials)
                      for v in a.ravel()) if not options.no_numbers else 1
    frames = []
    for step in steps:
        q, oz, oy, ox = g.step_cell(step)
        zs, rows, cols = g.window(step)
        cell = (q, oz, oy, ox)
        frames.append({
            "step": step, "plane": q, "group": g.group_of_output(q), "out": [oz, oy, ox],
            "slices": [int(z) for z in zs], "taps": [[int(r), int(c)] for r in rows for c in cols],
            "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
            "inputs": list(g.inputs_of(q)),
            "partials": [format_number(partials[q, jj, oz, oy, ox]) for jj in range(g.in_per_group)],
            "lines": [_line(values[j, oz, oy, ox], weights[q, jj], partials[q, jj, oz, oy, ox], zs)
                      for jj, j in enumerate(g.inputs_of(q))],
            "filled": [[*c, format_number(output[c])] for c in map(g.step_cell, range(step + 1))],
            "shades": [shade(output[c], 2) for c in map(g.step_cell, range(step + 1))]
            if by_value else [],
            "result": format_number(output[cell]),
        })
    return {
        "volume": True, "transposed": spec.transposed, "by_value": by_value,
        "numbers": not options.no_numbers, "channels": [options.in_channels,
                                                        options.out_channels],
        "planes": [g.planes_in, g.planes_out], "groups": options.groups,
        "canvas_size": [d, h, w], "kernel_size": list(spec.kernel_size),
        "output_size": [od, oh, ow], "inputs": inputs, "kernels": kernels,
        "legend": ({"swatches": shading.legend(), "scales": [
            [what, format_number(-b), format_number(b)]
            for what, b in zip(("input", "weights", "output"), bounds)]}
            if options.legend and by_value else None),
        "out_groups": [g.group_of_output(q) for q in range(g.planes_out)],
        "layout": layout(g, spec.kernel_size, label_chars,
                         options.width_cm(),
                         bool(options.legend and by_value)),
        "frames": frames, "caption": options.caption,
        # figure data (--json)
        "input": operand.tolist(), "kernel": kernel.tolist(), "output": output.tolist(),
        "partial_sums": partials.tolist(),
    }


def equation_text(frame: dict) -> str:
    """A step's arithmetic in words, for the HTML player's caption."""
    z, y, x = frame["out"]
    parts = []
    for j, line in zip(frame["inputs"], frame["lines"]):
        body = (" + ".join("(" + " + ".join(f"{v}×{w}" for v, w in grp) + ")"
                           for grp in line["groups"]) if line["groups"]
                else f"{line['count']} products")
        parts.append(f"x{j}: {body} = {line['result']}")
    return (f"y{frame['plane']}[{z},{y},{x}] = {' + '.join(frame['partials'])} = "
            f"{frame['result']} ({'; '.join(parts)})")
