"""Host-side layouts of the tiled kernels (``bsr_tiled``, ``csr_tiled``): pure numpy.

Every scalar a tiled kernel needs, and every integer table, travels in ONE int32 array
(``meta``): a header at fixed positions, then the tables at offsets the header gives.
Numba marshals each array argument into several kernel parameters and each costs host
time at every launch (numba-cuda measures about 4 us an array), so the tiled kernels
take four arrays, ``(x, out, meta, values)``, and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .formats import BSRWeights, CSRWeights

PIX = 4            # output pixels one thread accumulates (registers)
ROWS = 8           # output channels of a BSR block row (bsr_tiled: 8 x PIX accumulators)
SX_BSR = 6144      # floats of shared memory for staged inputs (bsr_tiled)
SW_BSR = 2048      # floats of shared memory for a staged weight tile chunk (bsr_tiled)
SX_CSR = 8192      # floats of shared memory for the staged input tile + halo (csr_tiled)

# header slots, shared by both kernels where the meaning is the same
(H_C, H_CG, H_HP, H_WP, H_D, H_DG, H_OH, H_OW, H_SH, H_SW, H_DH, H_DW, H_KH, H_KW,
 H_TH, H_TW, H_WH, H_WW, H_CC, H_TX, H_TILES, H_A, H_B, H_E, H_F, H_G) = range(26)
HEADER = 26
# bsr_tiled: H_A = bc, H_B = bd, H_E = block rows per group, H_F = items offset,
#            H_G = block_col offset
# csr_tiled: H_A = output channels per block (M), H_B = channel blocks per group,
#            H_E = input channels per split, H_F = chptr offset, H_G = shared-offset offset


@dataclass(frozen=True)
class Tile:
    th: int      # output rows of a spatial tile
    tw: int      # output columns
    wh: int      # staged input rows: (th - 1) * sh + (kh - 1) * dh + 1
    ww: int
    cc: int      # input channels staged at once

    def count(self, out) -> tuple[int, int]:
        """Tiles along x, and in one image."""
        tx = -(-out[1] // self.tw)
        return tx, tx * -(-out[0] // self.th)


def choose_tile(out, k, s, d, pixels, width, channels, capacity, per_channel_weights=0,
                weight_capacity=0) -> Tile:
    """The largest tile of at most ``pixels`` outputs, ``width`` wide, whose input window
    (with its halo) fits ``capacity`` floats of shared memory for as many of ``channels``
    input channels as fit (at least one). Shrinks the tile rather than fail, and fails
    only when one output pixel's window does not fit: the caller names another method."""
    tw = max(1, min(out[1], width))
    th = max(1, min(out[0], pixels // tw))
    while True:
        wh, ww = (th - 1) * s[0] + (k[0] - 1) * d[0] + 1, (tw - 1) * s[1] + (k[1] - 1) * d[1] + 1
        cc = min(channels, capacity // (wh * ww))
        if per_channel_weights:
            cc = min(cc, weight_capacity // per_channel_weights)
        if cc >= 1:
            return Tile(th, tw, wh, ww, cc)
        if th == 1 and tw == 1:
            raise ValueError(f"a {k[0]}x{k[1]} kernel with dilation {d} needs a {wh}x{ww} "
                             "input window, more than the tiled kernels stage; use csr")
        if th > 1:
            th = max(1, th // 2)
        else:
            tw = max(1, tw // 2)


def _header(c, cg, hp, wp, dout, dg, out, s, d, k, tile: Tile, a, b, e, f, g) -> list:
    tx, tiles = tile.count(out)
    return [c, cg, hp, wp, dout, dg, out[0], out[1], s[0], s[1], d[0], d[1], k[0], k[1],
            tile.th, tile.tw, tile.wh, tile.ww, tile.cc, tx, tiles, a, b, e, f, g]


@dataclass(frozen=True)
class Packed:
    """What a tiled plan uploads once: its int32 ``meta``, float32 ``values``, and the
    launch shape. ``atomic``: partial sums are added into a zeroed output (split rows
    or a split channel sum), so the plan zeroes the output first."""
    meta: np.ndarray
    values: np.ndarray
    grid: tuple
    threads: int
    tile: Tile
    atomic: bool


def balance_rows(indptr, split_len: int) -> np.ndarray:
    """Work items ``(row, first tile, end tile, split)``, longest first.

    A block row longer than ``split_len`` tiles becomes several items (their partial
    sums meet in the output through atomic adds). Sorting by length puts the long
    items first in launch order, so the GPU's block scheduler ends with short ones
    (longest-processing-time first) instead of leaving one long row running alone.
    Empty rows stay, as items of no tiles: their outputs must still be written (zeros).
    """
    items = []
    for row in range(len(indptr) - 1):
        a, b = int(indptr[row]), int(indptr[row + 1])
        parts = max(1, -(-(b - a) // split_len))
        step = -(-(b - a) // parts) if b > a else 0
        for i in range(parts):
            lo = a + i * step
            items.append((row, lo, min(b, lo + step) if b > a else a, int(parts > 1)))
    items.sort(key=lambda it: it[1] - it[2])  # stable: longest first, then row order
    return np.asarray(items, dtype=np.int32).reshape(-1, 4)


def pack_bsr(x_shape, w, s, p, d, groups, threads, width, target_blocks=0,
             split_len=None) -> tuple[Packed, BSRWeights]:
    """bsr_tiled's layout: 8-channel block rows x spatial tiles, rows balanced.

    ``split_len`` (tiles per item) defaults to twice the mean row, or less when there
    are fewer blocks than ``target_blocks`` (about two per SM) to keep the GPU full.
    """
    n, c, h, wd = x_shape
    dout, cg, kh, kw = w.shape
    bsr = BSRWeights.from_dense(w, (ROWS, 8), groups)
    bd, bc = bsr.block
    from .. import geometry
    out = geometry.conv_output_size((h, wd), (kh, kw), s, p, d)
    hp, wp = h + 2 * p[0], wd + 2 * p[1]
    tile = choose_tile(out, (kh, kw), s, d, PIX * threads, width, bc, SX_BSR,
                       kh * kw * ROWS, SW_BSR)
    _, tiles = tile.count(out)
    rows = len(bsr.indptr) - 1
    lengths = np.diff(bsr.indptr)
    if split_len is None:
        split_len = max(1, 2 * -(-int(lengths.sum()) // max(1, rows)))
        if target_blocks and n * tiles * rows < target_blocks:
            split_len = max(1, -(-int(lengths.sum()) * n * tiles // target_blocks))
    items = balance_rows(bsr.indptr, split_len)
    # tiles as (tile, bc, kh, kw, 8): a staged chunk of input channels is contiguous and
    # the 8 output channels of one tap are adjacent (one broadcast read each)
    t = np.zeros((len(bsr.block_col), bc, kh, kw, ROWS), np.float32)
    t[..., :bd] = bsr.tiles.transpose(0, 2, 3, 4, 1)
    header = _header(c, cg, hp, wp, dout, dout // groups, out, s, d, (kh, kw), tile, bc, bd,
                     rows // groups, HEADER, HEADER + items.size)
    meta = np.concatenate([np.asarray(header, np.int32), items.ravel(), bsr.block_col])
    packed = Packed(meta.astype(np.int32), t.ravel(), (n * tiles, len(items)), threads, tile,
                    bool(items[:, 3].any()))
    return packed, bsr


def pack_csr(x_shape, w, s, p, d, groups, channels, lanes, width, target_blocks=0,
             splits=None) -> tuple[Packed, CSRWeights]:
    """csr_tiled's layout: ``channels`` output channels (one warp of ``lanes`` threads
    each) share one staged input tile; the input-channel sum is split ``splits`` ways
    (default: enough to reach ``target_blocks``) when a layer has too few blocks.

    Offsets are into the staged window: ``(c % cc) * wh * ww + ky * dh * ww + kx * dw``,
    and ``chptr[o, c]`` is where output channel o's entries for input channel c begin,
    so a stage of channels ``[c0, c0 + cc)`` walks one contiguous run per channel.
    """
    n, c, h, wd = x_shape
    dout, cg, kh, kw = w.shape
    from .. import geometry
    out = geometry.conv_output_size((h, wd), (kh, kw), s, p, d)
    hp, wp = h + 2 * p[0], wd + 2 * p[1]
    dg = dout // groups
    m = max(1, min(channels, dg))
    tile = choose_tile(out, (kh, kw), s, d, PIX * lanes, width, cg, SX_CSR)
    _, tiles = tile.count(out)
    per_group = -(-dg // m)
    blocks = n * tiles * per_group * groups
    if splits is None:
        splits = 1
        if target_blocks and blocks < target_blocks:
            splits = min(-(-target_blocks // blocks), cg)
    splits = max(1, min(splits, cg))
    per_split = -(-cg // splits)
    cc = min(tile.cc, per_split)
    per_split = -(-per_split // cc) * cc           # a stage never straddles two splits
    splits = -(-cg // per_split)
    tile = Tile(tile.th, tile.tw, tile.wh, tile.ww, cc)
    csr = CSRWeights.from_dense(w)
    win = tile.wh * tile.ww
    soff = (csr.channel % cc) * win + csr.ky * d[0] * tile.ww + csr.kx * d[1]
    rows = np.repeat(np.arange(dout), np.diff(csr.indptr))
    chptr = np.zeros((dout, cg + 1), np.int64)
    np.add.at(chptr, (rows, csr.channel + 1), 1)
    chptr = np.cumsum(chptr, axis=1) + csr.indptr[:-1, None]
    header = _header(c, cg, hp, wp, dout, dg, out, s, d, (kh, kw), tile, m, per_group,
                     per_split, HEADER, HEADER + chptr.size)
    meta = np.concatenate([np.asarray(header, np.int64), chptr.ravel(), soff])
    packed = Packed(meta.astype(np.int32), csr.values, (n * tiles, per_group * groups, splits),
                    m * lanes, tile, splits > 1)
    return packed, csr
