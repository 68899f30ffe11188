"""Compressed weights: CSR per output channel (Escoin) and (COUT, CIN) block sparsity.

Column indices are stored as offsets into the *padded* input of one image and group,
``c*Hp*Wp + ky*dh*Wp + kx*dw``, computed once when the layout is known, so the
kernel's inner loop is one load and one multiply-add per non-zero weight.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CSRWeights:
    """Non-zero weights of each output channel over (c, ky, kx) of its group."""

    shape: tuple            # (D, C/groups, kh, kw)
    indptr: np.ndarray      # (D + 1,) int32
    channel: np.ndarray     # (nnz,) int32: c within the group
    ky: np.ndarray          # (nnz,) int32
    kx: np.ndarray          # (nnz,) int32
    values: np.ndarray      # (nnz,) float32

    @classmethod
    def from_dense(cls, w) -> "CSRWeights":
        w = np.asarray(w, dtype=np.float32)
        d, c, kh, kw = w.shape
        rows = w.reshape(d, -1)
        nz = rows != 0
        flat = np.nonzero(nz)[1]
        indptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int32)
        return cls(w.shape, indptr, (flat // (kh * kw)).astype(np.int32),
                   (flat // kw % kh).astype(np.int32), (flat % kw).astype(np.int32),
                   rows[nz].astype(np.float32))

    @property
    def nnz(self) -> int:
        return int(self.values.size)

    def offsets(self, padded: tuple, dilation: tuple) -> np.ndarray:
        """Column offsets into one group's padded input of size ``padded`` = (Hp, Wp)."""
        hp, wp = padded
        return (self.channel * hp * wp + self.ky * dilation[0] * wp
                + self.kx * dilation[1]).astype(np.int32)

    def to_dense(self) -> np.ndarray:
        w = np.zeros(self.shape, dtype=np.float32)
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.indptr))
        w[rows, self.channel, self.ky, self.kx] = self.values
        return w


@dataclass(frozen=True)
class BSRWeights:
    """Dense (block, block) tiles over (output channel, input channel); zero tiles dropped."""

    shape: tuple            # (D, C/groups, kh, kw)
    block: tuple            # (bd, bc)
    groups: int
    indptr: np.ndarray      # (ceil(D/bd) + 1,) int32: tiles of each block row
    block_col: np.ndarray   # (tiles,) int32: block column (input-channel block) of a tile
    tiles: np.ndarray       # (tiles, bd, bc, kh, kw) float32

    @classmethod
    def from_dense(cls, w, block=(8, 8), groups: int = 1) -> "BSRWeights":
        """Tiles per group: group g's output channels form block rows of their own."""
        w = np.asarray(w, dtype=np.float32)
        d, c, kh, kw = w.shape
        bd, bc = block
        dg = d // groups
        per_group, cols = -(-dg // bd), -(-c // bc)
        rows = groups * per_group
        padded = np.zeros((groups, per_group * bd, cols * bc, kh, kw), dtype=np.float32)
        padded[:, :dg, :c] = w.reshape(groups, dg, c, kh, kw)
        blocks = padded.reshape(rows, bd, cols, bc, kh, kw).transpose(0, 2, 1, 3, 4, 5)
        keep = np.abs(blocks).reshape(rows, cols, -1).max(axis=2) > 0
        indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32)
        return cls(w.shape, (bd, bc), groups, indptr, np.nonzero(keep)[1].astype(np.int32),
                   np.ascontiguousarray(blocks[keep]))

    def macs_per_pixel(self) -> int:
        """MACs one output pixel of every channel costs: real channels of the kept tiles."""
        d, c, kh, kw = self.shape
        bd, bc = self.block
        groups = self.groups
        dg, per_group = d // groups, (len(self.indptr) - 1) // groups
        rows = np.repeat(np.arange(len(self.indptr) - 1), np.diff(self.indptr))
        out_rows = np.minimum(bd, dg - rows % per_group * bd)
        in_cols = np.minimum(bc, c - self.block_col * bc)
        return int((out_rows * in_cols).sum()) * kh * kw

    @property
    def density(self) -> float:
        """Fraction of the tiles kept."""
        rows, cols = len(self.indptr) - 1, -(-self.shape[1] // self.block[1])
        return len(self.block_col) / (rows * cols)


def block_mask(w, sparsity: float, block=(8, 8)) -> np.ndarray:
    """Zero the lowest-variance (block, block) tiles of ``w`` up to ``sparsity`` (seed 003).

    Tiles over (output channel, input channel) are ranked by the variance of their
    weights; the lowest go first, but never the last tile of a block row or of a
    block column, so no output channel loses every input and no input is ignored.
    Returns the boolean keep-mask of ``w``'s shape.
    """
    w = np.asarray(w, dtype=np.float32)
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    d, c = w.shape[:2]
    bd, bc = block
    rows, cols = -(-d // bd), -(-c // bc)
    variance = np.full((rows, cols), np.inf)
    for r in range(rows):
        for q in range(cols):
            variance[r, q] = w[r * bd:(r + 1) * bd, q * bc:(q + 1) * bc].var()
    keep = np.ones((rows, cols), dtype=bool)
    target = int(np.floor(sparsity * rows * cols))
    removed = 0
    for flat in np.argsort(variance, axis=None, kind="stable"):
        if removed >= target:
            break
        r, q = divmod(int(flat), cols)
        if keep[r].sum() > 1 and keep[:, q].sum() > 1:
            keep[r, q] = False
            removed += 1
    mask = np.repeat(np.repeat(keep, bd, axis=0), bc, axis=1)[:d, :c]
    return np.broadcast_to(mask[:, :, None, None], w.shape).copy()
