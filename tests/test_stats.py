"""stats against brute-force enumeration, the im2col figure, and published networks."""
import csv
import dataclasses
import io
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convanim import geometry, models, stats
from convanim.scenes import im2col
from convanim.scenes.im2col import Im2col, Im2colOptions

import reference as ref
from helpers import files_under, run
from test_geometry import convs

PHASE_CHANNELS = {"forward": "C", "loss": "D", "gradient": "C"}


def brute(layer, phase):
    """Elements, zeros and useful MACs of a phase, by enumerating its im2col matrix."""
    i, k, s, p, d = layer.in_size, layer.kernel, layer.stride, layer.padding, layer.dilation
    table = ref.im2col(phase, i, k, s, p, d)
    channels = layer.in_channels if PHASE_CHANNELS[phase] == "C" else layer.out_channels
    elements = channels * len(table) * len(table[0])
    zeros = channels * sum(e is None for row in table for e in row)
    # a MAC is useful when its operand cell is real and, in the gradient phase, the
    # tap of dY it multiplies is a real cell, not an inserted zero
    if phase == "gradient":
        o = geometry.conv_output_size(i, k, s, p, d)
        hh = [(o[a] - 1) * s[a] + 1 for a in (0, 1)]
        taps = [(ty, tx) for ty in range(hh[0]) for tx in range(hh[1])]
        real_tap = [ty % s[0] == 0 and tx % s[1] == 0 for ty, tx in taps]
    else:
        real_tap = [True] * len(table)
    useful = sum(e is not None and real for row, real in zip(table, real_tap) for e in row)
    macs = useful * layer.out_channels * (layer.in_channels // layer.groups)
    return elements, zeros, macs


layers = st.builds(
    lambda c, ch, g: models.Layer("x", "conv", c[0], ch[0] * g, ch[1] * g, *c[1:], groups=g),
    convs(), st.tuples(st.integers(1, 3), st.integers(1, 3)), st.integers(1, 3))


@settings(max_examples=150, deadline=None)
@given(layers)
def test_counts_equal_brute_force_enumeration(layer):
    row = stats.layer_stats(layer)
    for phase in stats.PHASES:
        elements, zeros, macs = brute(layer, phase)
        assert row[f"{phase}_featuremap_elements_after_im2col"] == elements
        assert row[f"{phase}_featuremap_zeros_after_im2col"] == zeros
        assert row[f"{phase}_useful_macs"] == macs
        assert row[f"{phase}_dense_macs"] == \
            elements // (layer.in_channels if phase != "loss" else layer.out_channels) \
            * layer.out_channels * (layer.in_channels // layer.groups)


@pytest.mark.parametrize("layer", [
    models.Layer("conv1", "conv", (224, 224), 3, 64, (7, 7), (2, 2), (3, 3)),   # resnet conv1
    models.Layer("sc", "conv", (56, 56), 256, 512, (1, 1), (2, 2), (0, 0)),     # 1x1/s2 shortcut
    models.Layer("odd", "conv", (6, 6), 2, 2, (3, 3), (2, 2), (1, 1)),          # remainder 1
    models.Layer("dil", "conv", (9, 9), 4, 4, (3, 3), (1, 1), (2, 2), (2, 2), groups=2),
    models.Layer("dw", "conv", (14, 14), 32, 32, (3, 3), (2, 2), (1, 1), groups=32),
])
def test_named_layer_shapes(layer):
    row = stats.layer_stats(layer)
    for phase in stats.PHASES:
        elements, zeros, macs = brute(layer, phase)
        assert (row[f"{phase}_featuremap_elements_after_im2col"],
                row[f"{phase}_featuremap_zeros_after_im2col"],
                row[f"{phase}_useful_macs"]) == (elements, zeros, macs)


def test_resnet50_conv1_is_112_and_the_shortcut_has_no_negative_padding():
    rows, _ = stats.network_stats(models.MODELS["resnet50"]())
    by_name = {r["name"]: r for r in rows}
    assert by_name["conv1"]["output_size"] == "112"   # the seed's script said 113
    assert by_name["layer2.0.downsample.0"]["output_size"] == "28"
    assert all(not r["padding"].startswith("-") for r in rows)


@settings(max_examples=60, deadline=None)
@given(convs(), st.sampled_from(stats.PHASES))
def test_the_im2col_figure_counts_what_stats_reports(c, phase):
    i, k, s, p, d = c
    if phase == "loss" and any(p[a] > d[a] * (k[a] - 1) for a in (0, 1)):
        return  # the figure refuses cropped transposed views
    layer = models.Layer("x", "conv", i, 1, 1, k, s, p, d)
    row = stats.layer_stats(layer)
    from convanim.spec import ConvSpec
    scene = Im2col().scene(ConvSpec(*c).validate(), [0], Im2colOptions(phase=phase, caption=""))
    nulls = sum(e is None for r in scene["matrix"] for e in r)
    assert nulls == row[f"{phase}_featuremap_zeros_after_im2col"] == scene["counts"]["zeros"]
    if phase == "gradient":
        assert scene["counts"]["kernel_zeros"] == row["gradient_weight_zeros_after_im2col"]


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_built_in_networks_have_the_published_parameter_count(name):
    assert sum(layer.params for layer in models.MODELS[name]()) == models.PUBLISHED_PARAMS[name]


def test_weight_sparsity_scales_forward_and_loss_macs_only():
    layer = models.Layer("x", "conv", (8, 8), 4, 8, (3, 3), (1, 1), (1, 1))
    dense, half = stats.layer_stats(layer), stats.layer_stats(layer, weight_sparsity=0.5)
    assert half["forward_useful_macs"] == dense["forward_useful_macs"] // 2
    assert half["loss_useful_macs"] == dense["loss_useful_macs"] // 2
    assert half["gradient_useful_macs"] == dense["gradient_useful_macs"]
    assert half["forward_weight_sparsity_after_im2col"] == 0.5


def test_cfg_is_one_line_per_conv_with_groups_and_dilation():
    layers = models.MODELS["mobilenet_v2"]()
    lines = stats.to_cfg(layers).splitlines()
    assert lines[0] == stats.CFG_HEADER
    assert len(lines) - 1 == sum(layer.kind == "conv" for layer in layers)
    assert lines[2] == "conv,112,112,112,112,32,32,3,3,1,1,1,1,32,1,1"  # depthwise


def test_cli_network_table_csv_and_cfg(workdir, capsys):
    status, out, err = run(capsys, "stats", "--model", "resnet18", "--csv", "r.csv",
                           "--cfg", "r.cfg")
    assert status == 0
    assert [str(p) for p in files_under(workdir)] == ["r.cfg", "r.csv"]
    assert err == []  # as the figure commands: the paths written end stdout, one per line
    assert [str(p) for p in out[-2:]] == ["r.csv", "r.cfg"]
    rows = list(csv.DictReader(io.StringIO((workdir / "r.csv").read_text())))
    assert rows[-1]["name"] == "TOTAL" and len(rows) == 21  # 20 convs
    assert rows[0]["output_size"] == "112" and rows[0]["params"] == "9408"
    seed_columns = ["input_size", "output_size", "kernel_size", "stride", "padding",
                    "forward_featuremap_zeros_after_im2col", "gradient_kernal_additional_storage",
                    "loss_featuremap_sparsity_after_im2col"]
    assert all(c in rows[0] for c in seed_columns)


def test_cli_single_layer_table(capsys):
    from convanim.cli import main
    assert main(["stats", "-i", "6", "-k", "3", "-s", "2", "-p", "1", "--in-channels", "2",
                 "--out-channels", "4", "--groups", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["layer", "in", "out"]
    assert out[2].split()[:5] == ["conv", "2x6x6", "4x3x3", "3/2/1/1/2", "36"]


@pytest.mark.parametrize("args,message", [
    (["--in-channels", "3", "--groups", "2"], "--in-channels 3 is not divisible by --groups 2"),
    (["--weight-sparsity", "1.5"], "--weight-sparsity must be in [0, 1)"),
    (["--model", "resnet51"], "invalid choice: 'resnet51'"),
    (["--onnx", "missing.onnx"], "cannot read missing.onnx"),
    (["--model", "vgg16", "--onnx", "x.onnx"], "not allowed with argument"),
    (["-i", "2", "-k", "5"], "more than the padded input"),
])
def test_cli_bad_input(workdir, capsys, args, message):
    status, out, err = run(capsys, "stats", *args)
    assert status == 2 and message in err[0], err
    assert files_under(workdir) == []


def test_onnx_model_matches_the_single_layer_results(tmp_path):
    import onnx  # in requirements-dev.txt: a missing package fails this test, never skips it
    from onnx import TensorProto, helper, numpy_helper

    def conv(name, x, w_shape, y, **attrs):
        w = numpy_helper.from_array(np.zeros(w_shape, dtype=np.float32), name + ".w")
        return helper.make_node("Conv", [x, w.name], [y], name=name, **attrs), w

    n1, w1 = conv("c1", "x", (8, 3, 3, 3), "a", strides=[2, 2], pads=[1, 1, 1, 1])
    relu = helper.make_node("Relu", ["a"], ["b"])
    n2, w2 = conv("c2", "b", (8, 1, 3, 3), "c", group=8, dilations=[2, 2], pads=[2, 2, 2, 2])
    n3, w3 = conv("c3", "c", (16, 8, 1, 1), "y", strides=[2, 2])
    graph = helper.make_graph(
        [n1, relu, n2, n3], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                 [1, 3, 15, 15])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w1, w2, w3])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))

    layers = models.from_onnx(path)
    assert [(L.name, L.in_size, L.out_size, L.groups, L.dilation) for L in layers] == [
        ("c1", (15, 15), (8, 8), 1, (1, 1)), ("c2", (8, 8), (8, 8), 8, (2, 2)),
        ("c3", (8, 8), (4, 4), 1, (1, 1))]
    rows, totals = stats.network_stats(layers)
    single = [stats.layer_stats(models.Layer(L.name, "conv", L.in_size, L.in_channels,
                                             L.out_channels, L.kernel, L.stride, L.padding,
                                             L.dilation, L.groups)) for L in layers]
    assert rows == single
    assert totals["forward_featuremap_zeros_after_im2col"] == sum(
        r["forward_featuremap_zeros_after_im2col"] for r in single)


@settings(max_examples=150, deadline=None)
@given(layers)
def test_every_phase_does_the_same_useful_work(layer):
    """Forward, loss and gradient form the same products x*w*dY; only the waste differs."""
    row = stats.layer_stats(layer)
    useful = {row[f"{phase}_useful_macs"] for phase in stats.PHASES}
    assert len(useful) == 1
    assert all(row[f"{phase}_dense_macs"] >= row[f"{phase}_useful_macs"]
               for phase in stats.PHASES)


def test_a_huge_kernel_is_counted_in_closed_form(capsys):
    """An index map of this layer's loss phase would hold 10^9 entries per axis (8 GB)."""
    i, k = 1_000_000, 999
    o = i - k + 1
    row = stats.layer_stats(models.Layer("big", "conv", (i, i), 1, 1, (k, k), (1, 1), (0, 0),
                                         (1, 1), 1))
    # loss: dY (o cells) padded by k-1 each side; each dY cell meets all k taps of k windows
    assert row["loss_featuremap_elements_after_im2col"] == (k * i) ** 2
    assert row["loss_featuremap_zeros_after_im2col"] == (k * i) ** 2 - (k * o) ** 2
    assert row["forward_featuremap_zeros_after_im2col"] == 0
    assert row["gradient_weight_zeros_after_im2col"] == 0
    status, out, err = run(capsys, "stats", "-i", str(i), "-k", str(k))
    assert status == 0 and err == []
    assert f"{(k * i) ** 2 - (k * o) ** 2:,}" in str(out[2])


@pytest.mark.parametrize("args,message", [
    (["-i", "100000", "-k", "99999"],
     "too large: loss_featuremap_elements_after_im2col of conv would be 1.000e+20, "
     "more than an int64 holds (9223372036854775807)"),
    (["-i", "9223372036854775808"], "argument -i/--input-size: '9223372036854775808' is too "
                                    "large (at most 9223372036854775807)"),
    (["-i", "3000000000", "--batch", "1000000"], "more than an int64 holds"),
])
def test_what_overflows_an_int64_is_refused(workdir, capsys, args, message):
    status, out, err = run(capsys, "stats", *args)
    assert status == 2 and out == [] and len(err) == 1
    assert err[0] == f"convanim: error: {message}" or message in err[0], err


def test_an_onnx_conv1d_is_named_as_one(tmp_path):
    """A Conv node over N x C x L is a 1-D conv, said so (not an unknown shape)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((4, 2, 3), dtype=np.float32), "c.w")
    node = helper.make_node("Conv", ["x", "c.w"], ["y"], name="c")
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="ONNX Conv node c: a 1-D conv .* -i 1xL -k 1xK"):
        models.from_onnx(path)


@pytest.mark.parametrize("field, value, message", [
    ("stride", (1, 1, 1), "stride has 3 values for a layer of 2 axes \\(give 2\\)"),
    ("padding", (1, 1, 1), "padding has 3 values for a layer of 2 axes \\(give 2 or 4\\)"),
    ("stride", (0, 1), "stride must be >= 1"),
])
def test_a_layers_wrong_count_of_values_is_named(field, value, message):
    layer = models.Layer("c", "conv", (8, 8), 1, 1, (3, 3), (1, 1), (0, 0), (1, 1))
    assert models.invalid(layer) is None
    reason = models.invalid(dataclasses.replace(layer, **{field: value}))
    assert re.search(message, reason or ""), reason
