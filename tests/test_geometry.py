"""Geometry against plain loops: sizes, index maps and every training phase."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import geometry as g

import reference as ref

axis = st.tuples(st.integers(1, 11), st.integers(1, 4), st.integers(1, 4), st.integers(0, 4),
                 st.integers(1, 3))


@st.composite
def convs(draw):
    """(i, k, s, p, d) as per-axis pairs, for a conv whose kernel fits."""
    rows, cols = draw(axis), draw(axis)
    i, k, s, p, d = (tuple(v) for v in zip(rows, cols))
    assume(all(i[a] + 2 * p[a] >= d[a] * (k[a] - 1) + 1 for a in (0, 1)))
    return i, k, s, p, d


def apply(low: g.Lowered, operand: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Run a lowered direct conv through its gather map (zeros where it reads none)."""
    gat = low.gather
    real = gat[..., 0] >= 0
    vals = np.where(real, operand[np.where(real, gat[..., 0], 0), np.where(real, gat[..., 1], 0)], 0)
    taps = np.outer(low.rows.real_taps(), low.cols.real_taps())
    assert kernel.shape == taps.shape
    return np.einsum("abcd,cd->ab", vals, np.where(taps, kernel, 0))


@settings(max_examples=300, deadline=None)
@given(convs())
def test_output_size_counts_the_windows_that_fit(c):
    i, k, s, p, d = c
    assert g.conv_output_size(i, k, s, p, d) == tuple(
        ref.fitting_windows(i[a], k[a], s[a], p[a], d[a]) for a in (0, 1))


@settings(max_examples=200, deadline=None)
@given(convs(), st.integers(0, 2**32 - 1))
def test_forward_lowering_computes_conv2d(c, seed):
    i, k, s, p, d = c
    rng = np.random.default_rng(seed)
    x, w = rng.integers(-5, 6, i).astype(float), rng.integers(-5, 6, k).astype(float)
    low = g.forward_conv(i, k, s, p, d)
    assert np.array_equal(apply(low, x, w), ref.conv2d(x, w, s, p, d))


@settings(max_examples=200, deadline=None)
@given(convs(), st.integers(0, 2**32 - 1))
def test_transposed_lowering_computes_conv_transpose2d_back_to_i(c, seed):
    i, k, s, p, d = c
    a = g.auto_output_padding(i, k, s, p, d)
    o = g.conv_output_size(i, k, s, p, d)
    assert g.transposed_output_size(o, k, s, p, d, a) == i
    rng = np.random.default_rng(seed)
    y, w = rng.integers(-5, 6, o).astype(float), rng.integers(-5, 6, k).astype(float)
    low = g.transposed_conv(i, k, s, p, d, a)
    assert low.out == i and low.operand == o
    # the transposed conv slides the flipped kernel over the zero-inserted, padded operand
    assert np.array_equal(apply(low, y, w[::-1, ::-1]), ref.conv_transpose2d(y, w, s, p, d, a))


@settings(max_examples=100, deadline=None)
@given(convs(), st.integers(0, 2), st.integers(0, 2))
def test_any_valid_output_padding_matches_the_scatter_definition(c, ay, ax):
    i, k, s, p, d = c
    a = (ay, ax)
    assume(all(a[x] < max(s[x], d[x]) for x in (0, 1)))
    o = g.conv_output_size(i, k, s, p, d)
    assume(min(g.transposed_output_size(o, k, s, p, d, a)) >= 1)
    rng = np.random.default_rng(0)
    y, w = rng.integers(-5, 6, o).astype(float), rng.integers(-5, 6, k).astype(float)
    low = g.transposed_conv(i, k, s, p, d, a)
    assert np.array_equal(apply(low, y, w[::-1, ::-1]), ref.conv_transpose2d(y, w, s, p, d, a))


@settings(max_examples=150, deadline=None)
@given(convs(), st.integers(0, 2**32 - 1))
def test_gradient_lowering_computes_the_weight_gradient(c, seed):
    i, k, s, p, d = c
    o = g.conv_output_size(i, k, s, p, d)
    rng = np.random.default_rng(seed)
    x, dy = rng.integers(-5, 6, i).astype(float), rng.integers(-5, 6, o).astype(float)
    low = g.gradient_conv(i, k, s, p, d)
    assert low.out == k
    # the kernel of this phase is dY with s-1 zeros inserted between its cells
    dilated = np.zeros(low.kernel)
    dilated[::s[0], ::s[1]] = dy
    assert np.array_equal(apply(low, x, dilated), ref.weight_gradient(x, dy, k, s, p, d))
    assert low.kernel_zeros() == dilated.size - dy.size


@settings(max_examples=150, deadline=None)
@given(convs(), st.sampled_from(["forward", "loss", "gradient"]))
def test_im2col_is_the_gather_map_unfolded(c, phase):
    low = g.phase_conv(phase, *c)
    m = low.im2col()
    kh, kw = low.kernel
    oh, ow = low.out
    assert m.shape == (kh * kw, oh * ow, 2)
    for r in range(0, kh * kw, 3):
        for col in range(0, oh * ow, 2):
            assert tuple(m[r, col]) == tuple(low.gather[col // ow, col % ow, r // kw, r % kw])
    assert low.zeros() == int(np.count_nonzero(m[..., 0] < 0))


@settings(max_examples=150, deadline=None)
@given(convs(), st.booleans())
def test_canvas_cells_are_padding_insertions_and_every_operand_cell(c, transposed):
    i, k, s, p, d = c
    low = (g.transposed_conv(i, k, s, p, d, g.auto_output_padding(i, k, s, p, d))
           if transposed else g.forward_conv(i, k, s, p, d))
    kinds = np.array([[low.kind_at(r, c) for c in range(low.canvas[1])]
                      for r in range(low.canvas[0])])
    assert kinds.shape == low.canvas
    n, sp = low.operand, (low.rows.spacing, low.cols.spacing)
    if min(low.rows.pad_lo, low.cols.pad_lo, low.rows.pad_hi, low.cols.pad_hi) >= 0:
        span = [(n[a] - 1) * sp[a] + 1 for a in (0, 1)]
        assert np.count_nonzero(kinds == g.DATA) == n[0] * n[1]
        assert np.count_nonzero(kinds == g.INSERTION) == span[0] * span[1] - n[0] * n[1]
        assert np.count_nonzero(kinds == g.PADDING) == kinds.size - span[0] * span[1]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 9), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.integers(-2, 4), st.integers(-2, 4), st.sampled_from(g.PADDING_MODES))
def test_one_position_maps_as_the_array_of_them_does(n, k, stride, dilation, spacing, lo, hi,
                                                     mode):
    """An axis's index maps take one int (the figures' way, in plain ints: no numpy) and
    give exactly the array map's entry, for every padding mode; a window's taps are the
    row of the positions array."""
    if mode != "zeros":
        spacing, lo, hi = 1, max(lo, 0), max(hi, 0)
    ax = g.Axis(n, k, stride, dilation, spacing, lo, hi, mode=mode)
    assume(ax.canvas >= ax.extent)
    where = np.arange(-2, ax.canvas + 2)
    for name in ("source", "reads_from"):
        one = [getattr(ax, name)(int(p)) for p in where]
        assert all(type(v) is int for v in one)
        assert one == getattr(ax, name)(where).tolist()
    assert [list(ax.taps(o)) for o in range(ax.out)] == ax.positions().tolist()


def test_window_lists_the_taps_of_a_dilated_kernel():
    low = g.forward_conv((7, 7), (3, 3), (1, 1), (0, 0), (2, 2))
    rows, cols = low.window(4)  # output (1, 1) of a 3x3 output
    assert list(rows) == [1, 3, 5] and list(cols) == [1, 3, 5]
    assert low.step_cell(4) == (1, 1)


@pytest.mark.parametrize("i,k,s,p,d,expect", [
    ((224, 224), (7, 7), (2, 2), (3, 3), (1, 1), (112, 112)),   # ResNet-50 conv1
    ((56, 56), (1, 1), (2, 2), (0, 0), (1, 1), (28, 28)),       # 1x1/s2 shortcut
    ((6, 6), (3, 3), (2, 2), (1, 1), (1, 1), (3, 3)),           # (i+2p-k) mod s != 0
    ((5, 7), (3, 2), (2, 1), (1, 0), (1, 1), (3, 6)),
])
def test_known_layer_sizes(i, k, s, p, d, expect):
    assert g.conv_output_size(i, k, s, p, d) == expect


# The closed-form per-axis counts against the index map they summarise: any Axis the
# lowerings make (stride or zero insertion, cropping pads, inserted kernel zeros, a cut).
@st.composite
def axes(draw):
    strided = draw(st.booleans())
    return g.Axis(n=draw(st.integers(1, 12)), k=draw(st.integers(1, 14)),
                  stride=draw(st.integers(1, 4)) if strided else 1,
                  dilation=draw(st.integers(1, 4)),
                  spacing=1 if strided else draw(st.integers(1, 4)),
                  pad_lo=draw(st.integers(-3, 8)), pad_hi=draw(st.integers(-3, 8)),
                  kernel_spacing=draw(st.integers(1, 4)),
                  out_limit=draw(st.none() | st.integers(0, 6)))


@settings(max_examples=1000, deadline=None)
@given(axes())
def test_per_axis_counts_in_closed_form_equal_the_index_map(ax):
    on_cell = ax.source(ax.positions()) >= 0 if ax.out > 0 else np.zeros((0, ax.k), bool)
    assert ax.reads() == int(np.count_nonzero(on_cell))
    assert ax.useful() == int(np.count_nonzero(on_cell & ax.real_taps()))
    assert ax.real_tap_count == int(np.count_nonzero(ax.real_taps()))


@settings(max_examples=300, deadline=None)
@given(convs(), st.sampled_from(["forward", "loss", "gradient"]))
def test_zero_counts_of_every_phase_equal_the_im2col_matrix(c, phase):
    low = g.phase_conv(phase, *c)
    m = low.im2col()
    assert low.zeros() == int(np.count_nonzero(m[..., 0] < 0))
    taps = np.outer(low.rows.real_taps(), low.cols.real_taps()).reshape(-1)
    assert low.useful_macs() == int(np.count_nonzero((m[..., 0] >= 0) & taps[:, None]))
    assert low.kernel_zeros() == taps.size - int(np.count_nonzero(taps))


def test_counts_of_a_huge_axis_need_no_index_map():
    """10^7 outputs times 10^5 taps: an index map would need 8 PB."""
    ax = g.Axis(n=10**7, k=10**5, stride=1, dilation=1, pad_lo=50_000, pad_hi=50_000)
    # every output reads k taps minus those on padding: 2 * (1 + ... + 50000) pairs miss
    assert ax.out == 10**7 + 1
    assert ax.reads() == ax.out * ax.k - 2 * (50_000 * 50_001 // 2)
