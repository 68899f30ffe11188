"""The Sphinx extension, through real `sphinx-build` runs of a tiny project."""
import os
import re
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

import convanim
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


def raster(pdf) -> bytes:
    """The page as pixels: equal pictures, whatever the PDF's metadata."""
    return subprocess.run(["pdftoppm", "-r", "20", "-gray", str(pdf)], capture_output=True,
                          check=True).stdout


def sphinx(src, builder, out, *extra, cache):
    """sphinx-build without colour: Sphinx colours its output whenever CI=true is set."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "XDG_CACHE_HOME": str(cache)}
    return subprocess.run([sys.executable, "-m", "sphinx", "-N", "-b", builder, *extra, str(src),
                           str(out)], capture_output=True, text=True, env=env)


def source_tree(tmp_path, conf: str, index: str):
    """A Sphinx project's source folder: conf.py and index.rst."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(conf)
    (src / "index.rst").write_text(textwrap.dedent(index))
    return src


@pytest.fixture
def project(tmp_path):
    return source_tree(tmp_path, CONF, INDEX)


def test_html_build_shows_the_animations(project, tmp_path):
    out = tmp_path / "_build" / "html"
    proc = sphinx(project, "html", out, "-W", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    page = (out / "index.html").read_text()
    assert '<img alt="stride two" src="_images/stride2.gif" style="width: 300px;" />' in page
    assert "A stride-2 <em>convolution</em>." in page and "<figure" in page
    # Without NAME: the default name and a hash of every option, so figures differing in
    # an option the name does not show (labels, seed, ...) never share a file.
    (pool,) = re.findall(r'src="_images/(numerical_max_i4_k3_s1_p0_d1-[0-9a-f]{8}\.gif)"', page)
    assert Image.open(out / "_images/stride2.gif").n_frames == 4
    assert Image.open(out / "_images/odd.gif").n_frames == 36
    assert Image.open(out / "_images" / pool).n_frames == 4  # all steps, :step: is for LaTeX
    assert sorted(p.suffix for p in (out / "_images").iterdir()) == [".gif"] * 3


def test_latex_build_gets_one_step_as_pdf(project, tmp_path):
    out = tmp_path / "_build" / "latex"
    proc = sphinx(project, "latex", out, "-W", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    tex = (out / "tiny.tex").read_text()
    assert r"\sphinxincludegraphics[width=300\sphinxpxdimen]{{stride2}.pdf}" in tex
    assert r"\sphinxincludegraphics{{odd}.pdf}" in tex
    (pool,) = re.findall(r"\{\{(numerical_max_i4_k3_s1_p0_d1-[0-9a-f]{8})\}\.pdf\}", tex)
    for name in ("stride2", pool, "odd"):
        assert len(pdf_pages(out / f"{name}.pdf")) == 1
    assert not list(out.glob("*.gif"))
    # The last step by default (the whole output drawn), :step: when given: the same
    # page the figure command draws for that step.
    drawn = {"stride2": ("arithmetic", dict(input_size=5, stride=2), 3),
             pool: ("numerical", dict(input_size=4, mode="max"), 1),
             "odd": ("arithmetic", dict(input_size=6, stride=2, padding=1, transposed=True), 35)}
    for name, (kind, options, step) in drawn.items():
        (cli,) = convanim.render(kind, type="pdf", step=step, out_dir=str(tmp_path / "cli"),
                                 **options)
        assert raster(out / f"{name}.pdf") == raster(cli)
        (first,) = convanim.render(kind, type="pdf", out_dir=str(tmp_path / "cli"), **options)
        assert raster(out / f"{name}.pdf") != raster(first)


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


def test_html_and_latex_sharing_one_doctree_each_get_their_type(project, tmp_path):
    """`make html latexpdf` reads each document once for both builders."""
    cache, doctrees = tmp_path / "cache", tmp_path / "doctrees"
    html = sphinx(project, "html", tmp_path / "html", "-W", "-d", str(doctrees), cache=cache)
    assert html.returncode == 0, html.stderr
    latex = sphinx(project, "latex", tmp_path / "latex", "-W", "-d", str(doctrees), cache=cache)
    assert latex.returncode == 0, latex.stderr
    assert "updating environment: 0 added, 0 changed, 0 removed" in latex.stdout  # not read
    assert r"{{stride2}.pdf}" in (tmp_path / "latex/tiny.tex").read_text()
    assert len(pdf_pages(tmp_path / "latex/stride2.pdf")) == 1
    assert (tmp_path / "html/_images/stride2.gif").is_file()


def test_one_name_with_two_pictures_is_refused(project, tmp_path):
    (project / "index.rst").write_text(textwrap.dedent("""
        Tiny
        ====

        .. convanim:: arithmetic same
           :input-size: 4

        .. convanim:: arithmetic same
           :input-size: 4
           :labels:

        .. convanim:: arithmetic same
           :input-size: 4
        """))
    proc = sphinx(project, "html", tmp_path / "html", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert ("index.rst:8: WARNING: convanim: NAME 'same' is already drawn with other options "
            "at index:5") in proc.stderr
    assert proc.stderr.count("WARNING") == 1  # the same picture twice is fine


FORMATS = """
Formats
=======

.. convanim:: arithmetic player
   :input-size: 4
   :format: html
   :caption: The player.

.. convanim:: arithmetic still
   :input-size: 4
   :stride: 2
   :format: webp

.. convanim:: arithmetic vector
   :input-size: 5
   :stride: 2
   :format: svg

.. convanim:: arithmetic film
   :input-size: 4
   :stride: 2
   :format: mp4
   :alt: a film
"""


@pytest.mark.slow
@pytest.mark.browser
def test_other_formats_in_html_and_latex_builds(project, tmp_path):
    from browser import Browser

    (project / "index.rst").write_text(textwrap.dedent(FORMATS))
    cache = tmp_path / "cache"
    html = tmp_path / "html"
    proc = sphinx(project, "html", html, "-W", cache=cache)
    assert proc.returncode == 0, proc.stderr
    page = (html / "index.html").read_text()
    assert "data:" not in page and "data-frames" not in page  # nothing inlined
    # Each file copied into the build's image folder like an image, and pointed at there.
    assert '<iframe class="convanim" src="_images/player.html" title="player"' in page
    assert '<img src="_images/still.webp" alt="still">' in page
    assert '<video src="_images/film.mp4" autoplay loop muted playsinline controls ' \
           'aria-label="a film"></video>' in page
    assert 'src="_images/vector.svg"' in page                # the animated SVG, as before
    assert "<figcaption>" in page and "The player." in page
    assert sorted(p.name for p in (html / "_images").iterdir()) == \
        ["film.mp4", "player.html", "still.webp", "vector.svg"]
    assert Image.open(html / "_images/still.webp").n_frames == 1  # i=4, s=2: one step
    assert (html / "_images/film.mp4").read_bytes()[4:8] == b"ftyp"
    assert (html / "_images/player.html").read_text().count('data-frames="4"') == 1

    with Browser() as browser:  # the copied player works on its own
        browser.open((html / "_images/player.html").as_uri())
        assert browser.errors() == []
        player = "document.querySelector('[data-frames]')"
        browser.click(".cv-play")
        before = int(browser.js(f"{player}.dataset.step"))
        browser.click(".cv-next")
        assert int(browser.js(f"{player}.dataset.step")) == (before + 1) % 4

    latex = sphinx(project, "latex", tmp_path / "latex", "-W", cache=cache)
    assert latex.returncode == 0, latex.stderr
    tex = (tmp_path / "latex/tiny.tex").read_text()
    for name in ("player", "still", "vector", "film"):
        assert f"{{{{{name}}}.pdf}}" in tex
        assert len(pdf_pages(tmp_path / f"latex/{name}.pdf")) == 1
    assert "data:image" not in tex and "data-frames" not in tex


@pytest.mark.slow
def test_one_name_with_two_option_sets_is_caught_under_parallel_reads(tmp_path):
    """sphinx-build -j 2 reads pages in separate processes; the merge still sees both."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    pages = [f"p{n}" for n in range(8)]
    (src / "index.rst").write_text("Top\n===\n\n.. toctree::\n\n" +
                                   "".join(f"   {p}\n" for p in pages))
    for n, page in enumerate(pages):
        body = f"{page}\n{'=' * len(page)}\n\n"
        if n in (0, 7):
            body += f".. convanim:: arithmetic same\n   :input-size: {4 + n % 2}\n"
        (src / f"{page}.rst").write_text(body)
    proc = sphinx(src, "html", tmp_path / "html", "-W", "-j", "2", cache=tmp_path / "cache")
    assert proc.returncode != 0
    assert "NAME 'same' is" in proc.stderr and "drawn with other options" in proc.stderr, \
        proc.stderr


@pytest.mark.slow
def test_a_new_convanim_version_rereads_every_page(tmp_path):
    """env_version follows convanim's version: Sphinx drops the pickled environment."""
    src, cache, out = tmp_path / "src", tmp_path / "cache", tmp_path / "html"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    (src / "index.rst").write_text("Tiny\n====\n\n.. convanim:: arithmetic one\n"
                                   "   :input-size: 4\n   :stride: 2\n")
    doctrees = tmp_path / "doctrees"
    assert sphinx(src, "html", out, "-d", str(doctrees), cache=cache).returncode == 0
    same = sphinx(src, "html", out, "-d", str(doctrees), cache=cache)
    assert same.returncode == 0 and "0 added, 0 changed, 0 removed" in same.stdout
    conf = src / "conf.py"
    conf.write_text("import convanim.version\nconvanim.version.__version__ = '99.0'\n"
                    + conf.read_text())
    upgraded = sphinx(src, "html", out, "-d", str(doctrees), cache=cache)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "1 added, 0 changed, 0 removed" in upgraded.stdout, upgraded.stdout


def test_copies_under_parallel_reads_and_writes(tmp_path):
    """sphinx-build -j 2 reads and writes in separate processes; every page's file is
    still copied (the copies are registered in the main process)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text(CONF)
    pages = [f"p{n}" for n in range(6)]  # Sphinx goes parallel beyond 5 documents
    (src / "index.rst").write_text("Top\n===\n\n.. toctree::\n\n" +
                                   "".join(f"   {p}\n" for p in pages))
    drawn = {0: 4, 3: 5, 5: 4}  # page: input size (one chunk each, read and written)
    for n, page in enumerate(pages):
        body = f"{page}\n{'=' * len(page)}\n\n"
        if n in drawn:
            body += (f".. convanim:: arithmetic w{n}\n   :input-size: {drawn[n]}\n"
                     f"   :stride: 2\n   :format: webp\n")
        (src / f"{page}.rst").write_text(body)
    out = tmp_path / "html"
    proc = sphinx(src, "html", out, "-W", "-j", "2", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    for phase in ("reading sources", "writing output"):  # in chunks: in parallel
        assert re.search(rf"{phase}\.\.\. \[\s*\d+%\] \S+ \.\. \S+", proc.stdout), phase
    for n, size in drawn.items():
        page = (out / f"p{n}.html").read_text()
        (img,) = re.findall(r'<img src="(_images/[^"]+)"', page)
        assert img == f"_images/w{n}.webp"
        steps = ((size - 3) // 2 + 1) ** 2  # (i - k) // s + 1 per axis
        assert Image.open(out / img).n_frames == steps


def test_values_files_are_read_beside_the_page(tmp_path):
    """--input as a directive option: a file named relative to the page's own folder."""
    src = tmp_path / "src"
    (src / "guide").mkdir(parents=True)
    (src / "conf.py").write_text(CONF)
    (src / "index.rst").write_text("Tiny\n====\n\n.. toctree::\n\n   guide/page\n")
    (src / "guide/x.csv").write_text("1,-2,0\n0.5,1,-3\n4,0,1\n")
    (src / "guide/page.rst").write_text(textwrap.dedent("""
        Page
        ====

        .. convanim:: numerical mine
           :input: x.csv
           :kernel: 1 0; 0 -1

        .. convanim:: numerical lost
           :input: nowhere.csv
        """))
    proc = sphinx(src, "html", tmp_path / "html", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "html/_images/mine.gif").is_file()
    warnings = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1 and "cannot read nowhere.csv" in warnings[0], warnings


def test_a_bad_value_is_reported_by_docutils_at_its_option(project, tmp_path):
    """option_spec is made of each option's own converter: a value the option's type
    refuses never reaches the figure, and the message names the option and the value."""
    (project / "index.rst").write_text(textwrap.dedent("""
        Tiny
        ====

        .. convanim:: arithmetic
           :stride: x

        .. convanim:: arithmetic
           :theme: neon

        .. convanim:: arithmetic good
           :input-size: 4
        """))
    proc = sphinx(project, "html", tmp_path / "html", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    err = " ".join(proc.stderr.split())
    assert 'index.rst:5: ERROR: Error in "convanim" directive: invalid option value: ' \
           "(option: \"stride\"; value: 'x') argument -s/--stride:" in err, err
    assert "(option: \"theme\"; value: 'neon') argument --theme: invalid choice: 'neon'" in err
    assert "WARNING: convanim:" not in err  # refused before any figure was planned
    assert (tmp_path / "html/_images/good.gif").is_file()
