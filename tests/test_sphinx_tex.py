"""The Sphinx extension's LaTeX builder with the figures as TikZ source (#33): real
`sphinx-build -b latex` and `-b html` runs of a tiny project, the LaTeX compiled."""
import re
import subprocess

import pymupdf
import pytest

from helpers import pdf_pages
from test_sphinx import source_tree, sphinx

pytestmark = pytest.mark.usefixtures("tex_tools")

#: Sphinx's default fonts (tgtermes, tgheros, txtt) are in Debian's tex-gyre and
#: texlive-fonts-extra; Times, Helvetica and Courier are in texlive-fonts-recommended.
CONF = """project = "tiny"
extensions = ["convanim.sphinx"]
convanim_defaults = {"quality-animation": 40}
latex_elements = {"fontpkg": r"\\usepackage{mathptmx}\\usepackage[scaled=.9]{helvet}"
                             r"\\usepackage{courier}"}
"""
INDEX = """
Tiny
====

Words before the figures.

.. convanim:: arithmetic src
   :input-size: 5
   :stride: 2
   :labels:
   :format: tex
   :caption: A stride-2 *convolution*, as TikZ source.

.. convanim:: numerical pdf
   :input-size: 4
   :step: 1

.. convanim:: arithmetic vol
   :input-size: 3x4x4
   :kernel-size: 2
   :format: tex
"""
#: What Sphinx's LaTeX loads besides LaTeX's own (texlive-latex-recommended and -extra).
SPHINX_NEEDS = ("fncychap", "tabulary", "varwidth", "framed", "wrapfig", "capt-of",
                "needspace", "titlesec", "upquote", "parskip", "geometry", "hyperref",
                "fancyhdr", "mathptmx", "helvet", "courier")


@pytest.fixture
def project(tmp_path):
    return source_tree(tmp_path, CONF, INDEX)


def test_latex_inputs_the_source_and_html_shows_the_animation(project, tmp_path):
    """One doctree for both builders (`make html latexpdf`): HTML gets the animations,
    LaTeX \\input's the source beside \\usepackage{convanim}, and the document compiles
    with the figures in its own fonts, within its text width, without a warning."""
    cache, doctrees = tmp_path / "cache", tmp_path / "doctrees"
    html = sphinx(project, "html", tmp_path / "html", "-W", "-d", str(doctrees), cache=cache)
    assert html.returncode == 0, html.stderr
    page = (tmp_path / "html/index.html").read_text()
    assert 'src="_images/src.gif"' in page and 'src="_images/vol.gif"' in page
    assert "\\input" not in page and not list((tmp_path / "html").rglob("*.tex"))
    out = tmp_path / "latex"
    latex = sphinx(project, "latex", out, "-W", "-d", str(doctrees), cache=cache)
    assert latex.returncode == 0, latex.stderr
    assert "updating environment: 0 added, 0 changed, 0 removed" in latex.stdout  # not read
    tex = (out / "tiny.tex").read_text()
    assert tex.count("\\usepackage{convanim}") == 1
    assert tex.index("\\usepackage{convanim}") < tex.index("\\begin{document}")
    assert "\\noindent\\input{convanim/src}" in tex and "\\noindent\\input{convanim/vol}" in tex
    assert re.search(r"\\input\{convanim/src\}\s*\\caption\{A stride\\sphinxhyphen\{\}2", tex)
    assert "\\sphinxincludegraphics{{pdf}.pdf}" in tex and len(pdf_pages(out / "pdf.pdf")) == 1
    assert sorted(p.name for p in (out / "convanim").iterdir()) == ["src.tex", "vol.tex"]
    assert "\\cvbegin{src}{1}" in (out / "convanim/src.tex").read_text()
    assert (out / "convanim.sty").read_text().startswith("% convanim.sty")
    assert not list(out.glob("src*.pdf")) and not list(out.glob("*.gif"))

    missing = [p for p in SPHINX_NEEDS
               if subprocess.run(["kpsewhich", f"{p}.sty"], capture_output=True).returncode]
    assert not missing, f"Sphinx's LaTeX needs {missing} (Debian: texlive-latex-extra)"
    for _ in range(2):  # the second run resolves the table of contents
        done = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                               "tiny.tex"], cwd=out, capture_output=True, text=True,
                              timeout=240)
    log = (out / "tiny.log").read_text(errors="replace")
    assert done.returncode == 0, "\n".join(re.findall(r"^!.*(?:\n.*){0,4}", log, re.M))
    said = " ".join(log.split())
    for bad in ("pdfTeX warning", "convanim Warning", "Overfull \\vbox", "Overfull \\hbox"):
        assert bad not in said, re.findall(f".{{200}}{re.escape(bad)}.{{200}}", said)
    fonts = subprocess.run(["pdffonts", str(out / "tiny.pdf")], capture_output=True,
                           text=True, check=True).stdout
    assert "Type 3" not in fonts and "NimbusRomNo9L-Regu" in fonts  # no bitmap fonts
    doc = pymupdf.open(out / "tiny.pdf")
    (first,) = [p for p in doc if "as TikZ source" in p.get_text()]
    text = " ".join(first.get_text().split())
    assert "Fig. 1: A stride-2 convolution, as TikZ source." in text
    assert "input" in text and "output" in text  # the figure's labels, as text
    labels = [s for b in first.get_text("dict")["blocks"] for line in b.get("lines", [])
              for s in line["spans"] if s["text"].startswith(("input", "output"))]
    assert len(labels) == 2 and all(s["font"] == "NimbusRomNo9L-Regu" for s in labels), labels
    body = [d["rect"] for p in doc for d in p.get_drawings() if d["rect"].height < 600]
    margin_left = min(r.x0 for r in body)
    assert max(r.x1 for r in body) - margin_left <= 6.5 * 72  # within Sphinx's text width


def test_a_tex_animation_format_is_refused_in_one_line(project, tmp_path):
    (project / "conf.py").write_text(CONF + 'convanim_format = "tex"\n')
    proc = sphinx(project, "html", tmp_path / "html", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "WARNING: convanim:" in line]
    assert len(said) == 3 and all(
        "convanim_format must be one of gif, svg, apng, webp, mp4, webm, html, got 'tex' "
        "(the TikZ source in LaTeX: convanim_latex_format = 'tex')" in s for s in said), said
