"""channels laid out for the width asked (issue 19) and drawn as sequences in 1-D (issue 18).

The arrangement chosen per width and where it puts every plane are checked on the scene
data (no TeX): nothing overlaps, everything lies in the page's box, the natural layout
is the one drawn before --width existed, and the choice fits the budget layout.fit
gives. Three small figures are compiled: the smallest text at 8.25 cm measured with
poppler, the warning where nothing fits, and a 1-D figure's rows.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import layout as fitting
from convanim.errors import SpecError
from convanim.figure import figure, plan
from convanim.scenes import channels_layout
from convanim.scenes.channels import grouped

from helpers import files_under, run

NAMES = ("beside", "packed", "compact", "stacked")
C32 = dict(in_channels=3, out_channels=2)
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r'([^<]*)</word>')


def planned(**values):
    kind, options = figure("channels", **values)
    return plan(kind, options)


def layout_of(**values) -> dict:
    return planned(**values).scene()["layout"]


def rectangles(fig, at: dict) -> list[tuple[str, float, float, float, float]]:
    """(what, left, top, right, bottom) of every grid the arrangement places, in cells."""
    g = grouped(fig.spec, fig.options)
    (h, w), (oh, ow) = g.plane.canvas, g.plane.out
    kh, kw = fig.spec.kernel_size
    out = [(f"x{j}", x, y, x + w, y + h) for j, (x, y) in enumerate(at["inputs"])]
    out += [(f"w{q},{jj}", x, y, x + kw, y + kh) for q, column in enumerate(at["slices"])
            for jj, (x, y) in enumerate(column)]
    out += [(f"y{q}", x, y, x + ow, y + oh) for q, (x, y) in enumerate(at["outputs"])]
    return out


def overlaps(a, b) -> bool:
    return a[1] < b[3] - 1e-9 and b[1] < a[3] - 1e-9 and a[2] < b[4] - 1e-9 and b[2] < a[4] - 1e-9


def crosses(seg, rect, steps=200) -> bool:
    """Whether segment seg runs through the inside of rect (left, top, right, bottom)."""
    x0, y0, x1, y1 = seg
    left, top, right, bottom = rect
    return any(left + 1e-6 < x0 + (x1 - x0) * t / steps < right - 1e-6
               and top + 1e-6 < y0 + (y1 - y0) * t / steps < bottom - 1e-6
               for t in range(steps + 1))


@st.composite
def channel_figures(draw):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 6 // groups))
    d = groups * draw(st.integers(1, 6 // groups))
    k = draw(st.integers(1, 3))
    dil = draw(st.integers(1, 2))
    pad = draw(st.integers(0, dil * (k - 1)))
    i = draw(st.integers(max(1, dil * (k - 1) + 1 - 2 * pad), 6))
    sequence = draw(st.booleans())
    return dict(in_channels=c, out_channels=d, groups=groups,
                input_size=(1, i) if sequence else i, kernel_size=(1, k) if sequence else k,
                padding=(0, pad) if sequence else pad, dilation=(1, dil) if sequence else dil,
                stride=draw(st.integers(1, 2)), transposed=draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(channel_figures())
def test_no_arrangement_puts_one_grid_on_another_or_outside_the_page(values):
    try:
        fig = planned(**values)
    except SpecError:  # too large to draw at all (13 cells)
        assume(False)
    g = grouped(fig.spec, fig.options)
    names = ("sequence", "sequence below") if fig.scene()["sequence"] else NAMES
    for name in names:
        at = channels_layout.place(name, g, fig.spec.kernel_size, 0.6)
        rects = rectangles(fig, at)
        left, top, right, bottom = at["box"]
        for i, a in enumerate(rects):
            assert left <= a[1] and a[3] <= right + 1e-9 and top <= a[2] and a[4] <= bottom, \
                (name, a, at["box"])
            for b in rects[i + 1:]:
                assert not overlaps(a, b), (name, a, b)
        # every partial sum lies outside every grid, and so does every sum arrow's end
        for column in at["partials"]:
            for x, y, _ in column:
                assert not any(r[1] < x < r[3] and r[2] < y < r[4] for r in rects), (name, x, y)
        for q, arrow in enumerate(at["sums"]):
            (x, y) = arrow["path"][-1]
            assert not any(r[1] < x < r[3] and r[2] < y < r[4] for r in rects)
            # no leg of it crosses a grid (a diagonal ran through an input's padding), and
            # it lands in a cell of its output, not on a border
            for (x0, y0), (x1, y1) in zip(arrow["path"], arrow["path"][1:]):
                for r in rects:
                    assert not crosses((x0, y0, x1, y1), r[1:]), (name, arrow["path"], r)
            if not name.startswith("sequence"):
                left = at["outputs"][q][0]
                assert (x - left - 0.5) == pytest.approx(round(x - left - 0.5)), (name, x, left)


def test_without_a_width_the_layout_is_the_one_drawn_before():
    """The positions of the figure as it was drawn before --width (3 -> 2, -i 5 -k 3):
    planes 5 + 0.8 apart down the left, filter columns max(k + 1.9, o + 0.6) wide from
    x = 5 + 1.4, outputs 1.6 under the last plane."""
    at = layout_of(input_size=5, kernel_size=3, **C32)
    assert at["at"] == "beside" and at["unit"] == 0.6 and at["text_width"] is None
    def approx(expected):
        return pytest.approx(np.array(expected, dtype=float))
    assert np.array(at["inputs"]) == approx([[0, 0], [0, 5.8], [0, 11.6]])
    assert np.array([column[0][0] for column in at["slices"]]) == approx([6.4, 6.4 + 4.9])
    assert np.array([y for _, y in at["slices"][0]]) == approx([1.0, 6.8, 12.6])
    assert np.array(at["outputs"]) == approx([[6.4, 18.2], [11.3, 18.2]])
    assert np.array(at["box"]) == approx([-1.3, -0.9, 11.3 + 4.6 + 0.1, 18.2 + 3 + 0.8])


#: Figures whose natural ``beside`` page was taller than 22 cm: drawn ``packed``.
NATURAL = {str(dict(input_size=5, kernel_size=3, dilation=2, padding=2, **C32)): "packed",
           str(dict(input_size=7, kernel_size=3, padding=1, **C32)): "packed",
           str(dict(input_size=7, kernel_size=3, dilation=2, padding=2, **C32)): "packed"}


@pytest.mark.parametrize("width,values,chosen", [
    (8.25, dict(input_size=5, kernel_size=3), "beside"),
    (8.25, dict(input_size=5, kernel_size=3, padding=1, **C32), "compact"),
    (8.25, dict(input_size=5, kernel_size=3, dilation=2, padding=2, **C32), "compact"),
    (8.25, dict(input_size=5, kernel_size=3, stride=2, padding=1, transposed=True, **C32),
     "stacked"),
    (16, dict(input_size=7, kernel_size=3, padding=1, **C32), "stacked"),
    (16, dict(input_size=7, kernel_size=3, dilation=2, padding=2, **C32), "stacked"),
    (8.25, dict(input_size=(1, 8), kernel_size=(1, 3), dilation=(1, 2), causal=True, **C32),
     "sequence below"),
])
def test_the_arrangement_is_chosen_for_the_width(width, values, chosen):
    """The first arrangement whose natural size keeps text >= 5 pt and the page <= 22 cm
    at the width asked; the figures of issue 19's table that did not fit."""
    at = layout_of(width=width, **values)
    budget = fitting.fit("channels", width)
    assert at["at"] == chosen
    assert at["width"] <= budget["width"] and at["height"] <= at["width"] * budget["aspect"]
    assert at["text_width"] <= budget["width"]
    # without the width the same figure is drawn as before, unless it was too tall
    assert layout_of(**values)["at"] == ("sequence" if chosen.startswith("sequence")
                                         else NATURAL.get(str(values), "beside"))


def test_a_sequence_has_output_t_above_input_t():
    """-i 1x8 -k 1x3, 2 -> 2: the output rows above the input rows, output t above input t
    at stride 1 (causal: above its last tap, d(k-1) = 4 cells of padding to the left)."""
    for causal, start in ((False, 0), (True, 4)):
        at = layout_of(input_size=(1, 8), kernel_size=(1, 3), dilation=(1, 2), causal=causal,
                       in_channels=2, out_channels=2)
        assert at["at"] == "sequence"
        assert [x for x, _ in at["outputs"]] == [start, start]
        assert max(y for _, y in at["outputs"]) + 1 < min(y for _, y in at["inputs"])
        assert [y for _, y in at["outputs"]] == sorted(y for _, y in at["outputs"])  # y0 on top
        # the slices of 1-D kernels sit on their planes' rows
        assert [y for _, y in at["slices"][1]] == [y for _, y in at["inputs"]]


def measure(tmp_path, *args):
    """(page height cm, smallest word pt, stderr, words) of the step drawn as PDF."""
    r = subprocess.run([sys.executable, "-m", "convanim", "channels", *args, "-y", "pdf", "fig",
                        "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path), "--quiet"],
                       capture_output=True, text=True, env=dict(os.environ), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pdf, = r.stdout.split()
    html = subprocess.run(["pdftotext", "-bbox", pdf, "-"],
                          capture_output=True, text=True).stdout
    h = float(re.search(r'<page width="[\d.]+" height="([\d.]+)"', html).group(1))
    words = [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(html)]
    return h / 72 * 2.54, min(d - b for _, b, _, d, _ in words), r.stderr, words


@pytest.mark.usefixtures("tex_tools")
def test_a_transposed_three_to_two_figure_keeps_5pt_in_a_narrow_column(tmp_path):
    """3.2 pt before: the planes, the bank and the outputs side by side, 7 pt subscripts."""
    h, smallest, err, _ = measure(tmp_path, "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t",
                                  "--in-channels", "3", "--out-channels", "2", "--width", "8.25")
    assert smallest >= 5.0 and h <= 22.0 and err == ""


@pytest.mark.usefixtures("tex_tools")
def test_a_grouped_figure_that_cannot_fit_says_so_in_one_line(tmp_path):
    h, smallest, err, _ = measure(tmp_path, "-i", "5", "-k", "3", "-s", "2", "-p", "1",
                                  "--in-channels", "4", "--out-channels", "4", "--groups", "2",
                                  "--width", "8.25")
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convanim: warning: at --width 8.25 cm its "
                                                   "smallest text is 4.")
    assert 4.5 < smallest < 5.0


@pytest.mark.usefixtures("tex_tools")
def test_a_one_dimensional_figure_is_drawn_as_rows(tmp_path):
    """-i 1x6 -k 1x3 --causal, 2 -> 1 with all weights 1, its last step: the name y0 above
    x0 and x1, and each output above the last input it reads (its own t): y[t] is the sum
    of x0 and x1 over t-2..t, e.g. y[2] = 1+2+3 + 7+8+9 = 30 over x0[2] = 3."""
    _, _, err, words = measure(tmp_path, "-i", "1x6", "-k", "1x3", "--causal", "--in-channels",
                               "2", "--out-channels", "1", "--input", "1 2 3 4 5 6 | 7 8 9 1 2 3",
                               "--kernel", "1 1 1 | 1 1 1", "-e", "5")
    assert err == ""
    left = min(x0 for x0, *_ in words)
    names = [(y0, t) for x0, y0, _, _, t in words if x0 < left + 2 and t in ("x", "y")]
    assert [t for _, t in sorted(names)] == ["y", "x", "x"]
    for out, read in (("18", "2"), ("30", "3"), ("27", "4"), ("24", "5")):
        (x0, y0, x1, _, _), = [w for w in words if w[4] == out]
        centre = (x0 + x1) / 2
        assert any(abs((a + c) / 2 - centre) < 1.5 and b > y0 + 10
                   for a, b, c, _, t in words if t == read), (out, read)


def test_a_sequence_may_be_longer_than_a_plane_is_wide(workdir, capsys):
    """A row of numbers: up to 24 cells (-i 1x12 with causal padding 4 is 16), where a
    plane stops at 12 per axis."""
    at = layout_of(input_size=(1, 12), kernel_size=(1, 3), dilation=(1, 2), causal=True, **C32)
    assert at["at"] == "sequence" and len(at["outputs"]) == 2
    status, out, err = run(capsys, "channels", "-i", "1x30", "-k", "1x3")
    assert status == 2 and out == [] and err == [
        "convanim: error: figure too large: the padded input is a sequence of 30 cells; "
        "channels figures draw sequences of at most 24"]
    assert files_under(workdir) == []


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("argv", [
    "channels -i 7 -k 3 -p 1 --in-channels 3 --out-channels 2 --labels",
    "channels -i 5 -k 3 -d 2 -p 2 --in-channels 3 --out-channels 2",
])
def test_a_figure_too_tall_beside_is_packed_to_fit_16_by_22cm(argv, tmp_path, capsys):
    """``-i 7 ... --labels`` was 16.1 x 26.2 cm: each filter's slices now stack from the
    top of its column with its output under them, and the page fits 16 x 22 cm at its
    natural size (text not shrunk: the same 0.6 cm cells)."""
    from helpers import pdf_pages

    status, out, err = run(capsys, *argv.split(), "-y", "pdf", "fig", "--quiet",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    (w, h), = pdf_pages(next(p for p in out if p.suffix == ".pdf"))
    scale = min(1.0, 16 / (w / 72 * 2.54))
    assert h / 72 * 2.54 * scale <= 22.0, (w / 72 * 2.54, h / 72 * 2.54)
    assert w / 72 * 2.54 <= 16.2


@pytest.mark.usefixtures("tex_tools")
def test_the_legend_bars_start_in_one_column_and_1x1_reads_1_times_1(tmp_path, capsys):
    """The legend's bars followed their names' widths (ragged); the pointwise line read
    '1x1'. PyMuPDF: the three bars' outlines share their left edge, the text says 1×1."""
    import pymupdf

    status, out, err = run(capsys, "channels", "-i", "4", "-k", "1", "--in-channels", "2",
                           "--out-channels", "1", "--labels", "--fill", "value", "--legend",
                           "-y", "pdf", "fig", "--quiet", "--out-dir", str(tmp_path),
                           "--gif-dir", str(tmp_path))
    assert status == 0, err
    with pymupdf.open(str(next(p for p in out if p.suffix == ".pdf"))) as doc:
        page = doc[0]
        text = page.get_text()
        bar_h = 0.3 / 2.54 * 72
        bars = [d["rect"] for d in page.get_drawings() if d.get("color") is not None
                and abs(d["rect"].height - bar_h) < 0.6 and d["rect"].width > 3 * bar_h]
    assert "pointwise (1 × 1)" in text and "1x1" not in text and "Ö" not in text, text
    assert len(bars) == 3, bars
    assert max(b.x0 for b in bars) - min(b.x0 for b in bars) < 0.1, [b.x0 for b in bars]
