"""What the arithmetic template is told to draw, frame by frame."""

import pytest

from convanim import scenes
from convanim.scenes import arithmetic
from convanim.spec import ConvSpec
from convanim.scenes.arithmetic import Arithmetic, ArithmeticOptions

ARGS = ArithmeticOptions(labels=True, caption="")


def scene_of(**kw):
    spec = ConvSpec(**kw).validate()
    return spec, Arithmetic().scene(spec, list(range(spec.lowered().steps)), ARGS)


def test_cells_cover_the_canvas_exactly_once():
    _, s = scene_of(input_size=(6, 6), stride=(2, 2), padding=(1, 1), transposed=True)
    h, w = s["canvas"]
    cells = [tuple(c) for kind in s["cells"].values() for c in kind]
    assert len(cells) == len(set(cells)) == h * w


def test_transposed_canvas_has_insertions_padding_and_output_padding():
    # conv 6 -> 3 (k3 s2 p1); transposed: 3 cells, 1 zero between, padding 1, output padding 1
    _, s = scene_of(input_size=(6, 6), stride=(2, 2), padding=(1, 1), transposed=True)
    assert s["canvas"] == [8, 8] and s["output"] == [6, 6]
    assert len(s["cells"]["data"]) == 9
    assert len(s["cells"]["inserted"]) == 25 - 9
    assert sorted(map(tuple, s["cells"]["outpad"])) == sorted(
        {(7, c) for c in range(8)} | {(r, 7) for r in range(8)})
    assert len(s["cells"]["padding"]) == 64 - 25 - 15


def test_frames_step_row_major_and_shade_only_the_real_taps():
    _, s = scene_of(input_size=(7, 7), dilation=(2, 2))
    assert len(s["frames"]) == 9
    f = s["frames"][5]  # output (1, 2)
    assert f["out"] == [1, 2]
    assert sorted(map(tuple, f["taps"])) == [(r, c) for r in (1, 3, 5) for c in (2, 4, 6)]
    assert f["window"] == [1, 2, 5, 6]


@pytest.mark.parametrize("transposed,stride,operand,canvas,output,note", [
    (False, 2, [5, 5], [7, 7], [3, 3], "padded"),
    (True, 2, [3, 3], [7, 7], [5, 5], "zeros inserted, padded"),
    (True, 1, [5, 5], [7, 7], [5, 5], "padded"),
])
def test_labels_give_the_sizes(transposed, stride, operand, canvas, output, note):
    _, s = scene_of(input_size=(5, 5), stride=(stride, stride), padding=(1, 1),
                    transposed=transposed)
    op = s["labels"]["operand"]
    assert (op["size"], op["note"], op["canvas"]) == (operand, note, canvas)
    assert ("transposed" in op["name"]) == transposed
    assert [k for k, _ in op["kinds"]] == ["padding"] + (["inserted"] if stride > 1 and transposed
                                                         else [])
    assert s["labels"]["output"]["size"] == output


def _crosses(seg, poly, eps=1e-6) -> bool:
    """Whether segment seg (x0, y0, x1, y1) runs through the interior of convex poly."""
    got = arithmetic._inside(seg[:2], seg[2:], poly)
    return got is not None and got[1] - got[0] > eps


@pytest.mark.parametrize("kw", [
    dict(input_size=(7, 7), dilation=(2, 2)),
    dict(input_size=(5, 5), padding=(1, 1)),
    dict(input_size=(6, 6), stride=(2, 2), padding=(1, 1), transposed=True),
    dict(input_size=(1, 12), kernel_size=(1, 3)),
])
def test_links_never_cross_the_kernel_window(kw):
    """The diamond view's front link ran up the window's diagonal, through the (dilated)
    taps: now every link stops at the window's outline."""
    spec, s = scene_of(**kw)
    seq, h = s["sequence"], s["canvas"][0]
    for f in s["frames"]:
        r0, c0, r1, c1 = f["window"]
        win = [arithmetic._on_page(x, y, seq) for x, y in
               ((c0, h - r0), (c1 + 1, h - r0), (c1 + 1, h - r1 - 1), (c0, h - r1 - 1))]
        assert f["links"], f
        assert not [seg for seg in f["links"] if _crosses(seg, win)], f["window"]
    # the slanted view keeps four lines; the front corner's starts where it leaves the
    # window, at its back corner
    if not seq:
        f = s["frames"][0]
        assert len(f["links"]) == 4
        r0, c0, r1, c1 = f["window"]
        back = arithmetic._on_page(c1 + 1, h - r0, seq)
        assert sum(seg[:2] == list(back) for seg in f["links"]) == 2


@pytest.mark.parametrize("mode,p", [("circular", 2), ("reflect", 1), ("replicate", 1)])
def test_links_leave_a_gap_round_every_copied_label(mode, p):
    spec = ConvSpec(input_size=(5, 5), padding=(p, p), padding_mode=mode).validate()
    s = Arithmetic().scene(spec, list(range(spec.lowered().steps)),
                           ArithmeticOptions(labels=True, copies=True, caption=""))
    h, unit_pt = s["canvas"][0], s["place"]["unit"] * 72.27 / 2.54
    for f in s["frames"]:
        for r, c, text, _ in s["copies"]:
            cx, cy = arithmetic._on_page(c + 0.5, h - 0.5 - r, False)
            hw, hh = len(text) * 3.5 / 2 / unit_pt, 2.5 / unit_pt     # the label's ink
            box = [(cx - hw, cy - hh), (cx + hw, cy - hh), (cx + hw, cy + hh), (cx - hw, cy + hh)]
            assert not [seg for seg in f["links"] if _crosses(seg, box)], (f["step"], text)


def _plain(i, k, s, p, d):
    """Dumoulin & Visin's transposed-conv relationship, written out by hand."""
    o = (i + 2 * p - d * (k - 1) - 1) // s + 1
    a = (i + 2 * p - d * (k - 1) - 1) % s            # what the output padding restores
    return {"i'": o + (o - 1) * (s - 1), "k'": k, "s'": 1, "p'": d * (k - 1) - p, "a": a,
            "out": (o + (o - 1) * (s - 1)) + 2 * (d * (k - 1) - p) + a - d * (k - 1)}


@pytest.mark.parametrize("i", range(3, 10))
def test_transposed_labels_name_the_equivalent_direct_conv(i):
    """i', k', s', p' and a, read off the geometry, against the plain formula for every
    k, s, p, d that makes a valid conv of this input; the direct conv's output is i."""
    seen = 0
    for k in (1, 2, 3, 4, 5):
        for s in (1, 2, 3):
            for d in (1, 2):
                for p in range(0, d * (k - 1) + 1):
                    if i + 2 * p < d * (k - 1) + 1:
                        continue
                    spec = ConvSpec(input_size=(i, i), kernel_size=(k, k), stride=(s, s),
                                    padding=(p, p), dilation=(d, d), transposed=True).validate()
                    low = spec.lowered()
                    eq = scenes.equivalent_direct(spec, low)["values"]
                    want = _plain(i, k, s, p, d)
                    got = {key: eq[key][0] for key in ("i'", "k'", "s'", "p'", "a")}
                    assert got == {key: want[key] for key in got}, (i, k, s, p, d)
                    assert eq["p'_after"] == eq["p'"] and eq["i"] == [i, i]
                    assert (eq["k"], eq["s"], eq["p"], eq["d"]) == ([k, k], [s, s], [p, p], [d, d])
                    assert low.out == (want["out"], want["out"]) == (i, i)
                    seen += 1
    assert seen > 30


def test_transposed_labels_on_an_oblong_conv_give_both_axes():
    spec = ConvSpec(input_size=(6, 7), kernel_size=(3, 2), stride=(2, 1), padding=(1, 0),
                    transposed=True).validate()
    eq = scenes.equivalent_direct(spec, spec.lowered())
    assert eq["values"]["i'"] == [5, 6] and eq["values"]["p'"] == [1, 1]
    assert "$i'=5\\times 6$" in eq["direct"] and "$k=3\\times 2$" in eq["forward"]


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("argv,words", [
    ("arithmetic -i 6 -k 3 -s 2 -p 1 -t --labels",
     ["i = 6,", "k = 3,", "s = 2,", "p = 1;", "i′ = 5,", "k′ = 3,", "s′ = 1,", "p′ = 1,", "a = 1"]),
    ("arithmetic -i 7 -k 3 -s 2 -d 2 -p 2 -t --labels --width 8.25",
     ["i = 7,", "p = 2,", "d = 2;", "i′ = 7,", "p′ = 2,", "d′ = 2"]),
    ("channels -i 5 -k 3 -s 2 -p 1 -t --in-channels 2 --out-channels 2 --labels",
     ["i = 5,", "s = 2,", "p = 1,", "i′ = 5,", "s′ = 1,", "p′ = 1"]),
])
def test_transposed_labels_are_in_the_pdf(argv, words, tmp_path, capsys):
    """The words a reader sees (PyMuPDF's text of the page), both convs named."""
    import shlex

    import pymupdf
    from helpers import run

    status, out, err = run(capsys, *shlex.split(argv), "-y", "pdf", "fig", "--quiet",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    with pymupdf.open(str(next(p for p in out if p.suffix == ".pdf"))) as doc:
        text = " ".join(doc[0].get_text().split())
    assert "transposed conv of the conv" in text and "drawn as the direct conv" in text, text
    for word in words:
        assert word in text, (word, text)


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("argv", [
    "arithmetic -i 5 -k 3 -p 1 --column narrow --labels",
    "arithmetic -i 6 -k 3 -s 2 -p 1 -t --labels --width 8.25",
])
def test_labels_below_read_in_the_order_the_planes_stand(argv, tmp_path, capsys):
    """Under a narrow figure the output's label comes first, as the output plane stands
    above the operand's: a reader going down the labels meets the planes in order."""
    import shlex

    import pymupdf
    from helpers import run

    status, out, err = run(capsys, *shlex.split(argv), "-y", "pdf", "fig", "--quiet",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    with pymupdf.open(str(next(p for p in out if p.suffix == ".pdf"))) as doc:
        page = doc[0]
        words = {w[4]: w[1] for w in reversed(page.get_text("words"))}  # first of each
        height = page.rect.height
    operand = min(y for w, y in words.items() if w in ("input", "operand"))
    assert words["output"] > height / 2, "the labels stand below the drawing"
    assert words["output"] < operand, words
