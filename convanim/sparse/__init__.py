"""Sparse convolution that checks the figures: Numba CUDA kernels and a numpy reference.

Layouts and names are PyTorch's: ``x`` is ``(N, C, H, W)``; ``conv2d``'s ``w`` is
``(D, C/groups, kh, kw)``; ``conv_transpose2d``'s ``w`` is ``(C, D/groups, kh, kw)`` as
``torch.nn.ConvTranspose2d`` stores it. ``backend`` is ``auto`` (a GPU if the driver
reports one, else Numba's CUDA simulator), ``cuda``, ``simulator``, ``numpy``, or
``torch`` (PyTorch's own operations: a witness to check against, not our kernels).
Zero weights are skipped (CSR, or block-CSR with ``method="bsr"``); ``method="dense"``
is the im2col + GEMM baseline. ``method="csr_tiled"`` and ``"bsr_tiled"`` are round
two's kernels (input tiles staged in shared memory, packed launch arguments): selectable,
not the defaults until a GPU run shows them faster. Importing this package does not
import numba.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import geometry
from . import reference
from .backend import BACKENDS, BackendError, gpu_kernels, gpu_present, resolve
from .formats import BSRWeights, CSRWeights, block_mask
from .reference import pair

__all__ = ["conv2d", "conv_transpose2d", "avg_pool2d", "max_pool2d", "run", "Result",
           "CSRWeights", "BSRWeights", "block_mask", "BACKENDS", "BackendError", "resolve",
           "gpu_present"]


@dataclass(frozen=True)
class Result:
    output: np.ndarray
    backend: str        # the backend that ran: cuda, simulator or numpy
    macs: int           # multiply-accumulates done
    dense_macs: int     # what a dense im2col + GEMM would do


def _torch(op, x, w=None, **kw):
    from . import torch_backend

    return torch_backend.run(op, x, w, **kw)


def _check_conv(x, w, groups, transposed=False):
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"x and w must be 4-D, got {x.shape} and {w.shape}")
    c = x.shape[1]
    if groups < 1 or c % groups:
        raise ValueError(f"{c} input channels are not divisible by groups={groups}")
    expect = c if transposed else c // groups
    if w.shape[0 if transposed else 1] != expect:
        raise ValueError(f"w of shape {w.shape} does not fit {c} input channels "
                         f"and groups={groups}")
    if not transposed and w.shape[0] % groups:
        raise ValueError(f"{w.shape[0]} output channels are not divisible by groups={groups}")


def run(op: str, x, w=None, *, stride=1, padding=0, dilation=1, groups=1, output_padding=0,
        kernel_size=None, backend="auto", method="csr") -> Result:
    """One operation (conv2d, conv_transpose2d, avg_pool2d, max_pool2d) with its costs."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    name = resolve(backend)
    s, p, d = pair(stride), pair(padding), pair(dilation)
    if op == "conv2d":
        w = np.ascontiguousarray(w, dtype=np.float32)
        _check_conv(x, w, groups)
        n, _, h, wd = x.shape
        dout, cg, kh, kw = w.shape
        out = geometry.conv_output_size((h, wd), (kh, kw), s, p, d)
        if min(out) < 1:
            raise ValueError(f"kernel {kh}x{kw} (dilation {d}) does not fit the padded input")
        dense = n * dout * cg * kh * kw * out[0] * out[1]
        if name == "numpy":
            return Result(reference.conv2d(x, w, s, p, d, groups), name, dense, dense)
        if name == "torch":
            return Result(_torch(op, x, w, stride=s, padding=p, dilation=d, groups=groups),
                          name, dense, dense)
        output, macs = gpu_kernels(name).conv2d(x, w, s, p, d, groups, method)
        return Result(output, name, macs, dense)
    if op == "conv_transpose2d":
        w = np.ascontiguousarray(w, dtype=np.float32)
        _check_conv(x, w, groups, transposed=True)
        a = pair(output_padding)
        n, cin, h, wd = x.shape
        _, dg, kh, kw = w.shape
        if any(not 0 <= a[i] < max(s[i], d[i]) for i in (0, 1)):
            raise ValueError(f"output_padding {a} must be smaller than stride or dilation")
        low = geometry.transposed_from_operand((h, wd), (kh, kw), s, p, d, a)
        if min(low.out) < 1:
            raise ValueError(f"the transposed output would be {low.out}")
        dense = n * dg * groups * (cin // groups) * low.elements  # over the zero-inserted input
        if name == "numpy":
            return Result(reference.conv_transpose2d(x, w, s, p, a, d, groups), name, dense,
                          dense)
        if name == "torch":
            return Result(_torch(op, x, w, stride=s, padding=p, dilation=d, groups=groups,
                                 output_padding=a), name, dense, dense)
        output, macs = gpu_kernels(name).conv_transpose2d(x, w, s, p, a, d, groups)
        return Result(output, name, macs, dense)
    if op in ("avg_pool2d", "max_pool2d"):
        k = pair(kernel_size)
        s = pair(stride if stride is not None else k)
        out = geometry.conv_output_size(x.shape[2:], k, s, p, d)
        dense = x.shape[0] * x.shape[1] * out[0] * out[1] * k[0] * k[1]
        if name == "numpy":
            ref = reference.avg_pool2d(x, k, s, p) if op == "avg_pool2d" \
                else reference.max_pool2d(x, k, s, p, d)
            return Result(ref, name, dense, dense)
        if name == "torch":
            return Result(_torch(op, x, stride=s, padding=p, dilation=d, kernel_size=k), name,
                          dense, dense)
        return Result(gpu_kernels(name).pool2d(x, k, s, p, d, op[:3]), name, dense, dense)
    raise ValueError(f"unknown operation {op!r}")


def conv2d(x, w, stride=1, padding=0, dilation=1, groups=1, backend="auto", method="csr"):
    """torch.nn.functional.conv2d, zero weights skipped; returns ``(N, D, OH, OW)``."""
    return run("conv2d", x, w, stride=stride, padding=padding, dilation=dilation,
               groups=groups, backend=backend, method=method).output


def conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, groups=1,
                     backend="auto"):
    """torch.nn.functional.conv_transpose2d; inserted zeros are never multiplied."""
    return run("conv_transpose2d", x, w, stride=stride, padding=padding,
               output_padding=output_padding, dilation=dilation, groups=groups,
               backend=backend).output


def avg_pool2d(x, kernel_size, stride=None, padding=0, backend="auto"):
    """torch.nn.functional.avg_pool2d with count_include_pad=True."""
    return run("avg_pool2d", x, kernel_size=kernel_size, stride=stride, padding=padding,
               backend=backend).output


def max_pool2d(x, kernel_size, stride=None, padding=0, dilation=1, backend="auto"):
    return run("max_pool2d", x, kernel_size=kernel_size, stride=stride, padding=padding,
               dilation=dilation, backend=backend).output
