"""The conv arithmetic itself: padding, one conv's axes lowered to a direct conv over a
canvas, its transposed and gradient phases, groups (see the package's docstring)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from ..lazy import np
from .sides import Pair, Sides, Sides3, axis_pads, padding_total, sides_of  # noqa: F401

#: Codes of :meth:`Axis.source` for canvas positions that hold no operand cell.
PAD = -1        #: a zero of padding, outside the operand
INSERTED = -2   #: a zero inserted between two operand cells

#: Codes of :meth:`Lowered.kind_at`.
DATA, PADDING, INSERTION = 0, 1, 2


#: PyTorch's ``padding_mode`` names (numpy.pad's: constant, reflect, edge, wrap).
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _per_axis(f, *pairs):
    return tuple(int(f(*args)) for args in zip(*pairs))


def same_sides(i: Pair, k: Pair, s: Pair, d: Pair) -> Sides | Sides3:
    """Padding ``same``: the output is ``ceil(i / s)`` cells, the odd cell of padding after
    (:class:`Sides`, or :class:`Sides3` for three axes).

    TensorFlow's rule, total ``max((ceil(i/s) - 1)s + d(k-1) + 1 - i, 0)`` per axis,
    ``total // 2`` before and the rest after. At stride 1 the total is ``d(k-1)``, which
    is PyTorch's ``padding="same"`` (it puts the extra cell after too); PyTorch refuses
    ``same`` at stride > 1.
    """
    out = []
    for a in range(len(i)):
        total = max((-(-i[a] // s[a]) - 1) * s[a] + d[a] * (k[a] - 1) + 1 - i[a], 0)
        out += [total // 2, total - total // 2]
    return sides_of(out)


def causal_sides(k: Pair, d: Pair) -> Sides:
    """Causal padding of a sequence (the width axis): ``d(k-1)`` on the left only, so
    output ``t`` reads inputs ``<= t`` and there are as many outputs as inputs."""
    return Sides(0, 0, d[1] * (k[1] - 1), 0)


def conv_output_size(i: Pair, k: Pair, s: Pair, p, d: Pair) -> Pair:
    """Output size of conv2d (conv3d for three axes); zero or negative where the kernel
    does not fit."""
    return _per_axis(lambda i, k, s, t, d: (i + t - d * (k - 1) - 1) // s + 1,
                     i, k, s, padding_total(p), d)


def auto_output_padding(i: Pair, k: Pair, s: Pair, p, d: Pair) -> Pair:
    """The output padding that maps the conv's output back to exactly ``i``.

    A strided conv drops ``(i + 2p - d(k-1) - 1) mod s`` trailing cells; the
    transposed conv must add them back to reach ``i``.
    """
    return _per_axis(lambda i, k, s, t, d: (i + t - d * (k - 1) - 1) % s,
                     i, k, s, padding_total(p), d)


def transposed_output_size(o: Pair, k: Pair, s: Pair, p, d: Pair, a: Pair) -> Pair:
    """Output size of conv_transpose2d with input size ``o``."""
    return _per_axis(lambda o, k, s, t, d, a: (o - 1) * s - t + d * (k - 1) + a + 1,
                     o, k, s, padding_total(p), d, a)


def pad_index(n: int, lo: int, hi: int, mode: str = "zeros") -> np.ndarray:
    """The operand cell each of the ``lo + n + hi`` padded positions holds; -1 for a zero.

    Closed forms per mode (PyTorch's semantics): replicate clamps to the edge,
    circular wraps modulo ``n``, reflect mirrors about the edge cells without
    repeating them (period ``2(n-1)``), zeros has none outside the operand.
    """
    if mode not in PADDING_MODES:
        raise ValueError(f"unknown padding mode {mode!r} (choose from {', '.join(PADDING_MODES)})")
    return mode_index(np.arange(-lo, n + hi), n, mode)


def _positions(pos):
    """Canvas positions as given: one int stays an int (no numpy), else an array."""
    return pos if isinstance(pos, int) else np.asarray(pos)


def _where(cond, a, b):
    """``np.where`` that keeps a single position (a bool condition) in plain ints."""
    if isinstance(cond, bool):
        return a if cond else b
    return np.where(cond, a, b)


def mode_index(rel, n: int, mode: str) -> np.ndarray:
    """:func:`pad_index` at operand-relative positions ``rel`` (any shape, or one int)."""
    rel = _positions(rel)
    if mode == "zeros":
        return _where((rel >= 0) & (rel < n), rel, -1)
    if mode == "replicate":
        return _where(rel < 0, 0, _where(rel > n - 1, n - 1, rel))
    if mode == "circular":
        return rel % n
    if n == 1:
        return rel * 0
    m = rel % (2 * (n - 1))
    return _where(m < n, m, 2 * (n - 1) - m)


def pad(array: np.ndarray, p, mode: str = "zeros") -> np.ndarray:
    """``array`` (its last two axes) padded by ``p`` (a pair or four sides) in ``mode``.

    What ``F.pad(x, (left, right, top, bottom), mode)`` gives; the numbers every
    figure shows in its padding cells.
    """
    array = np.asarray(array)
    (t, b), (l, r) = axis_pads(p)
    ys = pad_index(array.shape[-2], t, b, mode)
    xs = pad_index(array.shape[-1], l, r, mode)
    out = array[..., np.clip(ys, 0, None)[:, None], np.clip(xs, 0, None)[None, :]]
    return np.where((ys[:, None] >= 0) & (xs[None, :] >= 0), out, np.zeros((), array.dtype))


def padding_mode_error(i: Pair, p, mode: str) -> str | None:
    """Why PyTorch refuses padding ``p`` of an ``i`` operand in ``mode``, or None.

    reflect: each side smaller than the axis (``Padding size should be less than the
    corresponding input dimension``); circular: at most the axis (it wraps once);
    replicate and zeros: any padding. Negative padding is refused by every mode here.
    """
    if mode not in PADDING_MODES:
        return f"unknown padding mode {mode!r} (choose from {', '.join(PADDING_MODES)})"
    names = ("depth", "height", "width")[-len(i):]
    for n, (lo, hi), axis in zip(i, axis_pads(p), names):
        if mode == "reflect" and max(lo, hi) >= n:
            return (f"reflect padding must be smaller than the input: {max(lo, hi)} cells "
                    f"on a side of an axis of {n} ({axis})")
        if mode == "circular" and max(lo, hi) > n:
            return (f"circular padding must be at most the input size: {max(lo, hi)} cells "
                    f"on a side of an axis of {n} ({axis})")
    return None


def _floor_sum(n: int, m: int, a: int, b: int) -> int:
    """``sum(floor((a*i + b) / m) for i in range(n))`` for a, b >= 0, m >= 1, in O(log)."""
    total = 0
    while n > 0:
        if a >= m:
            total += n * (n - 1) // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        top = a * n + b
        if top < m:
            break
        n, b, m, a = top // m, top % m, a, m
    return total


def _pairs_at_most(nx: int, a: int, ny: int, b: int, h: int) -> int:
    """Pairs ``0 <= x < nx``, ``0 <= y < ny`` with ``a*x + b*y <= h`` (a, b >= 1)."""
    if nx <= 0 or ny <= 0 or h < 0:
        return 0
    xs = min(nx, h // a + 1)                       # x with at least y = 0
    full = 0 if h < b * (ny - 1) else min(xs, (h - b * (ny - 1)) // a + 1)  # every y fits
    n = xs - full  # the rest: x = xs-1-z takes floor((h - a*x) / b) + 1 values of y
    return full * ny + _floor_sum(n, b, a, h - a * (xs - 1)) + n


def _pairs_between(nx: int, a: int, ny: int, b: int, lo: int, hi: int) -> int:
    """Pairs ``0 <= x < nx``, ``0 <= y < ny`` with ``lo <= a*x + b*y <= hi`` (a >= 1, b != 0)."""
    if b < 0:  # y -> ny-1-y makes the coefficient positive
        shift = b * (ny - 1)
        return _pairs_between(nx, a, ny, -b, lo - shift, hi - shift)
    if hi < lo:
        return 0
    return _pairs_at_most(nx, a, ny, b, hi) - _pairs_at_most(nx, a, ny, b, lo - 1)


@dataclass(frozen=True)
class Axis:
    """One axis of a direct convolution over a canvas.

    The canvas is ``pad_lo`` cells, then the operand's ``n`` cells placed
    ``spacing`` apart (``spacing - 1`` inserted zeros between neighbours), then
    ``pad_hi`` cells. A negative padding crops the operand instead. Output ``o``
    reads canvas cells ``o*stride + t*dilation`` for taps ``t < k``; only every
    ``kernel_spacing``-th tap is a real kernel value (the others are zeros
    inserted into the kernel, as in the weight-gradient phase).
    """

    n: int
    k: int
    stride: int = 1
    dilation: int = 1
    spacing: int = 1
    pad_lo: int = 0
    pad_hi: int = 0
    kernel_spacing: int = 1
    out_limit: int | None = None
    #: What padding cells hold (PADDING_MODES); all but zeros need ``spacing == 1``.
    mode: str = "zeros"

    @property
    def span(self) -> int:
        """Cells from the first to the last operand cell, inserted zeros included."""
        return (self.n - 1) * self.spacing + 1

    @property
    def canvas(self) -> int:
        return self.pad_lo + self.span + self.pad_hi

    @property
    def cell_gap(self) -> int:
        """Zeros inserted between two operand cells."""
        return self.spacing - 1

    @property
    def tap_gap(self) -> int:
        """Zeros between two real kernel taps: dilation holes or zeros inserted into the kernel."""
        return self.dilation * self.kernel_spacing - 1

    @property
    def extent(self) -> int:
        """Canvas cells one kernel window covers."""
        return self.dilation * (self.k - 1) + 1

    @property
    def out(self) -> int:
        full = (self.canvas - self.extent) // self.stride + 1
        return full if self.out_limit is None else min(full, self.out_limit)

    def positions(self) -> np.ndarray:
        """Canvas position of tap ``t`` at output ``o``, shape ``(out, k)``."""
        return (np.arange(self.out)[:, None] * self.stride
                + np.arange(self.k)[None, :] * self.dilation)

    def taps(self, o: int) -> range:
        """Canvas positions of output ``o``'s taps: row ``o`` of :meth:`positions`."""
        return range(o * self.stride, o * self.stride + self.extent, self.dilation)

    def source(self, pos) -> np.ndarray:
        """Operand index at canvas positions ``pos`` (an array, or one int), else PAD or
        INSERTED."""
        rel = _positions(pos) - self.pad_lo
        inside = (rel >= 0) & (rel < self.span)
        on_cell = rel % self.spacing == 0
        return _where(inside, _where(on_cell, rel // self.spacing, INSERTED), PAD)

    def reads_from(self, pos) -> np.ndarray:
        """Operand index whose value canvas positions ``pos`` hold, else PAD or INSERTED.

        As :meth:`source`, except that a padding cell of a reflect, replicate or
        circular padding holds a copy of an operand cell: that cell's index.
        """
        src = self.source(pos)
        if self.mode == "zeros":
            return src
        rel = _positions(pos) - self.pad_lo
        return _where(src == PAD, mode_index(rel, self.n, self.mode), src)

    def real_taps(self) -> np.ndarray:
        """Which of the ``k`` taps hold a kernel value rather than an inserted zero."""
        return np.arange(self.k) % self.kernel_spacing == 0

    @property
    def real_tap_count(self) -> int:
        """Taps that hold a kernel value: every ``kernel_spacing``-th from the first."""
        return (self.k - 1) // self.kernel_spacing + 1

    def reads(self) -> int:
        """(output, tap) pairs of this axis that read an operand cell."""
        return self._pairs_on_cells(self.k, self.dilation)

    def useful(self) -> int:
        """(output, tap) pairs that read an operand cell with a real kernel tap."""
        return self._pairs_on_cells(self.real_tap_count, self.dilation * self.kernel_spacing)

    def _pairs_on_cells(self, taps: int, tap_step: int) -> int:
        """(output o, tap u) pairs whose canvas cell ``o*stride + u*tap_step`` is an operand cell.

        In closed form (O(log) time, O(1) memory), so statistics of any layer whose
        sizes fit an int64 take microseconds. Cell ``j`` sits at ``pad_lo + j*spacing``.
        """
        out, lo = self.out, self.pad_lo
        if out <= 0 or taps <= 0:
            return 0
        if self.mode != "zeros":  # every padding cell holds a copy of an operand cell
            return out * taps
        if self.spacing == 1:  # pad_lo <= o*stride + u*tap_step <= pad_lo + n - 1
            return _pairs_between(out, self.stride, taps, tap_step, lo, lo + self.n - 1)
        if self.stride == 1:  # o = j*spacing - u*tap_step + pad_lo, one o per (j, u)
            return _pairs_between(self.n, self.spacing, taps, -tap_step, -lo, out - 1 - lo)
        # No lowering has both (a conv's stride is moved into the zero insertion).
        pos = (np.arange(out)[:, None] * self.stride + np.arange(taps)[None, :] * tap_step)
        return int(np.count_nonzero(self.source(pos) >= 0))


@dataclass(frozen=True)
class Lowered:
    """A 2-D direct convolution: one :class:`Axis` for rows, one for columns."""

    rows: Axis
    cols: Axis

    @property
    def axes(self) -> tuple[Axis, Axis]:
        return (self.rows, self.cols)

    @property
    def operand(self) -> Pair:
        return (self.rows.n, self.cols.n)

    @property
    def canvas(self) -> Pair:
        return (self.rows.canvas, self.cols.canvas)

    @property
    def kernel(self) -> Pair:
        return (self.rows.k, self.cols.k)

    @property
    def out(self) -> Pair:
        return (self.rows.out, self.cols.out)

    @property
    def steps(self) -> int:
        return self.rows.out * self.cols.out

    def step_cell(self, step: int) -> Pair:
        """Output cell of a step: row-major from the top-left."""
        return divmod(step, self.cols.out)

    def window(self, step: int) -> tuple[range, range]:
        """Canvas rows and columns of the taps at ``step``."""
        oy, ox = self.step_cell(step)
        return self.rows.taps(oy), self.cols.taps(ox)

    def kind_at(self, r: int, c: int) -> int:
        """DATA, PADDING or INSERTION: what canvas cell ``(r, c)`` is."""
        ry, rx = self.rows.source(r), self.cols.source(c)
        if ry == PAD or rx == PAD:
            return PADDING
        return INSERTION if ry < 0 or rx < 0 else DATA

    @cached_property
    def gather(self) -> np.ndarray:
        """Operand cell each tap reads, ``(oh, ow, kh, kw, 2)``; ``-1`` for a zero.

        A tap reads a zero where either axis lands on zero padding or an inserted
        zero; reflect, replicate or circular padding reads the cell it copies.
        """
        sy = self.rows.reads_from(self.rows.positions())  # (oh, kh)
        sx = self.cols.reads_from(self.cols.positions())  # (ow, kw)
        oh, kh = sy.shape
        ow, kw = sx.shape
        yy = np.broadcast_to(sy[:, None, :, None], (oh, ow, kh, kw))
        xx = np.broadcast_to(sx[None, :, None, :], (oh, ow, kh, kw))
        real = (yy >= 0) & (xx >= 0)
        return np.stack([np.where(real, yy, -1), np.where(real, xx, -1)], axis=-1)

    def im2col(self) -> np.ndarray:
        """The unfolded operand, ``(kh*kw, oh*ow, 2)``: rows = taps, columns = outputs."""
        oh, ow, kh, kw, _ = self.gather.shape
        return self.gather.transpose(2, 3, 0, 1, 4).reshape(kh * kw, oh * ow, 2)

    def matrix(self) -> list[list[tuple[int, int] | None]]:
        """The convolution as a matrix, ``oh*ow`` rows of ``nh*nw`` entries: output =
        matrix @ operand.

        Entry ``[out][cell]`` is the tap ``(ty, tx)`` that multiplies operand
        ``cell`` into output ``out`` (both row-major), or None. Plain lists: alphabet,
        its only user, draws at most 64x64 entries and so needs no numpy.
        """
        nh, nw = self.operand
        ys = [[self.rows.reads_from(p) for p in self.rows.taps(o)] for o in range(self.rows.out)]
        xs = [[self.cols.reads_from(p) for p in self.cols.taps(o)] for o in range(self.cols.out)]
        out = []
        for sy in ys:
            for sx in xs:
                row: list = [None] * (nh * nw)
                for ty, y in enumerate(sy):
                    if y >= 0:
                        for tx, x in enumerate(sx):
                            if x >= 0:
                                row[y * nw + x] = (ty, tx)
                out.append(row)
        return out

    @property
    def elements(self) -> int:
        """Entries of the unfolded operand: taps times outputs."""
        return self.rows.k * self.cols.k * self.rows.out * self.cols.out

    def zeros(self) -> int:
        """Entries of the unfolded operand that read a zero.

        An entry reads an operand cell exactly when both of its axes do, so the
        count is a product of per-axis counts: no 2-D enumeration, any layer size.
        """
        return self.elements - self.rows.reads() * self.cols.reads()

    def useful_macs(self) -> int:
        """Multiply-accumulates of one channel pair whose operand and tap are both non-zero."""
        return self.rows.useful() * self.cols.useful()

    def kernel_zeros(self) -> int:
        """Taps that are zeros inserted into the kernel."""
        return self.rows.k * self.cols.k - self.rows.real_tap_count * self.cols.real_tap_count


def forward_axes(i, k, s, p, d, mode: str = "zeros") -> tuple[Axis, ...]:
    """The axes of a conv (any number of them): the operand padded by ``p`` in ``mode``,
    the kernel dilated by ``d``."""
    pads = axis_pads(p)
    return tuple(Axis(n=i[a], k=k[a], stride=s[a], dilation=d[a], pad_lo=pads[a][0],
                      pad_hi=pads[a][1], mode=mode) for a in range(len(i)))


def transposed_axes(o, k, s, p, d, a) -> tuple[Axis, ...]:
    """The axes of the transposed conv of an operand of size ``o`` (see
    :func:`transposed_conv`)."""
    pads = axis_pads(p)
    return tuple(Axis(n=o[x], k=k[x], stride=1, dilation=d[x], spacing=s[x],
                      pad_lo=d[x] * (k[x] - 1) - pads[x][0],
                      pad_hi=d[x] * (k[x] - 1) - pads[x][1] + a[x]) for x in range(len(o)))


def gradient_axes(i, k, s, p, d, mode: str = "zeros") -> tuple[Axis, ...]:
    """The axes of the weight-gradient phase (see :func:`gradient_conv`)."""
    o = conv_output_size(i, k, s, p, d)
    pads = axis_pads(p)
    return tuple(Axis(n=i[x], k=(o[x] - 1) * s[x] + 1, stride=d[x], dilation=1,
                      pad_lo=pads[x][0], pad_hi=pads[x][1], kernel_spacing=s[x],
                      out_limit=k[x], mode=mode)
                 for x in range(len(i)))


def forward_conv(i: Pair, k: Pair, s: Pair, p, d: Pair, mode: str = "zeros") -> Lowered:
    """conv2d: the operand padded by ``p`` (a pair or four sides) in ``mode``, the kernel
    dilated by ``d``."""
    return Lowered(*forward_axes(i, k, s, p, d, mode))


def transposed_conv(i: Pair, k: Pair, s: Pair, p, d: Pair, a: Pair) -> Lowered:
    """conv_transpose2d of the conv ``(i, k, s, p, d)`` as a stride-1 direct conv.

    Its operand (size ``o``, the conv's output) gets ``s - 1`` zeros inserted
    between cells and ``d(k-1) - p`` padding per side (``p`` of that side), plus the
    output padding ``a`` at the bottom/right; the kernel is the conv's, flipped. This
    is also the loss (input-gradient) phase of training.
    """
    return transposed_from_operand(conv_output_size(i, k, s, p, d), k, s, p, d, a)


def transposed_from_operand(o: Pair, k: Pair, s: Pair, p, d: Pair, a: Pair) -> Lowered:
    """conv_transpose2d of an operand of size ``o``, lowered as in :func:`transposed_conv`."""
    return Lowered(*transposed_axes(o, k, s, p, d, a))


def gradient_conv(i: Pair, k: Pair, s: Pair, p, d: Pair, mode: str = "zeros") -> Lowered:
    """The weight-gradient phase: dW = x (padded by ``p`` in ``mode``) correlated with dY.

    dY (size ``o``) acts as the kernel, with ``s - 1`` zeros inserted between its
    cells (``(o-1)s + 1`` taps); the window moves by ``d``; only the first ``k``
    outputs are dW (a strided conv's dropped remainder never reaches dW).
    """
    return Lowered(*gradient_axes(i, k, s, p, d, mode))


PHASES = ("forward", "loss", "gradient")


def phase_axes(phase: str, i, k, s, p, d, mode: str = "zeros") -> tuple[Axis, ...]:
    """The axes of one training phase's direct convolution, for any number of axes.

    With reflect, replicate or circular padding the loss phase is the gradient with
    respect to the *padded* input (the transposed conv without padding, whose zeros
    are dY's inserted zeros and its ``d(k-1)`` border); autograd then folds the
    padding's gradient back onto the cells it copied, adding no zeros.
    """
    if phase == "loss":
        if mode != "zeros":
            i, p = tuple(n + t for n, t in zip(i, padding_total(p))), (0,) * len(i)
        return transposed_axes(conv_output_size(i, k, s, p, d), k, s, p, d,
                               auto_output_padding(i, k, s, p, d))
    if phase == "forward":
        return forward_axes(i, k, s, p, d, mode)
    if phase == "gradient":
        return gradient_axes(i, k, s, p, d, mode)
    raise ValueError(f"unknown phase {phase!r}")


def phase_conv(phase: str, i: Pair, k: Pair, s: Pair, p, d: Pair,
               mode: str = "zeros") -> Lowered:
    """The direct convolution of one training phase: forward, loss or gradient
    (:func:`phase_axes`)."""
    return Lowered(*phase_axes(phase, i, k, s, p, d, mode))


@dataclass(frozen=True)
class Grouped:
    """A grouped convolution over channel planes, every plane the same direct conv.

    ``planes_in`` operand planes and ``planes_out`` output planes fall into ``groups``
    equal groups (PyTorch's ``groups``); output plane ``q`` reads only the operand planes
    of its group. One step per output cell of every output plane: plane by plane,
    row-major within each, so ``steps = planes_out * oh * ow``.
    """

    plane: Lowered
    planes_in: int = 1
    planes_out: int = 1
    groups: int = 1

    @property
    def rows(self) -> Axis:
        return self.plane.rows

    @property
    def cols(self) -> Axis:
        return self.plane.cols

    @property
    def axes(self) -> tuple[Axis, Axis]:
        return self.plane.axes

    @property
    def in_per_group(self) -> int:
        return self.planes_in // self.groups

    @property
    def out_per_group(self) -> int:
        return self.planes_out // self.groups

    @property
    def steps(self) -> int:
        return self.planes_out * self.plane.steps

    def step_cell(self, step: int) -> tuple[int, int, int]:
        """``(plane, y, x)`` of a step's output cell."""
        q, rest = divmod(step, self.plane.steps)
        return (q, *self.plane.step_cell(rest))

    def window(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Canvas rows and columns of the taps at ``step`` (the same on every plane read)."""
        return self.plane.window(step % self.plane.steps)

    def group_of_output(self, q: int) -> int:
        return q // self.out_per_group

    def group_of_input(self, j: int) -> int:
        return j // self.in_per_group

    def inputs_of(self, q: int) -> range:
        """The operand planes output plane ``q`` reads: those of its group."""
        g = self.group_of_output(q)
        return range(g * self.in_per_group, (g + 1) * self.in_per_group)
