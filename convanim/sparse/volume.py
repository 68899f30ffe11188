"""3-D operations (conv3d, conv_transpose3d, avg_pool3d, max_pool3d) on every backend.

Layouts are PyTorch's: ``x`` is ``(N, C, D, H, W)``, conv3d's ``w`` ``(Dout, C/groups, kd,
kh, kw)``, conv_transpose3d's ``(C, Dout/groups, kd, kh, kw)``. Paddings here are
symmetric triples (the verifier pads anything else with numpy first).

- ``numpy``: sliding windows over three axes, written here and independent of the
  geometry's gather (the figures' own index map), which it checks.
- ``cuda`` / ``simulator``: the 2-D GPU kernels do every multiply-add. A conv3d is one
  conv2d whose channels are the ``kd`` depth slices each output slice reads (a depth
  gather on the host, then the CSR kernel over ``C*kd`` channels, a batch per output
  slice); a conv_transpose3d is ``kd`` conv_transpose2d launches, one per depth tap,
  their slices added on the host at ``z*s + t*d``; pooling pools each depth slice on the
  GPU and takes the max (or mean) of the ``kd`` slices a window spans on the host.
- ``torch``: PyTorch's own conv3d and pooling, a second witness.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .. import geometry
from .backend import gpu_kernels, resolve

Triple = tuple[int, int, int]


def triple(v) -> Triple:
    """An int or a ``(d, h, w)`` triple; six sides are refused, never read as a triple."""
    if np.isscalar(v):
        return (int(v),) * 3
    if len(v) != 3:
        raise ValueError(f"expected an int or a (d, h, w) triple, got {tuple(v)!r}")
    return tuple(int(a) for a in v)


# --- numpy ------------------------------------------------------------------------------

def _windows(xp, k, s, d, out):
    """(N, C, OD, OH, OW, kd, kh, kw) views of the padded input ``xp``."""
    ext = tuple(d[a] * (k[a] - 1) + 1 for a in range(3))
    win = sliding_window_view(xp, ext, axis=(2, 3, 4))
    win = win[:, :, ::s[0], ::s[1], ::s[2], ::d[0], ::d[1], ::d[2]]
    return win[:, :, :out[0], :out[1], :out[2]]


def _pad(x, p, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), *((a, a) for a in p)), constant_values=value)


def conv3d_numpy(x, w, s, p, d, groups=1):
    x, w = np.asarray(x, np.float32), np.asarray(w, np.float32)
    dout, cg = w.shape[:2]
    out = geometry.conv_output_size(x.shape[2:], w.shape[2:], s, p, d)
    win = _windows(_pad(x, p), w.shape[2:], s, d, out)
    dg = dout // groups
    parts = [np.einsum("ncxyzijk,dcijk->ndxyz", win[:, g * cg:(g + 1) * cg],
                       w[g * dg:(g + 1) * dg], optimize=True) for g in range(groups)]
    return np.concatenate(parts, axis=1).astype(np.float32)


def conv_transpose3d_numpy(x, w, s, p, a, d, groups=1):
    """Scatter form: each input cell adds x*w over the kernel's footprint, then crop p."""
    x, w = np.asarray(x, np.float32), np.asarray(w, np.float32)
    n, cin = x.shape[:2]
    i = x.shape[2:]
    _, dg = w.shape[:2]
    k = w.shape[2:]
    out = geometry.transposed_output_size(i, k, s, p, d, a)
    full = np.zeros((n, dg * groups, *geometry.transposed_output_size(i, k, s, (0, 0, 0), d, a)),
                    np.float32)
    cg = cin // groups
    for g in range(groups):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg]
        for t in np.ndindex(*k):
            contrib = np.einsum("ncxyz,cd->ndxyz", xs, ws[(slice(None), slice(None), *t)])
            at = tuple(slice(t[x_] * d[x_], t[x_] * d[x_] + (i[x_] - 1) * s[x_] + 1, s[x_])
                       for x_ in range(3))
            full[(slice(None), slice(g * dg, (g + 1) * dg), *at)] += contrib
    return full[:, :, p[0]:p[0] + out[0], p[1]:p[1] + out[1], p[2]:p[2] + out[2]]


def pool3d_numpy(x, k, s, p, d, mode):
    x = np.asarray(x, np.float32)
    out = geometry.conv_output_size(x.shape[2:], k, s, p, d)
    win = _windows(_pad(x, p, -np.inf if mode == "max" else 0.0), k, s, d, out)
    axes = (5, 6, 7)
    return (win.max(axis=axes) if mode == "max" else win.mean(axis=axes)).astype(np.float32)


# --- the GPU kernels (or their simulator) -------------------------------------------------

def conv3d_gpu(x, w, s, p, d, groups, backend):
    """conv3d as one conv2d over depth-gathered channels; returns (output, MACs done)."""
    n, c, depth = x.shape[:3]
    dout, cg, kd = w.shape[:3]
    od = geometry.conv_output_size(x.shape[2:], w.shape[2:], s, p, d)[0]
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (0, 0), (0, 0)))
    z = np.arange(od)[:, None] * s[0] + np.arange(kd)[None, :] * d[0]       # (od, kd)
    x2 = xp[:, :, z]                                      # (n, c, od, kd, h, w)
    x2 = x2.transpose(0, 2, 1, 3, 4, 5).reshape(n * od, c * kd, *x.shape[3:])
    w2 = np.ascontiguousarray(w.reshape(dout, cg * kd, *w.shape[3:]))
    out, macs = gpu_kernels(backend).conv2d(np.ascontiguousarray(x2, np.float32), w2, s[1:], p[1:],
                                      d[1:], groups)
    oh, ow = out.shape[2:]
    return out.reshape(n, od, dout, oh, ow).transpose(0, 2, 1, 3, 4), macs


def conv_transpose3d_gpu(x, w, s, p, a, d, groups, backend):
    """conv_transpose3d as one conv_transpose2d per depth tap, added at ``z*s + t*d``."""
    n, cin, depth = x.shape[:3]
    dg, kd = w.shape[1], w.shape[2]
    od = geometry.transposed_output_size(x.shape[2:], w.shape[2:], s, p, d, a)[0]
    uncropped = geometry.transposed_output_size(x.shape[2:], w.shape[2:], s, (0, 0, 0), d, a)[0]
    flat = np.ascontiguousarray(x.transpose(0, 2, 1, 3, 4).reshape(n * depth, cin,
                                                                    *x.shape[3:]))
    full, macs = None, 0
    for t in range(kd):
        y, m = gpu_kernels(backend).conv_transpose2d(flat, np.ascontiguousarray(w[:, :, t]), s[1:],
                                              p[1:], a[1:], d[1:], groups)
        macs += m
        y = y.reshape(n, depth, dg * groups, *y.shape[2:]).transpose(0, 2, 1, 3, 4)
        if full is None:
            full = np.zeros((n, dg * groups, uncropped, *y.shape[3:]), np.float32)
        full[:, :, t * d[0]:t * d[0] + (depth - 1) * s[0] + 1:s[0]] += y
    return full[:, :, p[0]:p[0] + od], macs


def pool3d_gpu(x, k, s, p, d, mode, backend):
    """Each depth slice pooled on the GPU; the max (or mean) over the ``kd`` slices a
    window spans taken on the host."""
    n, c, depth = x.shape[:3]
    fill = -np.inf if mode == "max" else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (0, 0), (0, 0)), constant_values=fill)
    dp = xp.shape[2]
    flat = np.ascontiguousarray(xp.transpose(0, 2, 1, 3, 4).reshape(n * dp, c, *x.shape[3:]))
    y = gpu_kernels(backend).pool2d(flat, k[1:], s[1:], p[1:], d[1:], mode)
    y = y.reshape(n, dp, c, *y.shape[2:]).transpose(0, 2, 1, 3, 4)
    od = geometry.conv_output_size(x.shape[2:], k, s, p, d)[0]
    z = np.arange(od)[:, None] * s[0] + np.arange(k[0])[None, :] * d[0]
    slices = y[:, :, z]                                   # (n, c, od, kd, oh, ow)
    return (slices.max(axis=3) if mode == "max" else slices.mean(axis=3)).astype(np.float32)


# --- one entry point ----------------------------------------------------------------------

def run3d(op: str, x, w=None, *, stride=1, padding=0, dilation=1, groups=1, output_padding=0,
          kernel_size=None, backend="auto"):
    """One 3-D operation on ``backend``; returns ``(output, backend run, MACs, dense MACs)``."""
    from . import torch_backend

    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 5:
        raise ValueError(f"x must be 5-D (N, C, D, H, W), got {x.shape}")
    name = resolve(backend)
    s, p, d = triple(stride), triple(padding), triple(dilation)
    if op in ("conv3d", "conv_transpose3d"):
        w = np.ascontiguousarray(w, dtype=np.float32)
        k = w.shape[2:]
        if op == "conv3d":
            out = geometry.conv_output_size(x.shape[2:], k, s, p, d)
            dense = x.shape[0] * w.shape[0] * int(np.prod(w.shape[1:])) * int(np.prod(out))
        else:
            a = triple(output_padding)
            axes = geometry.transposed_axes(x.shape[2:], k, s, p, d, a)
            dense = (x.shape[0] * w.shape[1] * groups * (x.shape[1] // groups)
                     * int(np.prod([ax.k * ax.out for ax in axes])))
        if name == "numpy":
            y = (conv3d_numpy(x, w, s, p, d, groups) if op == "conv3d" else
                 conv_transpose3d_numpy(x, w, s, p, a, d, groups))
            return y, name, dense, dense
        if name == "torch":
            extra = {} if op == "conv3d" else {"output_padding": a}
            return torch_backend.run(op, x, w, stride=s, padding=p, dilation=d, groups=groups,
                          **extra), name, dense, dense
        if op == "conv3d":
            y, macs = conv3d_gpu(x, w, s, p, d, groups, name)
        else:
            y, macs = conv_transpose3d_gpu(x, w, s, p, a, d, groups, name)
        return y, name, macs, dense
    if op in ("avg_pool3d", "max_pool3d"):
        k = triple(kernel_size)
        out = geometry.conv_output_size(x.shape[2:], k, s, p, d)
        dense = x.shape[0] * x.shape[1] * int(np.prod(out)) * int(np.prod(k))
        mode = op[:3]
        if name == "numpy":
            return pool3d_numpy(x, k, s, p, d, mode), name, dense, dense
        if name == "torch":
            return torch_backend.run(op, x, stride=s, padding=p, dilation=d, kernel_size=k), name, \
                dense, dense
        return pool3d_gpu(x, k, s, p, d, mode, name), name, dense, dense
    raise ValueError(f"unknown operation {op!r}")
