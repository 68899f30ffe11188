"""stats of 3-D layers (conv3d) against unfold-style loops, the ONNX reader and C3D; and the
one-line refusal of a 3-D size by everything that draws."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import convanim
from convanim import models, stats
from convanim.errors import SpecError

from helpers import files_under, run
from test_volume_geometry import NUMPY_MODE, volumes


def padded_cells(n, lo, hi, mode):
    """What each padded position holds: an input cell (>= 0) or a zero (-1)."""
    if mode == "zeros":
        return np.pad(np.arange(n), (lo, hi), constant_values=-1)
    return np.pad(np.arange(n), (lo, hi), mode=NUMPY_MODE[mode])


def unfold_counts(i, k, s, sides, d, mode, phase):
    """(elements, zeros, useful) of one channel's unfolded operand of a phase, by
    enumerating every (output, tap) entry of the 3-D unfold, as torch's unfold lays it out."""
    lo, hi = sides[0::2], sides[1::2]
    o = [(i[a] + lo[a] + hi[a] - d[a] * (k[a] - 1) - 1) // s[a] + 1 for a in range(3)]
    if phase == "forward":  # x padded, the kernel's taps
        cells = [padded_cells(i[a], lo[a], hi[a], mode) for a in range(3)]
        entries = [(all(cells[a][out[a] * s[a] + t[a] * d[a]] >= 0 for a in range(3)), True)
                   for out in itertools.product(*map(range, o))
                   for t in itertools.product(*map(range, k))]
    elif phase == "loss":  # dx[n] += dY[m] * w[t] where m*s + t*d - lo == n (PyTorch's scatter)
        if mode != "zeros":  # the gradient of the padded input, which has no padding
            i, lo, hi = [i[a] + lo[a] + hi[a] for a in range(3)], (0,) * 3, (0,) * 3
        def hit(a, n, t):
            q = n + lo[a] - t * d[a]
            return q % s[a] == 0 and 0 <= q // s[a] < o[a]
        entries = [(all(hit(a, n[a], t[a]) for a in range(3)), True)
                   for n in itertools.product(*map(range, i))
                   for t in itertools.product(*map(range, k))]
    else:  # dW[t] = sum over m of dY[m] * xpad[m*s + t*d]: dY zero-inserted is the kernel
        cells = [padded_cells(i[a], lo[a], hi[a], mode) for a in range(3)]
        span = [(o[a] - 1) * s[a] + 1 for a in range(3)]
        entries = [(all(cells[a][t[a] * d[a] + u[a]] >= 0 for a in range(3)),
                    all(u[a] % s[a] == 0 for a in range(3)))
                   for t in itertools.product(*map(range, k))
                   for u in itertools.product(*map(range, span))]
    reads = [r for r, _ in entries]
    return len(entries), reads.count(False), sum(r and real for r, real in entries)


layers3 = st.builds(
    lambda c, ch, g: models.Layer("x", "conv", c[0], ch[0] * g, ch[1] * g, *c[1:5], groups=g,
                                  padding_mode=c[5]),
    volumes(("zeros", "reflect", "replicate", "circular")),
    st.tuples(st.integers(1, 3), st.integers(1, 3)), st.integers(1, 2))


@settings(max_examples=60, deadline=None)
@given(layers3)
def test_3d_counts_of_every_phase_equal_the_unfold_loop(layer):
    row = stats.layer_stats(layer)
    C, D, g = layer.in_channels, layer.out_channels, layer.groups
    channels = {"forward": C, "loss": D, "gradient": C}
    for phase in stats.PHASES:
        elements, zeros, useful = unfold_counts(layer.in_size, layer.kernel, layer.stride,
                                                layer.padding, layer.dilation,
                                                layer.padding_mode, phase)
        c = channels[phase]
        assert row[f"{phase}_featuremap_elements_after_im2col"] == c * elements
        assert row[f"{phase}_featuremap_zeros_after_im2col"] == c * zeros
        assert row[f"{phase}_featuremap_sparsity_after_im2col"] == \
            (round(zeros / elements, 6) if elements else 0.0)
        assert row[f"{phase}_dense_macs"] == elements * D * (C // g)
        assert row[f"{phase}_useful_macs"] == useful * D * (C // g)
    assert row["params"] == D * (C // g) * int(np.prod(layer.kernel))
    assert row["input_size"] == "x".join(map(str, layer.in_size))


def test_cli_3d_layer_table(capsys):
    status, out, err = run(capsys, "stats", "-i", "4x5x5", "-k", "3", "-s", "1x2x2", "-p", "1",
                           "--in-channels", "2", "--out-channels", "4")
    assert status == 0 and err == []
    lines = [str(x) for x in out]
    # per channel: 4*3*3 outputs x 27 taps = 972 entries, reads 10*7*7 (depth: 4 outputs x
    # 3 taps less 2 on padding; height and width: 3 x 3 less 2): 482 zeros
    assert lines[2].split()[:6] == ["conv", "2x4x5x5", "4x4x3x3", "3/1x2x2/1/1/1", "216", "7,776"]
    assert lines[2].split()[6:8] == ["964", "(49.6%)"]


@pytest.mark.parametrize("args,message", [
    (["-i", "4x5x5", "-k", "3x3"], "-k 3x3 is 2-D but -i 4x5x5 is 3-D: give N or DxHxW"),
    (["-k", "3x3x3", "-s", "2x2"], "-s 2x2 is 2-D but -k 3x3x3 is 3-D"),
    (["-i", "4x5x5", "--padding-sides", "0,0,1,1"],
     "--padding-sides 0,0,1,1 gives four sides, but -i 4x5x5 is 3-D: give six, F,B,T,B,L,R"),
    (["-i", "5x5", "--padding-sides", "0,0,1,1,1,1"], "-i 5x5 is 2-D but --padding-sides"),
    (["-i", "4x5x5", "--causal"], "--causal pads a sequence"),
    (["-i", "2x5x5", "-k", "3"], "spans 3 cells, more than the padded input (2x5x5)"),
    (["-i", "4x5x5", "-p", "4x0x0", "--padding-mode", "reflect"],
     "reflect padding must be smaller than the input: 4 cells on a side of an axis of 4 (depth)"),
    (["-i", "4x5x5", "--cfg", "x.cfg"], "--cfg has the columns of a 2-D layer"),
    (["-i", "4x5x5x5"], "expected N, HxW or DxHxW"),
    (["--model", "c3d", "-i", "112x112"], "--model c3d takes a clip DxHxW (frames x height x "
                                          "width), got 112x112"),
    (["--model", "c3d", "-i", "8x112x112"], "--model c3d needs a clip of at least 16x16x16"),
    (["--model", "resnet18", "-i", "16x112x112"], "--model resnet18 takes an image N or HxW"),
])
def test_cli_3d_bad_input(workdir, capsys, args, message):
    status, out, err = run(capsys, "stats", *args)
    assert status == 2 and out == [] and len(err) == 1, err
    assert err[0].startswith("convanim: error: ") and message in err[0], err
    assert files_under(workdir) == []


def test_onnx_conv3d_nodes_are_counted_as_the_single_layers(tmp_path):
    import onnx  # in requirements-dev.txt: a missing package fails this test, never skips it
    from onnx import TensorProto, helper, numpy_helper

    def conv(name, x, w_shape, y, **attrs):
        w = numpy_helper.from_array(np.zeros(w_shape, dtype=np.float32), name + ".w")
        return helper.make_node("Conv", [x, w.name], [y], name=name, **attrs), w

    # ONNX pads: every axis's start, then every axis's end
    n1, w1 = conv("c1", "x", (4, 3, 3, 3, 3), "a", strides=[1, 2, 2], pads=[1, 1, 1, 1, 1, 1])
    n2, w2 = conv("c2", "a", (4, 2, 3, 1, 3), "b", group=2, dilations=[2, 1, 1],
                  pads=[0, 0, 1, 2, 0, 1])
    graph = helper.make_graph(
        [n1, n2], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 6, 9, 9])],
        [helper.make_tensor_value_info("b", TensorProto.FLOAT, None)], [w1, w2])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))

    layers = models.from_onnx(path)
    # c2: depth (6 + 0 + 2 - 2*2 - 1) + 1 = 4, height 5 (a 1-tap kernel), width 5 + 1 + 1 - 2 = 5
    assert [(L.name, L.in_size, L.out_size, L.kernel, L.padding, L.groups) for L in layers] == [
        ("c1", (6, 9, 9), (6, 5, 5), (3, 3, 3), (1, 1, 1), 1),
        ("c2", (6, 5, 5), (4, 5, 5), (3, 1, 3), (0, 2, 0, 0, 1, 1), 2)]
    rows, _ = stats.network_stats(layers)
    for row, L in zip(rows, layers):
        for phase in stats.PHASES:
            elements, zeros, _ = unfold_counts(L.in_size, L.kernel, L.stride,
                                               models.geometry.Sides3.of(L.padding),
                                               L.dilation, "zeros", phase)
            c = L.out_channels if phase == "loss" else L.in_channels
            assert row[f"{phase}_featuremap_zeros_after_im2col"] == c * zeros
            assert row[f"{phase}_featuremap_elements_after_im2col"] == c * elements
    assert rows[1]["padding"] == "0,2,0,0,1,1"


def test_c3d_is_the_papers_network():
    """C3D on a 16x112x112 clip: eight 3x3x3 convs, pool1 1x2x2, pool5 ends at 512x1x4x4."""
    layers = models.MODELS["c3d"]()
    convs = [L for L in layers if L.kind == "conv"]
    assert [(L.name, L.in_size, L.in_channels, L.out_channels) for L in convs] == [
        ("conv1", (16, 112, 112), 3, 64), ("conv2", (16, 56, 56), 64, 128),
        ("conv3a", (8, 28, 28), 128, 256), ("conv3b", (8, 28, 28), 256, 256),
        ("conv4a", (4, 14, 14), 256, 512), ("conv4b", (4, 14, 14), 512, 512),
        ("conv5a", (2, 7, 7), 512, 512), ("conv5b", (2, 7, 7), 512, 512)]
    assert all(L.out_size == L.in_size and L.kernel == (3, 3, 3) for L in convs)
    # the parameters summed by hand: 3x3x3 kernels with a bias, fc 8192-4096-4096-487
    pairs = [(3, 64), (64, 128), (128, 256), (256, 256), (256, 512), (512, 512), (512, 512),
             (512, 512)]
    by_hand = sum(27 * c * d + d for c, d in pairs) + sum(
        c * d + d for c, d in [(512 * 1 * 4 * 4, 4096), (4096, 4096), (4096, 487)])
    assert sum(L.params for L in layers) == by_hand == models.PUBLISHED_PARAMS["c3d"]


def test_cli_c3d_table(capsys):
    status, out, err = run(capsys, "stats", "--model", "c3d")
    assert status == 0 and err == []
    lines = [str(x) for x in out]
    assert lines[2].split()[:6] == ["conv1", "3x16x112x112", "64x16x112x112", "3/1/1/1/1",
                                    "5,248", "1,040,449,536"]
    # conv1's forward zeros per input channel: 27*16*112*112 entries less the reads
    # (3*16 - 2)(3*112 - 2)^2 of a 3-tap window over a padded axis
    assert lines[2].split()[6] == f"{3 * (27 * 16 * 112 * 112 - 46 * 334 * 334):,}"
    assert lines[-1] == "parameters of all layers (conv, batch norm, fully connected): 79,991,015"


# ------------------------------------------------------------------ refusals elsewhere

def refusal(given: str, kind: str) -> str:
    drawn = "arithmetic, numerical, alphabet, im2col and channels"
    return (f"{given}: {kind} figures draw 1-D and 2-D convolutions; a volume (3-D) is drawn "
            f"by {drawn}, and counted by stats")


@pytest.mark.parametrize("kind", ["stack"])  # channels draws volumes (test_volume_channels)
@pytest.mark.parametrize("args,given", [
    (["-i", "4x5x5"], "-i 4x5x5"),
    (["-k", "3x3x3"], "-k 3x3x3"),
    (["-s", "1x2x2"], "-s 1x2x2"),
    (["-p", "1x1x1"], "-p 1x1x1"),
    (["-d", "1x1x2"], "-d 1x1x2"),
    (["--padding-sides", "0,0,1,1,1,1"], "--padding-sides 0,0,1,1,1,1"),
])
def test_every_figure_without_volumes_refuses_a_3d_size_in_one_line(workdir, capsys, kind,
                                                                     args, given):
    status, out, err = run(capsys, kind, *args)
    assert status == 2 and out == []
    assert err == [f"convanim: error: {refusal(given, kind)}"]
    assert files_under(workdir) == []


@pytest.mark.parametrize("options,given", [
    ({"input_size": (4, 5, 5)}, "-i 4x5x5"),
    ({"input_size": "4x5x5"}, "-i 4x5x5"),
    ({"kernel_size": [3, 3, 3]}, "-k 3x3x3"),
    ({"padding_sides": (0, 0, 1, 1, 1, 1)}, "--padding-sides 0,0,1,1,1,1"),
    ({"output_padding": np.array([1, 1, 1]), "transposed": True}, "--output-padding 1x1x1"),
])
def test_the_api_refuses_a_3d_size_where_a_kind_draws_none(workdir, options, given):
    with pytest.raises(SpecError) as e:
        convanim.render("stack", **options)
    assert str(e.value) == refusal(given, "stack")
    assert files_under(workdir) == []


@pytest.mark.parametrize("options,message", [
    ({"input_size": (4, 5, 5), "kernel_size": "3x2"},
     "-k 3x2 is 2-D but -i 4x5x5 is 3-D: give N or DxHxW"),
    ({"input_size": (4, 5, 5), "padding_sides": (0, 0, 1, 1)},
     "--padding-sides 0,0,1,1 gives four sides, but -i 4x5x5 is 3-D: give six"),
    ({"input_size": (4, 5, 5), "causal": True}, "--causal pads a sequence"),
])
def test_a_volume_figure_refuses_sizes_of_two_axes(workdir, options, message):
    with pytest.raises(SpecError, match=message):
        convanim.render("arithmetic", **options)
    assert files_under(workdir) == []


def test_a_build_config_refuses_a_3d_size_where_a_kind_draws_none(workdir, capsys):
    (workdir / "figs.toml").write_text('[figures.a]\nkind = "stack"\n'
                                       'input-size = "4x5x5"\n')
    status, out, err = run(capsys, "build", "figs.toml")
    assert status == 2 and out == [] and len(err) == 1
    assert err[0] == ("convanim: error: figs.toml:1: figure 'a': "
                      + refusal("-i 4x5x5", "stack"))
    assert [str(p) for p in files_under(workdir)] == ["figs.toml"]
