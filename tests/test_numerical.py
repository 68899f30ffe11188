"""numerical: the values shown are what conv2d, conv_transpose2d and pooling compute."""
import subprocess

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import geometry
from convanim.scenes import format_number, numerical
from convanim.spec import ConvSpec, SpecError
from convanim.scenes.numerical import Numerical, NumericalOptions

import reference as ref
from helpers import files_under, run
from test_geometry import convs


def spec_of(c, transposed=False):
    i, k, s, p, d = c
    return ConvSpec(i, k, s, p, d, transposed=transposed).validate()


@settings(max_examples=150, deadline=None)
@given(convs(), st.integers(0, 10**6))
def test_convolution_values(c, seed):
    spec = spec_of(c)
    x, w = numerical.draw_values(spec, seed)
    out, _, _ = numerical.compute(spec, "convolution", x, w)
    assert np.array_equal(out, ref.conv2d(x.astype(float), w.astype(float), *c[2:]))


@settings(max_examples=150, deadline=None)
@given(convs(), st.integers(0, 10**6))
def test_transposed_values(c, seed):
    i, k, s, p, d = c
    assume(all(p[a] <= d[a] * (k[a] - 1) for a in (0, 1)))
    spec = spec_of(c, transposed=True)
    y, w = numerical.draw_values(spec, seed)
    assert y.shape == geometry.conv_output_size(*c)
    out, _, _ = numerical.compute(spec, "convolution", y, w)
    a = geometry.auto_output_padding(*c)
    assert np.array_equal(out, ref.conv_transpose2d(y.astype(float), w.astype(float), s, p, d, a))
    assert out.shape == i


@settings(max_examples=150, deadline=None)
@given(convs(), st.sampled_from(["average", "max"]), st.integers(0, 10**6))
def test_pooling_values(c, mode, seed):
    i, k, s, p, d = c
    assume(all(p[a] <= k[a] // 2 for a in (0, 1)))
    if mode == "average":
        d = (1, 1)
        assume(all(i[a] + 2 * p[a] >= k[a] for a in (0, 1)))
    spec = spec_of((i, k, s, p, d))
    args = NumericalOptions(mode=mode)
    try:
        Numerical().check(spec, args)
    except SpecError as e:  # only a dilated max window that reads only padding is refused
        assert mode == "max" and "read only padding" in str(e)
        assert np.isneginf(ref.pool2d(np.zeros(i), k, s, p, d, mode)).any()
        return
    x, w = numerical.draw_values(spec, seed)
    out, _, _ = numerical.compute(spec, mode, x, w)
    assert np.allclose(out, ref.pool2d(x.astype(float), k, s, p, d, mode))


@pytest.mark.parametrize("kw,mode,message", [
    (dict(transposed=True), "max", "max pooling has no transposed form"),
    (dict(dilation=(2, 2), input_size=(7, 7)), "average", "average pooling has no dilation"),
    (dict(padding=(2, 2)), "max", "padding must be at most half the kernel size"),
    (dict(padding=(1, 2)), "average", "got padding 1x2 for kernel 3"),
])
def test_pooling_refuses_what_pytorch_refuses(kw, mode, message):
    spec = ConvSpec(**kw).validate()
    with pytest.raises(SpecError, match=message):
        Numerical().check(spec, NumericalOptions(mode=mode))


@pytest.mark.parametrize("value,text", [(3, "3"), (3.0, "3"), (-2.0, "-2"), (1.5, "1.5"),
                                        (1.25, "1.25"), (13 / 9, "1.44"), (0.125, "0.13"),
                                        (2 / 3, "0.67"), (0.0, "0"), (np.int64(7), "7"),
                                        (767 / 256, "3.00"), (2.5, "2.5")])
def test_numbers_print_compactly(value, text):
    assert format_number(value) == text


def test_the_same_seed_draws_the_same_values():
    spec = ConvSpec().validate()
    a, b = numerical.draw_values(spec, 7), numerical.draw_values(spec, 7)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(numerical.draw_values(spec, 8)[0], a[0])


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("args", [["-i", "6", "-k", "3", "-s", "2", "-p", "1"],
                                  ["-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t"],
                                  ["-i", "5", "-k", "2", "-m", "average"]])
def test_the_drawn_output_values_are_the_computed_ones(workdir, capsys, args):
    """Read the last frame's text back from the PDF: every output value is printed."""
    status, out, _ = run(capsys, "numerical", "n", "-a", "--json", "--quiet", "-qa", "20", *args)
    assert status == 0
    data = __import__("json").loads((workdir / "out/n.json").read_text())
    pdf = workdir / "out/n.pdf"
    pages = data["steps"]
    text = subprocess.run(["pdftotext", "-f", str(pages), "-l", str(pages), "-layout", str(pdf),
                           "-"], capture_output=True, text=True, check=True).stdout
    shown = text.split()
    for value in np.array(data["output"]).ravel():
        assert format_number(value) in shown
    # the equation of the last step ends with its result
    assert text.split("=")[-1].split()[0] == format_number(np.array(data["output"]).ravel()[-1])


@pytest.mark.usefixtures("tex_tools")
def test_numerical_animates_one_page_per_output_cell(workdir, capsys):
    status, out, _ = run(capsys, "numerical", "a", "-i", "6", "-k", "2", "-s", "2", "-m", "max",
                         "-a", "--quiet", "-qa", "20")
    assert status == 0 and [str(p) for p in out] == ["out/a.pdf", "gif/a.gif"]
    from PIL import Image
    with Image.open(workdir / "gif/a.gif") as gif:
        assert gif.n_frames == 9


def test_numerical_bad_input(workdir, capsys):
    for args, message in [(["-m", "median"], "invalid choice: 'median'"),
                          (["-m", "max", "-t"], "no transposed form"),
                          (["-i", "20"], "numerical figures draw at most 16 cells per axis")]:
        status, out, err = run(capsys, "numerical", *args)
        assert status == 2 and out == [] and message in err[0]
    assert files_under(workdir) == []
