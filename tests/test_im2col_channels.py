"""im2col with channels: the figure's GEMM multiplies like the grouped conv's phase.

The matrices of ``--json`` (X = ``im2col``, W = ``weights``) are filled with random
values and multiplied; the product must equal plain loops over channels and taps
(tests/reference.py) of the forward conv, its input gradient and its weight gradient.
Their null counts must equal the sparsity statistics.
"""
import json

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import figure, geometry, models, stats
from convanim.scenes.im2col import PHASES

import reference as ref
from helpers import files_under, pdf_pages, run


@st.composite
def grouped_convs(draw):
    """(i, k, s, p, d) pairs and (C, D, G) with G dividing both."""
    ax = st.tuples(st.integers(1, 6), st.integers(1, 3), st.integers(1, 3), st.integers(0, 2),
                   st.integers(1, 2))
    rows, cols = draw(ax), draw(ax)
    i, k, s, p, d = (tuple(v) for v in zip(rows, cols))
    assume(all(i[a] + 2 * p[a] >= d[a] * (k[a] - 1) + 1 for a in (0, 1)))
    g = draw(st.integers(1, 3))
    c, dd = g * draw(st.integers(1, 3)), g * draw(st.integers(1, 3))
    assume((c, dd, g) != (1, 1, 1))
    return (i, k, s, p, d), (c, dd, g)


def gemm(conv, channels, phase):
    (i, k, s, p, d), (c, dd, g) = conv, channels
    f = figure.plan(*figure.figure("im2col", None, input_size=i, kernel_size=k, stride=s,
                                   padding=p, dilation=d, in_channels=c, out_channels=dd,
                                   groups=g, phase=phase))
    return f.data()


def filled(matrix, values, plane_of):
    """A matrix of figure entries as numbers: ``values[plane][entry]``, 0 where null."""
    return np.array([[values[plane_of(r, col)][tuple(e)] if e else 0.0
                      for col, e in enumerate(row)] for r, row in enumerate(matrix)])


@settings(max_examples=120, deadline=None)
@given(grouped_convs(), st.sampled_from(PHASES))
def test_gemm_of_the_figure_is_the_grouped_phase(drawn, phase):
    conv, channels = drawn
    (i, k, s, p, d), (c, dd, g) = conv, channels
    assume(phase != "loss" or all(p[a] <= d[a] * (k[a] - 1) for a in (0, 1)))
    try:
        data = gemm(conv, channels, phase)
    except figure.SpecError as e:
        assume("too large" not in str(e))
        raise
    rng = np.random.default_rng(0)
    o = geometry.conv_output_size(i, k, s, p, d)
    a = geometry.auto_output_padding(i, k, s, p, d)
    x = rng.integers(-3, 4, size=(c, *i)).astype(float)
    dy = rng.integers(-3, 4, size=(dd, *o)).astype(float)
    w = rng.integers(-3, 4, size=(dd, c // g, *k)).astype(float)
    X, W = data["im2col"], data["weights"]
    taps = k[0] * k[1]
    cg, dg = c // g, dd // g
    assert (data["in_channels"], data["out_channels"], data["groups"]) == (c, dd, g)
    weight = {0: w}
    if phase == "forward":
        assert len(X) == c * taps and len(X[0]) == o[0] * o[1] and len(W) == dd
        Y = filled(W, weight, lambda r, col: 0) @ filled(X, x, lambda r, col: r // taps)
        want = [sum(ref.conv2d(x[j], w[q, j - (q // dg) * cg], s, p, d)
                    for j in range((q // dg) * cg, (q // dg + 1) * cg)).ravel()
                for q in range(dd)]
    elif phase == "loss":
        assert len(X) == dd * taps and len(X[0]) == i[0] * i[1] and len(W) == c
        Y = filled(W, weight, lambda r, col: 0) @ filled(X, dy, lambda r, col: r // taps)
        want = [sum(ref.conv_transpose2d(dy[q], w[q, j % cg], s, p, d, a)
                    for q in range((j // cg) * dg, (j // cg + 1) * dg)).ravel()
                for j in range(c)]
    else:
        assert len(X[0]) == c * taps and len(W) == dd
        Y = filled(W, {0: dy}, lambda r, col: 0)[:, :] @ filled(X, x, lambda r, col: col // taps)
        want = []
        for q in range(dd):
            grp = q // dg
            for j in range(grp * cg, (grp + 1) * cg):  # only the group's blocks are dW
                got = Y[q, j * taps:(j + 1) * taps].reshape(k)
                assert np.allclose(got, ref.weight_gradient(x[j], dy[q], k, s, p, d))
        Y, want = np.zeros(1), [np.zeros(1)]
    assert np.allclose(Y, np.array(want))
    # every count equals the statistics of the same layer
    layer = models.Layer("x", "conv", i, c, dd, k, s, p, d, g)
    row = stats.layer_stats(layer)
    nulls = sum(e is None for r in X for e in r)
    assert nulls == row[f"{phase}_featuremap_zeros_after_im2col"]
    assert len(X) * len(X[0]) == row[f"{phase}_featuremap_elements_after_im2col"]
    if phase == "gradient":
        assert sum(e is None for r in W for e in r) == row["gradient_weight_zeros_after_im2col"]
        assert data["kernel_zeros"] == row["gradient_weight_zeros_after_im2col"]
    else:  # block-diagonal: a filter holds weights only in its group's columns
        assert data["block_zeros"] == sum(e is None for r in W for e in r) \
            == len(W) * len(W[0]) - len(W) * (len(W[0]) // g)


def test_one_channel_keeps_the_single_plane_figure():
    _, options = figure.figure("im2col", None)
    f = figure.plan(_, options)
    assert f.kind.template_for(f.options) == "im2col.tex.j2"
    assert "weights" not in f.data() and f.name == "im2col_forward_i5_k3_s1_p0_d1"


def test_steps_highlight_a_column_of_every_plane_in_the_gradient():
    f = figure.plan(*figure.figure("im2col", None, in_channels=2, out_channels=2,
                                   phase="gradient", step=4))
    frame = f.scene()["frames"][0]
    assert frame["columns"] == [4, 13] and f.steps == 9


@pytest.mark.parametrize("argv, reason", [
    (["--in-channels", "8", "--out-channels", "8"], "unfolded operand X would be 72x9"),
    (["--in-channels", "9"], "at most 8 planes"),
    (["--in-channels", "4", "--groups", "3"], "not divisible by --groups 3"),
    (["--in-channels", "7", "-i", "7"], "beyond 54 its labels fall below 5 pt"),
])
def test_limits_refuse_with_the_reason_and_write_nothing(tmp_path, capsys, monkeypatch, argv,
                                                         reason):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "im2col", *argv, "--json")
    assert status == 2 and out == [] and len(err) == 1
    assert err[0].startswith("convanim: error:") and reason in err[0]
    assert files_under(tmp_path) == []


# ---------------------------------------------------------------- alphabet with channels

@settings(max_examples=100, deadline=None)
@given(grouped_convs(), st.booleans())
def test_alphabet_block_matrix_multiplies_like_the_grouped_conv(drawn, transposed):
    (i, k, s, p, d), (c, dd, g) = drawn
    assume(not transposed or all(p[a] <= d[a] * (k[a] - 1) for a in (0, 1)))
    try:
        f = figure.plan(*figure.figure("alphabet", None, input_size=i, kernel_size=k, stride=s,
                                       padding=p, dilation=d, in_channels=c, out_channels=dd,
                                       groups=g, transposed=transposed))
    except figure.SpecError as e:
        assume("too large" not in str(e))
        raise
    data = f.data()
    o = geometry.conv_output_size(i, k, s, p, d)
    a = f.spec.output_padding
    rng = np.random.default_rng(1)
    w = rng.integers(-3, 4, size=(dd, c // g, *k)).astype(float)
    cg, dg = c // g, dd // g
    pin, per_in = (dd, o) if transposed else (c, i)
    x = rng.integers(-3, 4, size=(pin, *per_in)).astype(float)
    cells_in, cells_out = per_in[0] * per_in[1], len(data["matrix"]) // (c if transposed else dd)
    M = np.array([[w[(*data["blocks"][r // cells_out][col // cells_in], *e)] if e else 0.0
                   for col, e in enumerate(row)] for r, row in enumerate(data["matrix"])])
    if transposed:
        want = [sum(ref.conv_transpose2d(x[q], w[q, j % cg], s, p, d, a)
                    for q in range((j // cg) * dg, (j // cg + 1) * dg)).ravel() for j in range(c)]
    else:
        want = [sum(ref.conv2d(x[j], w[q, j % cg], s, p, d)
                    for j in range((q // dg) * cg, (q // dg + 1) * cg)).ravel() for q in range(dd)]
    assert np.allclose(M @ x.ravel(), np.concatenate(want))
    assert f.steps == len(data["matrix"])
    # block-diagonal: every entry outside a pair of one group is null
    nonzero = sum(e is not None for row in data["matrix"] for e in row)
    one = figure.plan(*figure.figure("alphabet", None, input_size=i, kernel_size=k, stride=s,
                                     padding=p, dilation=d, transposed=transposed)).data()
    assert nonzero == g * cg * dg * sum(e is not None for row in one["matrix"] for e in row)


@pytest.mark.parametrize("argv, reason", [
    (["--in-channels", "4", "--out-channels", "2"],
     "matrix would be 18x100 (2·9 x 4·25); beyond 90 columns its names fall below 5 pt in a "
     "16 cm column; the largest --in-channels that fits is 3"),
    (["--in-channels", "2", "--out-channels", "8", "-i", "6"],
     "the largest --out-channels that fits is 4"),
    (["--in-channels", "2", "--out-channels", "2", "--groups", "2", "-i", "8"],
     "no --in-channels fits"),
])
def test_alphabet_refuses_what_is_not_legible_with_the_largest_that_fits(
        tmp_path, capsys, monkeypatch, argv, reason):
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "alphabet", *argv)
    assert status == 2 and out == [] and len(err) == 1
    assert err[0].startswith("convanim: error: figure too large") and reason in err[0]
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("kind, values", [
    ("alphabet", dict(in_channels=4, out_channels=2, groups=2, input_size=4)),
    ("alphabet", dict(in_channels=2, out_channels=4, groups=2, input_size=5, stride=2,
                      transposed=True)),
    ("im2col", dict(in_channels=3, out_channels=2, padding=1, phase="forward")),
    ("im2col", dict(in_channels=2, out_channels=4, groups=2, input_size=4, stride=2,
                    phase="loss")),
    ("im2col", dict(in_channels=2, out_channels=2, stride=2, phase="gradient")),
])
def test_verify_from_json_recomputes_every_plane(capsys, tmp_path, kind, values):
    f = figure.plan(*figure.figure(kind, None, **values))
    path = tmp_path / "f.json"
    path.write_text(json.dumps(f.data()))
    status, _, _ = run(capsys, "verify", kind, "--from-json", str(path), "--backend", "numpy")
    assert status == 0
    data = f.data()
    if kind == "alphabet":  # a row of C that multiplies nothing
        data["matrix"][0] = [None] * len(data["matrix"][0])
    else:                   # one zero too many or too few
        row = data["im2col"][0]
        row[0] = None if row[0] else [0, 0]
    path.write_text(json.dumps(data))
    assert run(capsys, "verify", kind, "--from-json", str(path), "--backend", "numpy")[0] == 1


@pytest.mark.parametrize("kind, values", [
    ("im2col", dict(in_channels=4, out_channels=2, groups=2, input_size=4, stride=2,
                    phase="gradient", theme="dark")),
    ("alphabet", dict(in_channels=2, out_channels=2, groups=2, input_size=3, stride=2,
                      transposed=True, caption="a_1 & 100%")),
])
@pytest.mark.usefixtures("tex_tools")
def test_the_api_draws_them_with_the_declared_options(tmp_path, monkeypatch, kind, values):
    """The Python API (like build and Sphinx) takes the channel options of the declaration;
    one page of each new template compiles."""
    import convanim

    monkeypatch.chdir(tmp_path)
    paths = convanim.render(kind, "fig", type="pdf", step=1, quiet=True, **values)
    assert [p.name for p in paths] == ["fig_01.pdf"]
    assert len(pdf_pages(paths[0])) == 1


#: The grid the empty-area measure reads a page on, in PDF points (2 mm).
COVER_STEP = 72 / 2.54 * 0.2


def covered(page) -> np.ndarray:
    """Which 2 mm squares of the page hold ink: each drawn item's box (a cell's fill, a
    line) and each word's box, the page's background left out."""
    import pymupdf
    w, h = page.rect.width, page.rect.height
    grid = np.zeros((int(np.ceil(h / COVER_STEP)), int(np.ceil(w / COVER_STEP))), bool)

    def mark(x0, y0, x1, y1):
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 >= x0 and y1 >= y0:
            grid[int(y0 // COVER_STEP):int(y1 // COVER_STEP) + 1,
                 int(x0 // COVER_STEP):int(x1 // COVER_STEP) + 1] = True
    for d in page.get_drawings():
        if d["rect"].width >= w - 1 and d["rect"].height >= h - 1:
            continue
        for item in d["items"]:
            if item[0] in ("re", "qu"):
                r = item[1].rect if item[0] == "qu" else item[1]
                mark(r.x0, r.y0, r.x1, r.y1)
            else:
                pts = [p for p in item[1:] if isinstance(p, pymupdf.Point)]
                mark(min(p.x for p in pts), min(p.y for p in pts),
                     max(p.x for p in pts), max(p.y for p in pts))
    for word in page.get_text("words"):
        mark(*word[:4])
    return grid


def largest_empty(grid: np.ndarray) -> int:
    """The area, in grid squares, of the largest rectangle holding no ink."""
    heights, best = np.zeros(grid.shape[1] + 1, int), 0
    for row in grid:
        heights[:-1] = np.where(row, 0, heights[:-1] + 1)
        stack = []
        for x, hx in enumerate(heights):
            while stack and heights[stack[-1]] >= hx:
                top = heights[stack.pop()]
                best = max(best, top * (x - (stack[-1] + 1 if stack else 0)))
            stack.append(x)
    return best


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("argv", [
    # 58% of the page empty, a blank 35% of it in one rectangle, before (#31 §4)
    ["-i", "5", "-k", "3", "--in-channels", "3", "--out-channels", "2", "-e", "4"],
    # 68% and 49%
    ["-i", "4", "-k", "3", "-s", "2", "-p", "1", "--in-channels", "4", "--out-channels", "4",
     "--groups", "2"],
    ["-i", "5", "-k", "3", "-s", "2", "-p", "1", "--in-channels", "2", "--out-channels", "3",
     "--phase", "loss"],
    ["-i", "5", "-k", "3", "--in-channels", "3", "--out-channels", "2", "--phase", "gradient"],
])
def test_gemm_page_has_no_large_empty_area(tmp_path, capsys, argv):
    """The GEMM's page is mostly ink: at most 40% of its 2 mm squares blank (margins,
    gaps between matrices, the caption's line ends) and no blank rectangle over 12% of
    it (Wᵀ drawn beside X, the planes beside their blocks: 30% and 8% here)."""
    import pymupdf
    status, out, err = run(capsys, "im2col", *argv, "-y", "pdf", "--out-dir", str(tmp_path),
                           "--gif-dir", str(tmp_path), "--quiet")
    assert status == 0, err
    page = pymupdf.open(next(p for p in out if p.suffix == ".pdf"))[0]
    grid = covered(page)
    assert 1 - grid.mean() <= 0.40
    assert largest_empty(grid) / grid.size <= 0.12


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("mode", ["replicate", "zeros"])
def test_gemm_entries_read_from_copies_are_dashed(tmp_path, capsys, mode):
    """An entry of X read from a padding copy keeps the copy's dashed edge inside its cell
    (#31 §7): one dashed square per such entry, none without copies. -i 4 -k 3 -p 1: an
    entry (ky, kx) of output (oy, ox) reads cell (oy + ky, ox + kx) of the 6 x 6 canvas,
    a copy on its ring; two planes."""
    import pymupdf
    status, out, err = run(capsys, "im2col", "-i", "4", "-k", "3", "-p", "1", "--padding-mode",
                           mode, "--in-channels", "2", "--out-channels", "2", "-y", "pdf",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path), "--quiet")
    assert status == 0, err
    page = pymupdf.open(next(p for p in out if p.suffix == ".pdf"))[0]
    side = (0.32 - 0.11) / 2.54 * 72          # a square's edges, read as four lines
    edges = [item for d in page.get_drawings() if d.get("color") is not None
             and d.get("dashes") not in (None, "[] 0") for item in d["items"]
             if item[0] == "l" and abs(abs(item[2] - item[1]) - side) < 0.3]
    ring = sum(oy + ky in (0, 5) or ox + kx in (0, 5)
               for oy in range(4) for ox in range(4) for ky in range(3) for kx in range(3))
    assert len(edges) == 4 * (2 * ring if mode == "replicate" else 0)
