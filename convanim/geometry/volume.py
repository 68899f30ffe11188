"""Volumes: a 3-D convolution (depth, rows, columns) lowered to a direct conv.

The arithmetic is per axis (:class:`~convanim.geometry.conv.Axis`), so a conv3d is
three axes where conv2d has two: sizes, paddings (six sides, any mode), the
transposed conv and the weight-gradient phase all come from the same per-axis
builders as the 2-D ones (:func:`~convanim.geometry.conv.phase_axes`). A
:class:`Volume` gives the index maps (gather, its vol2col and the scatter that
inverts it) and the closed-form counts ``stats`` reports, products of per-axis counts.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import prod

from ..lazy import np
from .conv import (PAD, DATA, PADDING, INSERTION, Axis, Lowered, conv_output_size,
                   forward_axes, gradient_axes, pad_index, phase_axes,
                   transposed_axes)
from .sides import axis_pads

Triple = tuple[int, int, int]


@dataclass(frozen=True)
class Volume:
    """A 3-D direct convolution: one :class:`Axis` each for depth, rows and columns."""

    depth: Axis
    rows: Axis
    cols: Axis

    @property
    def axes(self) -> tuple[Axis, Axis, Axis]:
        return (self.depth, self.rows, self.cols)

    @property
    def operand(self) -> Triple:
        return tuple(a.n for a in self.axes)

    @property
    def canvas(self) -> Triple:
        return tuple(a.canvas for a in self.axes)

    @property
    def kernel(self) -> Triple:
        return tuple(a.k for a in self.axes)

    @property
    def out(self) -> Triple:
        return tuple(a.out for a in self.axes)

    @property
    def steps(self) -> int:
        return prod(self.out)

    def step_cell(self, step: int) -> Triple:
        """Output cell ``(z, y, x)`` of a step: depth slice by slice, row-major in each."""
        z, rest = divmod(step, self.rows.out * self.cols.out)
        return (z, *divmod(rest, self.cols.out))

    def window(self, step: int) -> tuple[range, range, range]:
        """Canvas slices, rows and columns of the taps at ``step``."""
        return tuple(a.taps(o) for a, o in zip(self.axes, self.step_cell(step)))

    def kind_at(self, z: int, r: int, c: int) -> int:
        """DATA, PADDING or INSERTION: what canvas cell ``(z, r, c)`` is."""
        src = [a.source(p) for a, p in zip(self.axes, (z, r, c))]
        if PAD in src:
            return PADDING
        return INSERTION if min(src) < 0 else DATA

    @cached_property
    def gather(self) -> np.ndarray:
        """Operand cell each tap reads, ``(od, oh, ow, kd, kh, kw, 3)``; ``-1`` for a zero.

        A tap reads a zero where any axis lands on zero padding or an inserted zero;
        reflect, replicate or circular padding reads the cell it copies.
        """
        sz, sy, sx = (a.reads_from(a.positions()) for a in self.axes)  # (o, k) each
        (od, kd), (oh, kh), (ow, kw) = sz.shape, sy.shape, sx.shape
        shape = (od, oh, ow, kd, kh, kw)
        zz = np.broadcast_to(sz[:, None, None, :, None, None], shape)
        yy = np.broadcast_to(sy[None, :, None, None, :, None], shape)
        xx = np.broadcast_to(sx[None, None, :, None, None, :], shape)
        real = (zz >= 0) & (yy >= 0) & (xx >= 0)
        return np.stack([np.where(real, v, -1) for v in (zz, yy, xx)], axis=-1)

    def vol2col(self) -> np.ndarray:
        """The unfolded operand, ``(kd*kh*kw, od*oh*ow, 3)``: rows = taps, columns = outputs."""
        od, oh, ow, kd, kh, kw, _ = self.gather.shape
        return self.gather.transpose(3, 4, 5, 0, 1, 2, 6).reshape(kd * kh * kw, od * oh * ow, 3)

    def scatter(self) -> np.ndarray:
        """Where each operand cell goes: one row ``(cell z, y, x, output z, y, x, tap z,
        y, x)`` per tap that reads it, ``(reads, 9)``, sorted by cell, output and tap.

        The gather map read backwards (what a transposed conv or an input gradient
        scatters along); a cell of reflect, replicate or circular padding counts for the
        cell it copies, so one cell may meet one tap of several outputs.
        """
        g = self.gather
        real = g[..., 0] >= 0
        rows = np.concatenate([g[real], np.argwhere(real)], axis=1)
        return rows[np.lexsort(rows.T[::-1])] if len(rows) else rows.reshape(0, 9)

    def real_taps(self) -> np.ndarray:
        """Which of the ``kd*kh*kw`` taps hold a kernel value, ``(kd, kh, kw)``."""
        z, y, x = (a.real_taps() for a in self.axes)
        return z[:, None, None] & y[None, :, None] & x[None, None, :]

    @property
    def elements(self) -> int:
        """Entries of the unfolded operand: taps times outputs."""
        return prod(a.k * a.out for a in self.axes)

    def zeros(self) -> int:
        """Entries of the unfolded operand that read a zero: a product of per-axis counts,
        as :meth:`Lowered.zeros`."""
        return self.elements - prod(a.reads() for a in self.axes)

    def useful_macs(self) -> int:
        """Multiply-accumulates of one channel pair whose operand and tap are both non-zero."""
        return prod(a.useful() for a in self.axes)

    def kernel_zeros(self) -> int:
        """Taps that are zeros inserted into the kernel."""
        return prod(self.kernel) - prod(a.real_tap_count for a in self.axes)


def forward_conv3(i: Triple, k: Triple, s: Triple, p, d: Triple, mode: str = "zeros") -> Volume:
    """conv3d: the operand padded by ``p`` (a triple or six sides) in ``mode``, the kernel
    dilated by ``d``."""
    return Volume(*forward_axes(i, k, s, p, d, mode))


def transposed_conv3(i: Triple, k: Triple, s: Triple, p, d: Triple, a: Triple) -> Volume:
    """conv_transpose3d of the conv ``(i, k, s, p, d)`` as a stride-1 direct conv over the
    zero-inserted, padded operand (as :func:`~convanim.geometry.conv.transposed_conv`)."""
    return Volume(*transposed_axes(conv_output_size(i, k, s, p, d), k, s, p, d, a))


def gradient_conv3(i: Triple, k: Triple, s: Triple, p, d: Triple, mode: str = "zeros") -> Volume:
    """The weight-gradient phase of conv3d (as :func:`~convanim.geometry.conv.gradient_conv`)."""
    return Volume(*gradient_axes(i, k, s, p, d, mode))


def lowering(phase: str, i, k, s, p, d, mode: str = "zeros") -> Lowered | Volume:
    """One training phase of a conv of two axes (:class:`Lowered`) or three (:class:`Volume`)."""
    axes = phase_axes(phase, i, k, s, p, d, mode)
    if len(axes) == 2:
        return Lowered(*axes)
    if len(axes) == 3:
        return Volume(*axes)
    raise ValueError(f"a convolution has 2 or 3 axes here, got {len(axes)}")


def pad_volume(array: np.ndarray, p, mode: str = "zeros") -> np.ndarray:
    """``array`` (its last three axes) padded by ``p`` (a triple or six sides) in ``mode``:
    ``F.pad(x, sides.f_pad, mode)``."""
    array = np.asarray(array)
    idx = [pad_index(n, lo, hi, mode) for n, (lo, hi) in zip(array.shape[-3:], axis_pads(p))]
    z, y, x = idx[0][:, None, None], idx[1][None, :, None], idx[2][None, None, :]
    out = array[..., np.clip(z, 0, None), np.clip(y, 0, None), np.clip(x, 0, None)]
    return np.where((z >= 0) & (y >= 0) & (x >= 0), out, np.zeros((), array.dtype))

