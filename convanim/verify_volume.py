"""Verify a volume's figure (a 3-D conv): its numbers recomputed by conv3d on a backend.

As :mod:`convanim.verify` does for 2-D: the figure data's input, kernel and output
against conv3d / conv_transpose3d / pooling (:mod:`convanim.sparse.volume`), and an
arithmetic figure's taps on input cells against a conv3d of ones. Anything the backend
cannot pad itself (one-sided padding, a padding mode) is padded here by numpy first.
"""
from __future__ import annotations

import numpy as np

from .spec import ConvSpec
from .verify import NUMPY_PAD, Check, _error, _scale


def prepad3(x: np.ndarray, spec: ConvSpec, fill: float = 0.0) -> np.ndarray:
    """``x`` (N, C, D, H, W) padded as the spec says, by numpy.pad (``fill`` for zeros)."""
    mode = NUMPY_PAD[spec.padding_mode]
    extra = {"constant_values": fill} if mode == "constant" else {}
    return np.pad(x, ((0, 0), (0, 0), *spec.padding.axes), mode=mode, **extra)


def _one_call(spec: ConvSpec) -> bool:
    return spec.padding.symmetric and spec.padding_mode == "zeros"


def _vol(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)[None, None]


def conv3(x, w, spec: ConvSpec, backend: str):
    """conv3d, or conv_transpose3d for ``-t``, of the spec on ``backend``."""
    from .sparse.volume import run3d

    s, d = spec.stride, spec.dilation
    if not spec.transposed:
        if not _one_call(spec):
            return run3d("conv3d", prepad3(x, spec), w, stride=s, padding=0, dilation=d,
                         backend=backend)
        return run3d("conv3d", x, w, stride=s, padding=spec.padding.triple, dilation=d,
                     backend=backend)
    if spec.padding.symmetric:
        return run3d("conv_transpose3d", x, w, stride=s, padding=spec.padding.triple,
                     dilation=d, output_padding=spec.output_padding, backend=backend)
    full, name, macs, dense = run3d("conv_transpose3d", x, w, stride=s, padding=0, dilation=d,
                                    output_padding=spec.output_padding, backend=backend)
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(spec.padding.axes, full.shape[2:]))
    return full[(..., *crop)], name, macs, dense


def check_numerical(data: dict, backend: str) -> list[Check]:
    spec, mode = ConvSpec.from_dict(data), data["mode"]
    x = _vol(data["input"])
    if mode == "convolution":
        w = _vol(data["kernel"])
        y, name, macs, dense = conv3(x, w, spec, backend)
        scale = _scale(x, w)
    else:
        from .sparse.volume import run3d

        p = spec.padding.triple
        if not _one_call(spec):  # numpy pads (max pooling with -inf), then the pooling
            x, p = prepad3(x, spec, 0.0 if mode == "average" else -np.inf), 0
        op = "avg_pool3d" if mode == "average" else "max_pool3d"
        y, name, macs, dense = run3d(op, x, kernel_size=spec.kernel_size, stride=spec.stride,
                                     padding=p, dilation=spec.dilation, backend=backend)
        scale = _scale(np.where(np.isfinite(x), x, 0), None)
    error = _error(y[0, 0], np.asarray(data["output"], dtype=np.float32))
    return [Check(f"numerical {mode} output (3-D)", name, error, macs, dense, scale)]


def check_arithmetic(data: dict, backend: str, windows: list) -> list[Check]:
    """``windows``: per step, how many of its taps the figure draws on input cells,
    against a conv3d of ones (each output counts the taps that read a real cell)."""
    spec = ConvSpec.from_dict(data)
    operand = spec.lowered().operand
    ones = _vol(np.ones(operand))
    y, name, macs, dense = conv3(ones, _vol(np.ones(spec.kernel_size)), spec, backend)
    error = _error(y[0, 0].ravel(), np.asarray(windows, dtype=np.float32))
    return [Check("arithmetic taps on input cells, every step (3-D)", name, error, macs, dense)]
