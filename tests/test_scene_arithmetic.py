"""What the arithmetic template is told to draw, frame by frame."""

import pytest

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
