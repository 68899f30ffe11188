"""Channels: C input planes, D filters of C/G slices, D output planes, in G groups.

Every real convolution has channels; this kind draws how they combine. The figure is
the filter bank laid out as a matrix: the input planes down the left, one column per
filter, the slice of filter q that multiplies plane j in row j of column q (empty
where plane j is outside q's group, so groups show as blocks on the diagonal), and
each filter's output plane under its column. A step is one output cell of one output
plane: the window on every plane of the filter's group, the filter's slices, each
plane's partial sum beside its slice, and their total in the output cell.

As everywhere, -i -k -s -p -d describe the forward conv, and so do --in-channels,
--out-channels and --groups: ``-t`` draws its transposed conv, which maps the D planes
of its output back to C planes with the same weight tensor (D x C/G x kh x kw, which is
how ``ConvTranspose2d(D, C, groups=G)`` stores it). The numbers come from the
geometry's gather map, as in :mod:`convanim.scenes.numerical`.
"""
from __future__ import annotations

from dataclasses import dataclass

from .. import geometry, shading
from ..errors import SpecError
from ..kind import Kind
from ..lazy import np
from ..options import Array, ChannelOptions, Flag, Int, option
from ..spec import ConvSpec, volume_given
from ..theme import GROUPS
from . import (ValuesOptions, canvas_grid, channels_layout, factor, format_number, grid_kinds,
               equivalent_direct, grid_lines, image_hint, is_sequence, shape_mismatch, too_large,
               width)

#: Planes drawn on either side: each is a grid of numbers, and eight of them stacked
#: already fill a page at a legible size. Groups are at most this many too, so each
#: has one of the theme's group colours.
MAX_PLANES = min(8, GROUPS)
#: Canvas cells per axis of one plane beyond which its numbers no longer fit.
MAX_CANVAS = 12
#: Cells of a sequence (an input of height 1), one row of numbers.
MAX_SEQUENCE = 24
#: Cells the stacked input planes may span down the page, and the filter bank across.
MAX_TALL = 48
MAX_WIDE = 64
#: Products of one plane's line of the arithmetic beyond which it is summarised.
MAX_TERMS = 16


@dataclass(frozen=True)
class ChannelsOptions(ValuesOptions, ChannelOptions):
    # the channel counts of ChannelOptions, here following the values where not given
    in_channels: int | None = option(
        None, "--in-channels", type=Int(1, 1 << 20, "C"),
        help="input channels of the conv (default: from --input or --kernel, else 1)")
    out_channels: int | None = option(
        None, "--out-channels", type=Int(1, 1 << 20, "D"),
        help="output channels, filters (default: from --kernel, else 1)")
    groups: int | None = option(
        None, "--groups", type=Int(1, 1 << 20, "G"),
        help="groups; both channel counts divisible by it (default: from --kernel and the "
             "channels, else 1)")
    seed: int = option(1234, "--seed", type=Int(0, 2**63 - 1, "N"),
                       help="seed of the values drawn where --input or --kernel is not given")
    labels: bool = option(False, "--labels", type=Flag(),
                          help="name the case (depthwise, pointwise) and give every size")
    input: object = option(
        None, "--input", type=Array((2, 3), "--input"),
        help="the input planes' values: inline, planes separated by |, e.g. \"1 2; 3 4 | "
             "0 -1; 1 0\" (C x H x W), a .npy file, an image (RGB: 3 planes) or one plane as "
             "numerical takes it (default: drawn from --seed)")
    kernel: object = option(
        None, "--kernel", type=Array((2, 3, 4), "--kernel"),
        help="the weights, D x C/G x kh x kw as Conv2d stores them (ConvTranspose2d's for "
             "-t): inline, slices separated by | and filters by ||, a .npy file; C/G x kh x "
             "kw is one filter, kh x kw (a named kernel too) one slice (default: drawn from "
             "--seed)")

    def __post_init__(self):
        super().__post_init__()
        x = None if self.input is None else self.input.array
        w = None if self.kernel is None else self.kernel.array
        x = x[None] if x is not None and x.ndim == 2 else x
        w = _as(w, 4) if w is not None else None
        # the planes the input holds are C, or D for -t (the weights are the forward conv's)
        planes_in = x.shape[0] if x is not None else None
        d = self.out_channels or (w.shape[0] if w is not None else None) \
            or (planes_in if self.transposed else None) or 1
        c = self.in_channels or (None if self.transposed else planes_in)
        if c is None and w is not None:
            c = w.shape[1] * (self.groups or 1)
        c = c or 1
        g = self.groups
        if g is None:
            g = c // w.shape[1] if w is not None and c % w.shape[1] == 0 else 1
        for name, v in (("in_channels", c), ("out_channels", d), ("groups", g)):
            object.__setattr__(self, name, v)
        self.resolve_sizes(x.shape[1:] if x is not None else None,
                           w.shape[2:] if w is not None else None)

    def operand(self) -> np.ndarray | None:
        """--input as planes x h x w."""
        return None if self.input is None else _as(self.input.array, 3)

    def weights(self) -> np.ndarray | None:
        """--kernel as D x C/G x kh x kw."""
        return None if self.kernel is None else _as(self.kernel.array, 4)


def _as(a: np.ndarray, ndim: int) -> np.ndarray:
    return a.reshape((1,) * (ndim - a.ndim) + a.shape)


def planes(spec: ConvSpec, options) -> tuple[int, int]:
    """Planes of the operation drawn, (in, out): the conv's (C, D), or (D, C) for ``-t``."""
    c, d = options.in_channels, options.out_channels
    return (d, c) if spec.transposed else (c, d)


def grouped(spec: ConvSpec, options) -> geometry.Grouped:
    """The figure's operation: the spec's direct conv on every plane, in groups."""
    pin, pout = planes(spec, options)
    return geometry.Grouped(spec.lowered(), pin, pout, options.groups)


def draw_values(spec: ConvSpec, options) -> tuple[np.ndarray, np.ndarray]:
    """Operand values 0..3 (planes_in x h x w) and weights 0..2 (D x C/G x kh x kw).

    Drawn as :func:`convanim.scenes.numerical.draw_values` draws them, so a 1 -> 1
    figure shows the numerical figure's numbers for the same seed.
    """
    g = grouped(spec, options)
    rng = np.random.default_rng(options.seed)
    operand = rng.integers(0, 4, size=(g.planes_in, *g.plane.operand))
    kernel = rng.integers(0, 3, size=(options.out_channels,
                                      options.in_channels // options.groups, *spec.kernel_size))
    return operand, kernel


def operand_values(spec: ConvSpec, options) -> tuple[np.ndarray, np.ndarray]:
    """The user's --input and --kernel where given, else the seed's."""
    operand, kernel = draw_values(spec, options)
    x, w = options.operand(), options.weights()
    return (operand if x is None else x), (kernel if w is None else w)


def slice_weights(spec: ConvSpec, g: geometry.Grouped, kernel: np.ndarray) -> np.ndarray:
    """``(planes_out, in_per_group, kh, kw)``: the weights each tap of each slice multiplies.

    Forward: slice j of filter q is ``kernel[q, j]``. Transposed: the weight tensor is
    ConvTranspose2d's (in x out/G x kh x kw), so output plane q reads operand plane
    ``j`` of its group through ``kernel[j, q mod out/G]``, flipped (the direct conv
    slides the flipped kernel over the zero-inserted operand).
    """
    if not spec.transposed:
        return kernel
    out = np.empty((g.planes_out, g.in_per_group, *spec.kernel_size), dtype=kernel.dtype)
    for q in range(g.planes_out):
        for jj, j in enumerate(g.inputs_of(q)):
            out[q, jj] = kernel[j, q % g.out_per_group][::-1, ::-1]
    return out


def compute(spec: ConvSpec, g: geometry.Grouped, operand: np.ndarray, kernel: np.ndarray):
    """``(output, partials, values, weights)``: output ``(planes_out, oh, ow)``, each
    plane's partial sum ``(planes_out, in_per_group, oh, ow)``, what every tap reads
    ``(planes_in, oh, ow, kh, kw)`` and the slices' weights."""
    gather = g.plane.gather
    real = gather[..., 0] >= 0
    values = np.where(real, operand[:, np.where(real, gather[..., 0], 0),
                                    np.where(real, gather[..., 1], 0)], 0)
    weights = slice_weights(spec, g, kernel)
    oh, ow = g.plane.out
    partials = np.zeros((g.planes_out, g.in_per_group, oh, ow),
                        dtype=np.result_type(operand, kernel))
    for q in range(g.planes_out):
        for jj, j in enumerate(g.inputs_of(q)):
            partials[q, jj] = np.einsum("abcd,cd->ab", values[j], weights[q, jj])
    return partials.sum(axis=1), partials, values, weights


def _line(values, weights, result) -> dict:
    terms = [[factor(format_number(v)), factor(format_number(w))]
             for v, w in zip(values.ravel(), weights.ravel())]
    return {"terms": terms if len(terms) <= MAX_TERMS else [], "count": len(terms),
            "result": format_number(result)}


class Channels(Kind):
    name = "channels"
    summary = ("Channels: C input planes, D filters of C/G slices, D output planes; "
               "grouped, depthwise and 1x1 convolutions with their numbers.")
    Options = ChannelsOptions
    template = "channels.tex.j2"
    draws_volumes = True  # C x D x H x W where it fits (scenes/channels3d.py)

    def template_for(self, options) -> str:
        return "channels3d.tex.j2" if volume_given(options) else self.template

    def limits(self, spec: ConvSpec, options) -> str | None:
        for what, n in (("input", options.in_channels), ("output", options.out_channels)):
            if n > MAX_PLANES:
                return (f"figure too large: {n} {what} channels; channels figures draw at "
                        f"most {MAX_PLANES} planes a side (each is a grid of numbers; more "
                        f"do not fit a page at a legible size)")
        if spec.is_volume:
            from .channels3d import limits

            options.check_groups()  # first: the layout divides the channels into groups
            return limits(spec, grouped(spec, options))
        low = spec.lowered()
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        if is_sequence(low):  # one row of numbers: longer than a plane may be wide
            reason = (f"figure too large: the {what} is a sequence of {low.canvas[1]} cells; "
                      f"channels figures draw sequences of at most {MAX_SEQUENCE}"
                      if low.canvas[1] > MAX_SEQUENCE else None)
        else:
            reason = too_large("channels", what, low.canvas, MAX_CANVAS)
        if reason:
            return reason + image_hint(options.input)
        pin, pout = planes(spec, options)
        tall = pin * low.canvas[0]
        if tall > MAX_TALL:
            return (f"figure too large: {pin} planes of {low.canvas[0]} rows stack to {tall} "
                    f"rows; channels figures draw at most {MAX_TALL} (fewer channels or a "
                    f"smaller input)")
        wide = low.canvas[1] + pout * max(spec.kernel_size[1] + 2, low.out[1] + 1)
        if wide > MAX_WIDE:
            return (f"figure too large: the input and {pout} filters side by side span "
                    f"{wide} columns; channels figures draw at most {MAX_WIDE}")
        return None

    def check(self, spec: ConvSpec, options) -> None:
        if spec.is_volume:
            _check_volume(options)
        x, pin = options.operand(), planes(spec, options)[0]
        if x is not None and x.shape[0] != pin:  # first: the groups follow from the counts
            given = ("D (--out-channels, or --kernel's filters) is" if spec.transposed
                     else "--in-channels")
            raise SpecError(f"{given} {pin}, but --input has {x.shape[0]} planes; give "
                            f"{pin} planes, or drop the count so it follows the input")
        options.check_groups()
        g = grouped(spec, options)
        x, w = options.operand(), options.weights()
        if x is not None and x.shape != (g.planes_in, *g.plane.operand):
            because = ("the transposed conv of these options reads" if spec.transposed
                       else "the channels and sizes give")
            raise shape_mismatch("--input", x, (g.planes_in, *g.plane.operand),
                                 f"{because} C x H x W =")
        want = (options.out_channels, options.in_channels // options.groups, *spec.kernel_size)
        if w is not None and w.shape != want:
            raise shape_mismatch("--kernel", w, want,
                                 "the channels, groups and -k give D x C/G x kh x kw =")

    def lowered(self, spec: ConvSpec, options) -> geometry.Grouped:
        return grouped(spec, options)

    def name_parts(self, options) -> list[str]:
        parts = [f"{options.in_channels}to{options.out_channels}"]
        return parts + ([f"g{options.groups}"] if options.groups != 1 else [])

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        g = grouped(spec, options)
        low = g.plane
        operand, kernel = operand_values(spec, options)
        if spec.is_volume:
            from .channels3d import scene

            return scene(spec, steps, options, g, operand, kernel)
        output, partials, values, weights = compute(spec, g, operand, kernel)
        by_value = options.by_value()
        bounds = [shading.bound(a) for a in (operand, kernel, output)]

        def shade(v, which):
            return shading.level(v, bounds[which]) if by_value else None
        canvas = canvas_grid(low, spec.output_padding)
        names = grid_kinds(canvas)
        planes_drawn = []
        def drawn(j: int, cell: dict) -> dict:
            held = cell["cell"] or cell["copies"]  # a padding cell may copy one
            return {"kind": cell["kind"] if cell["kind"] != "data"
                    else f"group{g.group_of_input(j)}",
                    "label": format_number(operand[(j, *held)]) if held else "0",
                    "data": held is not None,
                    "fill": shade(operand[(j, *held)], 0) if held else None}

        for j in range(g.planes_in):
            grid = [[drawn(j, cell) for cell in row] for row in canvas]
            planes_drawn.append({"group": g.group_of_input(j), "cells": grid})
        slices = [[{"plane": j, "group": g.group_of_output(q),
                    "weights": [[format_number(v) for v in row] for row in weights[q, jj]],
                    "fills": [[shade(v, 1) for v in row] for row in weights[q, jj]]}
                   for jj, j in enumerate(g.inputs_of(q))] for q in range(g.planes_out)]
        span = [(a.pad_lo, a.pad_lo + a.span) for a in (low.rows, low.cols)]
        # the longest number in a cell: wide ones (-0.12) get wider cells
        label_chars = max(width(format_number(v)) for a in (operand, kernel, output)
                          for v in a.ravel()) if not options.no_numbers else 1
        labels = _labels(spec, g, options) if options.labels else None
        frames = []
        for step in steps:
            q, oy, ox = g.step_cell(step)
            rows, cols = g.window(step)
            frame = {
                "step": step, "plane": q, "group": g.group_of_output(q), "out": [oy, ox],
                "taps": [[int(r), int(c)] for r in rows for c in cols],
                "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
                "inputs": list(g.inputs_of(q)),
                "partials": [format_number(partials[q, jj, oy, ox])
                             for jj in range(g.in_per_group)],
                "filled": [[*cell, format_number(output[cell])]
                           for cell in map(g.step_cell, range(step + 1))],
                "shades": [shade(output[cell], 2) for cell in map(g.step_cell, range(step + 1))]
                if by_value else [],
                "lines": [_line(values[j, oy, ox], weights[q, jj], partials[q, jj, oy, ox])
                          for jj, j in enumerate(g.inputs_of(q))],
                "result": format_number(output[q, oy, ox]),
            }
            frames.append(frame)
        return {
            "transposed": spec.transposed,
            "inserted": spec.transposed and spec.stride != (1, 1),
            "by_value": by_value,
            "numbers": not options.no_numbers,
            "label_chars": label_chars,
            "legend": ({"swatches": shading.legend(), "scales": [
                [what, format_number(-b), format_number(b)]
                for what, b in zip(("input", "weights", "output"), bounds)]}
                if options.legend and by_value else None),
            "channels": [options.in_channels, options.out_channels],
            "planes": [g.planes_in, g.planes_out],
            "groups": options.groups,
            "canvas_size": list(low.canvas),
            "kernel_size": list(spec.kernel_size),
            "output_size": list(low.out),
            "operand_span": span,
            "grid": grid_lines(names),
            "inputs": planes_drawn,
            "slices": slices,
            "out_groups": [g.group_of_output(q) for q in range(g.planes_out)],
            "layout": channels_layout.layout(
                g, spec.kernel_size, label_chars, is_sequence(low),
                options.width_cm(),
                1 + (len(labels["lines"]) + 1 + (labels["groups"] > 1)
                     + 2 * bool(labels["equivalent"]) if labels else 0)),
            "sequence": is_sequence(low),
            "labels": labels,
            "frames": frames,
            "caption": options.caption,
            # figure data (--json)
            "input": operand.tolist(),
            "kernel": kernel.tolist(),
            "output": output.tolist(),
            "partial_sums": partials.tolist(),
        }

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        return {"in_channels": options.in_channels, "out_channels": options.out_channels,
                "groups": options.groups, "input": scene["input"], "kernel": scene["kernel"],
                "output": scene["output"], "partial_sums": scene["partial_sums"]}

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        from ..verify import check_channels

        return check_channels(data, backend)

    def step_caption(self, frame: dict, scene: dict) -> str:
        return f" of output plane {frame['plane']}"

    def step_arithmetic(self, frame: dict, scene: dict) -> str:
        if scene.get("volume"):
            from .channels3d import equation_text as text

            return text(frame)
        return equation_text(frame)

    def describe(self, options) -> list[str]:
        c, d, g = options.in_channels, options.out_channels, options.groups
        out = [f"channels {c} → {d}"] + ([f"{g} groups"] if g > 1 else [])
        return out + [case for case in cases(options.kernel_size, c, d, g)]



def _check_volume(options) -> None:
    """A volume's figure draws its values from --seed and names its channels itself."""
    given = [flag for flag, v in (("--input", options.input), ("--kernel", options.kernel),
                                  ("--labels", options.labels or None)) if v is not None]
    if given:
        raise SpecError(f"{' and '.join(given)}: a volume's channels figure draws its values "
                        f"from --seed (--seed N picks others) and names its channels and "
                        f"slices itself; --input and --kernel take 2-D values")


def cases(kernel_size, c: int, d: int, g: int) -> list[str]:
    """The named cases a figure is: depthwise (G = C = D > 1), pointwise (a 1x1 kernel)."""
    out = []
    if g == c == d > 1:
        out.append("depthwise")
    if tuple(kernel_size) == (1, 1):
        out.append("pointwise (1×1)")
    return out


def _labels(spec: ConvSpec, g: geometry.Grouped, options) -> dict:
    """What --labels writes: the named case, every size, and the key of group colours.
    The lines are TeX (ours, no user text): a text-mode × set as Ö in the PDF's text."""
    c, d, G = options.in_channels, options.out_channels, options.groups
    kh, kw = spec.kernel_size
    lines = []
    for case in cases(spec.kernel_size, c, d, G):
        if case == "depthwise":
            lines.append(f"depthwise: G = C = D = {c}, each filter reads one plane")
        else:
            lines.append("pointwise ($1\\times 1$): each output cell mixes the planes at one "
                         "position")
    if G > 1 and "depthwise" not in cases(spec.kernel_size, c, d, G):
        lines.append(f"grouped: {G} groups of {g.in_per_group} in, {g.out_per_group} out; "
                     f"a filter reads only its group's planes")
    h, w = g.plane.operand
    oh, ow = g.plane.out
    return {
        "lines": lines,
        "input": [g.planes_in, h, w], "output": [g.planes_out, oh, ow],
        "kernel": [d, c // G, kh, kw],
        "layout": ("ConvTranspose2d: in, out/G, kh, kw" if spec.transposed
                   else "D, C/G, kh, kw"),
        "groups": G,
        "equivalent": equivalent_direct(spec, g.plane) if spec.transposed else None,
    }


def equation_text(frame: dict) -> str:
    """A step's arithmetic in words, for the HTML player's caption."""
    y, x = frame["out"]
    parts = []
    for j, line in zip(frame["inputs"], frame["lines"]):
        body = (" + ".join(f"{v}×{w}" for v, w in line["terms"]) if line["terms"]
                else f"{line['count']} products")
        parts.append(f"x{j}: {body} = {line['result']}")
    return (f"y{frame['plane']}[{y},{x}] = {' + '.join(frame['partials'])} = {frame['result']}"
            f" ({'; '.join(parts)})")
