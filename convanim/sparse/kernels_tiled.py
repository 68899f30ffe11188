"""The tiled kernels (round two), compiled with explicit signatures. Import only through
:func:`convanim.sparse.backend.cuda_module`, like ``kernels``.

Both take ``(x, out, meta, values)``: the padded input and the output, flat; every
scalar and integer table packed in ``meta`` (layout: :mod:`convanim.sparse.tiling`);
the non-zero weights. Neither calls a device function, so both compile to PTX on a
machine without a GPU (``numba.cuda.compile_ptx``), where ``ptxas -v`` reports their
registers and spills.

- ``bsr_tiled``: a thread block is one block row of 8 output channels (or a piece of
  a long one) x one spatial tile. For each non-zero 8x8 tile it stages the tile's
  weights and the 8 input channels' window (tile + halo) in shared memory once; each
  thread then accumulates 8 channels x 4 pixels in registers, so one staged input
  value feeds 8 multiply-adds and one broadcast weight feeds 4.
- ``csr_tiled``: a thread block is one spatial tile x M output channels of one group
  (a warp each) x one slice of the input channels. The input tile + halo is staged in
  shared memory once for all M channels; each thread walks its channel's non-zero
  weights for the staged input channels and accumulates 4 pixels. Slices (the split
  input-channel sum, for layers too small to fill the GPU) add into a zeroed output.
"""
from __future__ import annotations

from numba import cuda, float32

from .tiling import (H_A, H_B, H_C, H_CC, H_CG, H_D, H_DG, H_DH, H_DW, H_E, H_F, H_G, H_HP,
                     H_KH, H_KW, H_OH, H_OW, H_SH, H_SW, H_TH, H_TILES, H_TW, H_TX, H_WH,
                     H_WP, H_WW, SW_BSR, SX_BSR, SX_CSR)

SIGNATURE = "void(float32[::1], float32[::1], int32[::1], float32[::1])"


def _bsr_tiled(xp, out, meta, wts):
    sx = cuda.shared.array(SX_BSR, float32)
    sw = cuda.shared.array(SW_BSR, float32)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    C, Cg, Hp, Wp = meta[H_C], meta[H_CG], meta[H_HP], meta[H_WP]
    D, Dg, OH, OW = meta[H_D], meta[H_DG], meta[H_OH], meta[H_OW]
    sh, sw_, dh, dw = meta[H_SH], meta[H_SW], meta[H_DH], meta[H_DW]
    kh, kw, TH, TW = meta[H_KH], meta[H_KW], meta[H_TH], meta[H_TW]
    WH, WW, CC, TX = meta[H_WH], meta[H_WW], meta[H_CC], meta[H_TX]
    tiles_img, bc, bd, per_group = meta[H_TILES], meta[H_A], meta[H_B], meta[H_E]
    it = meta[H_F] + 4 * cuda.blockIdx.y
    row, t0, t1, split = meta[it], meta[it + 1], meta[it + 2], meta[it + 3]
    bcol = meta[H_G]
    n = cuda.blockIdx.x // tiles_img
    tile = cuda.blockIdx.x % tiles_img
    oy0 = (tile // TX) * TH
    ox0 = (tile % TX) * TW
    g = row // per_group
    d0 = (row % per_group) * 8
    win = WH * WW
    npix = TH * TW
    slanes = 32 if nt >= 32 else nt   # staging: rows of the window, a warp's lanes along each
    srows = nt // slanes
    srow = tid // slanes
    slane = tid % slanes
    # shared-window origin of each of this thread's four pixels (a pixel past the tile
    # reads pixel 0's window, always staged, and is not written)
    q = tid if tid < npix else 0
    s0 = (q // TW) * sh * WW + (q % TW) * sw_
    q = tid + nt if tid + nt < npix else 0
    s1 = (q // TW) * sh * WW + (q % TW) * sw_
    q = tid + 2 * nt if tid + 2 * nt < npix else 0
    s2 = (q // TW) * sh * WW + (q % TW) * sw_
    q = tid + 3 * nt if tid + 3 * nt < npix else 0
    s3 = (q // TW) * sh * WW + (q % TW) * sw_
    acc = cuda.local.array(32, float32)  # [channel * 4 + pixel]; constant indices: registers
    for i in range(32):
        acc[i] = float32(0.0)
    plane = n * C + g * Cg
    taps = kh * kw
    for t in range(t0, t1):
        cfirst = meta[bcol + t] * bc
        for c0 in range(0, bc, CC):
            cc = min(CC, bc - c0)
            cuda.syncthreads()  # the previous stage is no longer read
            wbase = (t * bc + c0) * taps * 8
            for i in range(tid, cc * taps * 8, nt):
                sw[i] = wts[wbase + i]
            # a row of the window per group of ``lanes`` threads: one division a row,
            # not one an element, and consecutive threads read consecutive addresses
            for rr in range(srow if srow < srows else cc * WH, cc * WH, srows):
                cl = rr // WH
                y = oy0 * sh + rr - cl * WH
                c = cfirst + c0 + cl
                src = ((plane + c) * Hp + y) * Wp + ox0 * sw_
                inside = c < Cg and y < Hp
                for xx in range(slane, WW, slanes):
                    v = float32(0.0)
                    if inside and ox0 * sw_ + xx < Wp:
                        v = xp[src + xx]
                    sx[rr * WW + xx] = v
            cuda.syncthreads()
            for cl in range(cc):
                for ky in range(kh):
                    for kx in range(kw):
                        o = cl * win + ky * dh * WW + kx * dw
                        x0 = sx[s0 + o]
                        x1 = sx[s1 + o]
                        x2 = sx[s2 + o]
                        x3 = sx[s3 + o]
                        wb = ((cl * kh + ky) * kw + kx) * 8
                        for r in range(8):
                            wv = sw[wb + r]
                            acc[4 * r] += wv * x0
                            acc[4 * r + 1] += wv * x1
                            acc[4 * r + 2] += wv * x2
                            acc[4 * r + 3] += wv * x3
    for k in range(4):
        p = tid + k * nt
        oy = oy0 + p // TW
        ox = ox0 + p % TW
        if p < npix and oy < OH and ox < OW:
            for r in range(8):
                if r < bd and d0 + r < Dg:
                    at = ((n * D + g * Dg + d0 + r) * OH + oy) * OW + ox
                    if split:
                        cuda.atomic.add(out, at, acc[4 * r + k])
                    else:
                        out[at] = acc[4 * r + k]


def _csr_tiled(xp, out, meta, vals):
    sx = cuda.shared.array(SX_CSR, float32)
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    C, Cg, Hp, Wp = meta[H_C], meta[H_CG], meta[H_HP], meta[H_WP]
    D, Dg, OH, OW = meta[H_D], meta[H_DG], meta[H_OH], meta[H_OW]
    sh, sw_ = meta[H_SH], meta[H_SW]
    TH, TW = meta[H_TH], meta[H_TW]
    WH, WW, CC, TX = meta[H_WH], meta[H_WW], meta[H_CC], meta[H_TX]
    tiles_img, M, per_group, per_split = meta[H_TILES], meta[H_A], meta[H_B], meta[H_E]
    chptr, soff = meta[H_F], meta[H_G]
    lanes = nt // M
    m = tid // lanes
    lane = tid - m * lanes
    n = cuda.blockIdx.x // tiles_img
    tile = cuda.blockIdx.x % tiles_img
    oy0 = (tile // TX) * TH
    ox0 = (tile % TX) * TW
    g = cuda.blockIdx.y // per_group
    dl = (cuda.blockIdx.y % per_group) * M + m
    d = g * Dg + dl
    have = dl < Dg
    c_lo = cuda.blockIdx.z * per_split
    c_hi = min(Cg, c_lo + per_split)
    win = WH * WW
    npix = TH * TW
    q = lane if lane < npix else 0
    s0 = (q // TW) * sh * WW + (q % TW) * sw_
    q = lane + lanes if lane + lanes < npix else 0
    s1 = (q // TW) * sh * WW + (q % TW) * sw_
    q = lane + 2 * lanes if lane + 2 * lanes < npix else 0
    s2 = (q // TW) * sh * WW + (q % TW) * sw_
    q = lane + 3 * lanes if lane + 3 * lanes < npix else 0
    s3 = (q // TW) * sh * WW + (q % TW) * sw_
    a0 = float32(0.0)
    a1 = float32(0.0)
    a2 = float32(0.0)
    a3 = float32(0.0)
    plane = n * C + g * Cg
    row = chptr + (d if have else 0) * (Cg + 1)
    for c0 in range(c_lo, c_hi, CC):
        c1 = min(c0 + CC, c_hi)
        cuda.syncthreads()
        # one window row per warp (channel group) at a time, lanes along the row
        for rr in range(m, (c1 - c0) * WH, M):
            cl = rr // WH
            y = oy0 * sh + rr - cl * WH
            src = ((plane + c0 + cl) * Hp + y) * Wp + ox0 * sw_
            for xx in range(lane, WW, lanes):
                v = float32(0.0)
                if y < Hp and ox0 * sw_ + xx < Wp:
                    v = xp[src + xx]
                sx[rr * WW + xx] = v
        cuda.syncthreads()
        if have:
            for j in range(meta[row + c0], meta[row + c1]):
                v = vals[j]
                o = meta[soff + j]
                a0 += v * sx[s0 + o]
                a1 += v * sx[s1 + o]
                a2 += v * sx[s2 + o]
                a3 += v * sx[s3 + o]
    if not have:
        return
    split = cuda.gridDim.z > 1
    base = (n * D + d) * OH * OW
    for k in range(4):
        p = lane + k * lanes
        oy = oy0 + p // TW
        ox = ox0 + p % TW
        if p < npix and oy < OH and ox < OW:
            a = a0 if k == 0 else (a1 if k == 1 else (a2 if k == 2 else a3))
            if split:
                cuda.atomic.add(out, base + oy * OW + ox, a)
            else:
                out[base + oy * OW + ox] = a


def _zero(out):
    """The output of a plan whose partial sums meet by atomic adds starts at zero."""
    i = cuda.grid(1)
    while i < out.size:
        out[i] = float32(0.0)
        i += cuda.gridsize(1)


#: each kernel's one compiled signature: the arrays a launch must pass, in order
SIGNATURES = {"bsr_tiled": SIGNATURE, "csr_tiled": SIGNATURE, "zero": "void(float32[::1])"}
_compiled: dict = {}


def get(name: str):
    """The compiled kernel ``name``: compiled (or loaded from Numba's disk cache) on first
    use, with its explicit signature, so a launch never infers types from arguments and
    importing this module compiles nothing."""
    if name not in _compiled:
        _compiled[name] = cuda.jit(SIGNATURES[name], cache=True)(globals()["_" + name])
    return _compiled[name]
