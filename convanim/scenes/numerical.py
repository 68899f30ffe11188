"""Numerical convolution: values, the kernel's weights at each step, the output filling in.

The numbers come from one place, :func:`compute`, which reads the operand through
the geometry's gather map, the same map that decides which cells a frame shades.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..kind import Kind, format_torch, torch_pad
from ..options import Choice, FigureOptions, Int, option
from ..spec import ConvSpec, SpecError, format_pair
from . import (canvas_grid, canvas_kinds, format_number, grid_lines, is_sequence, out_offset,
               too_large, window)

#: Canvas cells per axis beyond which the numbers no longer fit.
MAX_CANVAS = 16
#: Terms of the per-step equation beyond which it is summarised.
MAX_TERMS = 16
MODES = ("convolution", "average", "max")


def draw_values(spec: ConvSpec, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Operand values 0..3 and kernel weights 0..2, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    operand = rng.integers(0, 4, size=spec.lowered().operand)
    kernel = rng.integers(0, 3, size=spec.kernel_size)
    return operand, kernel


def taps_weights(spec: ConvSpec, kernel: np.ndarray) -> np.ndarray:
    """The weight each tap multiplies: the transposed conv slides the flipped kernel."""
    return kernel[::-1, ::-1] if spec.transposed else kernel


def compute(spec: ConvSpec, mode: str, operand: np.ndarray, kernel: np.ndarray):
    """Output of the figure's operation and the values each step reads.

    Returns ``(output, values, real)``: ``values[oy, ox, ty, tx]`` is what tap
    (ty, tx) reads at output (oy, ox) (0 for padding and inserted zeros) and
    ``real`` says whether it read an operand cell.
    """
    gather = spec.lowered().gather
    real = gather[..., 0] >= 0
    values = np.where(real, operand[np.where(real, gather[..., 0], 0),
                                    np.where(real, gather[..., 1], 0)], 0)
    if mode == "convolution":
        output = np.einsum("abcd,cd->ab", values, taps_weights(spec, kernel))
    elif mode == "average":  # count_include_pad: padding zeros count, divisor kh*kw
        output = values.sum(axis=(2, 3)) / (kernel.shape[0] * kernel.shape[1])
    else:  # max over the cells of the input only
        output = np.where(real, values, np.iinfo(values.dtype).min).max(axis=(2, 3))
    return output, values, real


def _equation(mode, values, real, weights, result) -> dict:
    """The arithmetic of one step, as terms for the template to typeset."""
    vals = [format_number(v) for v in values.ravel()]
    if mode == "max":
        vals = [v for v, r in zip(vals, real.ravel()) if r]
    terms = ([[v, format_number(w)] for v, w in zip(vals, weights.ravel())]
             if mode == "convolution" else vals)
    return {"terms": terms if len(terms) <= MAX_TERMS else [], "count": len(terms),
            "result": format_number(result)}


@dataclass(frozen=True)
class NumericalOptions(FigureOptions):
    mode: str = option("convolution", "-m", "--mode", type=Choice(MODES),
                       help="conv2d, avg_pool2d (count_include_pad) or max_pool2d")
    seed: int = option(1234, "--seed", type=Int(0, 2**63 - 1, "N"), help="seed of the values drawn")


class Numerical(Kind):
    name = "numerical"
    summary = "Numerical convolution: values, the kernel's weights at each step, the output filling in."
    Options = NumericalOptions
    template = "numerical.tex.j2"

    def check(self, spec: ConvSpec, options) -> None:
        """Refuse what PyTorch's pooling refuses."""
        mode = options.mode
        if mode == "convolution":
            return
        if spec.transposed:
            raise SpecError(f"{mode} pooling has no transposed form; -t needs -m convolution")
        if mode == "average" and spec.dilation != (1, 1):
            raise SpecError(f"average pooling has no dilation (avg_pool2d), got -d "
                            f"{format_pair(spec.dilation)}")
        k, p = spec.kernel_size, spec.padding
        if len(p) == 2 and spec.padding_mode == "zeros" and (p[0] > k[0] // 2
                                                             or p[1] > k[1] // 2):
            raise SpecError(f"pooling padding must be at most half the kernel size, got padding "
                            f"{format_pair(p)} for kernel {format_pair(k)}")
        if mode == "max" and not (spec.lowered().gather[..., 0] >= 0).any(axis=(2, 3)).all():
            raise SpecError("max pooling: with this padding and dilation some windows read only "
                            "padding (PyTorch outputs -inf there); lower the padding or dilation")

    def limits(self, spec: ConvSpec, options) -> str | None:
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        return too_large("numerical", what, spec.lowered().canvas, MAX_CANVAS)

    def name_parts(self, options) -> list[str]:
        return [] if options.mode == "convolution" else [options.mode]

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        low = spec.lowered()
        operand, kernel = draw_values(spec, options.seed)
        output, values, real = compute(spec, options.mode, operand, kernel)
        weights = taps_weights(spec, kernel)
        canvas = canvas_grid(low, spec.output_padding)
        for row in canvas:
            for cell in row:
                held = cell["cell"] or cell["copies"]  # a padding cell may copy one
                cell["label"] = format_number(operand[tuple(held)]) if held else "0"
        ow = low.out[1]
        frames = []
        for step in steps:
            frame = window(low, step)
            oy, ox = frame["out"]
            frame["weights"] = ([format_number(w) for w in weights.ravel()]
                                if options.mode == "convolution" else [])
            frame["filled"] = [[s // ow, s % ow, format_number(output[s // ow, s % ow])]
                               for s in range(step + 1)]
            frame["equation"] = _equation(options.mode, values[oy, ox], real[oy, ox], weights,
                                          output[oy, ox])
            frames.append(frame)
        return {
            "mode": options.mode,
            "transposed": spec.transposed,
            "inserted": spec.transposed and spec.stride != (1, 1),
            "canvas_size": list(low.canvas),
            "sequence": is_sequence(low),
            "out_offset": out_offset(low),
            "output_size": list(low.out),
            "canvas": canvas,
            "grid": grid_lines(canvas_kinds(low, spec.output_padding)),
            "frames": frames,
            "caption": options.caption,
            # figure data (--json)
            "input": operand.tolist(),
            "kernel": kernel.tolist() if options.mode == "convolution" else None,
            "output": output.tolist(),
        }

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        return {"mode": scene["mode"], "input": scene["input"], "kernel": scene["kernel"],
                "output": scene["output"]}

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        from ..verify import check_numerical

        return check_numerical(data, backend)

    def step_caption(self, frame: dict, scene: dict) -> str:
        y, x = frame["out"]
        return ": " + equation_text(scene["mode"], frame["equation"], y, x)

    def describe(self, options) -> list[str]:
        return [] if options.mode == "convolution" else [f"{options.mode} pooling"]

    def torch_call(self, spec: ConvSpec, options) -> str:
        if options.mode == "convolution":
            return super().torch_call(spec, options)
        k, s, p, d = (format_torch(v) for v in (spec.kernel_size, spec.stride,
                                                 spec.padding_pair, spec.dilation))
        one_call = spec.symmetric and spec.padding_mode == "zeros"
        pad = f", padding={p}" if one_call else ""
        if options.mode == "average":
            call = f"torch.nn.AvgPool2d(kernel_size={k}, stride={s}{pad})"
        else:
            dil = f", dilation={d}" if d != "1" else ""
            call = f"torch.nn.MaxPool2d(kernel_size={k}, stride={s}{pad}{dil})"
        if one_call:
            return call
        return f"{call}({torch_pad(spec, None if options.mode == 'average' else '-inf')})"


def equation_text(mode: str, eq: dict, y: int, x: int) -> str:
    """A step's arithmetic in words, for the HTML player's caption."""
    terms, result = eq["terms"], eq["result"]
    lhs = f"y[{y},{x}]"
    if not terms:
        what = {"convolution": "products", "average": "values", "max": "values"}[mode]
        return f"{lhs} = {result} ({mode} of {eq['count']} {what})"
    if mode == "convolution":
        return f"{lhs} = " + " + ".join(f"{v}·{w}" for v, w in terms) + f" = {result}"  # as drawn
    if mode == "average":
        return f"{lhs} = ({' + '.join(terms)}) / {len(terms)} = {result}"
    return f"{lhs} = max({', '.join(terms)}) = {result}"
