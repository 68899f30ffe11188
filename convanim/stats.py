"""Where the zeros of training come from: per layer and phase, in closed form.

Forward: the padding of x. Loss (input gradient): dY with s-1 zeros inserted and
d(k-1)-p padding. Gradient (weight gradient): x padded, with dY zero-inserted as the
kernel. Every count comes from the geometry module's lowering of the phase, the
same one the im2col figure draws, as products of per-axis counts: a whole ResNet-50
takes milliseconds. Column names of the seed's CSV are kept so existing
spreadsheets still read.
"""
from __future__ import annotations

import csv
import io
from math import prod

from . import geometry
from .errors import SpecError
from .models import Layer
from .spec import INT64_MAX, format_pair

PHASES = ("forward", "loss", "gradient")


def _pad_text(v) -> str:
    return format_pair(v) if isinstance(v, tuple) else str(v)


def _size_text(v) -> str:
    """A feature map's size: ``5`` or ``5x7``; a volume's always in full, ``16x112x112``."""
    return "x".join(str(n) for n in v) if len(v) == 3 else format_pair(v)


#: stats' size flags, as :func:`spread_sizes` names them.
SIZE_FLAGS = (("input_size", "-i"), ("kernel_size", "-k"), ("stride", "-s"),
              ("padding", "-p"), ("dilation", "-d"))


def spread_sizes(args) -> int:
    """The number of axes of ``stats``' layer (3 where any size or ``--padding-sides`` is a
    volume's, else 2), each single N given spread over them, in place; a 2-D size beside a
    3-D one is refused."""
    given = [(flag, getattr(args, name)) for name, flag in SIZE_FLAGS]
    sides = getattr(args, "padding_sides", None)
    volume = next((f"{flag} {'x'.join(map(str, v))}" for flag, v in given
                   if isinstance(v, tuple) and len(v) == 3), None)
    if volume is None and sides is not None and len(sides) == 6:
        volume = "--padding-sides " + ",".join(map(str, sides))
    axes = 3 if volume else 2
    for (name, flag), (_, v) in zip(SIZE_FLAGS, given):
        if isinstance(v, tuple) and len(v) == 1:
            setattr(args, name, v * axes)
        elif isinstance(v, tuple) and len(v) != axes:
            raise SpecError(f"{flag} {'x'.join(map(str, v))} is 2-D but {volume} is 3-D: give "
                            f"N or DxHxW")
    if sides is not None and len(sides) == 4 and axes == 3:
        raise SpecError(f"--padding-sides {','.join(map(str, sides))} gives four sides, but "
                        f"{volume} is 3-D: give six, F,B,T,B,L,R")
    return axes


def layer_stats(layer: Layer, batch: int = 1, weight_sparsity: float = 0.0,
                bytes_per_element: int = 4) -> dict:
    """One row: the seed's columns (per image), then sizes, parameters, MACs and bytes."""
    i, k, s, p, d = layer.in_size, layer.kernel, layer.stride, layer.padding, layer.dilation
    C, D, g = layer.in_channels, layer.out_channels, layer.groups
    o = layer.out_size
    row = {"name": layer.name, "input_size": _size_text(i), "output_size": _size_text(o),
           "kernel_size": format_pair(k), "stride": format_pair(s), "padding": format_pair(p)}
    lowered = {phase: geometry.lowering(phase, i, k, s, p, d, layer.padding_mode)
               for phase in PHASES}  # two axes (conv2d) or three (conv3d)
    # the operand of each phase: x has C channels, dY has D
    channels = {"forward": C, "loss": D, "gradient": C}
    for phase in PHASES:
        axes = lowered[phase].axes
        row[f"{phase}_featuremap_internal_padding"] = _pad_text(tuple(a.cell_gap for a in axes))
        row[f"{phase}_featuremap_external_padding"] = _pad_text(
            tuple(a.pad_lo for a in axes) if all(a.pad_lo == a.pad_hi for a in axes)
            else tuple(v for a in axes for v in (a.pad_lo, a.pad_hi)))
        row[f"{phase}_weight_internal_padding"] = _pad_text(tuple(a.tap_gap for a in axes))
        row[f"{phase}_featuremap_elements_after_im2col"] = channels[phase] * lowered[phase].elements
        row[f"{phase}_featuremap_zeros_after_im2col"] = channels[phase] * lowered[phase].zeros()
    grad = lowered["gradient"]
    row["gradient_weight_zeros_after_im2col"] = D * grad.kernel_zeros()
    for phase in PHASES:
        row[f"{phase}_featuremap_sparsity_after_im2col"] = _ratio(
            row[f"{phase}_featuremap_zeros_after_im2col"],
            row[f"{phase}_featuremap_elements_after_im2col"])
        row[f"{phase}_weight_sparsity_after_im2col"] = (
            _ratio(grad.kernel_zeros(), prod(grad.kernel))
            if phase == "gradient" else weight_sparsity)
    for phase in ("forward", "loss"):
        row[f"{phase}_featuremap_additional_storage"] = \
            row[f"{phase}_featuremap_zeros_after_im2col"] * bytes_per_element
    row["gradient_kernal_additional_storage"] = \
        row["gradient_weight_zeros_after_im2col"] * bytes_per_element  # the seed's spelling
    # beyond the seed: the true layer, its cost and what a zero-skipping kernel does
    row.update({"in_channels": C, "out_channels": D, "groups": g, "dilation": format_pair(d),
                "padding_mode": layer.padding_mode,
                "batch": batch, "params": layer.params,
                "weight_bytes": layer.params * bytes_per_element,
                "activation_bytes": batch * D * prod(o) * bytes_per_element})
    pairs = batch * D * (C // g)
    for phase in PHASES:
        low = lowered[phase]
        keep = 1.0 if phase == "gradient" else 1.0 - weight_sparsity  # dW needs no weights
        row[f"{phase}_dense_macs"] = pairs * low.elements
        useful = pairs * low.useful_macs()
        row[f"{phase}_useful_macs"] = useful if keep == 1.0 else round(useful * keep)
    return row


def _ratio(a, b) -> float:
    return round(a / b, 6) if b else 0.0


def network_stats(layers: list[Layer], **kw) -> tuple[list[dict], dict]:
    """Rows of the conv layers, and totals over them (parameters over every layer)."""
    rows = [layer_stats(layer, **kw) for layer in layers if layer.kind == "conv"]
    totals = {"name": "TOTAL"}
    for key, value in rows[0].items() if rows else []:
        if isinstance(value, int) and key not in ("in_channels", "out_channels", "groups", "batch"):
            totals[key] = sum(r[key] for r in rows)
    for phase in PHASES:
        totals[f"{phase}_featuremap_sparsity_after_im2col"] = _ratio(
            totals.get(f"{phase}_featuremap_zeros_after_im2col", 0),
            totals.get(f"{phase}_featuremap_elements_after_im2col", 0))
    bytes_per = kw.get("bytes_per_element", 4)
    totals["all_params"] = sum(layer.params for layer in layers)
    totals["all_weight_bytes"] = totals["all_params"] * bytes_per
    for row in [*rows, totals]:  # what a CSV reader, numpy or a database can hold
        for column, value in row.items():
            if isinstance(value, int) and value > INT64_MAX:
                raise SpecError(f"too large: {column} of {row['name']} would be {value:.3e}, "
                                f"more than an int64 holds ({INT64_MAX})")
    return rows, totals


# ---------------------------------------------------------------- output

def _chw(channels: int, size: str) -> str:
    return f"{channels}x{size}" if "x" in size else f"{channels}x{size}x{size}"


TABLE = [  # (heading, key or function of a row)
    ("layer", "name"), ("in", lambda r: _chw(r["in_channels"], r["input_size"])),
    ("out", lambda r: _chw(r["out_channels"], r["output_size"])),
    ("k/s/p/d/g", lambda r: f"{r['kernel_size']}/{r['stride']}/{r['padding']}/"
                            f"{r['dilation']}/{r['groups']}"),
    ("params", "params"), ("MACs", "forward_dense_macs"),
    *[(f"{ph} zeros", lambda r, ph=ph: f"{r[f'{ph}_featuremap_zeros_after_im2col']:,} "
                                       f"({100 * r[f'{ph}_featuremap_sparsity_after_im2col']:.1f}%)")
      for ph in PHASES],
]


def format_table(rows: list[dict], totals: dict | None = None) -> str:
    """An aligned text table; numbers right-aligned with thousands separators."""
    def cell(row, what):
        v = what(row) if callable(what) else row.get(what, "")
        return f"{v:,}" if isinstance(v, int) else str(v)

    body = [[cell(r, what) for _, what in TABLE] for r in rows]
    if totals:
        body.append(["TOTAL", "", "", "", f"{totals['params']:,}",
                     f"{totals['forward_dense_macs']:,}",
                     *[f"{totals[f'{ph}_featuremap_zeros_after_im2col']:,} "
                       f"({100 * totals[f'{ph}_featuremap_sparsity_after_im2col']:.1f}%)"
                       for ph in PHASES]])
    head = [h for h, _ in TABLE]
    widths = [max(len(x) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(h.ljust(w) if n < 4 else h.rjust(w)
                       for n, (h, w) in enumerate(zip(head, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    for r in body:
        lines.append("  ".join(x.ljust(w) if n < 4 else x.rjust(w)
                               for n, (x, w) in enumerate(zip(r, widths))))
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict], totals: dict | None = None) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    if totals:
        w.writerow({k: v for k, v in totals.items() if k in rows[0]})
    return out.getvalue()


CFG_HEADER = "type,Hi,Wi,Ho,Wo,C,D,Kh,Kw,Sh,Sw,Ph,Pw,G,Dh,Dw"


def to_cfg(layers: list[Layer]) -> str:
    """The seed's layer config for GPU experiments, per axis, with groups and dilation."""
    lines = [CFG_HEADER]
    for L in layers:
        if L.kind != "conv":
            continue
        if len(L.in_size) != 2:
            raise SpecError(f"--cfg has the columns of a 2-D layer ({CFG_HEADER}); {L.name} "
                            f"is 3-D ({_size_text(L.in_size)})")
        padding = geometry.Sides.of(L.padding)
        if not padding.symmetric:
            raise SpecError(f"--cfg has one padding per axis (Ph, Pw); {L.name} pads its "
                            f"sides differently ({padding.format()})")
        lines.append(",".join(str(v) for v in (
            "conv", *L.in_size, *L.out_size, L.in_channels, L.out_channels, *L.kernel,
            *L.stride, *padding.pair, L.groups, *L.dilation)))
    return "\n".join(lines) + "\n"
