"""Numerical convolution: values, the kernel's weights at each step, the output filling in.

The numbers come from one place, :func:`compute`, which reads the operand through
the geometry's gather map, the same map that decides which cells a frame shades.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import shading
from ..kind import Kind, format_torch, torch_pad
from ..options import Array, Choice, Int, option
from ..spec import ConvSpec, SpecError, format_pair, volume_given
from . import (ValuesOptions, canvas_grid, factor, format_number, grid_kinds, grid_lines,
               image_hint, is_sequence, out_offset, shape_mismatch, too_large,
               values_or_seeded, width, window)

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


def operand_values(spec: ConvSpec, options) -> tuple[np.ndarray, np.ndarray]:
    """The operand and kernel drawn: the user's ``--input``/``--kernel`` where given,
    else drawn from ``--seed`` (both drawn, so a given input keeps the seed's kernel)."""
    operand, kernel = draw_values(spec, options.seed)
    return (values_or_seeded(options.input, operand),
            values_or_seeded(options.kernel, kernel))


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
        low = np.iinfo(values.dtype).min if values.dtype.kind in "iu" else -np.inf
        output = np.where(real, values, low).max(axis=(2, 3))
    return output, values, real


def _equation(mode, values, real, weights, result) -> dict:
    """The arithmetic of one step, as terms for the template to typeset."""
    vals = [format_number(v) for v in values.ravel()]
    if mode == "max":
        vals = [v for v, r in zip(vals, real.ravel()) if r]
    terms = ([[factor(v), factor(format_number(w))] for v, w in zip(vals, weights.ravel())]
             if mode == "convolution" else vals)
    return {"terms": terms if len(terms) <= MAX_TERMS else [], "count": len(terms),
            "result": format_number(result)}


@dataclass(frozen=True)
class NumericalOptions(ValuesOptions):
    mode: str = option("convolution", "-m", "--mode", type=Choice(MODES),
                       help="conv2d, avg_pool2d (count_include_pad) or max_pool2d")
    seed: int = option(1234, "--seed", type=Int(0, 2**63 - 1, "N"),
                       help="seed of the values drawn where --input or --kernel is not given")
    input: object = option(
        None, "--input", type=Array((2,), "--input"),
        help="the input's values: inline rows, e.g. \"1 -2 0; 0.5 1 3\" (; between rows), a "
             ".npy, .csv or .txt file, a greyscale image (its pixel values), or a named "
             "kernel (default: drawn from --seed, 0 to 3)")
    kernel: object = option(
        None, "--kernel", type=Array((2,), "--kernel"),
        help="the kernel's weights, as --input, or a named kernel: sobel-x, sobel-y, "
             "laplacian, gaussian (3x3), gaussian5 (5x5), box, sharpen, identity, emboss "
             "(default: drawn from --seed, 0 to 2)")

    def __post_init__(self):
        super().__post_init__()
        self.resolve_sizes(self.input.shape if self.input is not None else None,
                           self.kernel.shape if self.kernel is not None else None)


class Numerical(Kind):
    name = "numerical"
    summary = "Numerical convolution: values, the kernel's weights at each step, the output filling in."
    Options = NumericalOptions
    template = "numerical.tex.j2"
    draws_volumes = True

    def template_for(self, options) -> str:
        return "numerical3d.tex.j2" if volume_given(options) else self.template

    def check(self, spec: ConvSpec, options) -> None:
        """Values of the shapes the sizes give; refuse what PyTorch's pooling refuses."""
        mode = options.mode
        operand = spec.lowered().operand
        if options.input is not None and options.input.shape != tuple(operand):
            because = (f"the transposed conv of {_sizes(spec)} reads an operand of"
                       if spec.transposed else f"{_sizes(spec)} reads an input of")
            raise shape_mismatch("--input", options.input, operand, because)
        if options.kernel is not None:
            if mode != "convolution":
                raise SpecError(f"--kernel: {mode} pooling has no weights; give its size "
                                f"with -k")
            if options.kernel.shape != tuple(spec.kernel_size):
                raise shape_mismatch("--kernel", options.kernel, spec.kernel_size,
                                     "-k gives a kernel of")
        if mode == "convolution":
            return
        if spec.transposed:
            raise SpecError(f"{mode} pooling has no transposed form; -t needs -m convolution")
        if mode == "average" and set(spec.dilation) != {1}:
            raise SpecError(f"average pooling has no dilation (avg_pool2d), got -d "
                            f"{format_pair(spec.dilation)}")
        k, p = spec.kernel_size, spec.padding
        if p.symmetric and spec.padding_mode == "zeros" and any(
                lo > n // 2 for (lo, _), n in zip(p.axes, k)):
            raise SpecError(f"pooling padding must be at most half the kernel size, got padding "
                            f"{p.format()} for kernel {format_pair(k)}")
        taps = tuple(range(len(k), 2 * len(k)))  # the gather's tap axes
        if mode == "max" and not (spec.lowered().gather[..., 0] >= 0).any(axis=taps).all():
            raise SpecError("max pooling: with this padding and dilation some windows read only "
                            "padding (PyTorch outputs -inf there); lower the padding or dilation")

    def limits(self, spec: ConvSpec, options) -> str | None:
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        if spec.is_volume:
            from .numerical3d import MAX_CANVAS as most

            canvas = spec.lowered().canvas
            if max(canvas) > most:
                return (f"figure too large: the {what} is {'x'.join(map(str, canvas))} cells; "
                        f"numerical figures draw a volume of at most {most} cells per axis "
                        f"(e.g. -i 4x10x10 -k 3)")
            return None
        reason = too_large("numerical", what, spec.lowered().canvas, MAX_CANVAS)
        return reason and reason + image_hint(options.input)

    def name_parts(self, options) -> list[str]:
        return [] if options.mode == "convolution" else [options.mode]

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        low = spec.lowered()
        operand, kernel = operand_values(spec, options)
        if spec.is_volume:
            from .numerical3d import scene

            return scene(spec, steps, options, operand, kernel)
        output, values, real = compute(spec, options.mode, operand, kernel)
        weights = taps_weights(spec, kernel)
        by_value = options.by_value()
        in_bound, out_bound = shading.bound(operand), shading.bound(output)
        canvas = canvas_grid(low, spec.output_padding)
        for row in canvas:
            for cell in row:
                held = cell["cell"] or cell["copies"]  # a padding cell may copy one
                v = operand[tuple(held)] if held else 0
                cell["label"] = format_number(v)
                cell["fill"] = (shading.level(v, in_bound) if by_value and held
                                else cell["kind"])
        ow = low.out[1]
        frames = []
        for step in steps:
            frame = window(low, step)
            oy, ox = frame["out"]
            frame["weights"] = ([format_number(w) for w in weights.ravel()]
                                if options.mode == "convolution" else [])
            frame["filled"] = [[s // ow, s % ow, format_number(output[s // ow, s % ow])]
                               for s in range(step + 1)]
            frame["shades"] = ([shading.level(output[s // ow, s % ow], out_bound)
                                for s in range(step + 1)] if by_value else [])
            frame["equation"] = _equation(options.mode, values[oy, ox], real[oy, ox], weights,
                                          output[oy, ox])
            frames.append(frame)
        return {
            "mode": options.mode,
            # the longest number in a cell (a weight with its x): wide ones get wider cells
            "label_chars": max(width(c["label"]) for row in canvas for c in row) if not
            options.no_numbers else 1,
            "weight_chars": (1 + max(width(format_number(w)) for w in weights.ravel())
                             if options.mode == "convolution" and not options.no_numbers
                             else 0),
            "output_chars": max(width(format_number(v)) for v in output.ravel()),
            "by_value": by_value,
            "numbers": not options.no_numbers,
            "legend": (_legend(in_bound, out_bound) if options.legend and by_value else None),
            "transposed": spec.transposed,
            "inserted": spec.transposed and spec.stride != (1, 1),
            "canvas_size": list(low.canvas),
            "sequence": is_sequence(low),
            "out_offset": out_offset(low),
            "output_size": list(low.out),
            "canvas": canvas,
            "grid": grid_lines(grid_kinds(canvas)),
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

    def step_arithmetic(self, frame: dict, scene: dict) -> str:
        if scene.get("volume"):
            from .numerical3d import step_arithmetic

            return step_arithmetic(frame, scene["mode"])
        y, x = frame["out"]
        return equation_text(scene["mode"], frame["equation"], y, x)

    def describe(self, options) -> list[str]:
        return [] if options.mode == "convolution" else [f"{options.mode} pooling"]

    def torch_call(self, spec: ConvSpec, options) -> str:
        if options.mode == "convolution":
            return super().torch_call(spec, options)
        pad = spec.padding.triple if spec.is_volume else spec.padding.pair
        k, s, p, d = (format_torch(v) for v in (spec.kernel_size, spec.stride, pad,
                                                 spec.dilation))
        nd = "3d" if spec.is_volume else "2d"
        one_call = spec.padding.symmetric and spec.padding_mode == "zeros"
        pad = f", padding={p}" if one_call else ""
        if options.mode == "average":
            call = f"torch.nn.AvgPool{nd}(kernel_size={k}, stride={s}{pad})"
        else:
            dil = f", dilation={d}" if d != "1" else ""
            call = f"torch.nn.MaxPool{nd}(kernel_size={k}, stride={s}{pad}{dil})"
        if one_call:
            return call
        return f"{call}({torch_pad(spec, None if options.mode == 'average' else '-inf')})"


def _sizes(spec: ConvSpec) -> str:
    return " ".join(f"-{flag} {format_pair(v)}" for flag, v in zip("ikspd", spec.args))


def _legend(in_bound: float, out_bound: float) -> dict:
    """The key of the diverging fill: its swatches and each scale's ends."""
    return {"swatches": shading.legend(),
            "scales": [["input", format_number(-in_bound), format_number(in_bound)],
                       ["output", format_number(-out_bound), format_number(out_bound)]]}


def equation_text(mode: str, eq: dict, y: int, x: int) -> str:
    """A step's arithmetic in words, for the HTML player's caption."""
    terms, result = eq["terms"], eq["result"]
    lhs = f"y[{y},{x}]"
    if not terms:
        what = {"convolution": "products", "average": "values", "max": "values"}[mode]
        return f"{lhs} = {result} ({mode} of {eq['count']} {what})"
    if mode == "convolution":
        return f"{lhs} = " + " + ".join(f"{v}×{w}" for v, w in terms) + f" = {result}"  # as drawn
    if mode == "average":
        return f"{lhs} = ({' + '.join(terms)}) / {len(terms)} = {result}"
    return f"{lhs} = max({', '.join(terms)}) = {result}"
