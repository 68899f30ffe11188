"""Host side of the CUDA backend: layouts, launches, and the MACs each kernel did."""
from __future__ import annotations

import numpy as np

from .. import geometry
from . import kernels as K
from .formats import BSRWeights, CSRWeights
from .reference import pair

cuda = K.cuda


def _padded(x, p, value=0.0):
    return np.pad(x, ((0, 0), (0, 0), (p[0], p[0]), (p[1], p[1])), constant_values=value)


class Conv2dPlan:
    """A conv2d prepared once: weights compressed and on the device, launch sizes fixed.

    ``launch`` runs only the kernels, so a benchmark times what the GPU does.
    Methods: ``csr`` (four pixels a thread), ``escoin`` (one pixel a thread, the
    baseline), ``bsr`` and ``dense``.
    """

    def __init__(self, x_shape, w, stride, padding, dilation, groups, method="csr",
                 block=(8, 8)):
        self.s, self.p, self.d = pair(stride), pair(padding), pair(dilation)
        self.n, self.c, h, wd = x_shape
        self.dout, self.cg, self.kh, self.kw = w.shape
        self.groups, self.method, self.block = groups, method, block
        self.out = geometry.conv_output_size((h, wd), (self.kh, self.kw), self.s, self.p, self.d)
        self.hp, self.wp = h + 2 * self.p[0], wd + 2 * self.p[1]
        oh, ow = self.out
        if method in ("csr", "escoin"):
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
            raise ValueError(f"unknown method {method!r}; choose csr, escoin, bsr or dense")

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


def conv2d(x, w, stride, padding, dilation, groups, method="csr", block=(8, 8)):
    """Returns (output, MACs done)."""
    plan = Conv2dPlan(x.shape, w, stride, padding, dilation, groups, method, block)
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
