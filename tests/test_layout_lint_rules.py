"""The layout lint (tests/layout_lint.py) on tiny hand-made TikZ pages: each rule fires on
the fault it names and stays quiet on the look it allows, so the matrix over real
figures (test_layout_lint.py) can be trusted."""
from __future__ import annotations

import subprocess

import pytest

from layout_lint import lint

DOC = r"""\documentclass[border=4pt]{standalone}
\usepackage{tikz}
\begin{document}
%s
\end{document}
"""


def page(tmp_path, body: str, name: str = "doc"):
    """A one-page PDF of ``body`` (TikZ code or a whole document's body)."""
    tex = tmp_path / f"{name}.tex"
    tex.write_text(DOC % body)
    r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", tex.name],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-2000:]
    return tmp_path / f"{name}.pdf"


def strokes_through(problems):
    return [p for p in problems if p.startswith("stroke through")]


@pytest.mark.usefixtures("tex_tools")
def test_a_line_through_a_word_is_flagged(tmp_path):
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \node at (0,0) {label}; \draw (-1,0.05) -- (1,0.05);
    \end{tikzpicture}""")
    problems = lint(pdf)
    assert len(problems) == 1 and problems[0].startswith("stroke through 'label' at ("), problems


@pytest.mark.usefixtures("tex_tools")
def test_a_diagonal_line_and_a_curve_are_flagged(tmp_path):
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \node at (0,0) {a13}; \draw (-0.5,-0.5) -- (0.5,0.5);
      \node at (3,0) {x2}; \draw (2.5,-0.5) .. controls (2.8,0.3) and (3.2,-0.3) .. (3.5,0.5);
    \end{tikzpicture}""")
    hits = strokes_through(lint(pdf))
    assert len(hits) == 2, hits
    assert any("'a13'" in h for h in hits) and any("'x2'" in h for h in hits)


@pytest.mark.usefixtures("tex_tools")
def test_a_box_touching_a_word_is_fine(tmp_path):
    """A tight frame (inner sep 0: its edges on the text's own box), a cell whose border
    runs along the baseline, and a line passing just clear of a word: no faults."""
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \node[draw, inner sep=0pt] at (0,0) {tight};
      \node[draw, inner sep=0.5pt] at (2,0) {a13};
      \node[anchor=base] at (4,0) {0}; \draw (3.5,0) -- (4.5,0);
      \draw (0,-0.3) -- (4,-0.3);
      \draw (5,0) rectangle (6,1); \node at (5.5,0.5) {$w_{0,1}$};
    \end{tikzpicture}""")
    assert lint(pdf) == []


@pytest.mark.usefixtures("tex_tools")
def test_a_rectangle_edge_through_a_word_is_flagged(tmp_path):
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \node at (0,0) {cell}; \draw (0,-0.5) rectangle (1,0.5);
    \end{tikzpicture}""")
    assert len(strokes_through(lint(pdf))) == 1


@pytest.mark.usefixtures("tex_tools")
def test_strokes_inside_a_form_are_read(tmp_path):
    """Our figures draw grids and labels inside PDF forms (Form XObjects): a stroke
    through a word in a form counts, and one the form's BBox clips away does not."""
    pdf = page(tmp_path, r"""\setbox0=\hbox{\begin{tikzpicture}
        \node at (0,0) {formtext}; \draw (-1,0.05) -- (1,0.05);
      \end{tikzpicture}}%
      \immediate\pdfxform0 \pdfrefxform\pdflastxform
      \quad
      \begin{tikzpicture}
        \node at (0,0) {clipped};
        \begin{scope} \clip (-1,0.5) rectangle (1,1); \draw (-1,0.05) -- (1,0.05); \end{scope}
      \end{tikzpicture}""")
    problems = lint(pdf)
    assert problems == [p for p in problems if "'formtext'" in p], problems
    assert len(problems) == 1


@pytest.mark.usefixtures("tex_tools")
def test_a_filled_shape_under_a_word_is_fine(tmp_path):
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \fill[blue!20] (-1,-0.5) rectangle (1,0.5); \node at (0,0) {value};
      \draw[draw=none] (-1,0) -- (1,0);
    \end{tikzpicture}""")
    assert lint(pdf) == []


@pytest.mark.usefixtures("tex_tools")
def test_overlapping_words_are_flagged(tmp_path):
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \node at (0,0) {w0,1}; \node at (0.15,0.05) {overlap};
      \node at (3,0) {near}; \node at (3.9,0) {by};
    \end{tikzpicture}""")
    problems = lint(pdf)
    assert len(problems) == 1, problems
    assert problems[0].startswith("words 'w0,1' and 'overlap' overlap") \
        or problems[0].startswith("words 'overlap' and 'w0,1' overlap")


@pytest.mark.usefixtures("tex_tools")
def test_scripts_on_their_base_are_fine(tmp_path):
    """Subscripts, superscripts, both stacked, and limits on a sum: one word or a
    script on its base, never an overlap."""
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \node at (0,0) {$a_{13}$}; \node at (1,0) {$x_{ij}^{2}$};
      \node at (2,0) {$w^{(1)}_{0,1}$}; \node at (3.5,0) {$\displaystyle\sum_{k=0}^{8}$};
      \node at (5,0) {$\vdots$}; \node at (5,0.6) {$b_1$};
    \end{tikzpicture}""")
    assert lint(pdf) == []


@pytest.mark.usefixtures("tex_tools")
def test_text_outside_the_page_is_flagged(tmp_path):
    """A node that overlays the bounding box (so the page is not grown for it) sticks
    out of the page."""
    pdf = page(tmp_path, r"""\begin{tikzpicture}
      \draw (0,0) rectangle (1.5,1);
      \node[overlay, anchor=west] at (1.6,0.5) {outside};
    \end{tikzpicture}""")
    problems = lint(pdf)
    assert any(p.startswith("text outside the page: 'outside'") for p in problems), problems


@pytest.mark.usefixtures("tex_tools")
def test_a_tall_page_is_flagged_and_a_fitting_one_is_not(tmp_path):
    tall = page(tmp_path, r"\tikz \draw (0,0) rectangle (10,23);", "tall")
    fits = page(tmp_path, r"\tikz \draw (0,0) rectangle (16,21);", "fits")
    wide = page(tmp_path, r"\tikz \draw (0,0) rectangle (20,30);", "wide")
    narrow = page(tmp_path, r"\tikz \draw (0,0) rectangle (8,12);", "narrow")
    problems = lint(tall)
    assert len(problems) == 1 and "taller than 22 cm at 16 cm wide" in problems[0], problems
    assert lint(fits) == []
    placed = float(lint(wide)[0].rsplit("(", 1)[1].split()[0])
    assert 23.5 < placed < 24.5                # 20 x 30 cm shrunk to 16 cm wide: 24 cm tall
    assert lint(narrow) == []                 # placed as it is, never enlarged
    assert lint(narrow, width_cm=8.25) == []  # and it fits a two-column paper's column
    too_long = page(tmp_path, r"\tikz \draw (0,0) rectangle (8,23);", "long")
    assert "taller than 22 cm at 8.25 cm wide" in lint(too_long, width_cm=8.25)[0]
