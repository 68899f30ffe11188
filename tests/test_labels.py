"""Labels (\\cvlabel) are typeset once per document and placed by TeX's kerns where the
picture is only translated; they must land exactly where pgf's \\pgftext puts them, page
size and pixels, and take \\pgftext itself wherever the fast way does not apply."""
from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from convanim.cli import plan_command

pytestmark = pytest.mark.usefixtures("tex_tools")

#: The label as it was: every one through \pgftext (and the count, never advanced),
#: keeping the current path's size record as our labels do (see test_a_label_...).
PGFTEXT = ("\\makeatletter\\newcommand\\cvlabel[4][]{\\pgf@getpathsizes\\cv@sizes"
           "\\pgftext[#1,at=\\pgfpointxy{#2}{#3}]{#4}\\pgf@setpathsizes\\cv@sizes}\n"
           "\\newcount\\cv@labels\\makeatother\n")
FAST = re.compile(r"\\makeatletter\n\\newcount\\cv@labels\n.*?\\makeatother\n", re.S)
COUNT = "\\makeatletter\\typeout{cv-labels \\the\\cv@labels}\\makeatother\n\\end{document}"


def with_pgftext(tex: str) -> str:
    assert len(FAST.findall(tex)) == 1
    return FAST.sub(lambda m: PGFTEXT, tex)


def typeset(tex: str, folder: Path) -> tuple[list[str], list[str], int]:
    """Page sizes, each page's pixels (a digest) at 60 DPI, and the labels kept as boxes."""
    folder.mkdir()
    (folder / "f.tex").write_text(tex.replace("\\end{document}", COUNT), encoding="utf-8")
    subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "f.tex"],
                   cwd=folder, check=True, capture_output=True)
    log = (folder / "f.log").read_text(errors="replace")
    sizes = re.findall(r"convanim-page \d+ (\S+ \S+)", log)
    kept = re.findall(r"cv-labels (\d+)", log)
    subprocess.run(["pdftoppm", "-r", "60", str(folder / "f.pdf"), str(folder / "p")],
                   check=True)
    pixels = [hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.glob("p-*.ppm"))]
    return sizes, pixels, int(kept[0]) if kept else 0


@pytest.mark.parametrize("argv", [
    "alphabet -i 4 -k 3 -p 1 -t -a",
    "alphabet -i 4 -k 3 --in-channels 2 --out-channels 4 --groups 2 -a",
    "numerical -i 4 -k 3 -p 1 --padding-mode reflect -a",
    "numerical -i 4 -k 2 -s 2 --mode max -a",
    "im2col -i 4 -k 3 --phase gradient -a",
    "im2col -i 5 -k 3 -s 2 -p 1 --in-channels 4 --out-channels 4 --groups 2 -a",
    "channels -i 4 -k 3 --in-channels 2 --out-channels 2 -a --theme dark",
    # the arithmetic view places its PDF forms as labels (\cvform)
    "arithmetic -i 5 -k 3 -p 1 --padding-mode reflect -a",
    # its equation's \parbox holds paragraphs (long arguments); scaled to the width
    "channels -i 5 -k 3 -s 2 -p 1 -t --in-channels 3 --out-channels 2 --width 8.25 -a",
])
@pytest.mark.slow
def test_labels_land_where_pgftext_puts_them(tmp_path, argv):
    tex = plan_command(argv.split()).tex()
    fast_sizes, fast_pixels, kept = typeset(tex, tmp_path / "fast")
    sizes, pixels, _ = typeset(with_pgftext(tex), tmp_path / "pgftext")
    assert kept > 0  # the fast way was taken
    assert fast_sizes == sizes and len(sizes) > 1
    assert fast_pixels == pixels


ROTATED = r"""
\begin{document}
\begin{cvframe}\begin{tikzpicture}
  \path (-2,-2) rectangle (2,2);
  \cvlabel{0}{0}{\small centre}
  \cvlabel[right,bottom]{1}{1}{$a_{1}$}
  \begin{scope}[rotate=30]\cvlabel{1}{0}{\small turned}\end{scope}
  \begin{scope}[scale=2]\cvlabel[top]{0}{-0.5}{\small big}\end{scope}
  \cvlabel[rotate=90]{-1}{1}{\small other option}
  \cvlabel{0}{-1.5}{\small centre}
\end{tikzpicture}\end{cvframe}
\end{document}
"""


def document(body: str, fill: int = 0) -> str:
    """A figure's own set-up (one of ours, cut before its first page) with ``body``;
    ``fill`` labels counted as kept already."""
    head = plan_command("alphabet -i 3 -k 2 -y pdf".split()).tex()
    head = head[:head.index("\\begin{document}")]
    return head + f"\\makeatletter\\cv@labels={fill}\\makeatother\n" + body


@pytest.mark.parametrize("fill, kept", [(0, 2), (19999, 1)])
def test_other_transforms_options_and_too_many_labels_go_to_pgftext(tmp_path, fill, kept):
    """A rotated or scaled scope and an option of pgf's own take \\pgftext; past 20000
    kept labels so does every new one; the page is the same as with \\pgftext alone."""
    tex = document(ROTATED, fill)
    fast_sizes, fast_pixels, count = typeset(tex, tmp_path / "fast")
    sizes, pixels, _ = typeset(with_pgftext(tex), tmp_path / "pgftext")
    assert count - fill == kept  # "centre" once (used twice), "a_1" while there is room
    assert fast_sizes == sizes and fast_pixels == pixels


#: A form at the picture's left edge, then a thick stroke inside the picture, on each of
#: two pages; the macro \cvA holds a second form on the second.
FORM = r"\sbox\cvbox{\tikz\path[fill=cv%s] (0,0) rectangle %s;}\pdfxform\cvbox\edef\cvA{\the\pdflastxform}"
PAGE = r"""\begin{cvframe}\begin{tikzpicture}
  \path (0,-1) rectangle (3,0);
  %s
  \path[draw, line width=1.6pt] (0,-1) rectangle (1,0);
\end{tikzpicture}\end{cvframe}"""


def form_pages(place: str, pages: int = 2) -> str:
    forms = [FORM % ("data", "(2,1)"), FORM % ("output", "(1,2)")]
    return document("\\begin{document}\n" + "\n".join(forms[n] + "\n" + PAGE % place
                                                       for n in range(pages))
                    + "\n\\end{document}\n")


@pytest.mark.parametrize("label", [r"\cvform[left,top]{-0.1}{0.1}{\cvA}",
                                   r"\cvlabel[left,top]{-0.1}{0.1}{\pdfrefxform\cvA}"])
def test_a_label_leaves_the_next_paths_bounding_box_alone(tmp_path, label):
    """pgf's \\pgftext widens the next stroked path's bounding box by half its line
    width where the text reaches past the path: 0.8 pt beside the forms the templates
    placed as nodes before. A label (the fast way and \\pgftext's) draws the page the
    node drew, pixel for pixel."""
    node = r"\node[inner sep=0, outer sep=0, anchor=north west] at (-0.1,0.1) {\pdfrefxform\cvA};"
    want = typeset(form_pages(node, 1), tmp_path / "node")
    fast = typeset(form_pages(label, 1), tmp_path / "fast")
    slow = typeset(with_pgftext(form_pages(label, 1)), tmp_path / "pgftext")
    assert fast[:2] == want[:2] == slow[:2]
    assert want[0] == ["96.20367pt 40.09819pt"]  # 3.1 cm wide (+ 8 pt): to the form's edge


def test_a_form_macro_reused_for_another_form_shows_that_form(tmp_path):
    """\\cvform keys its label on the form's number: a macro set again draws the new form."""
    sizes, pixels, kept = typeset(form_pages(r"\cvform[left,top]{-0.1}{0.1}{\cvA}"),
                                  tmp_path / "fast")
    assert kept == 2 and sizes[0] != sizes[1] and pixels[0] != pixels[1]
