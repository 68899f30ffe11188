"""Filled cells (the ``fills`` filter, ``\\cvrect``) and grid lines (``\\cvline``): one
path per style, each rectangle or segment through pgf's basic layer instead of TikZ's
parser. The page must be what TikZ's own ``(x,y) rectangle +(w,h)`` and ``(a) -- (b)``
paths drew, size and pixels, in every kind of scope."""
from __future__ import annotations

import hashlib
import random
import re
import subprocess
from pathlib import Path

import pytest

from convanim import tex
from convanim.cli import plan_command

from helpers import fill_paths


def test_one_path_per_style_in_order_of_first_use():
    cells = [("data", 0, 0, 1, 1), ("padding", 1, 0, 1, 1), ("data", 2, 0, 1, 1)]
    assert fill_paths(tex.fills(cells)) == [
        ("data", [(0, 0, 1, 1), (2, 0, 1, 1)]), ("padding", [(1, 0, 1, 1)])]
    assert tex.fills([]) == ""


@pytest.mark.parametrize("value, written", [
    (3, "3"), (-2, "-2"), (0.30000000000000004, "0.3"), (1e-05, "0.00001"),
    (-0.0, "0"), (-4e-17, "0"), (2.5, "2.5"), (-0.85, "-0.85"),
])
def test_numbers_are_written_as_tex_reads_a_factor(value, written):
    """TeX reads no exponent (Python writes 1e-05), and a ``-0`` is a zero."""
    assert f"\\cvrect{{{written}}}{{0}}{{1}}{{1}}" in tex.fills([("data", value, 0, 1, 1)])


@pytest.mark.parametrize("bad", ["1", None, True, float("nan")])
def test_a_coordinate_that_is_not_a_number_is_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        tex.fills([("data", bad, 0, 1, 1)])


def test_a_style_is_escaped_like_any_value():
    assert "\\path[fill=cv\\#1]" in tex.fills([("fill=cv#1", 0, 0, 1, 1)])


def _cells(seed: int) -> list[tuple]:
    """Cells as templates compute them: float arithmetic on cell sizes, some negative
    heights (a column hanging down), neighbours of one colour and of two."""
    rng = random.Random(seed)
    cells = []
    for r in range(6):
        for c in range(7):
            cs = rng.choice([1, 0.85, 0.42, 0.22, 1 / 3])
            style = rng.choice(["fill=cvdata", "fill=cvpadding", "fill=cvoutput"])
            cells.append((style, c * cs + 0.1 * 3, 0 - (r + 1) * cs, cs, cs))
    cells.append(("fill=cvcurrent", 0.7, 0.4, 0.22, 0 - 6 * 0.42))
    cells.append(("fill=cvcurrent", 1e-05, 2.0, 0.3, 0.3))
    return cells


def _lines(seed: int) -> dict[str, list[list[int]]]:
    """Grid lines as scenes.grid_lines gives them: runs of edges in cell units."""
    rng = random.Random(seed)
    return {kind: [[x, y, x + rng.randint(1, 4), y] if rng.random() < 0.5 else [x, y, x, y + 3]
                   for x, y in ((rng.randint(0, 5), rng.randint(0, 5)) for _ in range(6))]
            for kind in ("dotted", "dashed", "solid")}


TOP, SIGN = 0.6, -1


def _tikz(seed: int) -> str:
    """The cells and lines in TikZ's own syntax: one path per style, in order of first use."""
    cells, lines = _cells(seed), _lines(seed)
    order = list(dict.fromkeys(style for style, *_ in cells))
    return ("".join(f"  \\path[{style}]"
                    + "".join(f" ({x},{y}) rectangle +({w},{h})"
                              for s, x, y, w, h in cells if s == style) + ";\n"
                    for style in order)
            + "".join(f"  \\path[cv{kind}]"
                      + "".join(f" ({x0},{TOP + SIGN * y0}) -- ({x1},{TOP + SIGN * y1})"
                                for x0, y0, x1, y1 in lines[kind]) + ";\n"
                      for kind in ("dotted", "dashed", "solid")))


GRID = tex.environment().from_string(
    '\\BLOCK{import "macros.tex.j2" as draw}\\VAR{draw.grid(lines, top, sign) | safe}')


def _ours(seed: int) -> str:
    """The same, as the templates write them: the fills filter and the grid macro."""
    return str(tex.fills(_cells(seed))) + GRID.render(lines=_lines(seed), top=TOP, sign=SIGN)


#: Every kind of scope a template uses, and rotated and scaled ones. (Skewed unit
#: vectors, which no template uses, round a corner 5 sp differently.)
SCOPES = ["", "[x=0.85cm, y=0.42cm]", "[shift={(1.3,-0.7)}]", "[rotate=30]", "[scale=1.7]"]


def _document(draw) -> str:
    """A figure's own set-up (cut before its first page), one page per scope; in each,
    what ``draw`` draws in the picture and again inside a PDF form."""
    head = plan_command("arithmetic -i 3 -k 2 -y pdf".split()).tex()
    head = head[:head.index("\\begin{document}")]
    pages = []
    for n, scope in enumerate(SCOPES):
        body = draw(n)
        pages.append(
            f"\\sbox\\cvbox{{\\begin{{tikzpicture}}\\begin{{scope}}{scope}\n{body}"
            f"\\end{{scope}}\\end{{tikzpicture}}}}\\pdfxform\\cvbox\\edef\\cvA{{\\the\\pdflastxform}}\n"
            f"\\begin{{cvframe}}\\begin{{tikzpicture}}\\begin{{scope}}{scope}\n{body}"
            f"\\end{{scope}}\n  \\cvform{{-3}}{{-9}}{{\\cvA}}\n\\end{{tikzpicture}}\\end{{cvframe}}\n")
    return head + "\\begin{document}\n" + "".join(pages) + "\\end{document}\n"


def _typeset(source: str, folder: Path) -> tuple[list[str], list[str]]:
    """Page sizes from the log, and each page's pixels (a digest) at 150 DPI."""
    folder.mkdir()
    (folder / "f.tex").write_text(source, encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "f.tex"],
                   cwd=folder, check=True, capture_output=True)
    sizes = re.findall(r"convanim-page \d+ (\S+ \S+)", (folder / "f.log").read_text())
    subprocess.run(["pdftoppm", "-r", "150", str(folder / "f.pdf"), str(folder / "p")],
                   check=True)
    return sizes, [hashlib.sha1(p.read_bytes()).hexdigest()
                   for p in sorted(folder.glob("p-*.ppm"))]


@pytest.mark.usefixtures("tex_tools")
def test_cvrect_and_cvline_draw_what_tikz_drew_in_every_scope(tmp_path):
    """Translated, rescaled, rotated and scaled scopes, in the picture and in a
    form, dotted and dashed lines too: the same page sizes and the same pixels as
    TikZ's paths of the same cells and lines."""
    assert "\\cvline" in _ours(0) and "--" not in _ours(0)
    want = _typeset(_document(_tikz), tmp_path / "tikz")
    got = _typeset(_document(_ours), tmp_path / "ours")
    assert len(want[0]) == len(SCOPES) and len(set(want[0])) > 1
    assert got == want
