"""Volumes (conv3d) against plain loops: sizes, paddings, index maps, counts and values.

Every reference here is written from PyTorch's definitions with numpy and loops only:
the padding by ``numpy.pad`` (constant, reflect, edge, wrap are PyTorch's zeros,
reflect, replicate, circular), the conv as six nested loops, the transposed conv as a
scatter, the gather and scatter maps by enumerating outputs, taps and cells.
"""
import itertools

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import geometry as g

NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}

#: One axis: size, kernel, stride, padding before, padding after, dilation.
axis = st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2),
                 st.integers(0, 2), st.integers(1, 2))


@st.composite
def volumes(draw, modes=("zeros",)):
    """(i, k, s, six sides, d, mode) of a conv3d whose kernel fits and that PyTorch takes."""
    axes = [draw(axis) for _ in range(3)]
    i, k, s, lo, hi, d = (tuple(v) for v in zip(*axes))
    sides = tuple(v for pair in zip(lo, hi) for v in pair)
    mode = draw(st.sampled_from(modes))
    assume(all(i[a] + lo[a] + hi[a] >= d[a] * (k[a] - 1) + 1 for a in range(3)))
    assume(g.padding_mode_error(i, sides, mode) is None)
    return i, k, s, sides, d, mode


def windows(n, k, s, lo, hi, d):
    """Window positions along one axis, by sliding one."""
    count, start = 0, 0
    while start + d * (k - 1) <= n + lo + hi - 1:
        count, start = count + 1, start + s
    return count


def cell_map(n, lo, hi, mode):
    """The input cell each padded position holds (-1: a zero), by padding an index array."""
    if mode == "zeros":
        return np.pad(np.arange(n), (lo, hi), constant_values=-1)
    return np.pad(np.arange(n), (lo, hi), mode=NUMPY_MODE[mode])


def padded(x, sides, mode):
    pads = [(sides[2 * a], sides[2 * a + 1]) for a in range(3)]
    return np.pad(x, pads, mode=NUMPY_MODE[mode])


def naive_conv3d(x, w, s, sides, d, mode):
    """Six nested loops over the padded input."""
    xp = padded(x, sides, mode)
    o = [windows(x.shape[a], w.shape[a], s[a], sides[2 * a], sides[2 * a + 1], d[a])
         for a in range(3)]
    out = np.zeros(o)
    for z in range(o[0]):
        for y in range(o[1]):
            for x_ in range(o[2]):
                for kz in range(w.shape[0]):
                    for ky in range(w.shape[1]):
                        for kx in range(w.shape[2]):
                            out[z, y, x_] += w[kz, ky, kx] * xp[z * s[0] + kz * d[0],
                                                                y * s[1] + ky * d[1],
                                                                x_ * s[2] + kx * d[2]]
    return out


def naive_conv_transpose3d(x, w, s, sides, d, a):
    """Scatter: input cell (z, y, x) adds x * w[kz, ky, kx] at (z*s + kz*d, ...) of the full
    output, which the padding then crops (each side by its own count)."""
    full = [(x.shape[n] - 1) * s[n] + d[n] * (w.shape[n] - 1) + 1 + a[n] for n in range(3)]
    out = np.zeros(full)
    for z, y, x_ in itertools.product(*map(range, x.shape)):
        for kz, ky, kx in itertools.product(*map(range, w.shape)):
            out[z * s[0] + kz * d[0], y * s[1] + ky * d[1], x_ * s[2] + kx * d[2]] += \
                x[z, y, x_] * w[kz, ky, kx]
    return out[sides[0]:full[0] - sides[1], sides[2]:full[1] - sides[3],
               sides[4]:full[2] - sides[5]]


def naive_weight_gradient(x, dy, k, s, sides, d, mode):
    """dW[t] = sum over outputs o of dY[o] * the padded input cell tap t read at o."""
    xp = padded(x, sides, mode)
    dw = np.zeros(k)
    for o in itertools.product(*map(range, dy.shape)):
        for t in itertools.product(*map(range, k)):
            dw[t] += dy[o] * xp[tuple(o[n] * s[n] + t[n] * d[n] for n in range(3))]
    return dw


def naive_gather(i, k, s, sides, d, mode):
    """(od, oh, ow, kd, kh, kw, 3): the input cell each output's tap reads, -1 for a zero."""
    maps = [cell_map(i[a], sides[2 * a], sides[2 * a + 1], mode) for a in range(3)]
    o = [windows(i[a], k[a], s[a], sides[2 * a], sides[2 * a + 1], d[a]) for a in range(3)]
    out = np.full((*o, *k, 3), -1)
    for oz, oy, ox in itertools.product(*map(range, o)):
        for tz, ty, tx in itertools.product(*map(range, k)):
            cell = [maps[0][oz * s[0] + tz * d[0]], maps[1][oy * s[1] + ty * d[1]],
                    maps[2][ox * s[2] + tx * d[2]]]
            if min(cell) >= 0:
                out[oz, oy, ox, tz, ty, tx] = cell
    return out


def apply(low, operand, kernel):
    """Run a lowered volume through its gather map; kernel taps that are inserted zeros
    (the gradient phase's dY) are masked by the lowering's real taps."""
    gat = low.gather
    real = gat[..., 0] >= 0
    safe = np.where(real[..., None], gat, 0)
    vals = np.where(real, operand[safe[..., 0], safe[..., 1], safe[..., 2]], 0)
    assert kernel.shape == low.kernel
    return np.einsum("abcdef,def->abc", vals, np.where(low.real_taps(), kernel, 0))


MODES = g.PADDING_MODES


@settings(max_examples=150, deadline=None)
@given(volumes(MODES))
def test_sizes_are_the_windows_that_fit_and_same_is_the_least_padding(c):
    i, k, s, sides, d, mode = c
    o = g.conv_output_size(i, k, s, sides, d)
    assert o == tuple(windows(i[a], k[a], s[a], sides[2 * a], sides[2 * a + 1], d[a])
                      for a in range(3))
    # the same on both sides of each axis: PyTorch's padding=(d, h, w)
    triple = tuple(max(sides[2 * a], sides[2 * a + 1]) for a in range(3))
    assert g.conv_output_size(i, k, s, triple, d) == tuple(
        windows(i[a], k[a], s[a], triple[a], triple[a], d[a]) for a in range(3))
    assert g.padding_total(sides) == tuple(sides[2 * a] + sides[2 * a + 1] for a in range(3))
    same = g.same_sides(i, k, s, d)
    assert isinstance(same, g.Sides3)
    for a in range(3):
        want = -(-i[a] // s[a])
        least = next(t for t in itertools.count() if windows(i[a], k[a], s[a], 0, t, d[a]) >= want)
        lo, hi = same.axes[a]
        assert (lo + hi, lo, windows(i[a], k[a], s[a], lo, hi, d[a])) == (least, least // 2, want)


@settings(max_examples=80, deadline=None)
@given(volumes(MODES), st.integers(0, 2**32 - 1))
def test_padding_in_every_mode_is_numpy_pad(c, seed):
    i, k, s, sides, d, mode = c
    x = np.random.default_rng(seed).integers(-9, 10, i)
    assert np.array_equal(g.pad_volume(x, sides, mode), padded(x, sides, mode))
    for a, (lo, hi) in enumerate(g.Sides3.of(sides).axes):
        assert np.array_equal(g.pad_index(i[a], lo, hi, mode), cell_map(i[a], lo, hi, mode))


@settings(max_examples=80, deadline=None)
@given(volumes(MODES))
def test_gather_scatter_and_counts_equal_loops(c):
    i, k, s, sides, d, mode = c
    low = g.forward_conv3(i, k, s, sides, d, mode)
    gather = naive_gather(i, k, s, sides, d, mode)
    assert low.out == gather.shape[:3] and low.kernel == k and low.operand == i
    assert np.array_equal(low.gather, gather)
    # vol2col: rows are the taps, columns the outputs, both depth-major
    od, oh, ow = low.out
    cols = low.vol2col()
    taps, outs = list(itertools.product(*map(range, k))), list(itertools.product(*map(range, low.out)))
    assert cols.shape == (len(taps), len(outs), 3)
    for (n, t), (m, o) in itertools.product(enumerate(taps), enumerate(outs)):
        assert list(cols[n, m]) == list(gather[(*o, *t)])
    # scatter: every (cell, output, tap) whose tap reads the cell, by enumerating cells
    scatter = sorted((*cell, *o, *t)
                     for cell in itertools.product(*map(range, i))
                     for o in itertools.product(*map(range, low.out))
                     for t in itertools.product(*map(range, k))
                     if tuple(gather[(*o, *t)]) == cell)
    assert [tuple(r) for r in low.scatter()] == scatter
    reads = int(np.count_nonzero(gather[..., 0] >= 0))
    assert low.elements == gather[..., 0].size
    assert low.zeros() == gather[..., 0].size - reads
    assert low.useful_macs() == reads == len(scatter)
    assert low.kernel_zeros() == 0
    step = (od * oh * ow) // 2
    z, y, x = low.step_cell(step)
    assert step == (z * oh + y) * ow + x
    assert [list(r) for r in low.window(step)] == [
        [o * s[a] + t * d[a] for t in range(k[a])] for a, o in enumerate((z, y, x))]


@settings(max_examples=60, deadline=None)
@given(volumes(MODES), st.integers(0, 2**32 - 1))
def test_forward_values_equal_six_nested_loops(c, seed):
    i, k, s, sides, d, mode = c
    rng = np.random.default_rng(seed)
    x, w = rng.integers(-5, 6, i).astype(float), rng.integers(-5, 6, k).astype(float)
    low = g.forward_conv3(i, k, s, sides, d, mode)
    assert np.array_equal(apply(low, x, w), naive_conv3d(x, w, s, sides, d, mode))
    assert g.lowering("forward", i, k, s, sides, d, mode) == low


@settings(max_examples=60, deadline=None)
@given(volumes(), st.integers(0, 2**32 - 1), st.tuples(*[st.integers(0, 2)] * 3))
def test_transposed_values_equal_the_scatter_loop(c, seed, a):
    i, k, s, sides, d, _ = c
    o = g.conv_output_size(i, k, s, sides, d)
    auto = g.auto_output_padding(i, k, s, sides, d)
    assert g.transposed_output_size(o, k, s, sides, d, auto) == i  # -t comes back to -i
    a = tuple(min(a[n], max(s[n], d[n]) - 1) for n in range(3))  # PyTorch's rule: a < s or d
    assume(min(g.transposed_output_size(o, k, s, sides, d, a)) >= 1)
    rng = np.random.default_rng(seed)
    y, w = rng.integers(-5, 6, o).astype(float), rng.integers(-5, 6, k).astype(float)
    low = g.transposed_conv3(i, k, s, sides, d, a)
    want = naive_conv_transpose3d(y, w, s, sides, d, a)
    assert low.operand == o and low.out == want.shape
    assert low.out == g.transposed_output_size(o, k, s, sides, d, a)
    assert np.array_equal(apply(low, y, w[::-1, ::-1, ::-1]), want)
    # the zeros it reads: dY's inserted zeros and its border, counted against the map
    assert low.zeros() == int(np.count_nonzero(low.gather[..., 0] < 0))
    if a == auto:
        assert g.lowering("loss", i, k, s, sides, d) == low


@settings(max_examples=60, deadline=None)
@given(volumes(MODES), st.integers(0, 2**32 - 1))
def test_weight_gradient_phase_equals_the_loop(c, seed):
    i, k, s, sides, d, mode = c
    o = g.conv_output_size(i, k, s, sides, d)
    rng = np.random.default_rng(seed)
    x, dy = rng.integers(-5, 6, i).astype(float), rng.integers(-5, 6, o).astype(float)
    low = g.gradient_conv3(i, k, s, sides, d, mode)
    assert low.out == k
    kernel = np.zeros(low.kernel)  # dY with s - 1 zeros inserted between its cells
    kernel[::s[0], ::s[1], ::s[2]] = dy
    assert np.array_equal(apply(low, x, kernel), naive_weight_gradient(x, dy, k, s, sides, d,
                                                                       mode))
    taps = np.zeros(low.kernel, bool)
    taps[::s[0], ::s[1], ::s[2]] = True
    assert low.kernel_zeros() == int(np.count_nonzero(~taps))
    real = (low.gather[..., 0] >= 0) & taps  # a read of a real cell by a real tap of dY
    assert low.useful_macs() == int(np.count_nonzero(real))
    assert low.zeros() == int(np.count_nonzero(low.gather[..., 0] < 0))
    assert g.lowering("gradient", i, k, s, sides, d, mode) == low


def test_a_named_volume_by_hand():
    """C3D's first conv on a 16x112x112 clip, and a strided 4x5x5 case counted by hand."""
    c3d = g.forward_conv3((16, 112, 112), (3, 3, 3), (1, 1, 1), (1, 1, 1), (1, 1, 1))
    assert c3d.out == (16, 112, 112) and c3d.elements == 27 * 16 * 112 * 112
    # per axis, reads of a 3-tap window over n cells padded by 1: 3n - 2
    assert c3d.zeros() == c3d.elements - (3 * 16 - 2) * (3 * 112 - 2) ** 2
    low = g.forward_conv3((4, 5, 5), (3, 3, 3), (1, 2, 2), (1, 1, 1), (1, 1, 1))
    assert low.out == (4, 3, 3)
    # depth: 4 outputs x 3 taps, 2 on padding; height/width: 3 x 3 taps, 2 on padding
    assert low.zeros() == 4 * 3 * 9 * 9 - 10 * 7 * 7
    assert g.Sides3.of((1, 2, 3)).f_pad == (3, 3, 2, 2, 1, 1)
    assert g.Sides3.of((0, 1, 2, 2, 1, 0)).format() == "0,1,2,2,1,0"
    assert g.Sides3.of((1, 1, 1)).format() == "1" and g.Sides3.of((1, 2, 2)).format() == "1x2x2"


@pytest.mark.parametrize("sides,mode,message", [
    ((3, 0, 0, 0, 0, 0), "reflect", "on a side of an axis of 3 (depth)"),
    ((0, 0, 0, 5, 0, 0), "circular", "on a side of an axis of 4 (height)"),
    ((0, 0, 0, 0, 0, 6), "reflect", "on a side of an axis of 5 (width)"),
])
def test_padding_modes_refused_per_axis_name_the_axis(sides, mode, message):
    assert message in g.padding_mode_error((3, 4, 5), sides, mode)
    assert g.padding_mode_error((3, 4, 5), sides, "replicate") is None
