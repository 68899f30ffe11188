"""A stack of 1-D layers and the receptive field of each output (WaveNet's figure).

Every layer is drawn as a row of nodes above the one it reads, each node joined to the
inputs its kernel taps. Each node sits above the centre of its receptive field in input
cells (the calculators' ``start + o * jump``), so strides and dilations show as spacing;
with ``--causal``, above the field's end (the latest input it reads), as WaveNet's.
A step highlights one output of the last layer (or, ``--per-layer``, the first output
of each layer in turn) and every node it depends on, through every layer: the taps
come from :func:`convanim.geometry.stack_reads`, the numbers from
:func:`convanim.geometry.receptive_fields`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .. import geometry
from ..kind import Kind
from ..options import FigureOptions, Flag, Pair, Text, option
from ..spec import ConvSpec, SpecError, format_pair, resolve_padding

#: Layers drawn, and nodes per row (the padded input included), beyond which the
#: nodes and their lines no longer read.
MAX_LAYERS = 8
MAX_NODES = 64
_LAYER = re.compile(r"(?:(conv|pool),)?((?:[ksd]=[0-9]+)(?:,[ksd]=[0-9]+)*)", re.ASCII)


def parse_layers(text: str) -> list[dict]:
    """``"k=2,d=1 pool,k=2,s=2"`` -> one dict per layer: kind, k, s, d."""
    layers = []
    for word in text.split():
        m = _LAYER.fullmatch(word)
        if not m:
            raise SpecError(f"--layers: each layer is [conv,|pool,]k=K[,s=S][,d=D], got "
                            f"{word[:30]!r}")
        values = {}
        for item in m.group(2).split(","):
            key, value = item.split("=")
            if key in values:
                raise SpecError(f"--layers: {key}= given twice in {word[:30]!r}")
            if len(value) > 4 or int(value) < 1:
                raise SpecError(f"--layers: {key}= must be between 1 and 9999, got {value}")
            values[key] = int(value)
        if "k" not in values:
            raise SpecError(f"--layers: every layer needs k=, got {word[:30]!r}")
        layers.append({"kind": m.group(1) or "conv", "k": values["k"],
                       "s": values.get("s", 1), "d": values.get("d", 1)})
    if not layers:
        raise SpecError("--layers: give at least one layer, e.g. \"k=2,d=1 k=2,d=2\"")
    return layers


@dataclass(frozen=True)
class StackOptions(FigureOptions):
    input_size: tuple = option((1, 16), "-i", "--input-size", type=Pair(),
                               help="the input's length: N, or 1xN (a sequence)")
    layers: str = option("k=2,d=1 k=2,d=2 k=2,d=4 k=2,d=8", "--layers", type=Text(),
                         help="the layers, bottom up: [conv,|pool,]k=K[,s=S][,d=D] each, "
                              "separated by spaces (-k -s -d are not used)")
    per_layer: bool = option(False, "--per-layer", type=Flag(),
                             help="one step per layer (its first output) instead of one per "
                                  "output of the last layer")
    labels: bool = option(False, "--labels", type=Flag(),
                          help="give each layer's kernel, stride, dilation and receptive field")


def length(options) -> int:
    """The sequence's length: ``-i N`` or ``-i 1xN``."""
    h, w = options.input_size
    if h == w:
        return w
    if h != 1:
        raise SpecError(f"stack figures draw a sequence: -i N or -i 1xN, got -i "
                        f"{format_pair(options.input_size)} (2-D stacks are not drawn)")
    return w


def stack_layers(options) -> list[geometry.StackLayer]:
    """The layers with their padding: --causal, -p N / same / valid, --padding-sides L,R."""
    n = length(options)
    if options.padding_mode != "zeros":
        raise SpecError(f"--padding-mode {options.padding_mode}: stack figures draw zero "
                        f"padding (a copied cell would join a node to a cell outside its "
                        f"field)")
    if options.padding_sides is not None and options.padding_sides[:2] != (0, 0):
        raise SpecError("--padding-sides: a sequence has no top or bottom; give 0,0,L,R")
    out = []
    for spec in parse_layers(options.layers):
        k, s, d = (1, spec["k"]), (1, spec["s"]), (1, spec["d"])
        given = options.padding
        if given not in ("same", "valid"):
            given = (0, given[1])
        sides = geometry.sides(resolve_padding(given, options.padding_sides, options.causal,
                                               (1, n), k, s, d))
        out.append(geometry.StackLayer(k=spec["k"], s=spec["s"], d=spec["d"], pad_lo=sides[2],
                                       pad_hi=sides[3], pool=spec["kind"] == "pool"))
        n = out[-1].axis(n).out
        if n < 1:
            raise SpecError(f"layer {len(out)} (k={spec['k']}, d={spec['d']}) spans "
                            f"{spec['d'] * (spec['k'] - 1) + 1} cells, more than its padded "
                            f"input")
    return out


class Stack(Kind):
    name = "stack"
    summary = "A stack of 1-D layers and the receptive field of each output (WaveNet's figure)."
    Options = StackOptions
    template = "stack.tex.j2"

    def conv_spec(self, options) -> ConvSpec:
        """The sequence as the figure data's sizes give it: the first layer over the input."""
        n = length(options)
        first = stack_layers(options)[0]
        padding = ((0, first.pad_lo) if first.pad_lo == first.pad_hi
                   else (0, 0, first.pad_lo, first.pad_hi))
        return ConvSpec((1, n), (1, first.k), (1, first.s), padding, (1, first.d)).validate()

    def limits(self, spec: ConvSpec, options) -> str | None:
        layers = stack_layers(options)
        if len(layers) > MAX_LAYERS:
            return (f"figure too large: {len(layers)} layers; stack figures draw at most "
                    f"{MAX_LAYERS}")
        sizes = geometry.stack_sizes(length(options), layers)
        for lvl, layer in enumerate(layers):
            row = sizes[lvl] + layer.pad_lo + layer.pad_hi
            if row > MAX_NODES:
                return (f"figure too large: the padded input of layer {lvl + 1} has {row} "
                        f"nodes; stack figures draw at most {MAX_NODES} per row")
        return None

    def lowered(self, spec: ConvSpec, options) -> geometry.Lowered:
        """One step per output of the last layer, or per layer (``--per-layer``)."""
        layers = stack_layers(options)
        steps = len(layers) if options.per_layer else \
            geometry.stack_sizes(length(options), layers)[-1]
        return geometry.forward_conv((1, steps), (1, 1), (1, 1), (0, 0), (1, 1))

    def name_parts(self, options) -> list[str]:
        layers = stack_layers(options)
        parts = ["-".join(f"{'p' if l.pool else ''}k{l.k}s{l.s}d{l.d}" for l in layers)]
        return parts + (["causal"] if options.causal else [])

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
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
            lo = layers[lvl].pad_lo if lvl < len(layers) else 0
            hi = layers[lvl].pad_hi if lvl < len(layers) else 0
            rows.append({"level": lvl, "size": sizes[lvl],
                         "nodes": [[pos, x(lvl, pos), not 0 <= pos < sizes[lvl]]
                                   for pos in range(-lo, sizes[lvl] + hi)]})
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
            frames.append({
                "step": step, "level": level, "out": [0, out],
                "nodes": [[lvl, pos, x(lvl, pos)] for lvl, pos in sorted(lit)],
                "edges": [i for i, (lvl, o, q, *_rest) in enumerate(edges)
                          if (lvl, o) in lit and 0 <= o < sizes[lvl]],
                "taps": [[0, pos] for pos in reads[0]],
                "field": fields[level - 1],
            })
        lo = min(node[1] for row in rows for node in row["nodes"])
        hi = max(node[1] for row in rows for node in row["nodes"])
        return {
            "rows": rows, "edges": edges, "frames": frames,
            "layers": [{"kind": "pool" if l.pool else "conv", "k": l.k, "s": l.s, "d": l.d,
                        "padding": [l.pad_lo, l.pad_hi]} for l in layers],
            "receptive_field": fields,
            "span": [lo, hi],
            "labels": options.labels,
            "caption": options.caption,
        }

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        return {"layers": scene["layers"], "receptive_field": scene["receptive_field"],
                "sizes": [row["size"] for row in scene["rows"]],
                "steps_per": "layer" if options.per_layer else "output"}

    def step_caption(self, frame: dict, scene: dict) -> str:
        f = frame["field"]
        return (f" of layer {frame['level']}: receptive field {f['size']} input cells, "
                f"jump {f['jump']}")

    def report(self, scene: dict) -> list[str]:
        return terminal_lines(scene)

    def parameters(self, options) -> str:
        layers = stack_layers(options)
        field = geometry.receptive_fields(layers)[-1]
        return (f"input {length(options)}, layers {options.layers}, receptive field "
                f"{field['size']}, jump {field['jump']}")

    def describe(self, options) -> list[str]:
        return [f"{len(stack_layers(options))} layers"] + (["causal"] if options.causal else [])

    def torch_call(self, spec: ConvSpec, options) -> str:
        calls = []
        for l in stack_layers(options):
            dil = f", dilation={l.d}" if l.d != 1 else ""
            mod = (f"MaxPool1d({l.k}, stride={l.s}{dil})" if l.pool
                   else f"Conv1d(1, 1, {l.k}, stride={l.s}{dil})")
            pad = (f"nn.ConstantPad1d(({l.pad_lo}, {l.pad_hi}), 0), "
                   if l.pad_lo or l.pad_hi else "")
            calls.append(pad + "nn." + mod)
        return "nn.Sequential(" + ", ".join(calls) + ")"


def terminal_lines(scene: dict) -> list[str]:
    """The receptive fields as the terminal prints them: one line per layer."""
    head = ["layer", "kind", "k", "s", "d", "padding", "receptive field", "jump", "start"]
    rows = [[str(n), layer["kind"], str(layer["k"]), str(layer["s"]), str(layer["d"]),
             f"{layer['padding'][0]},{layer['padding'][1]}", str(f["size"]), str(f["jump"]),
             f"{f['start']:g}"]
            for n, (layer, f) in enumerate(zip(scene["layers"], scene["receptive_field"]),
                                           start=1)]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    return ["  ".join(x.rjust(w) for x, w in zip(r, widths)) for r in [head, *rows]]
