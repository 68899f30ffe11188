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


def conv2d(x, w, stride, padding, dilation, groups, method="csr", block=(8, 8)):
    """Returns (output, MACs done)."""
    s, p, d = pair(stride), pair(padding), pair(dilation)
    n, c, h, wd = x.shape
    dout, cg, kh, kw = w.shape
    oh, ow = geometry.conv_output_size((h, wd), (kh, kw), s, p, d)
    xp = K.as_f32(_padded(x, p))
    hp, wp = xp.shape[2:]
    dg = dout // groups
    if method == "dense":
        return _dense_conv(xp, w, (oh, ow), s, d, groups)
    out = cuda.device_array(n * dout * oh * ow, dtype=np.float32)
    grid = (K.blocks(oh * ow), n * dout)
    if method == "csr":
        csr = CSRWeights.from_dense(w)
        K.csr_conv[grid, K.THREADS](
            cuda.to_device(xp.ravel()), out, cuda.to_device(csr.indptr),
            cuda.to_device(csr.offsets((hp, wp), d)), cuda.to_device(csr.values),
            c, cg, hp, wp, dout, dg, oh, ow, s[0], s[1])
        macs = n * oh * ow * csr.nnz
    elif method == "bsr":
        bsr = BSRWeights.from_dense(w, block, groups)
        K.bsr_conv[grid, K.THREADS](
            cuda.to_device(xp.ravel()), out, cuda.to_device(bsr.indptr),
            cuda.to_device(bsr.block_col), cuda.to_device(bsr.tiles.ravel()),
            c, cg, hp, wp, dout, dg, oh, ow, s[0], s[1], d[0], d[1], block[0], block[1], kh, kw)
        macs = n * oh * ow * bsr.macs_per_pixel()
    else:
        raise ValueError(f"unknown method {method!r}; choose csr, bsr or dense")
    return out.copy_to_host().reshape(n, dout, oh, ow), macs


def _dense_conv(xp, w, out_size, s, d, groups):
    n, c = xp.shape[:2]
    dout, cg, kh, kw = w.shape
    oh, ow = out_size
    dg = dout // groups
    xp_dev = cuda.to_device(xp)
    result = np.empty((n, dout, oh, ow), dtype=np.float32)
    for g in range(groups):
        cols = cuda.device_array((cg * kh * kw, n * oh * ow), dtype=np.float32)
        K.im2col[(-(-cols.shape[0] // 16), -(-cols.shape[1] // 16)), (16, 16)](
            xp_dev, cols, g * cg, cg, kh, kw, oh, ow, s[0], s[1], d[0], d[1])
        a = cuda.to_device(K.as_f32(w[g * dg:(g + 1) * dg].reshape(dg, -1)))
        prod = cuda.device_array((dg, n * oh * ow), dtype=np.float32)
        K.gemm[(-(-prod.shape[1] // K.GEMM_TILE), -(-prod.shape[0] // K.GEMM_TILE)),
               (K.GEMM_TILE, K.GEMM_TILE)](a, cols, prod)
        result[:, g * dg:(g + 1) * dg] = prod.copy_to_host().reshape(dg, n, oh, ow) \
            .transpose(1, 0, 2, 3)
    return result, n * dout * cg * kh * kw * oh * ow


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
