"""Padding per side, same/valid, and padding modes: geometry against numpy.pad and loops."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import geometry as g

import reference as ref

NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}
side = st.integers(0, 5)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 7), st.integers(1, 7), st.tuples(side, side, side, side),
       st.sampled_from(g.PADDING_MODES), st.integers(0, 2**32 - 1))
def test_padded_values_equal_numpy_pad(h, w, sides, mode, seed):
    assume(g.padding_mode_error((h, w), sides, mode) is None)
    x = np.random.default_rng(seed).integers(-9, 10, (h, w))
    t, b, l, r = sides
    want = np.pad(x, ((t, b), (l, r)), mode=NUMPY_MODES[mode])
    assert np.array_equal(g.pad(x, sides, mode), want)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 9), st.integers(0, 8), st.integers(0, 8), st.sampled_from(g.PADDING_MODES))
def test_pad_index_equals_walking_the_padding(n, lo, hi, mode):
    assume(g.padding_mode_error((1, n), (0, 0, lo, hi), mode) is None)
    want = [ref.padded_index(j, n, mode) for j in range(-lo, n + hi)]
    assert [None if v < 0 else int(v) for v in g.pad_index(n, lo, hi, mode)] == want


def draw_conv(draw):
    """Input, kernel, stride and dilation pairs of a small conv."""
    return tuple((draw(st.integers(1, top)), draw(st.integers(1, top))) for top in (8, 4, 3, 3))


@st.composite
def sided_convs(draw):
    i, k, s, d = draw_conv(draw)
    sides = tuple(draw(st.integers(0, 5)) for _ in range(4))
    mode = draw(st.sampled_from(g.PADDING_MODES))
    assume(g.padding_mode_error(i, sides, mode) is None)
    assume(min(g.conv_output_size(i, k, s, sides, d)) >= 1)
    return i, k, s, sides, d, mode


@settings(max_examples=200, deadline=None)
@given(sided_convs(), st.integers(0, 2**32 - 1))
def test_one_sided_padding_and_modes_compute_conv2d_as_a_loop(c, seed):
    i, k, s, sides, d, mode = c
    rng = np.random.default_rng(seed)
    x, w = rng.integers(-5, 6, i).astype(float), rng.integers(-5, 6, k).astype(float)
    low = g.forward_conv(i, k, s, sides, d, mode)
    gat = low.gather
    real = gat[..., 0] >= 0
    vals = np.where(real, x[np.where(real, gat[..., 0], 0), np.where(real, gat[..., 1], 0)], 0)
    got = np.einsum("abcd,cd->ab", vals, w)
    assert np.array_equal(got, ref.conv2d_sides(x, w, s, sides, d, mode))
    # the padded operand the figures show, slid over plainly, gives the same
    padded = g.pad(x, sides, mode)
    assert low.canvas == padded.shape


@settings(max_examples=200, deadline=None)
@given(sided_convs())
def test_zero_counts_per_mode_equal_the_reads_of_zeros(c):
    """Closed-form zeros = entries of the unfolded operand that read a zero, counted by
    walking every tap; reflect, replicate and circular padding insert none."""
    i, k, s, sides, d, mode = c
    low = g.forward_conv(i, k, s, sides, d, mode)
    t, _, l, _ = sides
    zeros = 0
    for oy in range(low.out[0]):
        for ox in range(low.out[1]):
            for ky in range(k[0]):
                for kx in range(k[1]):
                    y = ref.padded_index(oy * s[0] + ky * d[0] - t, i[0], mode)
                    x_ = ref.padded_index(ox * s[1] + kx * d[1] - l, i[1], mode)
                    zeros += y is None or x_ is None
    assert low.zeros() == zeros
    assert int((low.im2col()[..., 0] < 0).sum()) == zeros
    if mode != "zeros":
        assert zeros == 0


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 40), st.integers(1, 7), st.integers(1, 4), st.integers(1, 4))
def test_same_follows_tensorflow_and_pytorch(i, k, s, d):
    t, b, l, r = g.same_sides((i, i), (k, k), (s, s), (d, d))
    assert (t, b) == (l, r) == ref.tf_same_padding(i, k, s, d)
    assert g.conv_output_size((i, i), (k, k), (s, s), (t, b, l, r), (d, d)) == (-(-i // s),) * 2
    if s == 1:  # PyTorch's padding="same": total d(k-1), total // 2 before, the rest after
        total = d * (k - 1)
        assert (t, b) == (total // 2, total - total // 2)
        assert g.conv_output_size((i, i), (k, k), (1, 1), (t, b, l, r), (d, d)) == (i, i)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 20), st.integers(1, 5), st.integers(1, 4))
def test_causal_output_t_reads_only_inputs_up_to_t(n, k, d):
    sides = g.causal_sides((1, k), (1, d))
    low = g.forward_conv((1, n), (1, k), (1, 1), sides, (1, d))
    assert low.out == (1, n)
    reads = low.gather[0, :, 0, :, 1]  # (outputs, taps): input read, -1 for padding
    for t in range(n):
        assert reads[t].max() == t
        assert all(v <= t for v in reads[t])


@pytest.mark.parametrize("i, sides, mode, bad", [
    ((4, 4), (0, 0, 4, 0), "reflect", True), ((4, 4), (0, 0, 3, 0), "reflect", False),
    ((4, 4), (5, 0, 0, 0), "circular", True), ((4, 4), (4, 0, 0, 0), "circular", False),
    ((1, 4), (1, 1, 0, 0), "reflect", True), ((2, 2), (9, 9, 9, 9), "replicate", False),
])
def test_padding_modes_refuse_what_pytorch_refuses(i, sides, mode, bad):
    assert (g.padding_mode_error(i, sides, mode) is not None) == bad


@st.composite
def transposable_convs(draw):
    """A conv whose sides are each at most d(k-1): its transposed conv crops nothing."""
    i, k, s, d = draw_conv(draw)
    sides = tuple(draw(st.integers(0, d[a] * (k[a] - 1))) for a in (0, 0, 1, 1))
    assume(min(g.conv_output_size(i, k, s, sides, d)) >= 1)
    return i, k, s, sides, d


@settings(max_examples=60, deadline=None)
@given(transposable_convs())
def test_transposed_of_a_one_sided_conv_maps_back_to_i(c):
    i, k, s, sides, d = c
    (t, b), (l, r) = g.axis_pads(sides)
    a = g.auto_output_padding(i, k, s, sides, d)
    low = g.transposed_conv(i, k, s, sides, d, a)
    assert low.out == i
    # transposed = the forward conv's matrix transposed: scatter, then crop each side
    o = g.conv_output_size(i, k, s, sides, d)
    rng = np.random.default_rng(0)
    y, w = rng.integers(-5, 6, o).astype(float), rng.integers(-5, 6, k).astype(float)
    full = ref.conv_transpose2d(y, w, s, (0, 0), d, a)
    want = full[t:full.shape[0] - b, l:full.shape[1] - r]
    gat = low.gather
    real = gat[..., 0] >= 0
    vals = np.where(real, y[np.where(real, gat[..., 0], 0), np.where(real, gat[..., 1], 0)], 0)
    assert np.array_equal(np.einsum("abcd,cd->ab", vals, w[::-1, ::-1]), want)
