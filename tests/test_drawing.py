"""What each frame draws: weights at the taps, filled outputs, highlights, zero styles.

The numbers are tested elsewhere; these tests catch a figure that computes right but
draws wrong (an unflipped kernel, a highlight one row off, inserted zeros styled as
padding).
"""
import re

import numpy as np
import pytest

from convanim import tex
from convanim.scenes import alphabet, im2col, numerical
from convanim.spec import ConvSpec
from convanim.options import FigureOptions
from convanim.scenes.alphabet import Alphabet
from convanim.scenes.im2col import Im2col, Im2colOptions
from convanim.scenes.numerical import Numerical, NumericalOptions

import reference as ref
from helpers import fill_paths


def num_args(**kw):
    return NumericalOptions(**{"mode": "convolution", "seed": 3, "caption": "", **kw})


@pytest.mark.parametrize("transposed,a", [(False, None), (True, None), (True, (0, 0))])
def test_numerical_frames_draw_the_weights_values_and_outputs_of_their_step(transposed, a):
    spec = ConvSpec((6, 5), (3, 2), (2, 1), (1, 0), transposed=transposed,
                    output_padding_given=a).validate()
    low = spec.lowered()
    scene = Numerical().scene(spec, list(range(low.steps)), num_args())
    x, w = np.array(scene["input"]), np.array(scene["kernel"])
    drawn_w = w[::-1, ::-1] if transposed else w                # the transposed conv flips
    out = np.array(scene["output"])
    if transposed:  # explicit output padding too
        assert np.array_equal(out, ref.conv_transpose2d(x.astype(float), w.astype(float),
                                                        spec.stride, spec.padding.pair,
                                                        spec.dilation, spec.output_padding))
    canvas = scene["canvas"]
    for frame in scene["frames"]:
        assert frame["weights"] == [str(v) for v in drawn_w.ravel()]
        # the equation multiplies what the canvas shows under each tap by that tap's weight
        shown = [canvas[r][c]["label"] for r, c in frame["taps"]]
        assert frame["equation"]["terms"] == [[v, wt] for v, wt in zip(shown, frame["weights"])]
        oy, ox = frame["out"]
        assert frame["equation"]["result"] == str(out[oy, ox])
        # outputs so far, each at its own cell
        ow = out.shape[1]
        assert frame["filled"] == [[s // ow, s % ow, str(out[s // ow, s % ow])]
                                   for s in range(frame["step"] + 1)]
    for row in canvas:  # operand values at the data cells, in place
        for cell in row:
            if cell["kind"] == "data":
                assert cell["label"] == str(x[tuple(cell["cell"])])
    kinds = {cell["kind"] for row in canvas for cell in row}
    assert kinds >= ({"data", "inserted"} if transposed else {"data", "padding"})


def test_max_equation_leaves_padding_out():
    spec = ConvSpec((5, 5), (3, 3), (1, 1), (1, 1)).validate()
    scene = Numerical().scene(spec, [0], num_args(mode="max"))
    assert len(scene["frames"][0]["equation"]["terms"]) == 4  # the corner window: 2x2 real
    assert r"$-\infty$" in tex.render(Numerical.template, scene=scene)


def test_alphabet_transposed_taps_are_labelled_with_the_flipped_kernel():
    spec = ConvSpec((5, 5), (3, 2), (2, 2), (1, 0), transposed=True).validate()
    frame = Alphabet().scene(spec, [0], FigureOptions(caption=""))["frames"][0]
    kh, kw = spec.kernel_size
    assert frame["weights"] == [[kh - 1 - ty, kw - 1 - tx] for ty in range(kh) for tx in range(kw)]


def highlighted(source: str) -> list[dict[str, list[tuple[float, float]]]]:
    """Per frame, the lower left corners of the highlight's deep (non-zero) and pale
    (zero) entries: ``{"hientry": [(x, y)...], "hizero": [...]}``."""
    frames = source.split("\\begin{cvframe}")[1:]
    rect = r"\\cvrect\{([-\d.]+)\}\{([-\d.]+)\}"
    out = []
    for frame in frames:
        lit = {"hientry": [], "hizero": []}
        for style, body in re.findall(r"\\path\[fill=cv(hientry|hizero)\]\\pgfextra\{(.*?)\};",
                                      frame):
            lit[style] += [(float(x), float(y)) for x, y in re.findall(rect, body)]
        out.append(lit)
    return out


def test_alphabet_highlights_the_row_of_the_step():
    """Each frame's matrix row is the step's, every entry in it lit: its non-zero entries
    deep, its zeros pale (#31: a solid bar hid the very zeros the step shows)."""
    spec = ConvSpec((4, 4), (3, 3)).validate()
    scene = Alphabet().scene(spec, [0, 1, 2, 3], FigureOptions(caption=""))
    frames = highlighted(tex.render(Alphabet.template, scene=scene))
    assert len(frames) == 4
    cols = len(scene["matrix"][0])
    first = sorted(frames[0]["hientry"] + frames[0]["hizero"])
    assert len(first) == cols
    x0, cw = first[0][0], first[1][0] - first[0][0]
    rh = -first[0][1]
    for step, lit in enumerate(frames):
        row = scene["matrix"][step]
        for style, want in (("hientry", True), ("hizero", False)):
            got = sorted(round((x - x0) / cw) for x, _ in lit[style])
            assert got == [c for c, e in enumerate(row) if bool(e) == want], (step, style)
            assert all(np.isclose(y, -(step + 1) * rh) for _, y in lit[style])


@pytest.mark.parametrize("size, pad, transposed", [(4, 1, True), (5, 0, False)])
def test_alphabet_fills_each_matrix_entry_and_canvas_cell_once_by_kind(size, pad, transposed):
    """One path per kind (TeX pays per path, not per rectangle): the matrix's non-zero
    entries in the entry colour at their row and column, the canvas cells in their kind's."""
    spec = ConvSpec((size, size), (3, 3), (1, 1), (pad, pad), transposed=transposed).validate()
    scene = Alphabet().scene(spec, [0], FigureOptions(caption=""))
    paths = fill_paths(tex.render(Alphabet.template, scene=scene))
    entries, = [rects for style, rects in paths if style == "entry"]
    cw, rh = entries[0][2:]
    want = [(c * cw, -(r + 1) * rh) for r, row in enumerate(scene["matrix"])
            for c, e in enumerate(row) if e]
    assert np.allclose([r[:2] for r in entries], want)
    for kind in {cell["kind"] for row in scene["canvas"] for cell in row}:
        found = [rects for style, rects in paths if style == kind]
        cells = sum(cell["kind"] == kind for row in scene["canvas"] for cell in row)
        assert len(found) == 1 and len(found[0]) == cells, kind


@pytest.mark.parametrize("phase", im2col.PHASES)
def test_im2col_highlights_the_column_of_the_step_and_styles_zeros_by_kind(phase):
    """Each frame lights the step's column, one entry per row: non-zero deep, zero pale."""
    spec = ConvSpec((5, 5), (3, 3), (2, 2), (1, 1)).validate()
    low = Im2col().lowered(spec, Im2colOptions(phase=phase))
    scene = Im2col().scene(spec, list(range(low.steps)), Im2colOptions(phase=phase, caption=""))
    source = tex.render(Im2col.template, scene=scene)
    frames = highlighted(source)
    assert len(frames) == low.steps
    xs = []
    for step, lit in enumerate(frames):
        cells = lit["hientry"] + lit["hizero"]
        assert len(cells) == len(scene["matrix"]) and len({x for x, _ in cells}) == 1
        xs.append(cells[0][0])
        tops = sorted((-y for _, y in cells))
        deep = {-y for _, y in lit["hientry"]}
        assert [t in deep for t in tops] == [bool(row[step]) for row in scene["matrix"]]
    assert xs[1] - xs[0] > 0 and np.allclose(np.diff(xs), xs[1] - xs[0])  # in order, one each
    kinds = {k for row in scene["zero_kinds"] for k in row if k}
    for kind in kinds:
        assert f"\\path[z{kind}]" in source
    assert kinds == ({"padding", "inserted"} if phase == "loss" else {"padding"})
    n = scene["counts"]
    assert n["sparsity"] == round(100 * n["zeros"] / n["elements"], 1)
    assert f"sparsity {n['sparsity']}" in source


def test_im2col_kernel_vectors():
    spec = ConvSpec((5, 5), (3, 2), (1, 1), (1, 1)).validate()
    scene = Im2col().scene(spec, [0], Im2colOptions(phase="loss", caption=""))
    assert scene["kernel"] == [[2 - ty, 1 - tx] for ty in range(3) for tx in range(2)]  # flipped
    grad = Im2col().scene(ConvSpec((5, 5), (3, 3), (2, 2), (1, 1)).validate(), [0],
                        Im2colOptions(phase="gradient", caption=""))
    assert grad["kernel"][:6] == [[0, 0], None, [0, 1], None, [0, 2], None]  # dY zero-inserted


def test_im2col_loss_json_reports_its_output_padding():
    spec = ConvSpec((6, 6), (3, 3), (2, 2), (1, 1)).validate()
    args = Im2colOptions(phase="loss", caption="")
    assert Im2col().data(spec, Im2col().scene(spec, [0], args), args)["output_padding"] == [1, 1]
