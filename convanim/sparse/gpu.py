"""Host side of the CUDA backend: layouts, launches, and the MACs each kernel did."""
from __future__ import annotations

import hashlib
import os
from collections import OrderedDict

import numpy as np

from .. import geometry
from . import kernels as K
from .formats import BSRWeights, CSRWeights
from .reference import pair

cuda = K.cuda
SIMULATOR = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
TILED = ("csr_tiled", "bsr_tiled")
#: thread-block shapes of the tiled kernels: the GPU's, and the simulator's (each
#: simulated thread is a Python thread, so it gets small blocks and tiles)
TILED_DEFAULTS = {
    "bsr_tiled": dict(threads=16, width=8) if SIMULATOR else dict(threads=64, width=32),
    "csr_tiled": dict(channels=2, lanes=8, width=8) if SIMULATOR else
    dict(channels=8, lanes=32, width=32),
}


def _target_blocks() -> int:
    """About two thread blocks per SM: fewer leaves the GPU part idle (the simulator
    has no SMs, so it never splits unless a test asks)."""
    if SIMULATOR:
        return 0
    return 2 * cuda.get_current_device().MULTIPROCESSOR_COUNT


class Launch:
    """One kernel launch fixed at plan time: grid, block, stream and the plan's own arrays.

    It launches through Numba's public API, ``kernel[grid, block, stream](*arrays)``,
    on a stream object fetched once (the default stream): numba-cuda caches the
    configured launch by those keys, so a plan's later launches reuse it. (Round two
    called the compiled kernel's private ``launch`` with stream ``0``, which
    numba-cuda 0.30 on cuda.core refuses: "Stream or GraphBuilder expected".) The
    simulator ignores the stream and runs the same call.
    """

    def __init__(self, name, kernel, grid, block, fixed=(), stream=None):
        from numba.cuda.errors import normalize_kernel_dimensions

        self.name, self.kernel, self.fixed = name, kernel, tuple(fixed)
        self.grid, self.block = normalize_kernel_dimensions(grid, block)
        self.stream = cuda.default_stream() if stream is None else stream

    def arguments(self, runtime: int) -> int:
        """Array arguments marshalled at each launch (there are no scalar ones)."""
        return runtime + len(self.fixed)

    def __call__(self, *arrays):
        # configured at every call: the simulator's kernel keeps one configuration
        # (the last one asked for), and two launches may share a kernel
        self.kernel[self.grid, self.block, self.stream](*arrays, *self.fixed)


def _padded(x, p, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


class Conv2dPlan:
    """A conv2d prepared once: weights compressed and on the device, launch sizes fixed.

    ``launch`` runs only the kernels, so a benchmark times what the GPU does.
    Methods: ``csr`` (four pixels a thread), ``escoin`` (one pixel a thread, the
    baseline), ``bsr`` and ``dense``; ``csr_tiled`` and ``bsr_tiled`` (round two, see
    ``kernels_tiled``) take ``options`` (their block shapes, ``splits``, ``split_len``).
    ``launches`` lists ``(kernel, array arguments, scalar arguments)`` of one
    ``launch``: what the host marshals on every call.
    """

    def __init__(self, x_shape, w, stride, padding, dilation, groups, method="csr",
                 block=(8, 8), options=None):
        self.s, self.p, self.d = pair(stride), pair(padding), pair(dilation)
        self.n, self.c, h, wd = x_shape
        self.dout, self.cg, self.kh, self.kw = w.shape
        self.groups, self.method, self.block = groups, method, block
        self.out = geometry.conv_output_size((h, wd), (self.kh, self.kw), self.s, self.p, self.d)
        self.hp, self.wp = h + 2 * self.p[0], wd + 2 * self.p[1]
        oh, ow = self.out
        if method in TILED:
            self._tiled(x_shape, w, dict(TILED_DEFAULTS[method], **(options or {})))
        elif method in ("csr", "escoin"):
            csr = CSRWeights.from_dense(w)
            self.args = [cuda.to_device(a) for a in (
                csr.indptr, csr.offsets((self.hp, self.wp), self.d), csr.values)]
            self.macs = self.n * oh * ow * csr.nnz
        elif method == "bsr":
            bsr = BSRWeights.from_dense(w, block, groups)
            self.args = [cuda.to_device(a) for a in (bsr.indptr, bsr.block_col, bsr.tiles.ravel())]
            self.macs = self.n * oh * ow * bsr.macs_per_pixel()
        elif method == "dense":
            dg = self.dout // groups
            self.args = [cuda.to_device(K.as_f32(w[g * dg:(g + 1) * dg].reshape(dg, -1)))
                         for g in range(groups)]
            self.cols = cuda.device_array((self.cg * self.kh * self.kw, self.n * oh * ow),
                                          dtype=np.float32)
            self.prod = cuda.device_array((dg, self.n * oh * ow), dtype=np.float32)
            self.macs = self.n * self.dout * self.cg * self.kh * self.kw * oh * ow
        else:
            raise ValueError(f"unknown method {method!r}; choose csr, escoin, bsr, dense, "
                             "csr_tiled or bsr_tiled")
        if method not in TILED:
            self.launches = self._classic_launches()

    def _tiled(self, x_shape, w, opts):
        from . import kernels_tiled as KT
        from . import tiling

        oh, ow = self.out
        common = (x_shape, w, self.s, self.p, self.d, self.groups)
        if self.method == "bsr_tiled":
            packed, bsr = tiling.pack_bsr(*common, opts["threads"], opts["width"],
                                          _target_blocks(), opts.get("split_len"))
            self.macs = self.n * oh * ow * bsr.macs_per_pixel()
        else:
            packed, csr = tiling.pack_csr(*common, opts["channels"], opts["lanes"],
                                          opts["width"], _target_blocks(), opts.get("splits"))
            self.macs = self.n * oh * ow * csr.nnz
        self.packed = packed
        # a weightless layer still gets a one-element array: Numba will not pass an empty one
        values = packed.values if packed.values.size else np.zeros(1, np.float32)
        fixed = (cuda.to_device(packed.meta), cuda.to_device(values))
        main = Launch(self.method, KT.get(self.method), packed.grid, packed.threads, fixed)
        size = self.n * self.dout * oh * ow
        self._run = [Launch("zero", KT.get("zero"), min(1024, -(-size // 256)), 256)] \
            if packed.atomic else []
        self._run.append(main)
        self.launches = [(la.name, la.arguments(1 if la.name == "zero" else 2), 0)
                         for la in self._run]

    def _classic_launches(self):
        scalars = {"escoin": 10, "csr": 10, "bsr": 16}
        if self.method in scalars:
            return [(self.method, 5, scalars[self.method])]
        return [("im2col", 2, 10), ("gemm", 3, 0), ("place_group", 2, 1)] * self.groups

    def padded(self, x):
        """The input, padded, on the device (flat for csr and bsr, 4-D for dense)."""
        xp = K.as_f32(_padded(x, self.p))
        return cuda.to_device(xp if self.method == "dense" else xp.ravel())

    def output(self):
        oh, ow = self.out
        shape = (self.n, self.dout, oh, ow) if self.method == "dense" else \
            (self.n * self.dout * oh * ow,)
        return cuda.device_array(shape, dtype=np.float32)

    def launch(self, xp, out) -> None:
        if self.method in TILED:
            for la in self._run:
                la(out) if la.name == "zero" else la(xp, out)
            return
        oh, ow = self.out
        dg = self.dout // self.groups
        grid = (K.blocks(oh * ow), self.n * self.dout)
        common = (self.c, self.cg, self.hp, self.wp, self.dout, dg, oh, ow, self.s[0], self.s[1])
        if self.method == "escoin":
            K.csr_conv[grid, K.THREADS](xp, out, *self.args, *common)
        elif self.method == "csr":
            # small planes get smaller blocks, not idle threads
            threads = min(K.THREADS, 32 * -(-oh * ow // 128))
            K.csr_conv4[(-(-oh * ow // (4 * threads)), self.n * self.dout), threads](
                xp, out, *self.args, *common)
        elif self.method == "bsr":
            K.bsr_conv[grid, K.THREADS](xp, out, *self.args, *common, self.d[0], self.d[1],
                                        self.block[0], self.block[1], self.kh, self.kw)
        else:
            for g in range(self.groups):
                rows, cols = self.cols.shape
                K.im2col[(-(-rows // 16), -(-cols // 16)), (16, 16)](
                    xp, self.cols, g * self.cg, self.cg, self.kh, self.kw, oh, ow, self.s[0],
                    self.s[1], self.d[0], self.d[1])
                K.gemm[(-(-cols // K.GEMM_TILE), -(-dg // K.GEMM_TILE)),
                       (K.GEMM_TILE, K.GEMM_TILE)](self.args[g], self.cols, self.prod)
                K.place_group[(-(-cols // K.THREADS), dg), K.THREADS](self.prod, out, g * dg)


_PLANS: OrderedDict = OrderedDict()
PLAN_CACHE = 16


def cached_plan(x_shape, w, stride, padding, dilation, groups, method="csr", block=(8, 8),
                options=None) -> Conv2dPlan:
    """A plan per (layer, weights' bytes): the second call with the same weights skips
    compressing and uploading them. Weights are keyed by content (a BLAKE2 digest), so
    changing an array in place can never reuse a stale plan."""
    w = K.as_f32(w)
    key = (tuple(x_shape), w.shape, hashlib.blake2b(w.tobytes(), digest_size=16).digest(),
           pair(stride), pair(padding), pair(dilation), groups, method, tuple(block),
           tuple(sorted((options or {}).items())))
    plan = _PLANS.pop(key, None)
    if plan is None:
        plan = Conv2dPlan(x_shape, w, stride, padding, dilation, groups, method, block, options)
    _PLANS[key] = plan
    while len(_PLANS) > PLAN_CACHE:
        _PLANS.popitem(last=False)
    return plan


def conv2d(x, w, stride, padding, dilation, groups, method="csr", block=(8, 8), options=None):
    """Returns (output, MACs done)."""
    plan = cached_plan(x.shape, w, stride, padding, dilation, groups, method, block, options)
    out = plan.output()
    plan.launch(plan.padded(x), out)
    oh, ow = plan.out
    return out.copy_to_host().reshape(plan.n, plan.dout, oh, ow), plan.macs


def conv_transpose2d(x, w, stride, padding, output_padding, dilation, groups):
    s, p, a, d = pair(stride), pair(padding), pair(output_padding), pair(dilation)
    n, cin, h, wd = x.shape
    _, dg, kh, kw = w.shape
    oh, ow = geometry.transposed_output_size((h, wd), (kh, kw), s, p, d, a)
    out = cuda.device_array((n, dg * groups, oh, ow), dtype=np.float32)
    K.transposed_gather[(K.blocks(oh * ow), n * dg * groups), K.THREADS](
        cuda.to_device(K.as_f32(x)), cuda.to_device(K.as_f32(w)), out, cin // groups, dg,
        s[0], s[1], p[0], p[1], d[0], d[1])
    # the gather multiplies only real input cells: (output, tap) pairs that land on one
    useful = geometry.transposed_from_operand((h, wd), (kh, kw), s, p, d, a).useful_macs()
    return out.copy_to_host(), n * dg * groups * (cin // groups) * useful


def pool2d(x, kernel_size, stride, padding, dilation, mode):
    k, s, p, d = pair(kernel_size), pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    oh, ow = geometry.conv_output_size((h, wd), k, s, p, d)
    xp = K.as_f32(_padded(x, p, -np.inf if mode == "max" else 0.0))
    out = cuda.device_array((n, c, oh, ow), dtype=np.float32)
    K.pool[(K.blocks(oh * ow), n * c), K.THREADS](cuda.to_device(xp), out, k[0], k[1], s[0],
                                                  s[1], d[0], d[1], mode == "max")
    return out.copy_to_host()
