"""Padding resolved once (#35 item 1) and verify right for every padding form (#36 item 7).

Every form (``-p N``, ``HxW``, ``same``, ``valid``, ``--padding-sides``, ``--causal``) becomes
one :class:`convanim.geometry.Sides` in :meth:`ConvSpec.from_options`; the figures' numbers
are checked here against plain loops (tests/reference.py) and against ``verify``.
"""
import os

import numpy as np
import pytest

import reference
from convanim.errors import SpecError
from convanim.figure import figure, plan
from convanim.geometry import Sides
from convanim.spec import ConvSpec

from helpers import files_under, run

BACKEND = os.environ.get("CONVANIM_TEST_BACKEND", "simulator")


# --- the commands ---------------------------------------------------------------------

def test_verify_per_axis_padding_passes(workdir, capsys):
    """#36: (top, bottom) was passed to the backend as (h, w): FAIL on a correct figure."""
    status, _, err = run(capsys, "verify", "numerical", "-i", "3", "-k", "3", "-p", "2x1",
                         "--backend", BACKEND)
    assert status == 0, err


def test_a_figure_with_per_axis_padding_verifies_and_draws(workdir, capsys):
    status, out, err = run(capsys, "numerical", "-i", "5x7", "-k", "3", "-p", "1x0", "--verify",
                           "-y", "pdf", "--quiet")
    assert status == 0, err
    assert [p.name for p in out] == ["numerical_i5x7_k3_s1_p1x0_d1_00.pdf"]


def test_verify_same_padding_of_a_sequence_passes(workdir, capsys):
    status, _, err = run(capsys, "verify", "numerical", "-i", "1x12", "-k", "1x3", "-p", "same",
                         "--backend", BACKEND)
    assert status == 0, err


def test_verify_transposed_channels_with_per_axis_padding_passes(workdir, capsys):
    """It ended in a traceback (ValueError: the transposed output would be (3, -1))."""
    status, _, err = run(capsys, "verify", "channels", "-i", "3", "-k", "3", "-p", "2x0", "-t",
                         "--backend", BACKEND)
    assert status == 0, err


def test_same_with_values_and_transposed_draws(workdir, capsys):
    """#35: ValueError: invalid literal for int() with base 10: 's'."""
    status, out, err = run(capsys, "numerical", "--input", "1 2 3; 4 5 6; 7 8 9", "-t", "-p",
                           "same", "-y", "pdf", "--quiet")
    assert status == 0, err
    assert [p.name for p in out] == ["numerical_transposed_i3_k3_s1_p1_d1_00.pdf"]


def test_valid_with_values_and_transposed_from_the_api():
    fig = plan(*figure("channels", None, padding="valid", transposed=True,
                       input=[[1, 2], [3, 4]], kernel_size=1, type="pdf"))
    assert fig.spec.padding == (0, 0, 0, 0) and fig.data()["input"] == [[[1, 2], [3, 4]]]


@pytest.mark.parametrize("kind", ["numerical", "channels"])
@pytest.mark.parametrize("extra,sides,size", [
    ({"padding_sides": (1, 1, 0, 0)}, (1, 1, 0, 0), [3, 5]),
    ({"padding_sides": (0, 2, 1, 0)}, (0, 2, 1, 0), [3, 4]),
    ({"causal": True, "kernel_size": (1, 3)}, (0, 0, 2, 0), [3, 3]),
    ({"padding": "same"}, (1, 1, 1, 1), [3, 3]),
    ({"padding": "valid"}, (0, 0, 0, 0), [5, 5]),
])
def test_values_with_any_padding_and_transposed_are_not_refused(kind, extra, sides, size):
    """-i follows the values through the padding given in any form (it read -p alone)."""
    fig = plan(*figure(kind, None, transposed=True, input="1 2 3; 4 5 6; 7 8 9", type="pdf",
                       **extra))
    data = fig.data()
    assert data["padding_sides"] == list(sides) and data["input_size"] == size
    assert np.array(data["input"]).reshape(3, 3).tolist() == [[1, 2, 3], [4, 5, 6], [7, 8, 9]]


def test_same_with_values_transposed_and_a_stride_asks_for_the_input_size(workdir, capsys):
    status, out, err = run(capsys, "numerical", "--input", "1 2 3; 4 5 6; 7 8 9", "-t", "-s",
                           "2", "-p", "same", "-y", "pdf")
    assert status == 2 and out == [] and len(err) == 1
    assert err[0].startswith("convanim: error: -p same with -t at stride 2:") and "give -i" in err[0]
    assert files_under(workdir) == []
    # with -i it is one figure: the transposed conv of that forward conv
    assert plan(*figure("numerical", None, input="1 2 3; 4 5 6; 7 8 9", transposed=True,
                        stride=2, padding="same", input_size=6)).spec.padding == (0, 1, 0, 1)


# --- the one type -----------------------------------------------------------------------------

def test_sides_of_every_form():
    assert Sides.of((1, 2)) == (1, 1, 2, 2) and Sides.of((0, 2, 1, 0)) == (0, 2, 1, 0)
    assert Sides.of((1, 2)).symmetric and not Sides.of((0, 2, 1, 0)).symmetric
    assert Sides.of((1, 1, 2, 2)).pair == (1, 2) and Sides(0, 2, 1, 3).total == (2, 4)
    assert [Sides.of(p).format() for p in ((1, 1), (1, 2), (0, 2, 1, 0))] == ["1", "1x2",
                                                                            "0,2,1,0"]
    with pytest.raises(ValueError):
        Sides.of("same")
    assert ConvSpec(padding=(1, 2)).padding == ConvSpec(padding=(1, 1, 2, 2)).padding


@pytest.mark.parametrize("values", [
    {"padding": 1}, {"padding": "1x0", "transposed": True}, {"padding_sides": (0, 2, 1, 0)},
    {"padding": "same", "stride": 2, "input_size": 6}, {"causal": True, "input_size": "1x8",
                                                        "kernel_size": "1x3"}])
def test_the_spec_round_trips_through_its_data(values):
    data = plan(*figure("numerical", None, **values)).spec.to_dict()
    assert ConvSpec.from_dict(data).to_dict() == data
    old = {k: v for k, v in data.items() if k != "padding_sides"}  # written before sides
    if data["padding_sides"][::2] == data["padding_sides"][1::2]:
        assert ConvSpec.from_dict(old).to_dict() == data


def test_every_form_of_one_padding_is_one_cached_picture():
    keys = {plan(*figure("arithmetic", None, **v)).key() for v in (
        {"padding": 1}, {"padding": "1x1"}, {"padding": "same"}, {"padding_sides": (1, 1, 1, 1)})}
    assert len(keys) == 1
    assert plan(*figure("arithmetic", None, padding=2)).key() not in keys


def test_the_backends_refuse_four_sides_for_a_pair():
    from convanim import sparse
    x, w = np.ones((1, 1, 3, 3), np.float32), np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(ValueError, match=r"\(h, w\) pair"):
        sparse.run("conv2d", x, w, padding=(2, 2, 1, 1), backend="numpy")


# --- every padding form against plain loops, and verify on it ---------------------------------

#: (options, the sides they pad, worked out by hand or by tests/reference.py's own rules)
CASES = [
    ({"input_size": 3, "padding": "2x1"}, (2, 2, 1, 1)),                       # per axis
    ({"input_size": "5x7", "padding": "1x0"}, (1, 1, 0, 0)),
    ({"input_size": "1x12", "kernel_size": "1x3", "padding": "same"},
     (*reference.tf_same_padding(1, 1, 1, 1), *reference.tf_same_padding(12, 3, 1, 1))),
    ({"input_size": 6, "stride": 2, "padding": "same"},                        # the odd cell after
     (*reference.tf_same_padding(6, 3, 2, 1), *reference.tf_same_padding(6, 3, 2, 1))),
    ({"input_size": 5, "padding": "valid"}, (0, 0, 0, 0)),
    ({"input_size": 5, "padding_sides": (0, 2, 1, 0)}, (0, 2, 1, 0)),          # per side
    ({"input_size": "1x8", "kernel_size": "1x3", "dilation": "1x2", "causal": True},
     (0, 0, 4, 0)),
    ({"input_size": 3, "padding": "2x0", "transposed": True}, (2, 2, 0, 0)),
    ({"input_size": 5, "stride": 2, "padding": "1x0", "transposed": True}, (1, 1, 0, 0)),
    ({"input_size": 5, "kernel_size": 4, "padding": "same", "transposed": True},
     (*reference.tf_same_padding(5, 4, 1, 1), *reference.tf_same_padding(5, 4, 1, 1))),
    ({"input_size": 5, "padding_sides": (0, 2, 1, 0), "transposed": True}, (0, 2, 1, 0)),
    ({"input_size": "1x8", "kernel_size": "1x3", "causal": True, "transposed": True},
     (0, 0, 2, 0)),
]


def loops(data, sides) -> np.ndarray:
    """The output the figure data's operand and kernel give, by tests/reference.py's loops."""
    x = np.array(data["input"], dtype=float).reshape(np.array(data["input"]).shape[-2:])
    w = np.array(data["kernel"], dtype=float).reshape(data["kernel_size"])
    s, d = data["stride"], data["dilation"]
    if not data["transposed"]:
        return reference.conv2d_sides(x, w, s, sides, d)
    t, b, l, r = sides  # the full scatter, cropped by each side's padding
    full = reference.conv_transpose2d(x, w, s, (0, 0), d, data["output_padding"])
    return full[t:full.shape[0] - b, l:full.shape[1] - r]


@pytest.mark.parametrize("kind", ["numerical", "channels"])
@pytest.mark.parametrize("values,sides", CASES)
def test_the_figures_numbers_are_the_loops(kind, values, sides):
    data = plan(*figure(kind, None, **values)).data()
    assert data["padding_sides"] == list(sides)
    want = loops(data, sides)
    got = np.array(data["output"], dtype=float).reshape(want.shape)
    assert np.array(data["output"]).size == want.size and np.allclose(got, want)


@pytest.mark.parametrize("kind", ["numerical", "channels", "alphabet", "im2col", "arithmetic"])
@pytest.mark.parametrize("values,sides", CASES)
def test_verify_holds_for_every_padding_form(kind, values, sides):
    try:
        fig = plan(*figure(kind, None, **values))
    except SpecError as e:  # what a kind cannot show, said in one line
        assert "\n" not in str(e) and kind == "im2col" and values.get("transposed"), e
        return
    assert fig.data()["padding_sides"] == list(sides)
    checks = fig.checks(["numpy"])
    assert checks and all(c.passed for c in checks), [(c.name, c.error) for c in checks]
