"""The geometry of a stack of layers: sizes, receptive fields, and what each node reads,
each layer an :class:`~convanim.geometry.Axis` of the conv geometry."""
from __future__ import annotations

from dataclasses import dataclass

from ..lazy import np
from .conv import Axis, Pair, mode_index


@dataclass(frozen=True)
class StackLayer:
    """One layer of a 1-D stack: kernel, stride, dilation, padding before and after."""

    k: int
    s: int = 1
    d: int = 1
    pad_lo: int = 0
    pad_hi: int = 0
    pool: bool = False
    #: What its padding cells hold (PADDING_MODES): zeros, or copies of input cells.
    mode: str = "zeros"

    def axis(self, n: int) -> Axis:
        """This layer as a direct conv over an input of ``n`` cells."""
        return Axis(n=n, k=self.k, stride=self.s, dilation=self.d, pad_lo=self.pad_lo,
                    pad_hi=self.pad_hi, mode=self.mode)

    def copies(self, n: int, pos) -> np.ndarray:
        """The input cell each position ``pos`` (input-relative, padding outside ``[0, n)``)
        holds: itself inside, the copied cell in reflect/replicate/circular padding, -1 for
        a zero of padding."""
        return mode_index(pos, n, self.mode)


def stack_sizes(n: int, layers: list[StackLayer]) -> list[int]:
    """Cells of the input and of each layer's output."""
    sizes = [n]
    for layer in layers:
        sizes.append(layer.axis(sizes[-1]).out)
    return sizes


def receptive_fields(layers: list[StackLayer]) -> list[dict]:
    """Per layer, what the receptive-field calculators give: ``size`` (input cells one
    output reads, holes and padding included), ``jump`` (input cells between neighbouring
    outputs) and ``start`` (centre of output 0's field, input cell 0 spanning [0, 1]):

    ``r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}``, ``j_l = j_{l-1} s_l``,
    ``start_l = start_{l-1} + ((d_l (k_l - 1)) / 2 - pad_l) j_{l-1}``.
    """
    r, j, start = 1, 1, 0.5
    out = []
    for layer in layers:
        r += (layer.k - 1) * layer.d * j
        start += (layer.d * (layer.k - 1) / 2 - layer.pad_lo) * j
        j *= layer.s
        out.append({"size": r, "jump": j, "start": start})
    return out


def stack_reads(n: int, layers: list[StackLayer], level: int, out: int,
                through_padding: bool = False) -> list[list[int]]:
    """The cells output ``out`` of layer ``level`` (1-based) depends on, level by level.

    Entry ``l`` lists the positions at level ``l`` (0 = the input), in that level's
    own cell indices; a position below 0 or beyond the level's size is padding.
    Walks the index map of every layer back from the output, so it holds exactly the
    taps a frame highlights. A padding position of a layer with a padding mode holds a
    copy of a cell of its input: that cell is listed too, and the walk goes on from it.
    ``through_padding`` follows padding positions back too, as if every level were
    unbounded (and padding held zeros): the field the calculators' numbers describe.
    """
    sizes = stack_sizes(n, layers)
    reads: list[list[int]] = [[] for _ in range(level + 1)]
    reads[level] = [out]
    for lvl in range(level, 0, -1):
        layer = layers[lvl - 1]
        inside = [o for o in reads[lvl] if through_padding or 0 <= o < sizes[lvl]]
        pos = {o * layer.s + t * layer.d - layer.pad_lo for o in inside for t in range(layer.k)}
        if not through_padding and layer.mode != "zeros":
            pos |= {int(c) for c in layer.copies(sizes[lvl - 1], sorted(pos))}
        reads[lvl - 1] = sorted(pos)
    return reads


def stack_plane_sizes(shape: Pair, rows: list[StackLayer], cols: list[StackLayer]) -> list[Pair]:
    """``(h, w)`` of the input and of each layer's output of a 2-D stack, given per axis:
    ``rows[l]`` is layer ``l`` along the height, ``cols[l]`` along the width."""
    return list(zip(stack_sizes(shape[0], rows), stack_sizes(shape[1], cols)))


def stack_plane_reads(shape: Pair, rows: list[StackLayer], cols: list[StackLayer], level: int,
                      out: Pair) -> list[list[Pair]]:
    """:func:`stack_reads` of a 2-D stack: the ``(y, x)`` cells output ``out`` of layer
    ``level`` depends on, level by level (padding positions outside ``[0, h) x [0, w)``;
    a copy's source cell listed beside it). Each layer's window is the outer product of
    its two axes' tap positions; a padding cell copies the cell its two axes' index maps
    give (PyTorch pads each axis in turn, so the copy is separable)."""
    sizes = stack_plane_sizes(shape, rows, cols)
    reads: list[set] = [set() for _ in range(level + 1)]
    reads[level] = {tuple(out)}
    for lvl in range(level, 0, -1):
        ry, rx = rows[lvl - 1], cols[lvl - 1]
        (h, w), (h0, w0) = sizes[lvl], sizes[lvl - 1]
        ay, ax = ry.axis(h0), rx.axis(w0)
        pos = set()
        for y, x in reads[lvl]:
            if 0 <= y < h and 0 <= x < w:
                ys = ay.positions()[y] - ry.pad_lo
                xs = ax.positions()[x] - rx.pad_lo
                pos |= {(int(a), int(b)) for a in ys for b in xs}
        if ry.mode != "zeros":
            cy = {p[0]: int(c) for p, c in zip(pos, ry.copies(h0, [p[0] for p in pos]))}
            cx = {p[1]: int(c) for p, c in zip(pos, rx.copies(w0, [p[1] for p in pos]))}
            pos |= {(cy[a], cx[b]) for a, b in pos}
        reads[lvl - 1] = pos
    return [sorted(r) for r in reads]
