"""Padding per side and padding modes in every figure kind, stats, verify and the CLI (no TeX)."""
import numpy as np
import pytest

from convanim import geometry as g
from convanim import stats
from convanim.figure import figure, from_data, plan
from convanim.models import Layer

from helpers import files_under, run

import reference as ref

NUMPY_MODES = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
               "circular": "wrap"}


def planned(kind, **values):
    k, options = figure(kind, **values)
    return plan(k, options).with_all_steps()


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("sides", [(1, 1, 1, 1), (0, 2, 1, 0), (2, 0, 0, 3)])
def test_numerical_shows_the_padded_values_and_computes_the_loop(mode, sides):
    fig = planned("numerical", input_size=4, kernel_size=3, padding_sides=sides,
                  padding_mode=mode, seed=7)
    scene = fig.scene()
    x = np.array(scene["input"])
    t, b, l, r = sides
    shown = [[float(cell["label"]) for cell in row] for row in scene["canvas"]]
    assert np.array_equal(shown, np.pad(x, ((t, b), (l, r)), mode=NUMPY_MODES[mode]))
    want = ref.conv2d_sides(x.astype(float), np.array(scene["kernel"], float), (1, 1), sides,
                            (1, 1), mode)
    assert np.array_equal(scene["output"], want)
    data = fig.data()
    assert data["padding_sides"] == list(sides) and data["padding_mode"] == mode


def test_channels_show_the_padded_values_of_every_plane():
    fig = planned("channels", input_size=4, kernel_size=3, padding=1, padding_mode="circular",
                  in_channels=2, out_channels=2)
    scene = fig.scene()
    x = np.array(fig.data()["input"])
    for plane, drawn in zip(x, scene["inputs"]):
        shown = [[float(c["label"]) for c in row] for row in drawn["cells"]]
        assert np.array_equal(shown, np.pad(plane, 1, mode="wrap"))


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_arithmetic_copies_name_the_cell_each_padding_cell_copies(mode):
    fig = planned("arithmetic", input_size="4x5", kernel_size=3, padding_sides=(2, 1, 0, 3),
                  padding_mode=mode, copies=True)
    copies = {(r, c): text for r, c, text, copied in fig.scene()["copies"] if copied}
    assert len(copies) == 7 * 8 - 4 * 5
    for (r, c), text in copies.items():
        want = (ref.padded_index(r - 2, 4, mode), ref.padded_index(c, 5, mode))
        assert text == f"{want[0]},{want[1]}"


@pytest.mark.parametrize("i, k, s", [(7, 3, 2), (8, 4, 3), (5, 2, 1), (9, 5, 4)])
def test_same_padding_in_a_figure_has_tensorflows_output(i, k, s):
    fig = planned("arithmetic", input_size=i, kernel_size=k, stride=s, padding="same")
    before, after = ref.tf_same_padding(i, k, s, 1)
    assert fig.data()["padding_sides"] == [before, after, before, after]
    assert fig.data()["output_size"] == [-(-i // s)] * 2


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_im2col_and_stats_count_zeros_only_where_there_are_zeros(mode):
    sides = (0, 2, 1, 0)
    layer = Layer("x", "conv", (4, 5), 1, 1, (3, 3), (1, 1), sides, (1, 1), padding_mode=mode)
    row = stats.layer_stats(layer)
    for phase in ("forward", "gradient"):
        fig = planned("im2col", input_size="4x5", kernel_size=3, padding_sides=sides,
                      padding_mode=mode, phase=phase)
        nulls = sum(e is None for r in fig.data()["im2col"] for e in r)
        assert row[f"{phase}_featuremap_zeros_after_im2col"] == nulls
        # by walking every tap of the phase's operand
        expect = 0 if mode != "zeros" else nulls
        if mode == "zeros":
            low = g.phase_conv(phase, (4, 5), (3, 3), (1, 1), sides, (1, 1))
            expect = low.elements - int((low.gather[..., 0] >= 0).sum())
        assert nulls == expect
    if mode != "zeros":
        assert row["forward_featuremap_zeros_after_im2col"] == 0


def test_stats_command_takes_the_padding_options(capsys):
    status, out, err = run(capsys, "stats", "-i", "1x16", "-k", "1x3", "-p", "same",
                           "--padding-mode", "reflect")
    assert status == 0
    assert "0 (0.0%)" in str(out[2])  # forward zeros: reflect inserts none


def test_torch_calls_use_fpad_where_no_single_call_exists():
    def call(kind, **values):
        fig = planned(kind, **values)
        return fig.kind.torch_call(fig.spec, fig.options)

    assert call("arithmetic", padding=1, padding_mode="reflect") == (
        "torch.nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=1, padding_mode='reflect')")
    assert call("arithmetic", padding_sides=(0, 2, 1, 0)) == (
        "torch.nn.Conv2d(1, 1, kernel_size=3, stride=1)(F.pad(x, (1, 0, 0, 2)))")
    assert call("numerical", padding_sides=(0, 1, 1, 0), padding_mode="replicate",
                mode="max") == ("torch.nn.MaxPool2d(kernel_size=3, stride=1)"
                                "(F.pad(x, (1, 0, 0, 1), mode='replicate'))")
    assert call("numerical", padding_sides=(0, 1, 1, 0), mode="max").endswith(
        "(F.pad(x, (1, 0, 0, 1), value=-inf))")
    assert call("arithmetic", input_size=6, padding_sides=(0, 2, 1, 0), transposed=True) == (
        "torch.nn.ConvTranspose2d(1, 1, kernel_size=3, stride=1, padding=0, "
        "output_padding=0)(x)[..., 0:-2, 1:]")
    assert call("im2col", padding_sides=(1, 0, 0, 0), padding_mode="circular").startswith(
        "torch.nn.Unfold(kernel_size=3, stride=1)(F.pad(x, (0, 0, 1, 0), mode='circular'))")


@pytest.mark.parametrize("kind, values", [
    ("numerical", {"padding_sides": (0, 2, 1, 0), "padding_mode": "reflect", "stride": 2}),
    ("numerical", {"padding_sides": (0, 1, 1, 0), "mode": "max"}),
    ("channels", {"padding": "same", "kernel_size": 2, "padding_mode": "replicate",
                  "in_channels": 2, "out_channels": 2}),
    ("alphabet", {"padding_sides": (0, 2, 1, 0), "transposed": True}),
    ("im2col", {"padding_sides": (0, 2, 1, 0), "padding_mode": "circular", "phase": "loss"}),
    ("arithmetic", {"input_size": "1x9", "kernel_size": "1x2", "dilation": "1x3",
                    "causal": True}),
])
def test_verify_recomputes_padded_figures_and_json_replans(kind, values):
    fig = planned(kind, **values)
    checks = fig.checks(["numpy"])
    assert checks and all(c.passed for c in checks), [(c.name, c.error) for c in checks]
    again = from_data(fig.kind, fig.data())
    assert (again.spec.padding, again.spec.padding_mode, again.spec.output_size) == (
        fig.spec.padding, fig.spec.padding_mode, fig.spec.output_size)


BAD = [
    (["numerical", "-i", "4", "-p", "4", "--padding-mode", "reflect"],
     "reflect padding must be smaller than the input"),
    (["numerical", "-i", "3", "-p", "4", "--padding-mode", "circular"],
     "circular padding must be at most the input size"),
    (["arithmetic", "-t", "-p", "1", "--padding-mode", "reflect"], "pads with zeros only"),
    (["arithmetic", "--causal", "-p", "1"], "--causal sets the padding"),
    (["alphabet", "-p", "1", "--padding-mode", "replicate"], "alphabet figures need zero"),
    (["arithmetic", "--copies"], "--copies marks what padding cells copy"),
    (["arithmetic", "--padding-sides", "1,2,3"], "expected four sides T,B,L,R"),
    (["arithmetic", "--padding-sides", "1,2,3,-1"], "padding must be >= 0 on every side"),
    (["arithmetic", "-p", "full"], "expected N, HxW, DxHxW, same or valid"),
    (["arithmetic", "--padding-mode", "mirror"], "invalid choice: 'mirror'"),
    (["stack", "--layers", "k=2,q=1"], "each layer is"),
    (["stack", "-i", "100", "--layers", "k=2"], "at most 64"),
]


@pytest.mark.parametrize("argv, message", BAD)
def test_refused_padding_exits_2_with_one_line_and_writes_nothing(argv, message, capsys,
                                                                   tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, *argv, "-y", "pdf")
    assert status == 2 and out == [] and len(err) == 1
    assert err[0].startswith("convanim: error: ") and message in err[0], err
    assert files_under(tmp_path) == []
