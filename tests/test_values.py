"""The user's own values: --input and --kernel in every form, sizes that follow them, real
numbers (negatives, floats) against plain loops, images, refusals, and the round trip
through --json and verify. Figure data without TeX, but for one small compile."""
import json
import textwrap

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from convanim import build, geometry, kinds, shading, values
from convanim.errors import SpecError
from convanim.figure import figure, from_data, plan, spec_of
from convanim.scenes import format_number
from convanim.scenes.channels import Channels, ChannelsOptions
from convanim.scenes.numerical import Numerical, NumericalOptions

import reference as ref
from helpers import files_under, run
from test_geometry import convs

X = np.array([[1, -2, 0, 3], [0.5, 1, -3, 2], [4, 0, 1, -1.25], [2, 2, -2, 0.1]])
X_TEXT = "1 -2 0 3; 0.5 1 -3 2; 4 0 1 -1.25; 2 2 -2 0.1"


def data(kind="numerical", **options):
    return plan(*figure(kind, None, type="pdf", **options)).with_all_steps().data()


# --- forms ---------------------------------------------------------------------------------

def test_every_input_form_gives_the_inline_values_figure_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    np.save("x.npy", X)
    (tmp_path / "x.csv").write_text("\n".join(",".join(repr(float(v)) for v in row) for row in X))
    (tmp_path / "x.txt").write_text("# a comment line\n" + "\n".join(
        "  ".join(repr(float(v)) for v in row) for row in X) + "\n\n")
    want = data(input=X_TEXT, kernel="sobel-x")
    assert want["input"] == X.tolist() and want["input_size"] == [4, 4]
    assert want["kernel"] == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    for form in ("x.npy", "x.csv", "x.txt", tmp_path / "x.npy", X, X.tolist(),
                 json.dumps(X.tolist())):
        assert data(input=form, kernel="sobel-x") == want, form
    assert data(input=X_TEXT, kernel="-1 0 1; -2 0 2; -1 0 1") == want
    assert data(input=X_TEXT.replace(" ", ", ").replace(";,", ";"), kernel="Sobel-X") == want
    assert (tmp_path / "x.npy").stat().st_size > 0  # read, never written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv", "x.npy", "x.txt"]


def test_named_kernels():
    assert set(values.NAMED) >= {"sobel-x", "sobel-y", "laplacian", "gaussian", "gaussian5",
                                 "box", "sharpen", "identity", "emboss"}
    for name, k in values.NAMED.items():
        d = data(kernel=name, input_size=7)
        assert d["kernel_size"] == list(k.shape) and np.allclose(d["kernel"], k), name
    assert values.NAMED["gaussian5"].shape == (5, 5)
    assert np.isclose(values.NAMED["gaussian"].sum(), 1) and np.isclose(values.NAMED["box"].sum(), 1)
    # the identity kernel gives back the input's centre
    x = np.arange(25.0).reshape(5, 5) - 12
    assert data(input=x, kernel="identity")["output"] == x[1:4, 1:4].tolist()


def test_images_come_through_with_their_pixel_values(tmp_path):
    grey = (np.arange(36).reshape(6, 6) * 7).astype(np.uint8)
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    rgb = np.stack([grey, 255 - grey, grey // 2], axis=-1).astype(np.uint8)
    Image.fromarray(rgb, "RGB").save(tmp_path / "c.png")
    d = data(input=str(tmp_path / "g.png"), kernel="laplacian")
    assert d["input"] == grey.tolist() and d["input_size"] == [6, 6]
    assert d == data(input=values.inline(grey.astype(int)), kernel="laplacian")
    assert np.array_equal(d["output"], ref.conv2d(grey.astype(float),
                                                 values.NAMED["laplacian"], (1, 1), (0, 0),
                                                 (1, 1)))
    c = data("channels", input=str(tmp_path / "c.png"), out_channels=2)
    assert c["in_channels"] == 3 and c["input"] == rgb.transpose(2, 0, 1).tolist()
    assert data("channels", input=Image.open(tmp_path / "c.png"), out_channels=2) == c
    with pytest.raises(SpecError, match="colour image has 3 channels; draw it with channels"):
        data(input=str(tmp_path / "c.png"))


def test_sizes_follow_the_values_and_given_ones_must_agree():
    d = data(input="1 2 3; 4 5 6", kernel="1 0")
    assert (d["input_size"], d["kernel_size"], d["output_size"]) == ([2, 3], [1, 2], [2, 2])
    with pytest.raises(SpecError, match=r"--input is 2x3, but -i 5 -k 3 .* reads an input of 5x5"):
        data(input="1 2 3; 4 5 6", input_size=5)
    with pytest.raises(SpecError, match="--kernel is 1x2, but -k gives a kernel of 3x3"):
        data(kernel="1 0", kernel_size=3)
    # -t: the values are the transposed conv's input; -i is its output
    t = data(input="1 -1; 2 0.5", kernel="1 2; 3 4", stride=2, transposed=True)
    assert t["input_size"] == [4, 4] and t["output_size"] == [4, 4]
    x, w = np.array([[1, -1], [2, 0.5]]), np.array([[1, 2], [3, 4.0]])
    assert np.allclose(t["output"], ref.conv_transpose2d(x, w, (2, 2), (0, 0), (1, 1), (0, 0)))
    # channels: C from the input, D and C/G from the weights
    x3 = np.arange(2 * 4 * 4).reshape(2, 4, 4) - 10.5
    w4 = np.linspace(-1, 1, 3 * 1 * 2 * 2).reshape(3, 1, 2, 2)
    with pytest.raises(SpecError, match="not divisible"):  # 2 planes, 1 slice each: G=2, D=3
        data("channels", input=x3, kernel=w4)
    w4 = np.linspace(-1, 1, 4 * 1 * 2 * 2).reshape(4, 1, 2, 2)
    c = data("channels", input=x3, kernel=w4)
    assert (c["in_channels"], c["out_channels"], c["groups"]) == (2, 4, 2)
    with pytest.raises(SpecError, match=r"--kernel is 4x1x2x2, but .* = 4x2x2x2"):
        data("channels", input=x3, kernel=w4, groups=1)


# --- real numbers against plain loops ------------------------------------------------------

reals = st.floats(-9, 9, allow_nan=False, width=32).map(lambda v: round(v, 3))


@settings(max_examples=100, deadline=None)
@given(convs(), st.sampled_from(["convolution", "transposed", "average", "max"]), st.data())
def test_given_real_values_against_plain_loops(c, mode, draw):
    i, k, s, p, d = c
    transposed = mode == "transposed"
    mode = "convolution" if transposed else mode
    if transposed:
        assume(all(p[a] <= d[a] * (k[a] - 1) for a in (0, 1)))
    if mode != "convolution":
        assume(all(p[a] <= k[a] // 2 for a in (0, 1)))
    if mode == "average":
        d = (1, 1)
    spec_shape = geometry.conv_output_size(i, k, s, p, d) if transposed else i
    x = np.array(draw.draw(st.lists(reals, min_size=spec_shape[0] * spec_shape[1],
                                    max_size=spec_shape[0] * spec_shape[1]))).reshape(spec_shape)
    w = np.array(draw.draw(st.lists(reals, min_size=k[0] * k[1], max_size=k[0] * k[1])))
    w = w.reshape(k)
    options = NumericalOptions(input_size=i, kernel_size=k, stride=s, padding=p, dilation=d,
                               transposed=transposed, mode=mode, input=x,
                               kernel=w if mode == "convolution" else None)
    spec = spec_of(options)
    try:
        Numerical().check(spec, options)
    except SpecError as e:
        assert mode == "max" and "read only padding" in str(e)
        return
    out = np.array(Numerical().scene(spec, [0], options)["output"])
    if transposed:
        a = geometry.auto_output_padding(i, k, s, p, d)
        want = ref.conv_transpose2d(x, w, s, p, d, a)
    elif mode == "convolution":
        want = ref.conv2d(x, w, s, p, d)
    else:
        want = ref.pool2d(x, k, s, p, d, mode)
    assert out.shape == want.shape and np.allclose(out, want, atol=1e-9)


def test_pooling_keeps_pytorch_semantics_on_negative_values():
    x = -np.arange(1, 10.0).reshape(3, 3)  # all negative: the max is never padding's 0
    mx = data(input=x, mode="max", padding=1, kernel_size=3, stride=2)
    assert mx["output"] == [[-1, -2], [-4, -5]]
    av = data(input=x, mode="average", padding=1, kernel_size=3, stride=2)
    assert np.allclose(av["output"], [[-12 / 9, -16 / 9], [-24 / 9, -28 / 9]])  # /9, pads too
    with pytest.raises(SpecError, match="max pooling has no weights"):
        data(input=x, kernel="box", mode="max")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.data())
def test_channels_given_values_against_plain_loops(cin, dout, k, draw):
    n = cin * 4 * 4
    x = np.array(draw.draw(st.lists(reals, min_size=n, max_size=n))).reshape(cin, 4, 4)
    w = np.array(draw.draw(st.lists(reals, min_size=dout * cin * k * k,
                                    max_size=dout * cin * k * k))).reshape(dout, cin, k, k)
    options = ChannelsOptions(input=x, kernel=w)
    out = Channels().scene(spec_of(options), [0], options)["output"]
    want = [sum(ref.conv2d(x[j], w[q, j], (1, 1), (0, 0), (1, 1)) for j in range(cin))
            for q in range(dout)]
    assert np.allclose(out, want, atol=1e-9)


# --- refusals ------------------------------------------------------------------------------

@pytest.mark.parametrize("value,message", [
    ("1 2; 3", "ragged"),
    ("1 2; 3 nan", "finite numbers"),
    ("1 inf; 3 4", "finite numbers"),
    ("1 two; 3 4", "'two' is not a number"),
    ("1 2;; 3 4", "empty row"),
    ("blur", "neither a named kernel"),
    ("[[1, 2], [3]]", "ragged"),
    ("[1, 2, 3]", "must be 2-D"),
    ("1 2 | 3 4", "must be 2-D"),
    ("missing.npy", "cannot read missing.npy"),
    ([[1.0, float("nan")]], "finite numbers"),
    ([[1, "a"]], "is not a number"),
    (np.zeros((2, 2, 2)), "got 3-D"),
    (np.array(["a"]), "real numbers"),
])
def test_bad_values_are_refused(value, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SpecError, match=message):
        figure("numerical", None, input=value)


def test_bad_files_are_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("1 2\n3 x\n")
    (tmp_path / "photo.png").write_bytes(b"not a png at all")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00")
    np.save(tmp_path / "obj.npy", np.array([1 + 2j]))
    for name, message in (("notes.txt", r"notes.txt:2: entry 2 is not a finite number"),
                          ("photo.png", "neither an array .* nor an image"),
                          ("bin.csv", "not text"), ("obj.npy", "not an array of real numbers")):
        with pytest.raises(SpecError, match=message):
            figure("numerical", None, input=str(tmp_path / name))
    Image.fromarray(np.zeros((40, 30), np.uint8), "L").save(tmp_path / "big.png")
    with pytest.raises(SpecError, match="too large: .* 40x30 .*crop or resize the image"):
        plan(*figure("numerical", None, input=str(tmp_path / "big.png")))


def test_bad_values_exit_2_with_one_line_and_write_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (["--input", "1 2; 3"], ["--input", "1 nan; 2 3"], ["--kernel", "1 0; 0 1", "-k", "3"],
                 ["--input", "x.bmp"]):
        status, out, err = run(capsys, "numerical", *argv, "--json")
        assert status == 2 and out == [] and len(err) == 1, err
        assert err[0].startswith("convanim: error: argument --") or "--kernel" in err[0]
    assert files_under(tmp_path) == []


# --- options: equality, the cache key, the round trip --------------------------------------

def test_values_hash_and_compare_by_content_and_change_the_cache_key():
    a = plan(*figure("numerical", None, input=X_TEXT))
    b = plan(*figure("numerical", None, input=X.copy()))
    assert a.options == b.options and hash(a.options) == hash(b.options) and a.key() == b.key()
    x2 = X.copy()
    x2[3, 3] = np.nextafter(0.1, 1)  # one ulp
    c = plan(*figure("numerical", None, input=x2))
    assert c.options != a.options and c.key() != a.key()
    assert plan(*figure("numerical", None, kernel="box")).key() != \
        plan(*figure("numerical", None)).key()


def test_json_writes_the_values_back_exactly_and_verify_recomputes_them(capsys, tmp_path):
    x = np.array([[0.1, -1 / 3, 2.5e-7], [1e3, -0.7, 3.0], [2 / 7, 0, -5.5]])
    xt = "; ".join(" ".join(repr(float(v)) for v in row) for row in x)
    d = data(input=xt, kernel="0.25 -0.5; 1e-3 2", padding=1)
    assert d["input"] == x.tolist()  # the exact floats
    back = json.loads(json.dumps(d))
    assert back == d
    checked = from_data(kinds.get("numerical"), back)  # accepted: its shapes are the figure's
    assert checked.spec.input_size == (3, 3) and checked.spec.kernel_size == (2, 2)
    path = tmp_path / "d.json"
    path.write_text(json.dumps(d))
    status, out, err = run(capsys, "verify", "numerical", "--from-json", str(path),
                           "--backend", "numpy")
    assert status == 0, (out, err)
    status, _, _ = run(capsys, "verify", "numerical", "--input", xt, "--kernel",
                       "0.25 -0.5; 1e-3 2", "-p", "1", "--backend", "numpy")
    assert status == 0
    wrong = dict(d, output=(np.array(d["output"]) + 0.5).tolist())
    path.write_text(json.dumps(wrong))
    status, _, _ = run(capsys, "verify", "numerical", "--from-json", str(path),
                       "--backend", "numpy")
    assert status == 1
    c = data("channels", input=np.linspace(-3, 3, 18).reshape(2, 3, 3), kernel="1 -1; 0 0.5 | 2 0; 0 -2")
    path.write_text(json.dumps(c))
    status, _, _ = run(capsys, "verify", "channels", "--from-json", str(path), "--backend", "numpy")
    assert status == 0


def test_build_reads_values_inline_as_lists_and_from_files_beside_the_config(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    np.save(docs / "x.npy", X)
    config = docs / "figures.toml"
    config.write_text(textwrap.dedent(f"""
        [figures.inline]
        kind = "numerical"
        input = "{X_TEXT}"
        kernel = "sobel-x"
        [figures.file]
        kind = "numerical"
        input = "x.npy"
        kernel = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]
    """))
    loaded = build.load(config, tmp_path / "site")
    a, b = (e.figure.with_all_steps().data() for e in loaded.entries)
    assert a == b and a["input"] == X.tolist()
    assert sorted(p.name for p in docs.iterdir()) == ["figures.toml", "x.npy"]


# --- how values are shown ------------------------------------------------------------------

def test_fills_follow_the_values_sign_and_size():
    assert shading.level(0, 4) == "vzero"
    assert shading.level(4, 4) == f"vpos{shading.LEVELS}" and shading.level(-0.1, 4) == "vneg1"
    assert shading.level(-3, 4) == "vneg6"
    for theme in ("light", "dark"):
        from convanim.theme import contrast, palette
        colours = shading.colours(theme)
        for name, colour in colours.items():  # numbers stay legible on every fill
            assert contrast(palette(theme)["text"], colour) >= 4.5, (theme, name)
    scene = plan(*figure("numerical", None, input=X_TEXT)).scene()
    fills = [[cell["fill"] for cell in row] for row in scene["canvas"]]
    assert fills[0][1] == "vneg4" and fills[2][0] == "vpos8" and fills[0][2] == "vzero"
    assert plan(*figure("numerical", None)).scene()["canvas"][0][0]["fill"] == "data"
    assert plan(*figure("numerical", None, no_numbers=True)).scene()["by_value"]
    assert format_number(1 / 256) == "0.0039" and format_number(-0.004) == "-0.004"


@pytest.mark.usefixtures("tex_tools")
def test_no_numbers_and_legend_are_drawn(tmp_path):
    """One small compile: the fills alone; a negative cell is red, a positive one blue."""
    fig = plan(*figure("numerical", None, input="-4 0; 0 4", kernel="1", legend=True,
                       no_numbers=True, quality=40, out_dir=str(tmp_path)))
    tex = fig.tex()
    assert "cvvneg8" in tex and "cvvpos8" in tex and "\\times" not in tex  # no arithmetic
    assert "input: $-4$" in tex  # the legend's ends
    (png,) = fig.make(cache=False)
    img = np.asarray(Image.open(png).convert("RGB")).astype(int)
    reds = ((img[..., 0] - img[..., 2]) > 60).sum()
    blues = ((img[..., 2] - img[..., 0]) > 60).sum()
    assert reds > 50 and blues > 50
