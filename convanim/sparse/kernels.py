"""Numba CUDA kernels. Import only through :func:`convanim.sparse.backend.cuda_module`,
which fixes the GPU-or-simulator mode first.

- ``csr_conv4``: direct sparse convolution over CSR weights (Escoin's format): a block
  is one output channel and 4 x threads output pixels; the channel's CSR row (values and
  precomputed offsets into the padded input) is staged through shared memory, and each
  thread does four pixels, so a weight read from shared memory feeds four multiply-adds
  and four independent input loads are in flight. Zero weights never load.
- ``csr_conv``: Escoin's original design, kept as the benchmark's baseline: one thread
  per output pixel, every non-zero weight one load and one multiply-add.
- ``bsr_conv``: (COUT, CIN) block-sparse weights; a thread walks the non-zero tiles
  of its output channel's block row only.
- ``transposed_gather``: conv_transpose2d as a gather over the real input cells: a
  tap whose source falls between cells (an inserted zero) is skipped, never multiplied.
- ``im2col`` + ``gemm`` (+ ``place_group``): the dense baseline, shared-memory tiled.
- ``avg_pool`` / ``max_pool``.
"""
from __future__ import annotations

import math
import os

import numpy as np
from numba import cuda, float32, int32

TILE = 128       # CSR entries staged in shared memory at a time
#: Threads per block of the pixel-parallel kernels; the simulator runs each thread as a
#: Python thread, so it gets small blocks.
THREADS = 32 if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else 128
GEMM_TILE = 16
@cuda.jit(device=True, cache=True)
def stage_row(vals, offs, values, offsets, chunk, end):
    """Copy up to TILE entries of a CSR row, from ``chunk`` on, into shared memory."""
    t = cuda.threadIdx.x
    while t < TILE and chunk + t < end:
        vals[t] = values[chunk + t]
        offs[t] = offsets[chunk + t]
        t += cuda.blockDim.x


@cuda.jit(cache=True)
def csr_conv4(xp, out, indptr, offsets, values, C, Cg, Hp, Wp, D, Dg, OH, OW, sh, sw):
    """Escoin's kernel with four output pixels per thread (``p``, ``p + B``, ``p + 2B``,
    ``p + 3B`` for B threads): each staged weight is read once for four multiply-adds,
    and four independent loads are in flight instead of one."""
    vals = cuda.shared.array(TILE, float32)
    offs = cuda.shared.array(TILE, int32)
    nd = cuda.blockIdx.y
    n = nd // D
    d = nd % D
    g = d // Dg
    step = cuda.blockDim.x
    p0 = cuda.blockIdx.x * 4 * step + cuda.threadIdx.x
    plane = ((n * C + g * Cg) * Hp) * Wp
    last = OH * OW
    # a pixel past the end reads pixel 0's window (always in bounds) and is not written
    q = p0 if p0 < last else 0
    b0 = plane + (q // OW) * sh * Wp + (q % OW) * sw
    q = p0 + step if p0 + step < last else 0
    b1 = plane + (q // OW) * sh * Wp + (q % OW) * sw
    q = p0 + 2 * step if p0 + 2 * step < last else 0
    b2 = plane + (q // OW) * sh * Wp + (q % OW) * sw
    q = p0 + 3 * step if p0 + 3 * step < last else 0
    b3 = plane + (q // OW) * sh * Wp + (q % OW) * sw
    start = indptr[d]
    end = indptr[d + 1]
    a0 = float32(0.0)
    a1 = float32(0.0)
    a2 = float32(0.0)
    a3 = float32(0.0)
    for chunk in range(start, end, TILE):
        stage_row(vals, offs, values, offsets, chunk, end)
        cuda.syncthreads()
        for j in range(min(TILE, end - chunk)):
            v = vals[j]
            o = offs[j]
            a0 += v * xp[b0 + o]
            a1 += v * xp[b1 + o]
            a2 += v * xp[b2 + o]
            a3 += v * xp[b3 + o]
        cuda.syncthreads()
    base = nd * last
    if p0 < last:
        out[base + p0] = a0
    if p0 + step < last:
        out[base + p0 + step] = a1
    if p0 + 2 * step < last:
        out[base + p0 + 2 * step] = a2
    if p0 + 3 * step < last:
        out[base + p0 + 3 * step] = a3


@cuda.jit(cache=True)
def spin(microseconds):
    """Keeps the GPU busy while a benchmark queues launches behind it."""
    for _ in range(microseconds):
        cuda.nanosleep(1000)


@cuda.jit(cache=True)
def csr_conv(xp, out, indptr, offsets, values, C, Cg, Hp, Wp, D, Dg, OH, OW, sh, sw):
    vals = cuda.shared.array(TILE, float32)
    offs = cuda.shared.array(TILE, int32)
    nd = cuda.blockIdx.y
    n = nd // D
    d = nd % D
    pix = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    oy = pix // OW
    ox = pix % OW
    g = d // Dg
    base = ((n * C + g * Cg) * Hp + oy * sh) * Wp + ox * sw
    start = indptr[d]
    end = indptr[d + 1]
    acc = float32(0.0)
    for chunk in range(start, end, TILE):
        stage_row(vals, offs, values, offsets, chunk, end)
        cuda.syncthreads()
        if pix < OH * OW:
            for j in range(min(TILE, end - chunk)):
                acc += vals[j] * xp[base + offs[j]]
        cuda.syncthreads()
    if pix < OH * OW:
        out[nd * OH * OW + pix] = acc


@cuda.jit(cache=True)
def bsr_conv(xp, out, indptr, block_col, tiles, C, Cg, Hp, Wp, D, Dg, OH, OW, sh, sw,
             dh, dw, bd, bc, kh, kw):
    nd = cuda.blockIdx.y
    n = nd // D
    d = nd % D
    pix = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if pix >= OH * OW:
        return
    oy = pix // OW
    ox = pix % OW
    g = d // Dg
    dl = d % Dg  # output channel within the group: the block rows are per group
    row = (g * ((Dg + bd - 1) // bd)) + dl // bd
    local = dl % bd
    acc = float32(0.0)
    for t in range(indptr[row], indptr[row + 1]):
        for cl in range(bc):
            c = block_col[t] * bc + cl
            if c < Cg:
                plane = ((n * C + g * Cg + c) * Hp + oy * sh) * Wp + ox * sw
                for ky in range(kh):
                    for kx in range(kw):
                        acc += tiles[(((t * bd + local) * bc + cl) * kh + ky) * kw + kx] * \
                            xp[plane + ky * dh * Wp + kx * dw]
    out[nd * OH * OW + pix] = acc


@cuda.jit(cache=True)
def transposed_gather(x, w, out, Cg, Dg, sh, sw, ph, pw, dh, dw):
    n, co, pix = cuda.blockIdx.y // out.shape[1], cuda.blockIdx.y % out.shape[1], \
        cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    OH, OW = out.shape[2], out.shape[3]
    if pix >= OH * OW:
        return
    y = pix // OW
    xo = pix % OW
    g = co // Dg
    col = co % Dg
    H, W = x.shape[2], x.shape[3]
    acc = float32(0.0)
    for ky in range(w.shape[2]):
        ty = y + ph - ky * dh
        if ty < 0 or ty % sh != 0 or ty // sh >= H:
            continue  # lands on padding or an inserted zero: nothing to multiply
        iy = ty // sh
        for kx in range(w.shape[3]):
            tx = xo + pw - kx * dw
            if tx < 0 or tx % sw != 0 or tx // sw >= W:
                continue
            ix = tx // sw
            for ci in range(g * Cg, (g + 1) * Cg):
                acc += x[n, ci, iy, ix] * w[ci, col, ky, kx]
    out[n, co, y, xo] = acc


@cuda.jit(cache=True)
def im2col(xp, cols, c0, Cg, kh, kw, OH, OW, sh, sw, dh, dw):
    """cols[(c*kh + ky)*kw + kx, n*OH*OW + pix] for the channels c0 .. c0+Cg of a group."""
    row, colidx = cuda.grid(2)
    if row >= cols.shape[0] or colidx >= cols.shape[1]:
        return
    c = row // (kh * kw)
    ky = row // kw % kh
    kx = row % kw
    n = colidx // (OH * OW)
    pix = colidx % (OH * OW)
    cols[row, colidx] = xp[n, c0 + c, (pix // OW) * sh + ky * dh, (pix % OW) * sw + kx * dw]


@cuda.jit(cache=True)
def gemm(a, b, c):
    """c = a @ b with shared-memory tiles."""
    sa = cuda.shared.array((GEMM_TILE, GEMM_TILE), float32)
    sb = cuda.shared.array((GEMM_TILE, GEMM_TILE), float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row = cuda.blockIdx.y * GEMM_TILE + ty
    col = cuda.blockIdx.x * GEMM_TILE + tx
    acc = float32(0.0)
    for t in range((a.shape[1] + GEMM_TILE - 1) // GEMM_TILE):
        k = t * GEMM_TILE
        sa[ty, tx] = a[row, k + tx] if row < a.shape[0] and k + tx < a.shape[1] else 0.0
        sb[ty, tx] = b[k + ty, col] if k + ty < b.shape[0] and col < b.shape[1] else 0.0
        cuda.syncthreads()
        for j in range(GEMM_TILE):
            acc += sa[ty, j] * sb[j, tx]
        cuda.syncthreads()
    if row < c.shape[0] and col < c.shape[1]:
        c[row, col] = acc


@cuda.jit(cache=True)
def place_group(prod, out, d0):
    """out[n, d0 + r, y, x] = prod[r, n*OH*OW + y*OW + x]: a group's GEMM into NCHW."""
    col = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    r = cuda.blockIdx.y
    plane = out.shape[2] * out.shape[3]
    if col < prod.shape[1]:
        n, pix = col // plane, col % plane
        out[n, d0 + r, pix // out.shape[3], pix % out.shape[3]] = prod[r, col]


@cuda.jit(cache=True)
def pool(xp, out, kh, kw, sh, sw, dh, dw, is_max):
    """Over a padded input: zeros for average (count_include_pad), -inf for max."""
    nc = cuda.blockIdx.y
    n, c = nc // out.shape[1], nc % out.shape[1]
    pix = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    OH, OW = out.shape[2], out.shape[3]
    if pix >= OH * OW:
        return
    oy, ox = pix // OW, pix % OW
    acc = -math.inf if is_max else 0.0
    for ky in range(kh):
        for kx in range(kw):
            v = xp[n, c, oy * sh + ky * dh, ox * sw + kx * dw]
            acc = max(acc, v) if is_max else acc + v
    out[n, c, oy, ox] = acc if is_max else acc / (kh * kw)


def blocks(count: int) -> int:
    return max(1, (count + THREADS - 1) // THREADS)


def as_f32(a) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=np.float32)
