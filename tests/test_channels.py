"""channels: multi-channel, grouped, depthwise and 1x1 convolutions, drawn and checked.

The figure data is compared with plain numpy loops written here (not convanim's
geometry) over random channel counts, groups, sizes, strides, paddings, dilations
and -t; those sweeps plan scenes only (no TeX). The few rendering tests run TeX once
each. Verify runs on $CONVANIM_TEST_BACKEND (default: the CUDA simulator).
"""
import json
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from convanim import kinds, tex
from convanim.errors import SpecError
from convanim.figure import figure, plan
from convanim.scenes.channels import equation_text

from helpers import files_under, fill_paths, pdf_pages, run

BACKEND = os.environ.get("CONVANIM_TEST_BACKEND", "simulator")


# --- an independent reference: PyTorch's definitions as loops ----------------------------

def conv2d_loop(x, w, s, p, d, groups):
    """torch.nn.functional.conv2d with groups, one multiply-add at a time."""
    c, h, wd = x.shape
    dout, cg, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * p[0], wd + 2 * p[1]), dtype=np.int64)
    xp[:, p[0]:p[0] + h, p[1]:p[1] + wd] = x
    oh = len([y for y in range(xp.shape[1]) if y * s[0] + d[0] * (kh - 1) < xp.shape[1]])
    ow = len([v for v in range(xp.shape[2]) if v * s[1] + d[1] * (kw - 1) < xp.shape[2]])
    out = np.zeros((dout, oh, ow), dtype=np.int64)
    part = np.zeros((dout, cg, oh, ow), dtype=np.int64)
    per_out = dout // groups
    for q in range(dout):
        g = q // per_out
        for jj in range(cg):
            j = g * cg + jj
            for y in range(oh):
                for v in range(ow):
                    for ky in range(kh):
                        for kx in range(kw):
                            part[q, jj, y, v] += (xp[j, y * s[0] + ky * d[0], v * s[1] + kx * d[1]]
                                                  * w[q, jj, ky, kx])
    out[:] = part.sum(axis=1)
    return out, part


def conv_transpose2d_loop(x, w, s, p, d, groups, size):
    """torch.nn.functional.conv_transpose2d with groups, as the scatter it is defined by:
    input cell (y, v) of plane j adds x * w[j, t] at y*s - p + ky*d; ``size`` is the
    output size (the forward conv's input, with the output padding that restores it)."""
    cin, h, wd = x.shape
    _, m, kh, kw = w.shape
    per_in = cin // groups
    big = (h * s[0] + d[0] * kh + 1, wd * s[1] + d[1] * kw + 1)
    part = np.zeros((m * groups, per_in, *big), dtype=np.int64)
    for j in range(cin):
        g = j // per_in
        for t in range(m):
            q = g * m + t
            for y in range(h):
                for v in range(wd):
                    for ky in range(kh):
                        for kx in range(kw):
                            part[q, j % per_in, y * s[0] + ky * d[0], v * s[1] + kx * d[1]] += \
                                x[j, y, v] * w[j, t, ky, kx]
    part = part[:, :, p[0]:p[0] + size[0], p[1]:p[1] + size[1]]
    return part.sum(axis=1), part


def data_of(**values):
    kind, options = figure("channels", **values)
    fig = plan(kind, options)
    return fig, fig.with_all_steps().data()


@st.composite
def channel_figures(draw):
    groups = draw(st.integers(1, 4))
    c = groups * draw(st.integers(1, 8 // groups))
    d = groups * draw(st.integers(1, 8 // groups))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dil = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pad = tuple(draw(st.integers(0, dil[a] * (k[a] - 1))) for a in (0, 1))
    i = tuple(draw(st.integers(max(1, dil[a] * (k[a] - 1) + 1 - 2 * pad[a]), 6)) for a in (0, 1))
    s = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return dict(in_channels=c, out_channels=d, groups=groups, input_size=i, kernel_size=k,
                stride=s, padding=pad, dilation=dil, transposed=draw(st.booleans()),
                seed=draw(st.integers(0, 2**32)))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(channel_figures())
def test_json_equals_a_plain_numpy_loop(values):
    try:
        fig, data = data_of(**values)
    except SpecError as e:  # a size that cannot be drawn: only the limits may refuse
        assert "too large" in str(e) or "crops" in str(e), e
        return
    c, d, g = values["in_channels"], values["out_channels"], values["groups"]
    i, k = values["input_size"], values["kernel_size"]
    x, w = np.array(data["input"]), np.array(data["kernel"])
    assert (data["in_channels"], data["out_channels"], data["groups"]) == (c, d, g)
    assert w.shape == (d, c // g, *k)  # as torch stores it, -t or not
    if values["transposed"]:
        assert x.shape[0] == d  # the transposed conv's input: the conv's D output planes
        want, part = conv_transpose2d_loop(x, w, values["stride"], values["padding"],
                                           values["dilation"], g, i)
        assert data["output_size"] == list(i)
    else:
        assert x.shape == (c, *i)
        want, part = conv2d_loop(x, w, values["stride"], values["padding"],
                                 values["dilation"], g)
    assert np.array(data["output"]).shape == want.shape
    assert np.array_equal(np.array(data["output"]), want)
    assert np.array_equal(np.array(data["partial_sums"]), part)
    planes_out = want.shape[0]
    assert data["steps"] == fig.steps == planes_out * want.shape[1] * want.shape[2]


def test_steps_run_plane_by_plane_and_row_major_within_each():
    fig, _ = data_of(in_channels=2, out_channels=3, input_size=(4, 5), kernel_size=3)
    scene = fig.with_all_steps().scene()
    assert fig.steps == 3 * 2 * 3
    assert [(f["plane"], *f["out"]) for f in scene["frames"]] == \
        [(q, y, x) for q in range(3) for y in range(2) for x in range(3)]
    last = scene["frames"][-1]
    assert len(last["filled"]) == 18 and last["filled"][-1][:3] == [2, 1, 2]


def test_each_step_reads_only_the_planes_of_its_group():
    fig, data = data_of(in_channels=4, out_channels=6, groups=2, input_size=4, kernel_size=2)
    scene = fig.with_all_steps().scene()
    assert {tuple(f["inputs"]) for f in scene["frames"] if f["plane"] < 3} == {(0, 1)}
    assert {tuple(f["inputs"]) for f in scene["frames"] if f["plane"] >= 3} == {(2, 3)}
    assert [s["group"] for s in scene["slices"][4]] == [1, 1]
    assert [p["group"] for p in scene["inputs"]] == [0, 0, 1, 1]
    # the arithmetic: one line per plane of the group, each the sum of its products
    f = scene["frames"][28]  # 9 cells a plane: plane 3, cell (0, 1)
    assert f["plane"] == 3 and f["out"] == [0, 1] and len(f["lines"]) == 2
    for line, part in zip(f["lines"], f["partials"]):
        assert sum(int(v) * int(w) for v, w in line["terms"]) == int(part) == int(line["result"])
    assert int(f["result"]) == sum(int(p) for p in f["partials"]) == data["output"][3][0][1]
    text = equation_text(f)
    assert text.startswith(f"y3[0,1] = {f['partials'][0]} + {f['partials'][1]} = {f['result']}")
    assert "x2: " in text and "x3: " in text


def test_one_channel_shows_the_numerical_figures_numbers():
    _, one = data_of(input_size=5, kernel_size=3, stride=2, padding=1, seed=7)
    kind, options = figure("numerical", input_size=5, kernel_size=3, stride=2, padding=1, seed=7)
    num = plan(kind, options).data()
    assert one["input"] == [num["input"]] and one["kernel"] == [[num["kernel"]]]
    assert one["output"] == [num["output"]]


def test_transposed_uses_the_forward_weight_flipped():
    fig, data = data_of(in_channels=2, out_channels=4, groups=2, input_size=5, kernel_size=3,
                        stride=2, transposed=True)
    scene = fig.scene()
    w = np.array(data["kernel"])  # (D, C/G, kh, kw) = ConvTranspose2d(4, 2, groups=2)'s
    # output plane 1 (group 1) reads operand planes 2 and 3 through w[2, 0] and w[3, 0]
    assert [s["plane"] for s in scene["slices"][1]] == [2, 3]
    shown = [[[int(v) for v in row] for row in s["weights"]] for s in scene["slices"][1]]
    assert shown == [w[2, 0][::-1, ::-1].tolist(), w[3, 0][::-1, ::-1].tolist()]
    assert kinds.get("channels").torch_call(fig.spec, fig.options) == (
        "torch.nn.ConvTranspose2d(4, 2, kernel_size=3, stride=2, padding=0, "
        "output_padding=0, groups=2)")


def test_torch_call_names_and_labels():
    kind = kinds.get("channels")
    fig, _ = data_of(in_channels=3, out_channels=3, groups=3, kernel_size=1, labels=True)
    assert kind.torch_call(fig.spec, fig.options) == \
        "torch.nn.Conv2d(3, 3, kernel_size=1, stride=1, padding=0, groups=3)"
    assert kind.describe(fig.options) == ["channels 3 → 3", "3 groups", "depthwise",
                                          "pointwise (1×1)"]
    lines = fig.scene()["labels"]["lines"]
    assert lines[0].startswith("depthwise: G = C = D = 3") and lines[1].startswith("pointwise")
    assert fig.name == "channels_3to3_g3_i5_k1_s1_p0_d1"
    fig, _ = data_of(in_channels=4, out_channels=2, groups=2, labels=True)
    labels = fig.scene()["labels"]
    assert labels["lines"] == ["grouped: 2 groups of 2 in, 1 out; a filter reads only its "
                               "group's planes"]
    assert (labels["input"], labels["kernel"], labels["output"]) == ([4, 5, 5], [2, 2, 3, 3],
                                                                     [2, 3, 3])


def test_the_template_highlights_the_group_and_colours_it():
    fig, _ = data_of(in_channels=4, out_channels=4, groups=2, input_size=4, kernel_size=3)
    fig = fig.with_all_steps()
    source = tex.render("channels.tex.j2", scene=fig.scene(), style=fig.style())
    frames = source.split(r"\begin{cvframe}")[1:]
    assert len(frames) == fig.steps == 16
    for frame, f in zip(frames, fig.scene()["frames"]):
        # the window's shadow on each plane of the group (9 taps), on a slice per plane,
        # and (a path of its own) on the output cell
        assert [(style, len(rects)) for style, rects in fill_paths(frame)] == [
            ("shadow", 2 * 9 + 2)]
        assert frame.count(r"\path[shadow]") == 2  # the taps and slices, the output cell
        assert frame.count(r"\path[window]") == 2 + 2 + 1
        assert f"$y_{{{f['plane']}}}[{f['out'][0]},{f['out'][1]}] = " in frame
    for g in (0, 1):
        assert rf"\definecolor{{cvgroup{g}}}" in source
        assert f"draw=cvgroupline{g}" in source


@pytest.mark.parametrize("args,message", [
    (["--in-channels", "9"], "figure too large: 9 input channels; channels figures draw at "
                             "most 8 planes a side"),
    (["--out-channels", "12"], "figure too large: 12 output channels"),
    (["--in-channels", "3", "--groups", "2"], "--in-channels 3 is not divisible by --groups 2"),
    (["--in-channels", "2", "--out-channels", "3", "--groups", "2"],
     "--out-channels 3 is not divisible by --groups 2"),
    (["-i", "13"], "figure too large: the padded input is 13x13 cells; channels figures draw "
                   "at most 12 cells per axis"),
    (["-i", "7", "--in-channels", "8"], "figure too large: 8 planes of 7 rows stack to 56 rows"),
    (["--groups", "0"], "argument --groups: must be between 1 and"),
    (["--in-channels", "x"], "argument --in-channels: expected an integer, got 'x'"),
    (["--in-channels", "8", "--out-channels", "8", "-i", "6", "-k", "1", "-a"],
     "animation too long: 288 steps; at most 256 frames"),
])
def test_bad_input_is_one_line_and_nothing_written(workdir, capsys, args, message):
    status, out, err = run(capsys, "channels", *args)
    assert status == 2 and out == [] and len(err) == 1
    assert err[0].startswith("convanim: error: " + message), err
    assert files_under(workdir) == []


def test_verify_recomputes_every_cell_and_partial_sum(workdir, capsys):
    for args in (["--in-channels", "4", "--out-channels", "2", "--groups", "2", "-s", "2",
                  "-p", "1"],
                 ["--in-channels", "2", "--out-channels", "4", "--groups", "2", "-i", "4",
                  "-s", "2", "-d", "2", "-p", "1", "-t"]):
        from convanim.cli import main

        assert main(["verify", "channels", *args, "--backend", BACKEND]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert "channels output, " in lines[2] and lines[2].split()[-1] == "pass"
        assert "channels partial sums" in lines[3] and lines[3].split()[-1] == "pass"
    assert files_under(workdir) == []


def test_a_corrupted_channels_figure_fails(workdir, capsys):
    from convanim.cli import main

    fig, data = data_of(in_channels=3, out_channels=3, groups=3, input_size=4)
    path = workdir / "f.json"
    path.write_text(json.dumps(data))
    assert main(["verify", "channels", "--from-json", str(path), "--backend", BACKEND]) == 0
    capsys.readouterr()
    for field, index in (("output", (2, 1, 0)), ("partial_sums", (1, 0, 0, 1))):
        bad = json.loads(json.dumps(data))
        cell = bad[field]
        for n in index[:-1]:
            cell = cell[n]
        cell[index[-1]] += 1
        path.write_text(json.dumps(bad))
        assert main(["verify", "channels", "--from-json", str(path), "--backend", BACKEND]) == 1
        rows = capsys.readouterr().out.splitlines()[2:]
        failed = [r for r in rows if r.split()[-1] == "FAIL"]
        assert len(failed) == 1 and ("partial" in failed[0]) == (field == "partial_sums")


@pytest.mark.usefixtures("tex_tools")
def test_animation_has_a_frame_per_output_cell_per_plane(workdir, capsys):
    status, out, err = run(capsys, "channels", "a", "-i", "4", "-k", "3", "--in-channels", "4",
                           "--out-channels", "2", "--groups", "2", "-a", "-qa", "20",
                           "--quiet", "--json", "--verify", "--backend", BACKEND)
    assert status == 0, err
    assert [str(p) for p in out] == ["out/a.pdf", "gif/a.gif", "out/a.json"]
    with Image.open(workdir / "gif/a.gif") as gif:
        assert gif.n_frames == 2 * 2 * 2
    pages = pdf_pages(workdir / "out/a.pdf")
    assert len(pages) == 8 and len(set(pages)) == 1  # one page size
    assert json.loads((workdir / "out/a.json").read_text())["steps"] == 8


@pytest.mark.usefixtures("tex_tools")
def test_a_transposed_depthwise_step_in_the_dark_theme_is_drawn(workdir, capsys):
    status, out, err = run(capsys, "channels", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t",
                           "--in-channels", "3", "--out-channels", "3", "--groups", "3",
                           "--labels", "--theme", "dark", "-e", "30", "-y", "pdf",
                           "--caption", "one filter per plane")
    assert status == 0, err
    assert [str(p) for p in out] == [
        "out/channels_3to3_g3_transposed_i5_k3_s2_p1_d1_30.pdf"]
    import subprocess

    text = subprocess.run(["pdftotext", str(workdir / out[0]), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "depthwise: G = C = D = 3" in text and "one filter per plane" in text
    assert re.search(r"y\s*1\s*\[1,\s*0\]", text)  # step 30 of 75: plane 1, cell (1, 0)


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("d", [1, 2])
def test_the_title_names_the_channels_whatever_their_count(d, tmp_path, capsys):
    """'channels 2 → 1', never '2 → 1 channels' (one channel is not 'channels')."""
    import pymupdf
    from helpers import run

    status, out, err = run(capsys, "channels", "-i", "4", "-k", "3", "--in-channels", "2",
                           "--out-channels", str(d), "-y", "pdf", "fig", "--quiet",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    with pymupdf.open(str(next(p for p in out if p.suffix == ".pdf"))) as doc:
        text = " ".join(doc[0].get_text().split())
    assert re.search(f"convolution, channels 2 ?→ ?{d}", text), text
    assert not re.search(f"→ ?{d} channels", text), text
