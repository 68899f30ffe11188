"""channels of a volume (C x D x H x W, #34) against plain loops: every output, partial sum,
window and step's arithmetic against a grouped conv3d written as loops over channels
(test_volume_geometry's six-loop conv3d and scatter per pair of channels); --verify on
the simulator; the JSON round trip; the refusals in one line; the page at 16 cm and at
--width 8.25.
"""
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim.errors import SpecError
from convanim.figure import figure, from_data, plan

from helpers import files_under, run
from test_volume_geometry import naive_conv3d, naive_conv_transpose3d

CHANNELS = [(1, 1, 1), (2, 1, 1), (1, 2, 1), (2, 2, 1), (2, 2, 2), (2, 4, 2), (4, 2, 2)]


def planned(**values):
    return plan(*figure("channels", None, type="pdf", **values)).with_all_steps()


def naive_grouped(x, w, c, d, groups, s, sides, dil, mode, transposed, a):
    """``(output, partials)`` by loops: partial[q, jj] is operand plane j (the jj-th of q's
    group) through its kernel, conv3d's w[q, jj] or ConvTranspose3d's w[j, q mod out/G]."""
    pin, pout = (d, c) if transposed else (c, d)
    ipg, opg = pin // groups, pout // groups
    parts = []
    for q in range(pout):
        row = []
        for jj in range(ipg):
            j = (q // opg) * ipg + jj
            if transposed:
                row.append(naive_conv_transpose3d(x[j], w[j, q % opg], s, sides, dil, a))
            else:
                row.append(naive_conv3d(x[j], w[q, jj], s, sides, dil, mode))
        parts.append(row)
    partials = np.array(parts)
    return partials.sum(axis=1), partials


@st.composite
def cases(draw):
    c, d, g = draw(st.sampled_from(CHANNELS))
    i = tuple(draw(st.integers(1, 3)) for _ in range(3))
    k = tuple(draw(st.integers(1, 2)) for _ in range(3))
    s = tuple(draw(st.integers(1, 2)) for _ in range(3))
    dil = tuple(draw(st.integers(1, 2)) for _ in range(3))
    sides = tuple(draw(st.integers(0, 1)) for _ in range(6))
    transposed = draw(st.booleans())
    mode = "zeros" if transposed else draw(st.sampled_from(
        ["zeros", "reflect", "replicate", "circular"]))
    return dict(in_channels=c, out_channels=d, groups=g, input_size=i, kernel_size=k,
                stride=s, dilation=dil, padding_sides=sides, padding_mode=mode,
                transposed=transposed, seed=draw(st.integers(0, 2**31)))


#: What a drawn case may be refused for: PyTorch's rules, the figure's limits.
REFUSED = ("spans", "output would be", "padding", "figure too large", "cannot draw")


@settings(max_examples=40, deadline=None)
@given(cases())
def test_outputs_partials_and_steps_equal_the_loops(values):
    try:
        f = planned(**values)
    except SpecError as e:  # sizes PyTorch refuses, or a figure too large
        assume(not any(why in str(e) for why in REFUSED))
        raise
    data, scene = f.data(), f.scene()
    x, w = np.array(data["input"], float), np.array(data["kernel"], float)
    c, d, g = values["in_channels"], values["out_channels"], values["groups"]
    tr = values["transposed"]
    assert x.shape == ((d if tr else c), *f.spec.lowered().operand)
    assert w.shape == (d, c // g, *values["kernel_size"])
    want, parts = naive_grouped(x, w, c, d, g, values["stride"], values["padding_sides"],
                                values["dilation"], values["padding_mode"], tr,
                                tuple(f.spec.output_padding))
    y, p = np.array(data["output"], float), np.array(data["partial_sums"], float)
    np.testing.assert_allclose(y, want)
    np.testing.assert_allclose(p, parts)
    assert list(y.shape[1:]) == scene["output_size"]
    od, oh, ow = y.shape[1:]
    assert len(scene["frames"]) == y.size
    for n, frame in enumerate(scene["frames"]):
        q, rest = divmod(n, od * oh * ow)
        z, yx = divmod(rest, oh * ow)
        cell = (z, *divmod(yx, ow))
        assert frame["plane"] == q and tuple(frame["out"]) == cell
        assert float(frame["result"]) == y[(q, *cell)]
        assert [float(v) for v in frame["partials"]] == list(p[(q, slice(None), *cell)])
        for line, part in zip(frame["lines"], frame["partials"]):
            if line["groups"]:  # the products written out, a bracket per slice touched
                assert len(line["groups"]) == len(frame["slices"])
                total = sum(float(v) * float(u) for grp in line["groups"] for v, u in grp)
                assert total == float(part) == float(line["result"])
        k, s, dd = values["kernel_size"], values["stride"], values["dilation"]
        if not tr:  # the window's slices on the padded input, by the sliding rule
            assert frame["slices"] == [cell[0] * s[0] + t * dd[0] for t in range(k[0])]
            assert {r for r, _ in frame["taps"]} == {cell[1] * s[1] + t * dd[1]
                                                    for t in range(k[1])}
        group = q // (d // g if not tr else c // g)
        assert frame["group"] == group
        per = (c if not tr else d) // g
        assert frame["inputs"] == list(range(group * per, (group + 1) * per))


VERIFIED = [
    dict(input_size="3x4x4", kernel_size="2x3x3", in_channels=2, out_channels=2),
    dict(input_size="2x4x4", kernel_size="2x3x3", in_channels=2, out_channels=4, groups=2,
         padding=1, stride=2),
    dict(input_size="2x3x3", kernel_size=2, in_channels=2, out_channels=2, stride=2,
         transposed=True),
    dict(input_size="2x3x3", kernel_size=2, in_channels=2, out_channels=2, groups=2,
         padding_sides=(0, 1, 1, 0, 1, 1), padding_mode="replicate", dilation=(1, 2, 1)),
    dict(input_size="3x3x3", kernel_size=2, in_channels=1, out_channels=2, padding=1,
         transposed=True, stride=2, output_padding=(1, 0, 1)),
]


@pytest.mark.parametrize("values", VERIFIED)
def test_verify_passes_on_the_simulator_and_numpy(values):
    f = plan(*figure("channels", None, type="pdf", **values))
    checks = f.checks(["simulator", "numpy"])
    assert len(checks) == 4 and {c.backend for c in checks} == {"simulator", "numpy"}
    assert all(c.passed and c.error < 1e-4 for c in checks), checks


def test_verify_fails_a_wrong_partial_sum():
    from convanim.verify import check_channels

    data = planned(**VERIFIED[0]).data()
    data["partial_sums"][1][0][0][1][1] += 1
    checks = check_channels(data, "numpy")
    assert checks[0].passed and not checks[1].passed


@pytest.mark.parametrize("values", VERIFIED[1:3])
def test_the_json_round_trips_and_verifies(workdir, capsys, values):
    f = plan(*figure("channels", None, type="pdf", **values))
    data = json.loads(json.dumps(f.with_all_steps().data()))
    assert len(data["input_size"]) == 3 and len(data["padding_sides"]) == 6
    assert again_equal(f, data)
    (workdir / "fig.json").write_text(json.dumps(data))
    status, out, err = run(capsys, "verify", "channels", "--from-json", "fig.json",
                           "--backend", "simulator")
    assert status == 0 and err == [] and [str(o).split()[-1] for o in out[-2:]] == ["pass"] * 2


def again_equal(f, data) -> bool:
    return from_data(f.kind, data).with_all_steps().data() == data


# ------------------------------------------------------------------ refusals and the page

@pytest.mark.parametrize("args,message", [
    (["-i", "4x5x5", "-k", "1x3x3", "--in-channels", "3"], "figure too large: -i 4x5x5: 3 "
     "input channels of 4 padded slices are 12; channels draws volumes of at most C*D <= 8 "
     "slices a side; the largest that fits with these channels and -k is -i 2x5x5"),
    (["-i", "4x5x5", "--in-channels", "3"], "are 12; channels draws volumes of at most C*D <= "
     "8 slices a side; no input fits with these channels and -k: fewer channels or a smaller "
     "kernel"),
    (["-i", "2x3x3", "-k", "1", "--out-channels", "5"], "5 output channels of 2 output slices "
     "are 10"),
    (["-i", "1x13x3", "-k", "1"], "slices of at most 12 cells per axis"),
    (["-i", "1x3x3", "-k", "3x1x1", "-p", "1", "--in-channels", "8", "--out-channels", "8"],
     "8 input channels of 3 padded slices are 24"),
    (["-i", "2x4x4", "-k", "2x3x3", "--in-channels", "4", "--out-channels", "4"],
     "it does not fit 16 x 22 cm with text >= 5 pt"),
    (["-i", "3x4x4", "-k", "3", "--input", "1 2; 3 4"], "--input: a volume's channels figure "
     "draws its values from --seed"),
    (["-i", "3x4x4", "-k", "3", "--labels"], "--labels: a volume's channels figure"),
    (["-i", "3x4x4", "-k", "3", "--in-channels", "3", "--groups", "2"], "divisible"),
])
def test_refusals_are_one_line(workdir, capsys, args, message):
    status, out, err = run(capsys, "channels", *args)
    assert status == 2 and out == [] and len(err) == 1 and message in err[0], err
    assert files_under(workdir) == []


def test_the_largest_named_is_drawn(workdir, capsys):
    """The refusal's largest input is one the figure then draws."""
    status, out, err = run(capsys, "channels", "-i", "2x5x5", "-k", "1x3x3", "--in-channels",
                           "3", "-y", "pdf")
    assert status == 0 and err == [], err


def _page(path):
    """(width cm, height cm, smallest font size pt) of the first page."""
    import pymupdf

    with pymupdf.open(path) as doc:
        page = doc[0]
        w, h = (v / 72 * 2.54 for v in page.rect[2:])
        sizes = [s["size"] for b in page.get_text("dict")["blocks"] for ln in b.get("lines", [])
                 for s in ln["spans"] if s["text"].strip()]
    return w, h, min(sizes)


@pytest.mark.parametrize("args", [
    ["-i", "3x4x4", "-k", "2x3x3", "--in-channels", "2", "--out-channels", "2", "-e", "3"],
    ["-i", "4x5x5", "-k", "3", "--in-channels", "2", "--out-channels", "2", "-e", "5"],
    ["-i", "2x4x4", "-k", "2x3x3", "--in-channels", "2", "--out-channels", "4", "--groups",
     "2", "-p", "1", "-s", "2", "-e", "9"],
])
def test_the_page_is_legible_at_16_cm_and_laid_out_at_8_25(workdir, capsys, args):
    """At its natural size, scaled to a 16 cm column: fonts >= 5 pt and <= 22 cm tall.
    At --width 8.25: laid out for it, or the layout's one-line warning."""
    status, out, err = run(capsys, "channels", *args, "-y", "pdf")
    assert status == 0 and err == [] and len(out) == 1, err
    w, h, smallest = _page(out[0])
    scale = min(1.0, 16.0 / w)
    assert smallest * scale >= 5.0 and h * scale <= 22.0, (w, h, smallest)
    assert smallest >= 7.9  # every number and subscript 8 pt (the arithmetic 9)
    status, out, err = run(capsys, "channels", *args, "-y", "pdf", "--width", "8.25", "NARROW")
    assert status == 0 and len(out) == 1
    w, h, smallest = _page(out[0])
    assert abs(w - 8.25) < 0.05
    if err:  # the layout's one line, measured on the page TeX made
        assert len(err) == 1 and err[0].startswith("convanim: warning: at --width 8.25 cm")
    else:  # 8 pt measures 7.1 pt as poppler's words do (layout.SMALLEST_TEXT_PT)
        assert smallest * 7.1 / 8 >= 4.95 and h <= 22.05, (w, h, smallest)
