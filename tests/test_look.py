"""Paper quality (issue 8): legible text in a 16 cm column, one page size per figure,
grid lines that run on, colours that stay apart in greyscale, labels that name what
is drawn. Measured on real PDFs with poppler, and on the palette's own values."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from convanim import tex, theme
from convanim.scenes import arithmetic, canvas_kinds, grid_lines
from convanim.spec import ConvSpec
from convanim.scenes.arithmetic import Arithmetic, ArithmeticOptions

COLUMN_PT = 453.5  # 16 cm


def figure_pdf(tmp_path, *args) -> str:
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "convanim", *args, "-y", "pdf", "fig", "--quiet",
                        "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    return [line for line in r.stdout.split() if line.endswith(".pdf")][0]


def page_sizes(pdf: str) -> set:
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "999", pdf], capture_output=True,
                         text=True).stdout
    return set(re.findall(r"Page +\d+ size: +([\d.]+ x [\d.]+)", out))


@pytest.mark.parametrize("name", theme.THEMES)
def test_palette_contrast(name):
    p = theme.palette(name)
    for kind in theme.HIGHLIGHTED_AGAINST:  # the highlight stands out in greyscale
        assert theme.contrast(p["current"], p[kind]) >= 1.5, kind
    for text in ("text", "muted"):  # numbers readable on every fill, highlighted or not
        for fill in theme.FILLS:
            assert theme.contrast(p[text], p[fill]) >= 4.5, (text, fill)
    assert theme.contrast(p["padding"], p["inserted"]) > 1.0


@pytest.mark.parametrize("name", theme.THEMES)
def test_kinds_are_told_apart_by_luminance_or_by_pattern(name):
    """Issue 31, dark on a projector: input vs inserted zeros 1.11:1, input vs page 1.41:1,
    output padding vs page 1.12:1. Every pair of kinds on a canvas, and each kind against
    the page, holds the rule theme.TOLD_APART gives it: >= 3:1, or edge patterns that
    differ (they survive greyscale); and luminance is used wherever it can be."""
    p = theme.palette(name)
    kinds = ("background", "data", "padding", "copy", "inserted", "outpad")
    pairs = {(a, b) for i, a in enumerate(kinds) for b in kinds[i + 1:]} - {("copy", "outpad")}
    assert {tuple(sorted(k)) for k in theme.TOLD_APART} == {tuple(sorted(k)) for k in pairs}
    for (a, b), rule in theme.TOLD_APART.items():
        if rule == "luminance":
            assert theme.contrast(p[a], p[b]) >= 3.0, (a, b)
        else:
            assert theme.PATTERNS[a] != theme.PATTERNS[b], (a, b)
    assert theme.contrast(p["output"], p["background"]) >= 3.0  # its own plane, solid edges
    for text in ("text", "muted"):  # the price: text keeps 4.5:1 on the kinds, shadowed too
        for kind in theme.SHADOWED:
            assert theme.contrast(p[text], p[kind]) >= 4.5, (text, kind)
            assert theme.contrast(p[text], theme.under_window(name, p[kind])) >= 4.5


def test_the_shadow_is_drawn_at_the_opacity_the_theme_computes_with():
    base = open(tex.template_dir() / "base.tex.j2").read()
    assert f"shadow/.style={{fill=cvwindow, fill opacity={theme.WINDOW_OPACITY}}}" in base


def test_contrast_formula():
    assert theme.contrast("000000", "FFFFFF") == pytest.approx(21.0)
    assert theme.contrast("777777", "777777") == pytest.approx(1.0)
    assert theme.palette("light")["background"] == "FDF6E3"  # Solarized light, a theme


@pytest.mark.parametrize("case", [
    "alphabet -i 4 -k 3", "alphabet -i 7 -k 3", "alphabet -i 7 -k 3 -s 2 -p 1 -t",
    "alphabet -i 7 -k 3 -d 2", "im2col -i 7 -k 3 -p 1 --phase loss",
    "im2col -i 5 -k 3 -s 2 -p 1 --phase loss", "im2col -i 7 -k 3 -s 2 -p 1 --phase gradient",
    "im2col -i 7 -k 3 -p 1 -d 2 --phase loss", "numerical -i 7 -k 3 -p 1 -s 2 -t",
    "numerical -i 6 -k 2 -s 2 -m average", "arithmetic -i 7 -k 3 -p 1 -s 2 -t --labels",
])
@pytest.mark.usefixtures("tex_tools")
def test_smallest_text_in_a_16cm_column_is_at_least_5pt(tmp_path, case):
    pdf = figure_pdf(tmp_path, *case.split())
    html = subprocess.run(["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True).stdout
    width = float(re.search(r'<page width="([\d.]+)"', html).group(1))
    heights = [float(b) - float(a) for a, b in
               re.findall(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', html)]
    assert heights
    assert min(heights) * min(1.0, COLUMN_PT / width) >= 5.0


@pytest.mark.parametrize("case", [
    "numerical -i 5 -k 3 -p 1 -s 2 -a", "alphabet -i 5 -k 3 -s 2 -p 1 -t -a",
    "im2col -i 5 -k 3 -s 2 -p 1 --phase gradient -a", "arithmetic -i 5 -k 3 -p 2 -d 2 -a --labels",
])
@pytest.mark.usefixtures("tex_tools")
def test_every_page_of_a_figure_has_one_size(tmp_path, case):
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "convanim", *case.split(), "fig", "--quiet",
                        "-qa", "20", "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(page_sizes(str(tmp_path / "fig.pdf"))) == 1


@pytest.mark.usefixtures("tex_tools")
def test_width_scales_the_page(tmp_path):
    pdf = figure_pdf(tmp_path, "alphabet", "-i", "5", "--width", "8")
    (size,) = page_sizes(pdf)
    assert float(size.split()[0]) == pytest.approx(8 / 2.54 * 72, abs=0.5)


def test_padding_grid_is_continuous_lines():
    spec = ConvSpec((3, 3), (3, 3), (1, 1), (1, 1)).validate()
    lines = grid_lines(canvas_kinds(spec.lowered()))
    assert [0, 0, 5, 0] in lines["dashed"] and [0, 0, 0, 5] in lines["dashed"]  # whole edges
    assert [1, 1, 4, 1] in lines["solid"]                                         # input outline
    source = tex.render(Arithmetic.template, scene=Arithmetic().scene(
        spec, [0], ArithmeticOptions(labels=False, caption="")))
    dashed = [p for p in source.splitlines() if p.strip().startswith(r"\path[cvdashed]")]
    assert dashed and all("rect" not in p and "\\cvline" in p for p in dashed)
    assert "\\cvline{0}{5}{5}{5}" in dashed[0]  # the top padding edge is one line of 5 cells


def test_transposed_grid_dots_only_between_inserted_zeros():
    spec = ConvSpec((5, 5), (3, 3), (2, 2), (1, 1), transposed=True).validate()
    names = canvas_kinds(spec.lowered(), spec.output_padding)
    lines = grid_lines(names)
    for x0, y0, x1, y1 in lines["dotted"]:
        if y0 == y1:  # horizontal: the cells above and below are inserted zeros
            assert {names[y0 - 1][x0], names[y0][x0]} == {"inserted"}


def test_arithmetic_draws_no_line_across_the_output_plane():
    spec = ConvSpec((5, 5), (3, 3)).validate()
    source = tex.render(Arithmetic.template, scene=Arithmetic().scene(
        spec, [0], ArithmeticOptions(labels=False, caption="")))
    frame = source[source.index(r"\begin{cvframe}"):]
    links = frame.index(r"\draw[link]")
    assert links < frame.index(r"{\cvoutputform}")  # the plane hides what is behind
    assert frame.count(r"\draw[link") == 1 and "dotted" not in frame


@pytest.mark.parametrize("args, has, lacks", [
    (dict(input_size=(5, 5), kernel_size=(3, 3)), ["input "], ["padded", "transposed", "inserted"]),
    (dict(input_size=(5, 5), kernel_size=(3, 3), padding=(1, 1)), ["padded", "path[padding", "); padding}"],
     ["inserted"]),
    (dict(input_size=(6, 6), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), transposed=True),
     ["transposed", "inserted zeros", "padding", "output padding"], []),
])
def test_arithmetic_labels_name_every_kind_shown(args, has, lacks):
    spec = ConvSpec(**args).validate()
    source = tex.render(Arithmetic.template, scene=Arithmetic().scene(
        spec, [0], ArithmeticOptions(labels=True, caption="")))
    source = source[source.index(r"\node[label]"):]  # the labels, not the style names
    for text in has:
        assert text in source, text
    for text in lacks:
        assert text not in source, text


def test_dark_theme_and_transparent_page():
    light = tex.render(Arithmetic.template, scene=Arithmetic().scene(
        ConvSpec((5, 5), (3, 3)).validate(), [0], ArithmeticOptions(labels=False, caption="")),
        style={"colors": theme.palette("dark"), "transparent": True, "width": None})
    assert r"\definecolor{cvbackground}{HTML}{002B36}" in light
    assert r"\color{cvbackground}\vrule" not in light
    default = tex.render(Arithmetic.template, scene=Arithmetic().scene(
        ConvSpec((5, 5), (3, 3)).validate(), [0], ArithmeticOptions(labels=False, caption="")))
    assert r"\color{cvbackground}\vrule" in default


@pytest.mark.usefixtures("tex_tools")
def test_transparent_png_has_alpha(tmp_path):
    from PIL import Image

    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "convanim", "arithmetic", "fig", "--transparent",
                        "-q", "30", "--quiet", "--out-dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    im = Image.open(tmp_path / "fig_00.png")
    assert im.mode == "RGBA" and np.asarray(im)[0, 0, 3] == 0


@pytest.mark.parametrize("case", ["im2col -i 6 -k 3 -p 1 --phase loss", "im2col -i 7 -k 3"])
@pytest.mark.usefixtures("tex_tools")
def test_im2col_product_label_stands_clear_of_the_operand(tmp_path, case):
    """The "dy =" / "y =" label left of the product row sits in the gap between the
    operand and the matrix: at least 0.3 cm right of the operand's last column of labels
    on its line (it was once half under the operand's last column)."""
    pdf = figure_pdf(tmp_path, *case.split())
    html = subprocess.run(["pdftotext", "-bbox", pdf, "-"], capture_output=True, text=True).stdout
    words = [(float(x0), float(y0), float(x1), float(y1), w) for x0, y0, x1, y1, w in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
        html)]
    def name_before(eq):  # "y", "dx" or "dw" just left of an "=" on its line
        return [w for w in words if w[4] in ("y", "dx", "dw") and abs(w[1] - eq[1]) < 3
                and 0 <= eq[0] - w[2] < 6]
    # the product's "=" is the lowest one after a name (the heading's is higher, the
    # caption's "9 x 36 = 324" has no name before it)
    equals = max((w for w in words if w[4] == "=" and name_before(w)), key=lambda w: w[1])
    left = min(w[0] for w in name_before(equals))
    operand = [w for w in words if w[2] < left and abs((w[1] + w[3]) / 2 - equals[1]) < 12]
    assert operand, "the operand has labels on the label's line"
    assert left - max(w[2] for w in operand) >= 0.3 / 2.54 * 72


GRID = re.compile(r"\\draw\[([^\]]*)\] \(([-\d.]+),([-\d.]+)\) grid \(([-\d.]+),([-\d.]+)\)")


@pytest.mark.parametrize("argv", [
    ["alphabet", "-i", "4", "-k", "3"], ["alphabet", "-i", "5", "-k", "3", "-s", "2", "-p", "1",
                                         "-t"],
    ["im2col", "-i", "5", "-k", "3", "-s", "2", "-p", "1"],
    ["im2col", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "--phase", "gradient"],
    ["numerical", "-i", "5", "-k", "3"], ["arithmetic", "-i", "5", "-k", "3", "-s", "2"],
    ["channels", "-i", "4", "-k", "3", "--in-channels", "2", "--out-channels", "2"]])
def test_every_table_has_all_its_edges(argv):
    """TikZ's `grid` draws lines at multiples of its step from the origin: a table that
    starts elsewhere (im2col's product row) or whose size is a multiple only up to
    rounding (alphabet's output, cell 0.45 cm) loses an edge or gets one through its
    labels. Only unit grids from the origin may use it; every other table draws its
    edges one by one."""
    from convanim.cli import plan_command

    source = plan_command([*argv, "-y", "pdf"]).tex()
    for options, *corners in GRID.findall(source):
        assert "step" not in options or re.search(r"(^|,)\s*step=1\s*(,|$)", options), options
        assert all(float(v) == int(float(v)) for v in corners), corners


@pytest.mark.parametrize("argv", [["-i", "5", "-k", "3", "-s", "2", "-p", "1", "-e", "3"],
                                  ["-i", "6", "-k", "3", "-s", "2", "-p", "1", "--phase",
                                   "gradient"]])
@pytest.mark.usefixtures("tex_tools")
def test_im2col_statistics_never_hyphenate(tmp_path, argv):
    """"spar-sity" across two lines reads as a typo in a paper; words stay whole."""
    pdf = figure_pdf(tmp_path, "im2col", *argv)
    text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "sparsity" in text and not re.search(r"[a-z]-\s*$", text, re.M), text


@pytest.mark.parametrize("extra", [["--theme", "dark"], ["--transparent"], []])
@pytest.mark.usefixtures("tex_tools")
def test_the_page_border_is_even_and_painted(tmp_path, extra):
    """The page's background reaches every edge, and the planes sit as far from the top
    as from the bottom (a blank strip ran along the top and the content touched the
    bottom: a page was shifted down by its border)."""
    from PIL import Image

    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, "-m", "convanim", "arithmetic", "b", "-i", "4", "-q",
                        "150", "--quiet", "--out-dir", str(tmp_path), *extra],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    im = Image.open(tmp_path / "b_00.png").convert("RGBA")  # its last row and column too
    w, h = im.size
    px = im.load()
    if "--transparent" in extra:
        background = (0, 0, 0, 0)
        assert px[0, 0][3] == 0
    else:
        hex_ = theme.palette("dark" if "--theme" in extra else "print")["background"]
        background = (*(int(hex_[i:i + 2], 16) for i in (0, 2, 4)), 255)
    edges = {px[x, y] for x in range(w) for y in (0, h - 1)} | \
        {px[x, y] for y in range(h) for x in (0, w - 1)}
    if "--transparent" in extra:
        assert all(p[3] == 0 for p in edges), edges
    else:
        assert edges == {background}
    ink = [(x, y) for y in range(h) for x in range(w)
           if (px[x, y][3] if "--transparent" in extra else px[x, y] != background)]
    top, bottom = min(y for _, y in ink), h - 1 - max(y for _, y in ink)
    assert top >= 6 and abs(top - bottom) <= 3, (top, bottom)
