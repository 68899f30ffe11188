"""im2col's vol2col and alphabet's matrix of a volume (#34) against plain loops; verify on
the simulator; channels' and stack's refusals.

References: the padded cell maps and six nested loops of test_volume_geometry (numpy.pad
for every padding mode, the conv as loops, the transposed conv as a scatter, the weight
gradient as a sum over outputs), and a vol2col written here as a loop over outputs and
taps. Each figure's matrix is checked by index and by value: X's entries times the
kernel the figure shows give the phase's result, C applied to a basis vector gives
that vector's conv.
"""
import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convanim.errors import SpecError
from convanim.figure import figure, plan
from convanim.index import torch_call

from helpers import files_under, run
from test_volume_figures import options_of, transposed_case
from test_volume_geometry import (cell_map, naive_conv3d, naive_conv_transpose3d,
                                  naive_weight_gradient, volumes, windows)

MODES = ("zeros", "reflect", "replicate", "circular")


def planned(kind, **values):
    return plan(*figure(kind, None, **values)).with_all_steps()


#: The strategies draw volumes of every size the geometry takes; the matrix kinds refuse
#: the larger ones (tested in test_refusals_are_one_line), so many draws are assumed away.
ROOMY = dict(deadline=None, suppress_health_check=[HealthCheck.filter_too_much])


def drawable(kind, **values):
    """The planned figure, or the case assumed away when the kind refuses its size."""
    try:
        return planned(kind, **values)
    except SpecError as e:
        assume(not any(w in str(e) for w in ("too large", "output would be", "cannot draw")))
        raise


def naive_vol2col(i, k, s, sides, d, mode):
    """(taps, outputs) of [z, y, x] or None, by a loop over output cells and taps."""
    maps = [cell_map(i[a], sides[2 * a], sides[2 * a + 1], mode) for a in range(3)]
    o = [windows(i[a], k[a], s[a], sides[2 * a], sides[2 * a + 1], d[a]) for a in range(3)]
    cols = []
    for oz, oy, ox in itertools.product(*map(range, o)):
        col = []
        for tz, ty, tx in itertools.product(*map(range, k)):
            cell = [int(maps[0][oz * s[0] + tz * d[0]]), int(maps[1][oy * s[1] + ty * d[1]]),
                    int(maps[2][ox * s[2] + tx * d[2]])]
            col.append(cell if min(cell) >= 0 else None)
        cols.append(col)
    return [list(row) for row in zip(*cols)], o


def padded_position(i, sides, pos):
    """Whether a padded position (z, y, x) lies in the padding of some axis."""
    return any(not sides[2 * a] <= pos[a] < sides[2 * a] + i[a] for a in range(3))


def product(matrix, operand, kernel_values):
    """w^T X: per column, the sum of each tap's kernel value times the operand entry."""
    out = []
    for c in range(len(matrix[0])):
        out.append(sum(kv * operand[tuple(matrix[t][c])]
                       for t, kv in enumerate(kernel_values) if matrix[t][c] is not None))
    return np.array(out, dtype=float)


# ------------------------------------------------------------------ im2col (vol2col)

@settings(max_examples=40, **ROOMY)
@given(volumes(MODES), st.integers(0, 2**16))
def test_forward_vol2col_equals_the_loop_and_computes_conv3d(c, seed):
    i, k, s, sides, d, mode = c
    f = drawable("im2col", **options_of(c))
    scene = f.scene()
    want, o = naive_vol2col(i, k, s, sides, d, mode)
    assert scene["matrix"] == want
    assert scene["output_size"] == o and scene["kernel"] == [list(t) for t in np.ndindex(*k)]
    # each null entry reads a zero of padding; an entry from a copying mode's padding is a copy
    for t, tap in enumerate(np.ndindex(*k)):
        for n, out in enumerate(itertools.product(*map(range, o))):
            pos = [out[a] * s[a] + tap[a] * d[a] for a in range(3)]
            assert scene["copies"][t][n] == (want[t][n] is not None
                                             and padded_position(i, sides, pos))
            assert scene["zero_kinds"][t][n] == (None if want[t][n] else "padding")
    zeros = sum(e is None for row in want for e in row)
    assert scene["counts"]["zeros"] == zeros
    assert scene["counts"]["elements"] == len(want) * len(want[0])
    rng = np.random.default_rng(seed)
    x, w = rng.integers(-3, 4, i), rng.integers(-3, 4, k)
    y = product(scene["matrix"], x, w.ravel())
    assert np.array_equal(y, naive_conv3d(x, w, s, sides, d, mode).ravel())
    for n, frame in enumerate(scene["frames"]):
        out = np.unravel_index(n, o)
        assert frame["out"] == list(map(int, out))
        assert frame["slices"] == [out[0] * s[0] + t * d[0] for t in range(k[0])]
        assert frame["taps"] == [[out[1] * s[1] + ty * d[1], out[2] * s[2] + tx * d[2]]
                                 for ty in range(k[1]) for tx in range(k[2])]


@settings(max_examples=30, **ROOMY)
@given(volumes(("zeros",)), st.integers(0, 2**16))
def test_loss_vol2col_with_the_flipped_kernel_is_conv_transpose3d(c, seed):
    """dX = w_flipped^T X over dY zero-inserted and padded: the scatter of
    conv_transpose3d, with the output padding that gives back the input's size."""
    i, k, s, sides, d, mode = c
    f = drawable("im2col", phase="loss", **options_of(c))
    scene = f.scene()
    o = [windows(i[a], k[a], s[a], sides[2 * a], sides[2 * a + 1], d[a]) for a in range(3)]
    a_ = [(i[a] + sides[2 * a] + sides[2 * a + 1] - d[a] * (k[a] - 1) - 1) % s[a]
          for a in range(3)]
    assert scene["output_size"] == list(i)
    assert scene["kernel"] == [[k[a] - 1 - t[a] for a in range(3)] for t in np.ndindex(*k)]
    rng = np.random.default_rng(seed)
    dy, w = rng.integers(-3, 4, o), rng.integers(-3, 4, k)
    got = product(scene["matrix"], dy, [w[tuple(e)] for e in scene["kernel"]])
    want = naive_conv_transpose3d(dy, w, s, sides, d, a_)
    assert want.shape == tuple(i) and np.array_equal(got, want.ravel())
    assert scene["counts"]["zeros"] == sum(e is None for row in scene["matrix"] for e in row)


@settings(max_examples=30, **ROOMY)
@given(volumes(MODES), st.integers(0, 2**16))
def test_gradient_vol2col_with_dy_as_kernel_is_the_weight_gradient(c, seed):
    i, k, s, sides, d, mode = c
    f = drawable("im2col", phase="gradient", **options_of(c))
    scene = f.scene()
    o = [windows(i[a], k[a], s[a], sides[2 * a], sides[2 * a + 1], d[a]) for a in range(3)]
    assert scene["output_size"] == list(k)
    # dY's cells spaced by the stride, zeros between them
    taps = [(o[a] - 1) * s[a] + 1 for a in range(3)]
    assert scene["kernel"] == [[t[a] // s[a] for a in range(3)]
                               if all(t[a] % s[a] == 0 for a in range(3)) else None
                               for t in np.ndindex(*taps)]
    rng = np.random.default_rng(seed)
    x, dy = rng.integers(-3, 4, i), rng.integers(-3, 4, o)
    got = product(scene["matrix"], x, [dy[tuple(e)] if e else 0 for e in scene["kernel"]])
    assert np.array_equal(got, naive_weight_gradient(x, dy, k, s, sides, d, mode).ravel())
    assert scene["counts"]["kernel_zeros"] == sum(e is None for e in scene["kernel"])


# ------------------------------------------------------------------ alphabet

tiny = volumes(("zeros",)).filter(lambda c: np.prod(c[0]) <= 27)


@settings(max_examples=40, **ROOMY)
@given(tiny, st.booleans(), st.tuples(*[st.integers(0, 1)] * 3))
def test_alphabet_matrix_is_conv3d_of_each_basis_vector(c, transposed, a):
    """Column j of C is the conv of the j-th basis volume by six loops (for -t, the
    transposed conv's scatter: the figure's matrix is the forward C transposed)."""
    if transposed:
        c, a = transposed_case(c, a)
    i, k, s, sides, d, _ = c
    f = drawable("alphabet", **options_of(c, transposed, a if transposed else None))
    scene = f.scene()
    w = np.arange(1, np.prod(k) + 1).reshape(k)            # distinct weights
    entries = np.array([[w[tuple(e)] if e else 0 for e in row] for row in scene["matrix"]])
    o = [windows(i[x], k[x], s[x], sides[2 * x], sides[2 * x + 1], d[x]) for x in range(3)]
    operand = o if transposed else i
    assert entries.shape == (len(scene["frames"]), np.prod(operand))
    for j in range(int(np.prod(operand))):
        basis = np.zeros(np.prod(operand))
        basis[j] = 1
        want = (naive_conv_transpose3d(basis.reshape(o), w, s, sides, d, a) if transposed
                else naive_conv3d(basis.reshape(i), w, s, sides, d, "zeros"))
        assert list(want.shape) == scene["output_size"]
        assert np.array_equal(entries[:, j], want.ravel())
    assert [fr["out"] for fr in scene["frames"]] == [
        list(map(int, np.unravel_index(n, scene["output_size"])))
        for n in range(len(scene["frames"]))]


# ------------------------------------------------------------------ verify

VERIFIED = [
    ("im2col", dict(input_size="4x5x5", kernel_size=3)),
    ("im2col", dict(input_size="3x4x4", kernel_size=2, stride=2, padding=1, phase="loss")),
    ("im2col", dict(input_size="3x4x4", kernel_size=2, stride=2, phase="gradient")),
    ("im2col", dict(input_size="2x3x3", kernel_size=2, padding=1, padding_mode="reflect")),
    ("im2col", dict(input_size="3x5x4", kernel_size="2x3x2", dilation="1x2x1", stride="2x1x2",
                    padding_sides=(1, 0, 0, 1, 1, 1), phase="gradient")),
    ("alphabet", dict(input_size="3x3x3", kernel_size=2)),
    ("alphabet", dict(input_size="2x3x3", kernel_size=2, padding_sides=(0, 1, 1, 0, 0, 0))),
    ("alphabet", dict(input_size="2x2x2", kernel_size=2, stride=2, transposed=True)),
    ("alphabet", dict(input_size="2x3x3", kernel_size=2, stride=2, transposed=True,
                      output_padding=(1, 0, 1))),
]


@pytest.mark.parametrize("kind,values", VERIFIED)
def test_verify_passes_on_the_simulator_and_numpy(kind, values):
    f = plan(*figure(kind, None, type="pdf", **values))
    checks = f.checks(["simulator", "numpy"])
    assert {c.backend for c in checks} == {"simulator", "numpy"}
    assert checks and all(c.passed and c.error < 1e-4 for c in checks), checks


def test_verify_catches_a_wrong_entry():
    from convanim.verify import check_alphabet, check_im2col

    data = planned("alphabet", input_size="2x3x3", kernel_size=2, type="pdf").data()
    data["matrix"][0][0] = None
    assert not all(c.passed for c in check_alphabet(data, "simulator"))
    data = planned("im2col", input_size="2x3x3", kernel_size=2, padding=1, type="pdf").data()
    row = data["im2col"][0]
    row[next(n for n, e in enumerate(row) if e is not None)] = None
    assert not check_im2col(data, "simulator")[0].passed


def test_the_index_page_names_the_3d_calls():
    f = plan(*figure("im2col", None, input_size="3x3x3", kernel_size=3, padding=1))
    assert torch_call(f) == ("torch.nn.Conv3d(1, 1, kernel_size=3, stride=1, padding=1)(x)"
                             "  # as x unfolded: y = w.flatten() @ X")
    f = plan(*figure("im2col", None, input_size="3x4x4", kernel_size=2, stride=2,
                     phase="gradient"))
    assert torch_call(f) == ("torch.nn.grad.conv3d_weight(x, (1, 1, 2, 2, 2), dy, stride=2, padding=0)")
    f = plan(*figure("alphabet", None, input_size="3x3x3", kernel_size=2))
    assert torch_call(f) == "torch.nn.Conv3d(1, 1, kernel_size=2, stride=1, padding=0)"


# ------------------------------------------------------------------ refusals and drawing

DRAWN = "arithmetic, numerical, alphabet, im2col and channels"


@pytest.mark.parametrize("args,message", [
    (["alphabet", "-i", "4x5x5"], "figure too large: alphabet draws volumes of at most 27 "
     "cells in and out (e.g. -i 3x3x3 -k 2); the input 4x5x5 has 100 (C would be 18x100): use "
     "numerical or arithmetic"),
    (["alphabet", "-i", "2x3x3", "-k", "2", "-p", "1"], "the output 3x4x4 has 48"),
    (["alphabet", "-i", "2x2x2", "-k", "2", "-p", "1", "--padding-mode", "reflect"],
     "alphabet figures need zero padding"),
    (["alphabet", "-i", "3x3x3", "-k", "2", "--in-channels", "2"],
     "alphabet draws a volume's matrix for one channel"),
    (["im2col", "-i", "6x6x6", "-k", "5"], "figure too large: the forward vol2col matrix would "
     "be 125x8; im2col draws a volume's matrix of at most 64 rows (taps) and columns "
     "(outputs), e.g. -i 4x5x5 -k 3 (27x18)"),
    (["im2col", "-i", "2x13x2", "-k", "1x9x1"], "im2col draws a volume of at most 12 cells "
     "per axis"),
    (["im2col", "-i", "4x5x5", "--in-channels", "2"], "im2col draws a volume's vol2col for one "
     "channel; drop --in-channels/--out-channels (stats counts 2 -> 1 channels of -i 4x5x5)"),
    (["im2col", "-i", "3x4x4", "-k", "2", "-t"], "its transposed conv is --phase loss"),
    (["channels", "-i", "4x5x5", "--in-channels", "3"], "figure too large: -i 4x5x5: 3 input "
     "channels of 4 padded slices are 12; channels draws volumes of at most C*D <= 8 slices a "
     "side"),
    (["stack", "-i", "4x5x5"], f"-i 4x5x5: stack figures draw 1-D and 2-D convolutions; a "
     f"volume (3-D) is drawn by {DRAWN}, and counted by stats"),
])
def test_refusals_are_one_line(workdir, capsys, args, message):
    status, out, err = run(capsys, *args)
    assert status == 2 and out == [] and len(err) == 1 and message in err[0], err
    assert files_under(workdir) == []


@pytest.mark.parametrize("kind,args", [("im2col", ["-i", "4x5x5", "-k", "3", "-e", "3"]),
                                       ("alphabet", ["-i", "3x3x3", "-k", "2", "-e", "3"])])
def test_a_volume_matrix_is_drawn_within_the_page(workdir, capsys, kind, args):
    """One compile each: at most 22 cm tall and 19.5 wide (a 16 cm column shrinks it to
    >= 5 pt), and at --width 8.25 without the layout's warning."""
    import pymupdf

    for extra in ([], ["--width", "8.25", "NARROW"]):
        status, out, err = run(capsys, kind, *args, "-y", "pdf", *extra)
        assert status == 0 and err == [] and len(out) == 1, err
        with pymupdf.open(out[0]) as doc:
            w, h = (v / 72 * 2.54 for v in doc[0].rect[2:])
        assert w <= (8.3 if extra else 19.5) and h <= 22.0, (w, h)
