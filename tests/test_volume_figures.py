"""Figures of volumes (3-D convs, #34) against plain loops: every size, window, kind of
cell, count and value arithmetic and numerical show; --verify on the simulator; the JSON
round trip; the index page's PyTorch call; the 3-D backends; the refusals.

The references are test_volume_geometry's loops (numpy.pad for the padding modes, six
nested loops, the scatter of a transposed conv) and the loops below: windows slid by
hand, cells classified by padding an index array.
"""
import itertools
import json
import sys
import types

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convanim
from convanim.errors import SpecError
from convanim.figure import figure, from_data, plan
from convanim.index import torch_call

from helpers import files_under, run
from test_volume_geometry import (cell_map, naive_conv3d, naive_conv_transpose3d, volumes,
                                  windows)

MODES = ("zeros", "reflect", "replicate", "circular")


def options_of(c, transposed=False, a=None):
    i, k, s, sides, d, mode = c
    values = dict(input_size=i, kernel_size=k, stride=s, padding_sides=sides, dilation=d,
                  padding_mode=mode, transposed=transposed, type="pdf")
    if a is not None:
        values["output_padding"] = a
    return values


def planned(kind, **values):
    return plan(*figure(kind, None, **values)).with_all_steps()


def transposed_axis(n, lo, hi, s, k, d, a):
    """What each canvas position of one axis of a transposed conv holds, built by hand:
    an operand cell index, 'pad', 'ins' (an inserted zero) or 'outpad'."""
    o = windows(n, k, s, lo, hi, d)
    cells = []
    for j in range(o):
        if j:
            cells += ["ins"] * (s - 1)
        cells.append(j)
    before, after = d * (k - 1) - lo, d * (k - 1) - hi
    return ["pad"] * before + cells + ["pad"] * after + ["outpad"] * a


def expected_kinds(c, transposed, a):
    """Slice by slice, row by row, the kind of every canvas cell, by loops per axis."""
    i, k, s, sides, d, mode = c
    if not transposed:
        maps = [cell_map(i[x], sides[2 * x], sides[2 * x + 1], mode) for x in range(3)]
        zero = [np.pad(np.ones(i[x], bool), (sides[2 * x], sides[2 * x + 1])) for x in range(3)]
        out = []
        for z in range(len(maps[0])):
            out.append([["data" if zero[0][z] and zero[1][r] and zero[2][c_] else
                         "copy" if min(maps[0][z], maps[1][r], maps[2][c_]) >= 0 else "padding"
                         for c_ in range(len(maps[2]))] for r in range(len(maps[1]))])
        return out
    axes = [transposed_axis(i[x], sides[2 * x], sides[2 * x + 1], s[x], k[x], d[x], a[x])
            for x in range(3)]

    def kind(*held):
        if "outpad" in held:
            return "outpad"
        if "pad" in held:
            return "padding"
        return "inserted" if "ins" in held else "data"

    return [[[kind(pz, pr, pc) for pc in axes[2]] for pr in axes[1]] for pz in axes[0]]


def transposed_case(c, a):
    """A -t case the figures draw: padding at most d(k-1), output padding < max(s, d)."""
    i, k, s, sides, d, _ = c
    assume(all(max(sides[2 * x], sides[2 * x + 1]) <= d[x] * (k[x] - 1) for x in range(3)))
    a = tuple(min(a[x], max(s[x], d[x]) - 1) for x in range(3))
    return (i, k, s, sides, d, "zeros"), a


# ------------------------------------------------------------------ arithmetic

@settings(max_examples=40, deadline=None)
@given(volumes(MODES), st.booleans(), st.tuples(*[st.integers(0, 1)] * 3))
def test_arithmetic_shows_the_windows_and_cells_loops_give(c, transposed, a):
    if transposed:
        c, a = transposed_case(c, a)
    else:
        a = None
    i, k, s, sides, d, mode = c
    try:
        f = planned("arithmetic", **options_of(c, transposed, a))
    except SpecError as e:  # a transposed conv whose output would be empty, or too tall
        assume("output would be" not in str(e) and "too large" not in str(e))
        raise
    scene = f.scene()
    want = expected_kinds(c, transposed, a or (0, 0, 0))
    assert scene["kinds"] == want
    canvas = [len(want), len(want[0]), len(want[0][0])]
    assert scene["canvas"] == canvas
    # the windows that fit the canvas, slid by hand along each axis (stride 1 for -t)
    step = (1, 1, 1) if transposed else s
    o = [(canvas[x] - d[x] * (k[x] - 1) - 1) // step[x] + 1 for x in range(3)]
    assert scene["output"] == o == list(f.spec.output_size if transposed else o)
    assert f.steps == int(np.prod(o))
    frames = scene["frames"]
    for n, (oz, oy, ox) in enumerate(itertools.product(*map(range, o))):
        taps = [[oy * step[1] + ty * d[1], ox * step[2] + tx * d[2]]
                for ty in range(k[1]) for tx in range(k[2])]
        assert frames[n]["out"] == [oz, oy, ox]
        assert frames[n]["slices"] == [oz * step[0] + tz * d[0] for tz in range(k[0])]
        assert frames[n]["taps"] == taps
    # the count --verify checks: taps on cells holding an input value, per step
    from convanim.scenes.arithmetic3d import tap_counts

    counts = [sum(want[z][r][c_] in ("data", "copy") for z in fr["slices"] for r, c_ in fr["taps"])
              for fr in frames]
    assert tap_counts(f.data(), scene) == counts


def test_arithmetic_per_slice_steps_through_the_output_slices():
    f = planned("arithmetic", input_size="4x5x5", kernel_size=3, stride=(1, 2, 2), padding=1,
                per_slice=True)
    assert f.steps == 4 and f.name.startswith("arithmetic_per_slice_i4x5x5_k3x3x3")
    frames = f.scene()["frames"]
    assert [fr["out"] for fr in frames] == [[0], [1], [2], [3]]
    assert [fr["slices"] for fr in frames] == [[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
    # every cell some window of the slice reads: stride 2 over 7 cells, 3 taps
    assert {tuple(t) for t in frames[0]["taps"]} == set(itertools.product(range(7), range(7)))
    assert [c[0] for c in f.captions()] == [f"Step {n} of 0\u20133: output slice ({n})"
                                            for n in range(4)]


# ------------------------------------------------------------------ numerical

def naive_pool3d(x, k, s, sides, d, mode):
    """Average (count_include_pad) or max over each window, by loops."""
    xp = np.pad(x.astype(float), [(sides[2 * a], sides[2 * a + 1]) for a in range(3)],
                constant_values=-np.inf if mode == "max" else 0)
    o = [windows(x.shape[a], k[a], s[a], sides[2 * a], sides[2 * a + 1], d[a]) for a in range(3)]
    out = np.zeros(o)
    for p in itertools.product(*map(range, o)):
        vals = [xp[tuple(p[a] * s[a] + t[a] * d[a] for a in range(3))]
                for t in itertools.product(*map(range, k))]
        out[p] = max(vals) if mode == "max" else sum(vals) / len(vals)
    return out


@settings(max_examples=30, deadline=None)
@given(volumes(MODES), st.booleans(), st.tuples(*[st.integers(0, 1)] * 3),
       st.integers(0, 2**31))
def test_numerical_values_equal_the_loops(c, transposed, a, seed):
    if transposed:
        c, a = transposed_case(c, a)
    else:
        a = None
    i, k, s, sides, d, mode = c
    assume(max(i) + max(sides) * 2 <= 9)
    try:
        f = planned("numerical", seed=seed, **options_of(c, transposed, a))
    except SpecError as e:  # a transposed conv whose output would be empty
        assume("output would be" not in str(e))
        raise
    data = f.data()
    x, w, y = (np.array(data[n], float) for n in ("input", "kernel", "output"))
    if transposed:
        a = tuple(f.spec.output_padding)
        want = naive_conv_transpose3d(x, w, s, sides, d, a)
    else:
        want = naive_conv3d(x, w, s, sides, d, mode)
    np.testing.assert_allclose(y, want)
    assert list(y.shape) == f.scene()["output_size"]
    for frame in f.scene()["frames"]:  # the sums written out: per slice, then the total
        parts = [float(g["part"]) for g in frame["sums"]["groups"]]
        assert abs(sum(parts) - float(frame["sums"]["result"])) < 1e-9
        assert float(frame["sums"]["result"]) == y[tuple(frame["out"])]


@pytest.mark.parametrize("mode", ["average", "max"])
@pytest.mark.parametrize("sizes", [dict(input_size="3x4x4", kernel_size="2x3x3", padding=1),
                                   dict(input_size="4x5x5", kernel_size=2, stride=2),
                                   dict(input_size="3x5x5", kernel_size=3, dilation=(1, 2, 1))])
def test_numerical_pooling_equals_the_loops(mode, sizes):
    if mode == "average" and "dilation" in sizes:
        with pytest.raises(SpecError, match="average pooling has no dilation"):
            planned("numerical", mode=mode, **sizes)
        return
    f = planned("numerical", mode=mode, **sizes)
    data, spec = f.data(), f.spec
    got = np.array(data["output"], float)
    want = naive_pool3d(np.array(data["input"]), spec.kernel_size, spec.stride,
                        tuple(spec.padding), spec.dilation, mode)
    np.testing.assert_allclose(got, want)


# ------------------------------------------------------------------ verify, JSON, backends

VERIFIED = [
    ("arithmetic", dict(input_size="4x5x5", kernel_size=3, stride=2, padding=1)),
    ("arithmetic", dict(input_size="3x4x4", kernel_size=2, stride=2, padding=1, transposed=True)),
    ("arithmetic", dict(input_size="3x4x4", kernel_size=3, padding=1, padding_mode="reflect",
                        per_slice=True)),
    ("numerical", dict(input_size="3x4x4", kernel_size="2x3x3", padding_sides=(0, 1, 1, 0, 2, 1))),
    ("numerical", dict(input_size="3x4x4", kernel_size=2, stride=2, padding=1, transposed=True)),
    ("numerical", dict(input_size="3x4x4", kernel_size=3, padding=1,
                       padding_mode="circular", dilation=(1, 1, 2))),
    ("numerical", dict(input_size="3x4x4", kernel_size=2, mode="max", padding=1)),
    ("numerical", dict(input_size="3x4x4", kernel_size=3, mode="average", stride=(1, 2, 1))),
]


@pytest.mark.parametrize("kind,values", VERIFIED)
def test_verify_passes_on_the_simulator_and_numpy(kind, values):
    f = plan(*figure(kind, None, type="pdf", **values))
    checks = f.checks(["simulator", "numpy"])
    assert [c.backend for c in checks] == ["simulator", "numpy"]
    assert all(c.passed and c.error < 1e-4 for c in checks), checks
    if values.get("mode", "convolution") == "convolution" and kind == "numerical":
        assert checks[0].macs <= checks[0].dense_macs  # the CSR kernel skips zero weights


def test_verify_catches_a_wrong_value():
    from convanim.verify import check_numerical

    data = planned("numerical", input_size="3x4x4", kernel_size=2).data()
    data["output"][1][2][0] += 1
    assert not check_numerical(data, "simulator")[0].passed


@pytest.mark.parametrize("kind,values", VERIFIED[3:5])
def test_the_json_round_trips_and_verifies(workdir, capsys, kind, values):
    f = plan(*figure(kind, None, type="pdf", **values))
    data = json.loads(json.dumps(f.with_all_steps().data()))
    assert len(data["input_size"]) == 3 and len(data["padding_sides"]) == 6
    again = from_data(f.kind, data)
    assert again.with_all_steps().data() == data
    (workdir / "fig.json").write_text(json.dumps(data))
    status, out, err = run(capsys, "verify", kind, "--from-json", "fig.json", "--backend",
                           "simulator")
    assert status == 0 and err == [] and str(out[-1]).split()[-1] == "pass"


@pytest.mark.parametrize("op", ["conv3d", "conv_transpose3d", "avg_pool3d", "max_pool3d"])
@pytest.mark.parametrize("seed", range(3))
def test_the_3d_backends_equal_the_loops(op, seed):
    from convanim.sparse.volume import run3d

    rng = np.random.default_rng(seed)
    i = tuple(rng.integers(2, 5, 3))
    k = tuple(rng.integers(1, 3, 3))
    s = tuple(rng.integers(1, 3, 3))
    d = (1, 1, 1) if op == "avg_pool3d" else tuple(rng.integers(1, 3, 3))
    p = tuple(int(min(rng.integers(0, 2), kk // 2 if "pool" in op else 1)) for kk in k)
    if op != "conv_transpose3d":
        assume_fit = all(i[a] + 2 * p[a] >= d[a] * (k[a] - 1) + 1 for a in range(3))
        if not assume_fit:
            i = tuple(n + 4 for n in i)
    sides = tuple(v for a in p for v in (a, a))
    x = rng.integers(-3, 4, i).astype(np.float32)
    w = rng.integers(-2, 3, k).astype(np.float32)
    for backend in ("numpy", "simulator"):
        if op == "conv3d":
            y = run3d(op, x[None, None], w[None, None], stride=s, padding=p, dilation=d,
                      backend=backend)
            want = naive_conv3d(x, w, s, sides, d, "zeros")
        elif op == "conv_transpose3d":
            a = tuple(int(rng.integers(0, max(s[n], d[n]))) for n in range(3))
            y = run3d(op, x[None, None], w[None, None], stride=s, padding=p, dilation=d,
                      output_padding=a, backend=backend)
            want = naive_conv_transpose3d(x, w, s, sides, d, a)
        else:
            y = run3d(op, x[None, None], kernel_size=k, stride=s, padding=p, dilation=d,
                      backend=backend)
            want = naive_pool3d(x, k, s, sides, d, op[:3])
        assert y[1] == backend
        np.testing.assert_allclose(y[0][0, 0], want, rtol=1e-6, atol=1e-5)


# ------------------------------------------------------------------ index page, torch

@pytest.mark.parametrize("kind,values,call", [
    ("arithmetic", dict(input_size="4x5x5", kernel_size=3, stride=(1, 2, 2), padding=1),
     "torch.nn.Conv3d(1, 1, kernel_size=3, stride=(1, 2, 2), padding=1)"),
    ("arithmetic", dict(input_size="4x5x5", kernel_size=3, stride=2, padding=1, transposed=True),
     "torch.nn.ConvTranspose3d(1, 1, kernel_size=3, stride=2, padding=1, output_padding=(1, 0, 0))"),
    ("arithmetic", dict(input_size="4x5x5", kernel_size=3, padding_sides=(0, 1, 1, 1, 0, 2)),
     "torch.nn.Conv3d(1, 1, kernel_size=3, stride=1)(F.pad(x, (0, 2, 1, 1, 0, 1)))"),
    ("arithmetic", dict(input_size="4x5x5", kernel_size=3, padding=1, padding_mode="reflect"),
     "torch.nn.Conv3d(1, 1, kernel_size=3, stride=1, padding=1, padding_mode='reflect')"),
    ("numerical", dict(input_size="4x5x5", kernel_size=2, stride=2, mode="max"),
     "torch.nn.MaxPool3d(kernel_size=2, stride=2, padding=0)"),
    ("numerical", dict(input_size="4x5x5", kernel_size=3, padding_sides=(0, 1, 0, 0, 1, 1),
                       mode="average"),
     "torch.nn.AvgPool3d(kernel_size=3, stride=1)(F.pad(x, (1, 1, 0, 0, 0, 1)))"),
])
def test_the_index_page_names_the_3d_module(kind, values, call):
    assert torch_call(plan(*figure(kind, None, type="pdf", **values))) == call


def fake_torch(monkeypatch):
    """A stand-in torch with the nn classes from_torch reads (torch is not installed in
    CI): each layer holds PyTorch's attributes, as its constructor sets them."""
    nn = types.SimpleNamespace()

    def layer(name, **defaults):
        first = ("kernel_size",) if "Pool" in name else ("in_channels", "out_channels",
                                                         "kernel_size")

        def init(self, *args, **kw):
            for key, value in {**defaults, **kw}.items():
                setattr(self, key, value)
            for key, value in zip(first, args):
                setattr(self, key, value)
        cls = type(name, (), {"__init__": init})
        setattr(nn, name, cls)
        return cls

    conv = dict(stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros", bias=None)
    for name in ("Conv2d", "Conv3d"):
        layer(name, **conv)
    for name in ("ConvTranspose2d", "ConvTranspose3d"):
        layer(name, output_padding=0, **conv)
    for name in ("MaxPool2d", "MaxPool3d"):
        layer(name, stride=None, padding=0, dilation=1, ceil_mode=False)
    for name in ("AvgPool2d", "AvgPool3d"):
        layer(name, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
              divisor_override=None)
    monkeypatch.setitem(sys.modules, "torch", types.SimpleNamespace(nn=nn))
    return nn


def test_from_torch_reads_3d_layers(monkeypatch):
    from convanim.layers import torch_options

    nn = fake_torch(monkeypatch)
    kind, values = torch_options(nn.Conv3d(1, 1, (3, 3, 3), stride=(1, 2, 2), padding=1))
    assert kind == "numerical" and values == {
        "kernel_size": (3, 3, 3), "stride": (1, 2, 2), "padding": (1, 1, 1),
        "dilation": (1, 1, 1), "transposed": False, "mode": "convolution"}
    f = plan(*figure(kind, None, input_size="4x5x5", type="pdf", **values))
    assert torch_call(f) == "torch.nn.Conv3d(1, 1, kernel_size=3, stride=(1, 2, 2), padding=1)"
    kind, values = torch_options(nn.ConvTranspose3d(1, 1, 2, stride=2, output_padding=1))
    assert values["output_padding"] == (1, 1, 1) and values["transposed"]
    kind, values = torch_options(nn.MaxPool3d(2, padding=1))
    assert values == {"mode": "max", "kernel_size": (2, 2, 2), "stride": (2, 2, 2),
                      "padding": (1, 1, 1), "dilation": (1, 1, 1)}
    kind, values = torch_options(nn.Conv3d(3, 8, 3))
    with pytest.raises(SpecError, match="figure too large: -i 4x5x5: 8 output channels of 2 "
                       "output slices are 16"):
        plan(*figure(kind, None, input_size="4x5x5", **values))


# ------------------------------------------------------------------ refusals and limits

@pytest.mark.parametrize("args,message", [
    (["arithmetic", "-i", "5", "--per-slice"], "--per-slice steps through a volume's output "
     "depth slices: give a 3-D size, e.g. -i 4x5x5"),
    (["arithmetic", "-i", "4x5x5", "-p", "1", "--padding-mode", "reflect", "--copies"],
     "--copies writes each cell's input cell in 1-D and 2-D figures"),
    (["arithmetic", "-i", "4x33x5"], "figure too large: the padded input is 4x33x5 cells; "
     "arithmetic figures draw at most 32 cells per axis"),
    (["arithmetic", "-i", "30x30x30", "-k", "1"], "stacked as slices are"),
    (["numerical", "-i", "4x13x5"], "numerical figures draw a volume of at most 12 cells "
     "per axis (e.g. -i 4x10x10 -k 3)"),
    (["numerical", "-i", "4x5x5", "-k", "3x2"], "-k 3x2 is 2-D but -i 4x5x5 is 3-D"),
    (["arithmetic", "-i", "4x5x5", "-k", "5x3x3"], "kernel of size 5x3x3"),
])
def test_limits_and_refusals_are_one_line(workdir, capsys, args, message):
    status, out, err = run(capsys, *args)
    assert status == 2 and out == [] and len(err) == 1 and message in err[0], err
    assert files_under(workdir) == []


@pytest.mark.parametrize("kind,args", [("arithmetic", ["-k", "3", "-s", "2", "-p", "1",
                                                       "--labels", "-e", "3"]),
                                       ("numerical", ["-k", "3", "-e", "4"])])
def test_a_volume_figure_is_drawn(workdir, capsys, kind, args):
    """One small compile per kind: the PDF written, the page at most 22 cm tall and at
    most 19.2 cm wide (numerical's rows of 24 cells, which a 16 cm column shrinks to
    text >= 5 pt)."""
    status, out, err = run(capsys, kind, "-i", "4x5x5", *args, "-y", "pdf")
    assert status == 0 and err == [] and len(out) == 1
    import pymupdf

    with pymupdf.open(out[0]) as doc:
        w, h = (v / 72 * 2.54 for v in doc[0].rect[2:])
    assert w <= 19.5 and h <= 22.0, (w, h)
