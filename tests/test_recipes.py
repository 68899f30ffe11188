"""The README's recipes for lecturers (issue 19), compiled as written: beamer overlays of
the -a PDF's pages, and the animate package playing it."""
from __future__ import annotations

import re
import subprocess
import sys
import zlib

import pytest

from helpers import PROJECT, pdf_pages

pytestmark = pytest.mark.usefixtures("tex_tools")


def recipe(name: str) -> str:
    readme = (PROJECT / "README.md").read_text()
    return re.search(rf"<!-- recipe: {name} -->\n```latex\n(.*?)```", readme, re.S).group(1)


def figure_for(source: str, folder) -> None:
    """Run the convanim command the recipe's first line names (at a low raster DPI)."""
    command = re.match(r"% python -m convanim (.*?)  ", source).group(1).split()
    subprocess.run([sys.executable, "-m", "convanim", *command, "-qa", "20", "--quiet"],
                   cwd=folder, check=True, capture_output=True)


def compile_deck(source: str, folder, runs: int = 1):
    (folder / "deck.tex").write_text(source)
    for _ in range(runs):
        r = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error",
                            "-no-shell-escape", "deck.tex"], cwd=folder, capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:]
    return folder / "deck.pdf"


def test_beamer_overlays_show_one_step_each(tmp_path):
    source = recipe("beamer")
    figure_for(source, tmp_path)
    steps = len(pdf_pages(tmp_path / "out/conv.pdf"))
    assert steps == 4 and "{1,...,4}" in source
    slides = pdf_pages(compile_deck(source, tmp_path))
    assert len(slides) == steps  # one overlay, one page, per step
    text = subprocess.run(["pdftotext", str(tmp_path / "deck.pdf"), "-"],
                          capture_output=True, text=True).stdout
    assert text.count("A stride-2 convolution") == steps


def test_the_animate_recipe_plays_every_page(tmp_path):
    source = recipe("animate")
    figure_for(source, tmp_path)
    assert r"\animategraphics[controls,loop,height=.75\textheight]{1}{out/conv}{}{}" in source
    assert len(pdf_pages(tmp_path / "out/conv.pdf")) == 4
    readme = (PROJECT / "README.md").read_text()
    assert "texlive-latex-extra" in readme  # where animate.sty comes from
    found = subprocess.run(["kpsewhich", "animate.sty"], capture_output=True, text=True)
    assert found.stdout.strip(), "animate.sty missing: run `make setup` (texlive-latex-extra)"
    assert "two pdflatex runs" in readme
    deck = compile_deck(source, tmp_path, runs=2)  # the first adds a temporary page
    assert len(pdf_pages(deck)) == 1
    assert b"/S/JavaScript" in pdf_objects(deck)  # the player animate builds


def pdf_objects(pdf) -> bytes:
    """The PDF's bytes with every Flate stream inflated: pdfTeX puts the dictionaries of
    PDF 1.5 into compressed object streams."""
    raw = pdf.read_bytes()
    parts = [raw]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:  # not Flate (an image's own coding)
            pass
    return b"".join(parts)
