"""im2col of one training phase: the unfolded operand the sparsity statistics count.

Forward: x (padded by p) with kernel w gives y. Loss: dY, zero-inserted and padded,
with the flipped w gives dX. Gradient: x (padded) with dY, zero-inserted, as the
kernel gives dW. Each is the geometry's lowering of that phase; its unfolded matrix
has one row per kernel tap and one column per output cell.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry
from ..kind import Kind, format_torch, torch_pad
from ..options import ChannelOptions, Choice, has_channels, option
from ..spec import ConvSpec, SpecError, volume_given
from . import canvas_grid, grid_kinds, grid_lines, is_sequence, too_large, window
from .im2col_gemm import GEMM_TEMPLATE, gemm_limits, gemm_scene

PHASES = ("forward", "loss", "gradient")
MAX_MATRIX = 64
MAX_CANVAS = 16
#: Matrix columns that still hold a label each in a 16 cm column, and rows that keep the
#: page shorter than a column is wide; a larger matrix is drawn compact.
LABELLED_COLUMNS = 20
LABELLED_ROWS = 30
#: Symbols of (operand, kernel, output) per phase.
SYMBOLS = {"forward": ("x", "w", "y"), "loss": ("dy", "w", "dx"), "gradient": ("x", "dy", "dw")}


def _kernel_taps(spec: ConvSpec, phase: str, low: geometry.Lowered) -> list:
    """What each tap of the phase's kernel holds: ``[ky, kx]`` of w or dY, or None (a zero)."""
    kh, kw = low.kernel
    ty, tx = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
    if phase == "loss":  # the flipped kernel
        ty, tx = spec.kernel_size[0] - 1 - ty, spec.kernel_size[1] - 1 - tx
    if phase == "gradient":  # dY with s-1 zeros inserted between its cells
        real = np.outer(low.rows.real_taps(), low.cols.real_taps())
        sy, sx = low.rows.kernel_spacing, low.cols.kernel_spacing
        return [[int(a // sy), int(b // sx)] if r else None
                for a, b, r in zip(ty.ravel(), tx.ravel(), real.ravel())]
    return [[int(a), int(b)] for a, b in zip(ty.ravel(), tx.ravel())]


def loss_output_padding(spec: ConvSpec):
    """The loss phase's output padding (the same for the padded input of a padding mode)."""
    return geometry.auto_output_padding(*spec.args)


@dataclass(frozen=True)
class Im2colOptions(ChannelOptions):
    phase: str = option("forward", "--phase", type=Choice(PHASES),
                        help="training phase: forward (y), loss (dX) or gradient (dW)")


class Im2col(Kind):
    name = "im2col"
    summary = "im2col of one training phase: the unfolded operand the sparsity statistics count."
    Options = Im2colOptions
    template = "im2col.tex.j2"
    draws_volumes = True  # vol2col, one channel (scenes/im2col3d.py)

    def template_for(self, options) -> str:
        """With channels, the GEMM of every plane (im2col_gemm.tex.j2); else one plane's;
        a volume's vol2col (im2col3d.tex.j2)."""
        if volume_given(options):
            return "im2col3d.tex.j2"
        return GEMM_TEMPLATE if has_channels(options) else self.template

    def check(self, spec: ConvSpec, options) -> None:
        options.check_groups()
        if spec.is_volume and has_channels(options):
            raise SpecError(f"im2col draws a volume's vol2col for one channel; drop "
                            f"--in-channels/--out-channels (stats counts {options.in_channels} "
                            f"-> {options.out_channels} channels of -i "
                            f"{'x'.join(map(str, spec.input_size))})")
        if spec.transposed:
            raise SpecError("im2col shows the training phases of the conv given by -i -k -s -p "
                            "-d; its transposed conv is --phase loss (drop -t)")

    def lowered(self, spec: ConvSpec, options) -> geometry.Lowered:
        return geometry.lowering(options.phase, *spec.args, spec.padding_mode)

    def limits(self, spec: ConvSpec, options) -> str | None:
        low = self.lowered(spec, options)
        if spec.is_volume:
            from .im2col3d import limits

            return limits(options.phase, low)
        if has_channels(options):
            return gemm_limits(low, options)
        rows, cols = low.kernel[0] * low.kernel[1], low.steps
        if max(rows, cols) > MAX_MATRIX:
            return (f"figure too large: the {options.phase} im2col matrix would be {rows}x{cols}; "
                    f"im2col figures draw at most {MAX_MATRIX} rows and columns")
        return too_large("im2col", "padded operand", low.canvas, MAX_CANVAS)

    def name_parts(self, options) -> list[str]:
        if not has_channels(options):
            return [options.phase]
        g = [f"g{options.groups}"] if options.groups != 1 else []
        return [options.phase, f"{options.in_channels}to{options.out_channels}", *g]

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        phase = options.phase
        low = self.lowered(spec, options)
        if spec.is_volume:
            from .im2col3d import scene

            return scene(spec, steps, options, low)
        a = loss_output_padding(spec) if phase == "loss" else (0, 0)
        canvas = canvas_grid(low, a)
        kinds = grid_kinds(canvas)
        unfolded = low.im2col()                                 # (taps, outputs, 2)
        # the kind of zero each null entry reads: where its tap lands on the canvas
        py, px = low.rows.positions(), low.cols.positions()     # (oh, kh), (ow, kw)
        oh, ow = low.out
        kh, kw = low.kernel
        at = np.array(kinds, dtype=object)[py[:, None, :, None], px[None, :, None, :]]
        at = at.transpose(2, 3, 0, 1).reshape(kh * kw, oh * ow)
        matrix = [[e.tolist() if e[0] >= 0 else None for e in row] for row in unfolded]
        zero_kinds = [[None if matrix[r][c] else str(at[r, c]) for c in range(oh * ow)]
                      for r in range(kh * kw)]
        # entries read from a padding cell that holds a copy: drawn as copies
        copies = [[bool(at[r, c] == "copy") for c in range(oh * ow)] for r in range(kh * kw)]
        elements = int(unfolded.shape[0] * unfolded.shape[1])
        zeros = low.zeros()
        if has_channels(options):
            return gemm_scene(spec, options, low, canvas, kinds, matrix, zero_kinds, copies,
                              _kernel_taps(spec, phase, low), steps, SYMBOLS[phase])
        return {
            "phase": phase,
            "symbols": list(SYMBOLS[phase]),
            "comma": max(*low.operand, *low.kernel, *low.out) > 10,
            "canvas_size": list(low.canvas),
            "sequence": is_sequence(low),
            "output_size": list(low.out),
            "canvas": canvas,
            "grid": grid_lines(kinds),
            "kernel": _kernel_taps(spec, phase, low),
            "matrix": matrix,
            "compact": oh * ow > LABELLED_COLUMNS or kh * kw > LABELLED_ROWS,
            "zero_kinds": zero_kinds,
            "copies": copies,
            "counts": {"elements": elements, "zeros": zeros,
                       "sparsity": round(100 * zeros / elements, 1),
                       "kernel_zeros": low.kernel_zeros(), "kernel_taps": kh * kw},
            "frames": [window(low, step) for step in steps],
            "caption": options.caption,
        }

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        from .im2col3d import output_padding

        a = (output_padding(spec, scene["phase"]) if spec.is_volume else
             loss_output_padding(spec) if scene["phase"] == "loss" else (0, 0))
        out = {"phase": scene["phase"], "output_size": scene["output_size"],
               "output_padding": list(a),
               "im2col": scene["matrix"], "kernel_zeros": scene["counts"]["kernel_zeros"]}
        if has_channels(options):
            out.update({"in_channels": options.in_channels, "out_channels": options.out_channels,
                        "groups": options.groups, "weights": scene["weights"],
                        "block_zeros": scene["counts"]["block_zeros"]})
        return out

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        from ..verify import check_im2col

        return check_im2col(data, backend)

    def step_caption(self, frame: dict, scene: dict) -> str:
        if "columns" in frame:
            return (f", column{'s' if len(frame['columns']) > 1 else ''} "
                    f"{', '.join(map(str, frame['columns']))} of the unfolded matrix")
        return f", column {frame['step']} of the unfolded matrix"

    def describe(self, options) -> list[str]:
        if has_channels(options):
            c, d, g = options.in_channels, options.out_channels, options.groups
            return [f"{options.phase} phase", f"{c} → {d} channels"] + \
                ([f"{g} groups"] if g > 1 else [])
        return [f"{options.phase} phase"]

    def torch_call(self, spec: ConvSpec, options) -> str:
        if spec.is_volume:
            from .im2col3d import torch_call

            return torch_call(spec, options.phase)
        k, s, p, d = (format_torch(v) for v in (spec.kernel_size, spec.stride,
                                                 spec.padding.pair, spec.dilation))
        dil = f", dilation={d}" if d != "1" else ""
        c, dd, g = options.in_channels, options.out_channels, options.groups
        grp = f", groups={g}" if g != 1 else ""
        kh, kw = spec.kernel_size
        one_call = spec.padding.symmetric and spec.padding_mode == "zeros"
        pad = f", padding={p}" if one_call else ""
        x = "x" if one_call else torch_pad(spec)
        if options.phase == "loss":
            (ih, iw), (oh, ow) = spec.input_size, spec.forward_output
            if not one_call:  # the gradient of the padded input, which F.pad's backward folds
                (th, tw) = spec.padding.total
                ih, iw = ih + th, iw + tw
            return (f"torch.nn.grad.conv2d_input((1, {c}, {ih}, {iw}), w, dy, stride={s}"
                    f"{pad}{dil}{grp})  # w: {dd}x{c // g}x{kh}x{kw}, dy: 1x{dd}x{oh}x{ow}")
        if options.phase == "gradient":
            return (f"torch.nn.grad.conv2d_weight({x}, ({dd}, {c // g}, {kh}, {kw}), dy, "
                    f"stride={s}{pad}{dil}{grp})")
        call = f"torch.nn.Unfold(kernel_size={k}, stride={s}{pad}{dil})"
        return call if one_call else f"{call}({x})"
