"""The numpy backend: PyTorch's operations written with sliding windows, no CUDA.

It is the reference the CUDA kernels are tested against, and the fallback for
machines without numba.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import geometry


def pair(v) -> tuple[int, int]:
    """An int or an ``(h, w)`` pair; four sides are refused, never read as (h, w)."""
    if np.isscalar(v):
        return (int(v), int(v))
    if len(v) != 2:
        raise ValueError(f"expected an int or an (h, w) pair, got {tuple(v)!r}")
    return (int(v[0]), int(v[1]))


def _windows(xp, k, s, d, out):
    """(N, C, OH, OW, kh, kw) views of the padded input ``xp``."""
    kh, kw = k
    win = sliding_window_view(xp, (d[0] * (kh - 1) + 1, d[1] * (kw - 1) + 1), axis=(2, 3))
    return win[:, :, ::s[0], ::s[1], ::d[0], ::d[1]][:, :, :out[0], :out[1]]


def conv2d(x, w, stride=1, padding=0, dilation=1, groups=1):
    x, w = np.asarray(x, np.float32), np.asarray(w, np.float32)
    s, p, d = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    dout, cg, kh, kw = w.shape
    out = geometry.conv_output_size((h, wd), (kh, kw), s, p, d)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    win = _windows(xp, (kh, kw), s, d, out)           # (N, C, OH, OW, kh, kw)
    dg = dout // groups
    parts = [np.einsum("nchwij,dcij->ndhw", win[:, g * cg:(g + 1) * cg],
                       w[g * dg:(g + 1) * dg], optimize=True) for g in range(groups)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, groups=1):
    """Scatter form: each input cell adds x*w over the kernel's footprint, then crop p."""
    x, w = np.asarray(x, np.float32), np.asarray(w, np.float32)
    s, p, a, d = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    n, c, h, wd = x.shape
    cin, dg, kh, kw = w.shape
    out = geometry.transposed_output_size((h, wd), (kh, kw), s, p, d, a)
    full = np.zeros((n, dg * groups, (h - 1) * s[0] + d[0] * (kh - 1) + 1 + a[0],
                     (wd - 1) * s[1] + d[1] * (kw - 1) + 1 + a[1]), np.float32)
    cg = cin // groups
    for g in range(groups):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        for ky in range(kh):
            for kx in range(kw):
                contrib = np.einsum("nchw,cd->ndhw", xs, ws[:, :, ky, kx])
                full[:, g * dg:(g + 1) * dg, ky * d[0]:ky * d[0] + (h - 1) * s[0] + 1:s[0],
                     kx * d[1]:kx * d[1] + (wd - 1) * s[1] + 1:s[1]] += contrib
    return full[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1]]


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """count_include_pad=True: the divisor is always kh*kw."""
    x = np.asarray(x, np.float32)
    k = pair(kernel_size)
    s, p = pair(stride if stride is not None else kernel_size), pair(padding)
    out = geometry.conv_output_size(x.shape[2:], k, s, p, (1, 1))
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])))
    return _windows(xp, k, s, (1, 1), out).mean(axis=(4, 5)).astype(np.float32)


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1):
    x = np.asarray(x, np.float32)
    k = pair(kernel_size)
    s, p, d = pair(stride if stride is not None else kernel_size), pair(padding), pair(dilation)
    out = geometry.conv_output_size(x.shape[2:], k, s, p, d)
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=-np.inf)
    return _windows(xp, k, s, d, out).max(axis=(4, 5)).astype(np.float32)
