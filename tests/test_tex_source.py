"""-y tex: the figure as TikZ source that a LaTeX document inputs after convanim.sty,
typeset in the document's fonts and sizes, at the width the author asks (#33)."""
import os
import re
import shutil
import subprocess
from pathlib import Path

import pymupdf
import pytest

from convanim.figure import figure, plan
from helpers import run

#: One figure of every kind, and of every kind that draws a volume, as a two-column
#: paper would take it: name -> (kind, values).
EVERY_KIND = {
    "arithmetic": ("arithmetic", dict(input_size=5, kernel_size=3, labels=True)),
    "numerical": ("numerical", dict(input_size=4, kernel_size=3)),
    "alphabet": ("alphabet", dict(input_size=4, kernel_size=2)),
    "im2col": ("im2col", dict(input_size=4, kernel_size=2, in_channels=2)),
    "channels": ("channels", dict(input_size=4, kernel_size=3, in_channels=2,
                                  out_channels=2)),
    "stack": ("stack", {}),
    "arithmeticvol": ("arithmetic", dict(input_size="4x5x5", kernel_size=3)),
    "numericalvol": ("numerical", dict(input_size="3x4x4", kernel_size="2x3x3", step=5)),
    "im2colvol": ("im2col", dict(input_size="3x3x3", kernel_size=2)),
    "alphabetvol": ("alphabet", dict(input_size="2x3x3", kernel_size=2)),
}
#: A sample of figures of every kind for the geometry check, at their natural size.
SAMPLE = [
    ("arithmetic", dict(input_size=5, kernel_size=3, stride=2, padding=1)),
    ("arithmetic", dict(input_size=(3, 4), kernel_size=2, transposed=True)),
    ("numerical", dict(input_size=4, kernel_size=3, padding=1, step=3)),
    ("alphabet", dict(input_size=3, kernel_size=2)),
    ("im2col", dict(input_size=4, kernel_size=2, stride=2)),
    ("channels", dict(input_size=3, kernel_size=2, in_channels=2, out_channels=1)),
    ("stack", {}),
]
#: A two-column article's \columnwidth at 10 pt (letter paper), in TeX points.
COLUMN_PT = 229.5
BP = 72.27 / 72  # TeX points per PDF point


def make(kind, name, folder, **values):
    k, options = figure(kind, name, out_dir=str(folder), **{"type": "tex", **values})
    return plan(k, options).make(cache=False)


def latex(folder: Path, body: str, preamble: str = "", cls: str = "{article}",
          engine: str = "pdflatex") -> tuple[Path, str]:
    """Typeset doc.tex in ``folder``; fail with the log's errors."""
    (folder / "doc.tex").write_text(f"\\documentclass{cls}\n{preamble}\n\\usepackage{{convanim}}\n"
                                    f"\\pagestyle{{empty}}\n\\begin{{document}}\n{body}\n"
                                    f"\\end{{document}}\n")
    done = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
                          cwd=folder, capture_output=True, text=True, timeout=240,
                          env={**os.environ, "TEXINPUTS": ".:"})
    log = (folder / "doc.log").read_text(errors="replace")
    assert done.returncode == 0, "\n".join(re.findall(r"^!.*(?:\n.*){0,4}", log, re.M))[:2000]
    return folder / "doc.pdf", log


def ink(page) -> pymupdf.Rect:
    """What is drawn on a page: its paths and its words."""
    rects = [d["rect"] for d in page.get_drawings()]
    rects += [pymupdf.Rect(s["bbox"]) for b in page.get_text("dict")["blocks"]
              for line in b.get("lines", []) for s in line["spans"]]
    out = rects[0]
    for r in rects[1:]:
        out |= r
    return out


def sizes(page) -> set[float]:
    return {round(s["size"] * BP, 1) for b in page.get_text("dict")["blocks"]
            for line in b.get("lines", []) for s in line["spans"]}


def fonts(pdf: Path) -> set[str]:
    """pdffonts' names, without the subset prefix."""
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True,
                         check=True).stdout.splitlines()[2:]
    return {line.split()[0].split("+")[-1] for line in out if line.strip()}


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """A two-column article set in Times (mathptmx) that inputs one figure of every kind
    drawn for the column, each alone in a column; and the same article without them."""
    folder = tmp_path_factory.mktemp("paper")
    for name, (kind, values) in EVERY_KIND.items():
        make(kind, name, folder, width="columnwidth", **values)
    body = "".join(f"\\noindent\\input{{{k}}}\\newpage\\mbox{{}}\\newpage\n" for k in EVERY_KIND)
    pdf, log = latex(folder, body, "\\usepackage{mathptmx}", "[twocolumn]{article}")
    plain = folder / "plain"
    plain.mkdir()
    shutil.copy(folder / "convanim.sty", plain)
    text = ("Words in \\textit{italics}, \\textbf{bold}, \\small small and \\footnotesize "
            "footnote size, math $x_{0,1}^{\\top} \\Sigma \\times \\rightarrow \\vdots "
            "\\infty = - 22$ $\\backslash$ \\{\\}")
    ref, _ = latex(plain, text, "\\usepackage{mathptmx}", "[twocolumn]{article}")
    return {"pdf": pdf, "log": log, "reference": ref}


def test_a_times_paper_takes_every_kind_without_a_warning(tex_tools, paper):
    """No warning of ours, of LaTeX's or of pdfTeX's: a colour left on pdfTeX's colour
    stack ("pop empty color page stack") would change the colour of the text after it."""
    said = " ".join(paper["log"].split())
    assert "convanim Warning" not in said and "Overfull" not in said
    assert not re.search(r"pdfTeX warning|color (?:page )?stack|Warning:", said), \
        re.findall(r".{80}(?:pdfTeX warning|color (?:page )?stack|Warning:).{80}", said)


@pytest.mark.parametrize("kind, values, width", [
    ("arithmetic", dict(input_size=4, kernel_size=3), None),
    ("arithmetic", dict(input_size="3x4x4", kernel_size=2), None),
    ("numerical", dict(input_size="2x3x3", kernel_size=2), "columnwidth"),
])
def test_the_documents_colour_goes_on_after_a_figure(tex_tools, tmp_path, kind, values, width):
    """The text after a figure, in the colour the document set before it: a figure that
    popped pdfTeX's colour stack once too often would turn it black (no warning then)."""
    make(kind, "f", tmp_path, width=width, **values)
    pdf, log = latex(tmp_path, "{\\color{blue}Before\\par\\input{f}\\par After\\par}"
                     "\\par Black", "\\usepackage{xcolor}")
    assert "pdfTeX warning" not in log
    spans = {s["text"].strip(): s["color"] for b in pymupdf.open(pdf)[0].get_text("dict")["blocks"]
             for line in b.get("lines", []) for s in line["spans"]}
    assert (spans["Before"], spans["After"], spans["Black"]) == (0x0000FF, 0x0000FF, 0), spans


def test_a_figure_whose_text_is_wider_than_the_column_says_so(tex_tools, tmp_path):
    """A column narrower than im2col's heading and labels (a 4 cm minipage, whose
    \\columnwidth LaTeX sets to 4 cm): the figure says so when LaTeX runs."""
    make("im2col", "wide", tmp_path, input_size=4, kernel_size=2, width="columnwidth")
    _, log = latex(tmp_path, "\\begin{minipage}{4cm}\\input{wide}\\end{minipage}",
                   "\\usepackage{mathptmx}", "[twocolumn]{article}")
    said = "".join(log.split())  # TeX breaks a log line anywhere, within words too
    assert "PackageconvanimWarning:Figure`wide'cannotbe113.81102ptwide:" in said, said[-600:]
    assert "Drawasmallerfigure(-i,-k),orgiveconvanimasmallerfontsize=option" in said


@pytest.mark.parametrize("values", [
    {"input_size": (4, 5, 5), "kernel_size": 3, "stride": 2, "padding": 1},
    {"input_size": 9, "kernel_size": 3, "padding": 2, "dilation": 2},
])
def test_a_figure_without_text_shrinks_to_the_column(tex_tools, tmp_path, values):
    """arithmetic without --labels sets no word: no text bounds its unit from below, so
    it fits a Times column without a warning (it stood 264 pt wide in 229.5 pt)."""
    make("arithmetic", "cells", tmp_path, width="columnwidth", **values)
    pdf, log = latex(tmp_path, "\\noindent\\input{cells}", "\\usepackage{mathptmx}",
                     "[twocolumn]{article}")
    assert "Package convanim Warning" not in log
    page = pymupdf.open(pdf)[0]
    assert not page.get_text().strip()
    assert ink(page).width * BP <= COLUMN_PT + 0.5


def test_the_figures_use_only_the_papers_fonts(tex_tools, paper):
    used = fonts(paper["pdf"])
    assert used <= fonts(paper["reference"]), used - fonts(paper["reference"])
    assert any(name.startswith("NimbusRomNo9L") for name in used)


def test_each_figure_fills_at_most_the_column(tex_tools, paper):
    doc = pymupdf.open(paper["pdf"])
    pages = [p for p in doc if p.get_drawings()]
    assert len(pages) == len(EVERY_KIND)
    for kind, page in zip(EVERY_KIND, pages):
        width = ink(page).width * BP
        # alphabet's volume is laid out 8 cells wide at 8.25 cm and draws 6.7 of them:
        # its picture is the column's width, its ink 0.82 of it
        floor = 0.8 if kind == "alphabetvol" else 0.85
        assert floor * COLUMN_PT <= width <= COLUMN_PT + 0.5, (kind, width)


def test_the_labels_are_at_the_papers_sizes(tex_tools, paper):
    """article's 10 pt sizes (\\small 9, \\footnotesize 8, \\scriptsize 7, subscripts 6
    and 5), never the sizes a figure scaled to the column would have."""
    doc = pymupdf.open(paper["pdf"])
    seen = set()
    for page in doc:
        seen |= sizes(page)
    assert seen <= {5.0, 6.0, 7.0, 8.0, 9.0, 10.0}, seen
    assert 9.0 in seen  # the headings and labels, at \small


def shapes(page) -> list[tuple[float, ...]]:
    """Every rectangle, quadrilateral, line and curve the page's paths draw (cells,
    planes, windows, grid lines, links), as coordinates in TeX points, sorted; not the
    page's background."""
    out = []
    for d in page.get_drawings():
        for item in d["items"]:
            if item[0] == "re":
                r = item[1]
                if r.width < page.rect.width - 1:
                    out.append((r.x0, r.y0, r.x1, r.y1))
            elif item[0] == "qu":
                q = item[1]
                out.append(tuple(v for p in (q.ul, q.ur, q.ll, q.lr) for v in (p.x, p.y)))
            else:
                out.append(tuple(v for p in item[1:] for v in (p.x, p.y)))
    return sorted(tuple(round(v * BP, 1) for v in s) for s in out)


def normalised(shapes_, scale: bool) -> list[tuple[float, ...]]:
    xs = [v for s in shapes_ for v in s[0::2]]
    ys = [v for s in shapes_ for v in s[1::2]]
    x0, y0 = min(xs), min(ys)
    k = 1000 / (max(xs) - x0) if scale else 1
    return sorted(tuple(round((v - (x0 if i % 2 == 0 else y0)) * k, 0 if scale else 1)
                        for i, v in enumerate(s)) for s in shapes_)


def close(a, b, tol) -> bool:
    """As many shapes, each of ``a`` within ``tol`` of one of ``b`` and the other way."""
    import numpy as np

    if len(a) != len(b):
        return False
    for n in {len(s) for s in a + b}:
        x = np.array([s for s in a if len(s) == n]).reshape(-1, n)
        y = np.array([s for s in b if len(s) == n]).reshape(-1, n)
        if len(x) != len(y):
            return False
        if len(x):
            far = np.abs(x[:, None, :] - y[None, :, :]).max(axis=2)
            if far.min(axis=1).max() > tol or far.min(axis=0).max() > tol:
                return False
    return True


@pytest.mark.parametrize("width", [None, 12.0])
def test_the_source_draws_the_cells_of_our_pdf(tex_tools, tmp_path, width):
    """The same cell rectangles, from PyMuPDF's paths: at the natural size, where they;
    and at --width 12, scaled (there text keeps its size in the source)."""
    sample = SAMPLE if width is None else [s for s in SAMPLE if s[0] in ("arithmetic",
                                                                         "alphabet", "im2col")]
    body = []
    pdfs = []
    for n, (kind, values) in enumerate(sample):
        name = f"f{n}"
        make(kind, name, tmp_path, width=width, **values)
        k, options = figure(kind, name, type="pdf", out_dir=str(tmp_path / "pdf"),
                            width=width, **values)
        pdfs.append(plan(k, options).make(cache=False)[0])
        body.append(f"\\noindent\\input{{{name}}}\\newpage")
    doc, _ = latex(tmp_path, "\n".join(body), "\\usepackage[a3paper]{geometry}")
    pages = list(pymupdf.open(doc))
    assert len(pages) == len(sample)
    for (kind, values), page, pdf in zip(sample, pages, pdfs):
        ours = shapes(pymupdf.open(pdf)[0])
        source = shapes(page)
        assert len(ours) > 3, kind
        a, b = normalised(ours, width is not None), normalised(source, width is not None)
        assert close(a, b, 1.0 if width else 0.15), (kind, values, len(a), len(b))


def test_beamer_has_an_overlay_per_step_and_animate_plays_every_step(tex_tools, tmp_path):
    make("arithmetic", "steps", tmp_path, input_size=4, kernel_size=3, stride=1,
         animation=True)
    make("numerical", "one", tmp_path, input_size=3, kernel_size=2)
    text = (tmp_path / "steps.tex").read_text()
    assert text.count("\\begin{cvframe}") == 4
    pdf, log = latex(tmp_path, "\\begin{frame}{Steps}\\input{steps}\\end{frame}\n"
                     "\\begin{frame}{One step}\\input{one}\\end{frame}", cls="{beamer}")
    assert len(pymupdf.open(pdf)) == 4 + 1 and "convanim Warning" not in log
    pdf, log = latex(tmp_path, "\\cvanimate[controls]{steps}\n\n\\cvstep{2}\\input{steps}\n\n"
                     "\\cvstep{9}\\input{steps}", "\\usepackage{animate}")
    said = " ".join(log.split())
    assert "Package convanim Warning: \\cvstep{9}: figure `steps' has steps 0 to 3; drawing " \
           "step 0" in said and said.count("convanim Warning") == 1


@pytest.mark.skipif(not shutil.which("lualatex"), reason="lualatex is not installed")
def test_the_source_compiles_with_lualatex(tex_tools, tmp_path):
    make("alphabet", "a", tmp_path, input_size=3, kernel_size=2, width="columnwidth")
    make("channels", "c", tmp_path, input_size=3, kernel_size=2, in_channels=2, width=8.0)
    pdf, log = latex(tmp_path, "\\input{a}\n\n\\input{c}", engine="lualatex")
    assert "convanim Warning" not in log and len(pymupdf.open(pdf)) >= 1


def test_a_hostile_caption_stays_text(tex_tools, tmp_path):
    caption = r"\input{/etc/passwd} \write18{touch pwned} } ^^5c \def\x{ #1 %"
    make("arithmetic", "h", tmp_path, input_size=3, kernel_size=2, caption=caption)
    pdf, log = latex(tmp_path, "\\input{h}")
    assert "/etc/passwd" not in re.sub(r"\s", "", log.split("(./h.tex")[1]).split(")")[0]
    assert not (tmp_path / "pwned").exists()
    words = " ".join(pymupdf.open(pdf)[0].get_text().split())
    assert caption in words  # ^ the caret (typewriter's in an OT1 document), not an accent


@pytest.mark.parametrize("preamble", ["", "\\usepackage{mathptmx}",
                                      "\\usepackage[T1]{fontenc}\\usepackage{mathptmx}"])
def test_a_captions_caret_and_tilde_print_as_themselves(tex_tools, tmp_path, preamble):
    """^ and ~ are the characters in our PDF and in the source, whatever the document's
    font encoding (\\^{} and \\~{} would be accents: ˆ and ˜), and only in the figure:
    the document's own \\textasciicircum is left as it was."""
    caption = "a^b ~c"
    make("arithmetic", "c", tmp_path, input_size=3, kernel_size=2, caption=caption)
    k, options = figure("arithmetic", "c", type="pdf", out_dir=str(tmp_path / "pdf"),
                        input_size=3, kernel_size=2, caption=caption)
    ours = plan(k, options).make(cache=False)[0]
    assert caption in " ".join(pymupdf.open(ours)[0].get_text().split())
    pdf, log = latex(tmp_path, "\\input{c}\\par x\\textasciicircum y", preamble)
    words = " ".join(pymupdf.open(pdf)[0].get_text().split())
    assert caption in words and "pdfTeX warning" not in log
    assert ("x^y" if "T1" in preamble else "x\u02c6y") in words, words


def test_the_package_is_written_once_beside_the_figure_or_where_asked(capsys, workdir):
    status, out, err = run(capsys, "numerical", "n", "-i", "3", "-k", "2", "-y", "tex",
                           "--json")
    assert status == 0 and not err
    assert out == [Path("out/n.tex"), Path("out/n.json"), Path("out/convanim.sty")]
    sty = Path("out/convanim.sty")
    os.utime(sty, (1, 1))
    assert run(capsys, "alphabet", "a", "-i", "3", "-k", "2", "-y", "tex")[0] == 0
    assert sty.stat().st_mtime == 1  # identical: not rewritten
    assert run(capsys, "alphabet", "b", "-i", "3", "-k", "2", "-y", "tex",
               "--tex-package", "tex")[0] == 0
    assert Path("tex/convanim.sty").read_bytes() == sty.read_bytes()
    text = Path("out/n.tex").read_text()
    assert "\\cvbegin{n}{1}" in text and "\\cvshow" in text and "\\documentclass" not in text
    assert "\\DeclareMathSizes{" not in sty.read_text()  # only its local no-op


@pytest.mark.parametrize("argv, says", [
    (["-y", "png", "--width", "columnwidth"], "--width columnwidth is read when LaTeX runs"),
    (["--tex-package", "x"], "--tex-package is where -y tex writes convanim.sty"),
    (["-y", "tex", "--width", "textwidth", "--column", "narrow"], "give one of them"),
])
def test_tex_only_options_are_refused_elsewhere(capsys, workdir, argv, says):
    status, out, err = run(capsys, "arithmetic", "x", *argv)
    assert status == 2 and not out and len(err) == 1 and says in err[0]
    assert not Path("out").exists()


def test_the_readme_recipes_compile_from_the_source(tex_tools, tmp_path):
    from test_recipes import compile_deck, figure_for, recipe

    paper = recipe("tex-paper")
    figure_for(paper, tmp_path)
    assert (tmp_path / "convanim.sty").is_file() and (tmp_path / "out/conv.tex").is_file()
    assert len(pymupdf.open(compile_deck(paper, tmp_path))) == 1
    assert "convanim Warning" not in (tmp_path / "deck.log").read_text()
    slides = recipe("tex-beamer")
    figure_for(slides, tmp_path)
    assert len(pymupdf.open(compile_deck(slides, tmp_path, runs=2))) == 4 + 1

