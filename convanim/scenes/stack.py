"""A stack of layers and the receptive field of each output (WaveNet's figure, and the
classic pyramid of planes for 2-D layers).

Every layer is drawn as a row of nodes above the one it reads, each node joined to the
inputs its kernel taps. Each node sits above the centre of its receptive field in input
cells (the calculators' ``start + o * jump``), so strides and dilations show as spacing;
with ``--causal``, above the field's end (the latest input it reads), as WaveNet's.
A step highlights one output of the last layer (or, ``--per-layer``, the first output
of each layer in turn) and every node it depends on, through every layer: the taps
come from :func:`convanim.geometry.stack_reads`, the numbers from
:func:`convanim.geometry.receptive_fields`.

With a padding mode (reflect, replicate, circular) a padding node is a *copy* of an
input node: drawn as data under a dashed outline with the index of the node it copies,
and a frame that lights it lights (and walks on from) the node it copies, joined to it
by an arrow.

2-D (``--planes``, or ``-i HxW`` with H > 1): each layer is a slanted plane of cells
above the one it reads, every cell placed over its receptive field (so a stride-2 layer
has cells twice as large); a frame lights exactly the cells the output reads in every
plane (with dilation, not a full rectangle) and joins the window of each plane to the
cells it feeds in the next by the four lines of a frustum.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .. import geometry, layout
from ..kind import Kind
from ..options import FigureOptions, Flag, Pair, Text, option
from ..spec import ConvSpec, SpecError, resolve_padding

#: Layers drawn, and nodes per row (the padded input included), beyond which the
#: nodes and their lines no longer read.
MAX_LAYERS = 8
MAX_NODES = 64
#: 2-D stacks: layers, and cells per axis of a padded plane, beyond which the planes
#: no longer fit a 16 cm column at 5 pt and 22 cm height (README: measured).
MAX_PLANE_LAYERS = 4
MAX_PLANE_CELLS = 16
_VALUE = r"[0-9]+(?:x[0-9]+)?"
_LAYER = re.compile(rf"(?:(conv|pool),)?((?:[ksd]={_VALUE})(?:,[ksd]={_VALUE})*)", re.ASCII)


def parse_layers(text: str) -> list[dict]:
    """``"k=2,d=1 pool,k=2,s=2"`` -> one dict per layer: kind, and k, s, d as (h, w) pairs
    (``k=3`` is 3 on both axes, ``k=3x2`` 3 high and 2 wide)."""
    layers = []
    for word in text.split():
        m = _LAYER.fullmatch(word)
        if not m:
            if re.search(r"[ksd]=\d+x\d+x\d+", word, re.ASCII):
                raise SpecError(f"--layers: {word[:30]!r} is a layer of volumes (DxHxW): stack "
                                "figures draw 1-D and 2-D layers; a volume is drawn by "
                                "arithmetic, numerical, alphabet, im2col and channels")
            raise SpecError(f"--layers: each layer is [conv,|pool,]k=K[,s=S][,d=D], got "
                            f"{word[:30]!r}")
        values = {}
        for item in m.group(2).split(","):
            key, value = item.split("=")
            if key in values:
                raise SpecError(f"--layers: {key}= given twice in {word[:30]!r}")
            pair = [int(v) if len(v) <= 4 else 0 for v in value.split("x")]
            if min(pair) < 1:
                raise SpecError(f"--layers: {key}= must be between 1 and 9999, got {value}")
            values[key] = (pair[0], pair[-1])
        if "k" not in values:
            raise SpecError(f"--layers: every layer needs k=, got {word[:30]!r}")
        layers.append({"kind": m.group(1) or "conv", "k": values["k"],
                       "s": values.get("s", (1, 1)), "d": values.get("d", (1, 1))})
    if not layers:
        raise SpecError("--layers: give at least one layer, e.g. \"k=2,d=1 k=2,d=2\"")
    return layers


@dataclass(frozen=True)
class StackOptions(FigureOptions):
    input_size: tuple = option((1, 16), "-i", "--input-size", type=Pair(),
                               help="the input's length: N, or 1xN (a sequence); HxW with "
                                    "H > 1, or N with --planes, a 2-D input")
    layers: str = option("k=2,d=1 k=2,d=2 k=2,d=4 k=2,d=8", "--layers", type=Text(),
                         help="the layers, bottom up: [conv,|pool,]k=K[,s=S][,d=D] each, "
                              "separated by spaces (-k -s -d are not used)")
    per_layer: bool = option(False, "--per-layer", type=Flag(),
                             help="one step per layer (its first output) instead of one per "
                                  "output of the last layer")
    labels: bool = option(False, "--labels", type=Flag(),
                          help="give each layer's kernel, stride, dilation and receptive field")
    planes: bool = option(False, "--planes", type=Flag(),
                          help="2-D layers drawn as planes: -i N is N x N (implied by -i HxW "
                               "with H > 1)")


def is_plane(options) -> bool:
    """A 2-D stack: ``--planes``, or an input more than one cell high and not square."""
    h, w = options.input_size
    return bool(options.planes) or (h != w and h > 1)


def length(options) -> int:
    """The sequence's length: ``-i N`` or ``-i 1xN``."""
    h, w = options.input_size
    if is_plane(options):
        raise SpecError("a 2-D stack has no length")  # callers ask is_plane first
    return w


def shape(options) -> geometry.Pair:
    """The input's ``(h, w)``: ``(1, N)`` for a sequence."""
    return tuple(options.input_size) if is_plane(options) else (1, length(options))


def axis_layers(options) -> tuple[list[geometry.StackLayer], list[geometry.StackLayer]]:
    """Every layer per axis, ``(rows, cols)``: along the height and along the width, with
    its padding (--causal, -p N / HxW / same / valid, --padding-sides) and padding mode
    (conv layers; a pooling layer pads as PyTorch's pooling does, with no copies)."""
    plane = is_plane(options)
    h, w = shape(options)
    mode = options.padding_mode
    if not plane and options.padding_sides is not None and options.padding_sides[:2] != (0, 0):
        raise SpecError("--padding-sides: a sequence has no top or bottom; give 0,0,L,R")
    rows, cols = [], []
    for spec in parse_layers(options.layers):
        k, s, d = spec["k"], spec["s"], spec["d"]
        given = options.padding
        if not plane:
            for key in "ksd":
                if spec[key][0] not in (1, spec[key][1]):
                    raise SpecError(f"--layers: {key}={spec[key][0]}x{spec[key][1]} in a "
                                    f"sequence (give -i HxW or --planes for 2-D layers)")
            k, s, d = (1, k[1]), (1, s[1]), (1, d[1])
            if given not in ("same", "valid"):
                given = (0, given[1])
        t, b, l, r = resolve_padding(given, options.padding_sides, options.causal, (h, w),
                                     k, s, d)
        pool = spec["kind"] == "pool"
        layer_mode = "zeros" if pool else mode
        why = geometry.padding_mode_error((h, w), (t, b, l, r), layer_mode)
        if why:
            raise SpecError(f"layer {len(cols) + 1}: {why}")
        rows.append(geometry.StackLayer(k=k[0], s=s[0], d=d[0], pad_lo=t, pad_hi=b, pool=pool,
                                        mode=layer_mode))
        cols.append(geometry.StackLayer(k=k[1], s=s[1], d=d[1], pad_lo=l, pad_hi=r, pool=pool,
                                        mode=layer_mode))
        if pool and min(rows[-1].axis(h).out, cols[-1].axis(w).out) >= 1 and \
                any(_padding_only(n, lay) for n, lay in ((h, rows[-1]), (w, cols[-1]))):
            raise SpecError(f"layer {len(cols)}: pooling: with this padding and dilation some "
                            f"windows read only padding (PyTorch outputs -inf there, and "
                            f"numerical refuses it too); lower the padding or dilation")
        h, w = rows[-1].axis(h).out, cols[-1].axis(w).out
        if min(h, w) < 1:
            ax, (kk, dd) = (0, (k[0], d[0])) if h < 1 else (1, (k[1], d[1]))
            raise SpecError(f"layer {len(cols)} (k={spec_text(spec, 'k', plane)}, "
                            f"d={spec_text(spec, 'd', plane)}) spans {dd * (kk - 1) + 1} "
                            f"cells{' along the ' + ('height', 'width')[ax] if plane else ''}, "
                            f"more than its padded input")
    return rows, cols


def _padding_only(n: int, layer: geometry.StackLayer) -> bool:
    """Whether a window of ``layer`` over ``n`` cells reads padding only: the first tap
    at or after cell 0 is past the window's last tap, or past the input."""
    start = np.arange(layer.axis(n).out) * layer.s - layer.pad_lo
    first = np.maximum(0, -(start // layer.d))  # the first tap j with start + j*d >= 0
    return bool(((first > layer.k - 1) | (start + first * layer.d >= n)).any())


def spec_text(spec: dict, key: str, plane: bool) -> str:
    a, b = spec[key]
    return str(b) if not plane or a == b else f"{a}x{b}"


def stack_layers(options) -> list[geometry.StackLayer]:
    """The layers of a sequence (along the width)."""
    return axis_layers(options)[1]


def spell(a: int, b: int) -> str:
    return str(a) if a == b else f"{a}x{b}"


#: PyTorch's padding modules per mode, for the index page's call.
_PAD_MODULES = {"zeros": "ZeroPad", "reflect": "ReflectionPad", "replicate": "ReplicationPad",
                "circular": "CircularPad"}


class Stack(Kind):
    name = "stack"
    summary = ("A stack of layers and the receptive field of each output: 1-D (WaveNet's "
               "figure) or 2-D planes.")
    Options = StackOptions
    template = "stack.tex.j2"

    def template_for(self, options) -> str:
        return "stack_planes.tex.j2" if is_plane(options) else self.template

    def conv_spec(self, options) -> ConvSpec:
        """The input as the figure data's sizes give it: the first layer over the input."""
        rows, cols = axis_layers(options)
        r, c = rows[0], cols[0]
        padding = (r.pad_lo, r.pad_hi, c.pad_lo, c.pad_hi)
        return ConvSpec(shape(options), (r.k, c.k), (r.s, c.s), padding, (r.d, c.d),
                        padding_mode=c.mode).validate()

    def check(self, spec: ConvSpec, options) -> None:
        """Refuse, rather than ignore, the options of one conv that a stack has no use for:
        -t (and --output-padding), and an -o that is not the last layer's output."""
        if options.transposed or options.output_padding is not None:
            raise SpecError("-t/--output-padding: stack figures draw forward convolutions only "
                            "(their layers come from --layers)")
        if options.output_size is not None:
            rows, cols = axis_layers(options)
            out = tuple(geometry.stack_plane_sizes(shape(options), rows, cols)[-1])
            given = tuple(options.output_size)
            if given != out and (is_plane(options) or given != (out[1], out[1])):
                shown = spell(*out) if is_plane(options) else str(out[1])
                raise SpecError(f"-o {spell(*given)}: the last layer's output is {shown} "
                                f"(computed from -i and --layers); -o must equal it")

    def limits(self, spec: ConvSpec, options) -> str | None:
        rows, cols = axis_layers(options)
        if is_plane(options):
            if len(cols) > MAX_PLANE_LAYERS:
                return (f"figure too large: {len(cols)} layers; 2-D stack figures draw at "
                        f"most {MAX_PLANE_LAYERS} (1-D ones {MAX_LAYERS})")
            sizes = geometry.stack_plane_sizes(shape(options), rows, cols)
            for lvl, (r, c) in enumerate(zip(rows, cols)):
                h, w = sizes[lvl][0] + r.pad_lo + r.pad_hi, sizes[lvl][1] + c.pad_lo + c.pad_hi
                if max(h, w) > MAX_PLANE_CELLS:
                    return (f"figure too large: the padded input of layer {lvl + 1} is "
                            f"{h}x{w} cells; 2-D stack figures draw at most "
                            f"{MAX_PLANE_CELLS} per axis")
            return None
        if len(cols) > MAX_LAYERS:
            return (f"figure too large: {len(cols)} layers; stack figures draw at most "
                    f"{MAX_LAYERS}")
        sizes = geometry.stack_sizes(length(options), cols)
        for lvl, layer in enumerate(cols):
            row = sizes[lvl] + layer.pad_lo + layer.pad_hi
            if row > MAX_NODES:
                return (f"figure too large: the padded input of layer {lvl + 1} has {row} "
                        f"nodes; stack figures draw at most {MAX_NODES} per row")
        return None

    def lowered(self, spec: ConvSpec, options) -> geometry.Lowered:
        """One step per output of the last layer (row-major), or per layer (``--per-layer``)."""
        rows, cols = axis_layers(options)
        if options.per_layer:
            out = (1, len(cols))
        else:
            out = geometry.stack_plane_sizes(shape(options), rows, cols)[-1]
        return geometry.forward_conv(out, (1, 1), (1, 1), (0, 0), (1, 1))

    def name_parts(self, options) -> list[str]:
        rows, cols = axis_layers(options)
        if is_plane(options):
            parts = ["planes", "-".join(f"{'p' if c.pool else ''}k{spell(r.k, c.k)}"
                                        f"s{spell(r.s, c.s)}d{spell(r.d, c.d)}"
                                        for r, c in zip(rows, cols))]
        else:  # a sequence's layers by their width alone, as before 2-D stacks
            parts = ["-".join(f"{'p' if c.pool else ''}k{c.k}s{c.s}d{c.d}" for c in cols)]
        return parts + (["causal"] if options.causal else [])

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        if is_plane(options):
            return plane_scene(steps, options)
        n = length(options)
        layers = stack_layers(options)
        sizes = geometry.stack_sizes(n, layers)
        fields = geometry.receptive_fields(layers)
        # a causal stack is drawn as WaveNet draws it: each node above the last input it
        # reads (the end of its field), any other above its field's centre
        ends = 1 if options.causal else 0
        starts = [0.5] + [f["start"] + ends * (f["size"] - 1) / 2 for f in fields]
        jumps = [1] + [f["jump"] for f in fields]

        def x(level: int, pos: int) -> float:  # node centre, in input cells
            return starts[level] + pos * jumps[level]

        rows = []
        for lvl in range(len(layers) + 1):
            layer = layers[lvl] if lvl < len(layers) else geometry.StackLayer(k=1)
            span = range(-layer.pad_lo, sizes[lvl] + layer.pad_hi)
            copies = layer.copies(sizes[lvl], list(span))
            # [pos, x, padding, the node a copy holds (None: data or a zero)]
            rows.append({"level": lvl, "size": sizes[lvl],
                         "copies": layer.mode != "zeros" and len(span) > sizes[lvl],
                         "nodes": [[pos, x(lvl, pos), not 0 <= pos < sizes[lvl],
                                    int(c) if not 0 <= pos < sizes[lvl] and c >= 0 else None]
                                   for pos, c in zip(span, copies)]})
        edges = []
        for lvl, layer in enumerate(layers, start=1):
            for o in range(sizes[lvl]):
                for t in range(layer.k):
                    q = o * layer.s + t * layer.d - layer.pad_lo
                    edges.append([lvl, o, q, x(lvl, o), x(lvl - 1, q)])
        frames = []
        for step in steps:
            level, out = (step + 1, 0) if options.per_layer else (len(layers), step)
            reads = geometry.stack_reads(n, layers, level, out)
            lit = {(lvl, pos) for lvl, row in enumerate(reads) for pos in row}
            read = {(lvl - 1, q) for lvl, o, q, *_ in edges if (lvl, o) in lit
                    and 0 <= o < sizes[lvl]}
            # a lit copy joined to the node it copies: [level, copy, source, x copy, x source]
            arrows = [[lvl, pos, src, x(lvl, pos), x(lvl, src)]
                      for lvl, row in enumerate(rows) for pos, _x, padding, src in row["nodes"]
                      if src is not None and (lvl, pos) in read]
            frames.append({
                "step": step, "level": level, "out": [0, out],
                "nodes": [[lvl, pos, x(lvl, pos)] for lvl, pos in sorted(lit)],
                "edges": [i for i, (lvl, o, q, *_rest) in enumerate(edges)
                          if (lvl, o) in lit and 0 <= o < sizes[lvl]],
                "taps": [[0, pos] for pos in reads[0]],
                "arrows": arrows,
                "field": fields[level - 1],
            })
        lo = min(node[1] for row in rows for node in row["nodes"])
        hi = max(node[1] for row in rows for node in row["nodes"])
        return {
            "rows": rows, "edges": edges, "frames": frames,
            "layers": [{"kind": "pool" if l.pool else "conv", "k": l.k, "s": l.s, "d": l.d,
                        "padding": [l.pad_lo, l.pad_hi]} for l in layers],
            "receptive_field": fields,
            "padding_mode": options.padding_mode,
            "span": [lo, hi],
            "labels": options.labels,
            "caption": options.caption,
        }

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        sizes = ([list(p["size"]) for p in scene["planes"]] if "planes" in scene
                 else [row["size"] for row in scene["rows"]])
        return {"layers": scene["layers"], "receptive_field": scene["receptive_field"],
                "sizes": sizes, "steps_per": "layer" if options.per_layer else "output"}

    def step_caption(self, frame: dict, scene: dict) -> str:
        f = frame["field"]
        if "planes" in scene:
            return (f" of layer {frame['level']}: receptive field {spell(*f['size'])} input "
                    f"cells, jump {spell(*f['jump'])}")
        return (f" of layer {frame['level']}: receptive field {f['size']} input cells, "
                f"jump {f['jump']}")

    def report(self, scene: dict) -> list[str]:
        return terminal_lines(scene)

    def parameters(self, options) -> str:
        rows, cols = axis_layers(options)
        fy, fx = geometry.receptive_fields(rows)[-1], geometry.receptive_fields(cols)[-1]
        mode = f", padding mode {options.padding_mode}" if options.padding_mode != "zeros" else ""
        if is_plane(options):
            h, w = shape(options)
            return (f"input {h}x{w}, layers {options.layers}, receptive field "
                    f"{fy['size']}x{fx['size']}, jump {fy['jump']}x{fx['jump']}{mode}")
        return (f"input {length(options)}, layers {options.layers}, receptive field "
                f"{fx['size']}, jump {fx['jump']}{mode}")

    def describe(self, options) -> list[str]:
        parts = [f"{len(stack_layers(options))} layers"]
        if is_plane(options):
            parts.insert(0, "2-D")
        if options.padding_mode != "zeros":
            parts.append(f"{options.padding_mode} padding")
        return parts + (["causal"] if options.causal else [])

    def torch_call(self, spec: ConvSpec, options) -> str:
        calls = []
        plane = is_plane(options)
        dim = "2d" if plane else "1d"
        for r, c in zip(*axis_layers(options)):
            if plane:
                k, s, d = (f"({r.k}, {c.k})" if r.k != c.k else str(c.k),
                           f"({r.s}, {c.s})" if r.s != c.s else str(c.s),
                           f"({r.d}, {c.d})" if r.d != c.d else str(c.d))
                sides = (c.pad_lo, c.pad_hi, r.pad_lo, r.pad_hi)
                plain = (r.d, c.d) == (1, 1)
            else:
                k, s, d = str(c.k), str(c.s), str(c.d)
                sides = (c.pad_lo, c.pad_hi)
                plain = c.d == 1
            dil = "" if plain else f", dilation={d}"
            mod = (f"MaxPool{dim}({k}, stride={s}{dil})" if c.pool
                   else f"Conv{dim}(1, 1, {k}, stride={s}{dil})")
            pad = ""
            if any(sides) and c.pool:  # max pooling pads with -inf (as its padding= does)
                pad = f"nn.ConstantPad{dim}({sides}, float('-inf')), "
            elif any(sides):
                name = _PAD_MODULES[c.mode]
                if c.mode == "zeros":
                    pad = (f"nn.ZeroPad2d({sides}), " if plane
                           else f"nn.ConstantPad1d({sides}, 0), ")
                else:
                    pad = f"nn.{name}{dim}({sides}), "
            calls.append(pad + "nn." + mod)
        return "nn.Sequential(" + ", ".join(calls) + ")"


def plane_scene(steps: list[int], options) -> dict:
    """The 2-D stack: every plane's cells as quadrilaterals on the page (cm), and per frame
    the cells lit in every plane and the frustum lines between planes."""
    rows, cols = axis_layers(options)
    levels = len(cols)
    sizes = geometry.stack_plane_sizes(shape(options), rows, cols)
    fy, fx = geometry.receptive_fields(rows), geometry.receptive_fields(cols)
    ends = 1 if options.causal else 0  # causal: over the field's end along the width
    start_y = [0.5] + [f["start"] for f in fy]
    start_x = [0.5] + [f["start"] + ends * (f["size"] - 1) / 2 for f in fx]
    jump_y = [1] + [f["jump"] for f in fy]
    jump_x = [1] + [f["jump"] for f in fx]
    pads = [(r.pad_lo, r.pad_hi, c.pad_lo, c.pad_hi) for r, c in zip(rows, cols)] + [(0,) * 4]

    def box(lvl, y, x):  # the cell's extent in input cells: (u0, u1, v0, v1)
        cu, cv = start_x[lvl] + x * jump_x[lvl], start_y[lvl] + y * jump_y[lvl]
        return (cu - jump_x[lvl] / 2, cu + jump_x[lvl] / 2,
                cv - jump_y[lvl] / 2, cv + jump_y[lvl] / 2)

    boxes = [box(lvl, y, x) for lvl in range(levels + 1)
             for y in (-pads[lvl][0], sizes[lvl][0] + pads[lvl][1] - 1)
             for x in (-pads[lvl][2], sizes[lvl][1] + pads[lvl][3] - 1)]
    u_lo, u_hi = min(b[0] for b in boxes), max(b[1] for b in boxes)
    v_lo, v_hi = min(b[2] for b in boxes), max(b[3] for b in boxes)
    slant_x, slant_y = 0.55, 0.42  # the plane's depth axis on the page, per cell
    # at most 11 cm of planes across (the labels beside them) and 20 cm from the input's
    # front edge to the output's back edge, 1.3 cm between two planes; laid out for
    # --width, only as wide as keeps the names (1.6 cm) and --labels' (4.2 cm) >= 5 pt
    across = 11.0
    budget = layout.fit("stack", options.width_cm())
    if budget:
        across = min(across, max(4.0, budget["width"] - 1.6 - (4.2 if options.labels else 0)))
    unit = min(0.5, across / ((u_hi - u_lo) + slant_x * (v_hi - v_lo)),
               (20.0 - 1.3 * levels) / (slant_y * (v_hi - v_lo) * (levels + 1)))
    depth = slant_y * (v_hi - v_lo) * unit
    gap = depth + 1.3  # page cm from one plane's origin to the next

    def page(lvl, u, v):  # a point of plane lvl on the page, cm; row 0 at the back
        back = v_hi - v
        return [round(((u - u_lo) + slant_x * back) * unit, 4),
                round(slant_y * back * unit + lvl * gap, 4)]

    def corners(lvl, y, x):
        u0, u1, v0, v1 = box(lvl, y, x)
        return [page(lvl, u0, v1), page(lvl, u1, v1), page(lvl, u1, v0), page(lvl, u0, v0)]

    def centre(lvl, y, x):
        u0, u1, v0, v1 = box(lvl, y, x)
        return page(lvl, (u0 + u1) / 2, (v0 + v1) / 2)

    planes, copies = [], []
    for lvl in range(levels + 1):
        (h, w), (t, b, l, r) = sizes[lvl], pads[lvl]
        layer_r = rows[lvl] if lvl < levels else geometry.StackLayer(k=1)
        layer_c = cols[lvl] if lvl < levels else geometry.StackLayer(k=1)
        cy = dict(zip(range(-t, h + b), layer_r.copies(h, list(range(-t, h + b)))))
        cx = dict(zip(range(-l, w + r), layer_c.copies(w, list(range(-l, w + r)))))
        cells = []
        for y in range(-t, h + b):
            for x in range(-l, w + r):
                inside = 0 <= y < h and 0 <= x < w
                copy = None if inside or cy[y] < 0 or cx[x] < 0 else [int(cy[y]), int(cx[x])]
                kind = "data" if inside else ("copy" if copy else "pad")
                cells.append([y, x, kind, copy, corners(lvl, y, x)])
        copies.append({(y, x): copy for y, x, kind, copy, _c in cells if copy})
        planes.append({"level": lvl, "size": [h, w], "cells": cells, "copies": bool(copies[-1]),
                       # left of the plane's front corner: every frustum line runs
                       # between two planes, right of it
                       "label": [0.0, page(lvl, u_lo, (v_lo + v_hi) / 2)[1]],
                       "info": page(lvl, u_hi, (v_lo + v_hi) / 2)})
    frames = []
    w_last = sizes[-1][1]
    for step in steps:
        level, out = (step + 1, (0, 0)) if options.per_layer else (levels, divmod(step, w_last))
        reads = geometry.stack_plane_reads(shape(options), rows, cols, level, out)
        lines, arrows = [], []
        for lvl in range(level, 0, -1):
            (h, w), r, c = sizes[lvl], rows[lvl - 1], cols[lvl - 1]
            feeding = [(y, x) for y, x in reads[lvl] if 0 <= y < h and 0 <= x < w]
            if not feeding:  # it reads only padding: nothing below
                break
            window = [(y * r.s + ty * r.d - r.pad_lo, x * c.s + tx * c.d - c.pad_lo)
                      for y, x in feeding for ty in range(r.k) for tx in range(c.k)]
            top, bottom = _extent(lvl, feeding, box), _extent(lvl - 1, window, box)
            held = copies[lvl - 1]
            for y, x in sorted(set(window)):  # a copy read: an arrow from the cell it copies
                if (y, x) in held:
                    arrows.append([lvl - 1, y, x, *held[y, x],
                                   *centre(lvl - 1, *held[y, x]), *centre(lvl - 1, y, x)])
            for ut, vt, ub, vb in ((top[0], top[2], bottom[0], bottom[2]),
                                   (top[1], top[2], bottom[1], bottom[2]),
                                   (top[0], top[3], bottom[0], bottom[3]),
                                   (top[1], top[3], bottom[1], bottom[3])):
                lines.append([lvl, *page(lvl - 1, ub, vb), *page(lvl, ut, vt)])
        lit = [[lvl, y, x] for lvl, cells in enumerate(reads) for y, x in cells]
        frames.append({"step": step, "level": level, "out": list(out), "lit": lit,
                       "cells": [[lvl, y, x, corners(lvl, y, x)] for lvl, y, x in lit],
                       "lines": lines, "arrows": arrows, "field": {
                           "size": [fy[level - 1]["size"], fx[level - 1]["size"]],
                           "jump": [fy[level - 1]["jump"], fx[level - 1]["jump"]]}})
    return {
        "planes": planes, "frames": frames,
        "layers": [{"kind": "pool" if c.pool else "conv", "k": [r.k, c.k], "s": [r.s, c.s],
                    "d": [r.d, c.d], "padding": [r.pad_lo, r.pad_hi, c.pad_lo, c.pad_hi]}
                   for r, c in zip(rows, cols)],
        "receptive_field": [{"size": [a["size"], b["size"]], "jump": [a["jump"], b["jump"]],
                             "start": [a["start"], b["start"]]} for a, b in zip(fy, fx)],
        "padding_mode": options.padding_mode,
        "width": round(((u_hi - u_lo) + slant_x * (v_hi - v_lo)) * unit, 4),
        "labels": options.labels,
        "caption": options.caption,
    }


def _extent(lvl: int, cells, box) -> tuple[float, float, float, float]:
    """The bounding box (u0, u1, v0, v1) of some cells of plane ``lvl``, in input cells."""
    b = [box(lvl, y, x) for y, x in cells]
    return (min(x[0] for x in b), max(x[1] for x in b), min(x[2] for x in b),
            max(x[3] for x in b))


def terminal_lines(scene: dict) -> list[str]:
    """The receptive fields as the terminal prints them: one line per layer (2-D: HxW)."""
    def fmt(v) -> str:
        if isinstance(v, list):
            return spell(*v) if len(v) == 2 else ",".join(str(x) for x in v)
        return f"{v:g}"

    head = ["layer", "kind", "k", "s", "d", "padding", "receptive field", "jump", "start"]
    rows = [[str(n), layer["kind"], fmt(layer["k"]), fmt(layer["s"]), fmt(layer["d"]),
             ",".join(str(p) for p in layer["padding"]), fmt(f["size"]), fmt(f["jump"]),
             ",".join(f"{x:g}" for x in f["start"]) if isinstance(f["start"], list)
             else f"{f['start']:g}"]
            for n, (layer, f) in enumerate(zip(scene["layers"], scene["receptive_field"]),
                                           start=1)]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    return ["  ".join(x.rjust(w) for x, w in zip(r, widths)) for r in [head, *rows]]
