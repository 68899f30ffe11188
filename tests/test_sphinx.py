"""The Sphinx extension, through real `sphinx-build` runs of a tiny project."""
import os
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from helpers import PROJECT, pdf_pages

pytestmark = pytest.mark.usefixtures("tex_tools")

CONF = 'project = "tiny"\nextensions = ["convanim.sphinx"]\n' \
       'convanim_defaults = {"quality-animation": 40}\n'
INDEX = """
Tiny
====

.. convanim:: arithmetic stride2
   :input-size: 5
   :stride: 2
   :caption: A stride-2 *convolution*.
   :alt: stride two
   :width: 300px

.. convanim:: numerical
   :input-size: 4
   :mode: max
   :step: 1

.. convanim:: arithmetic odd
   :input-size: 6
   :stride: 2
   :padding: 1
   :transposed:
"""


def sphinx(src, builder, out, *extra, cache):
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "sphinx", "-b", builder, *extra, str(src),
                           str(out)], capture_output=True, text=True, env=env)


@pytest.fixture
def project(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.rst").write_text(textwrap.dedent(INDEX))
    return src


def test_html_build_shows_the_animations(project, tmp_path):
    out = tmp_path / "_build" / "html"
    proc = sphinx(project, "html", out, "-W", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text()
    assert '<img alt="stride two" src="_images/stride2.gif" style="width: 300px;" />' in page
    assert "A stride-2 <em>convolution</em>." in page and "<figure" in page
    assert 'src="_images/numerical_max_i4_k3_s1_p0_d1.gif"' in page
    assert Image.open(out / "_images/stride2.gif").n_frames == 4
    assert Image.open(out / "_images/odd.gif").n_frames == 36
    assert Image.open(out / "_images/numerical_max_i4_k3_s1_p0_d1.gif").n_frames == 4  # all


def test_latex_build_gets_one_step_as_pdf(project, tmp_path):
    out = tmp_path / "_build" / "latex"
    proc = sphinx(project, "latex", out, "-W", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    tex = (out / "tiny.tex").read_text()
    # The last step by default (the whole output drawn), :step: when given.
    assert r"\sphinxincludegraphics[width=300\sphinxpxdimen]{{stride2_03}.pdf}" in tex
    assert r"\sphinxincludegraphics{{numerical_max_i4_k3_s1_p0_d1_01}.pdf}" in tex
    assert r"\sphinxincludegraphics{{odd_35}.pdf}" in tex
    for name in ("stride2_03", "numerical_max_i4_k3_s1_p0_d1_01", "odd_35"):
        assert len(pdf_pages(out / f"{name}.pdf")) == 1
    assert not list(out.glob("*.gif"))


def test_figures_are_cached_across_builds(project, tmp_path):
    cache = tmp_path / "cache"
    assert sphinx(project, "html", tmp_path / "a", cache=cache).returncode == 0
    entries = sorted(p.name for p in cache.rglob("figure.gif"))
    assert len(entries) == 3
    # A fresh build (new output, new doctrees) draws nothing: every figure is a cache hit.
    before = {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()}
    assert sphinx(project, "html", tmp_path / "b", "-E", cache=cache).returncode == 0
    assert {p: p.stat().st_mtime_ns for p in cache.rglob("*") if p.is_file()} == before
    assert (tmp_path / "a/_images/odd.gif").read_bytes() == \
        (tmp_path / "b/_images/odd.gif").read_bytes()


def test_a_bad_figure_is_a_warning_not_a_crash(project, tmp_path):
    (project / "index.rst").write_text(textwrap.dedent("""
        Tiny
        ====

        .. convanim:: arithmetic
           :stride: 0

        .. convanim:: arithmetic good
           :input-size: 4
        """))
    proc = sphinx(project, "html", tmp_path / "html", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert "index.rst:5: WARNING: convanim: stride must be >= 1, got 0" in proc.stderr
    assert (tmp_path / "html/_images/good.gif").is_file()
    strict = sphinx(project, "html", tmp_path / "strict", "-W", "-E", cache=tmp_path / "cache")
    assert strict.returncode != 0
    assert "stride must be >= 1, got 0" in strict.stderr
