"""The MkDocs plugin, through real `mkdocs build` runs of a small site."""
import hashlib
import io
import os
import re
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from helpers import PROJECT

pytestmark = pytest.mark.usefixtures("tex_tools")

FIGURES = """
title = "Figures"
index = true                      # the README's example: must not replace the home page

[defaults]
quality-animation = 30

[figures.stride2]
kind = "arithmetic"
input-size = 5
stride = 2
animation = true
gif-dir = "gif"
"""
HOME = "# Home\n\nWritten by hand.\n\n![A stride-2 convolution](gif/stride2.gif)\n"


def mkdocs(site, *extra):
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", *extra], cwd=site,
                          capture_output=True, text=True, env=env)


def tree(folder):
    """Every file under ``folder`` with its bytes' hash and mtime."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                               p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def make_site(tmp_path, theme="mkdocs", figures=FIGURES, config_in_docs=False):
    site = tmp_path / "site-src"
    (site / "docs").mkdir(parents=True)
    (site / "docs" / "index.md").write_text(HOME)
    where = "docs/figures.toml" if config_in_docs else "figures.toml"
    (site / where).write_text(textwrap.dedent(figures))
    (site / "mkdocs.yml").write_text(textwrap.dedent(f"""\
        site_name: Tiny
        theme:
          name: {theme}
        plugins:
          - convanim:
              config: {where}
        """))
    return site


@pytest.mark.parametrize("theme", ["mkdocs", "material"])
def test_build_publishes_the_figure_and_nothing_else(tmp_path, theme):
    site = make_site(tmp_path, theme)
    docs_before = tree(site / "docs")
    proc = mkdocs(site, "--strict")
    assert proc.returncode == 0, proc.stderr
    out = site / "site"
    gif = Image.open(out / "gif" / "stride2.gif")
    assert gif.n_frames == 4
    page = (out / "index.html").read_text()
    assert "Written by hand." in page and 'src="gif/stride2.gif"' in page
    assert tree(site / "docs") == docs_before  # docs/ byte for byte, mtimes too
    published = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert not {p for p in published if p.endswith((".toml", ".py", ".pdf", ".json", ".md"))
                and not p.startswith("assets/")}, published
    assert "index.md" not in published and ".convanim-build.json" not in published
    assert "convanim: 1 figures, 2 files drawn, 0 failed" in proc.stderr

    # A second build draws nothing: the manifest finds the figure as it left it.
    drawn_before = tree(out / "gif")
    again = mkdocs(site, "--strict")
    assert again.returncode == 0, again.stderr
    assert "convanim: 1 figures, 0 files drawn, 0 failed" in again.stderr
    assert tree(site / "docs") == docs_before
    assert {k: v[0] for k, v in tree(out / "gif").items()} == \
        {k: v[0] for k, v in drawn_before.items()}


def test_a_config_in_docs_is_not_published(tmp_path):
    site = make_site(tmp_path, config_in_docs=True)
    proc = mkdocs(site, "--strict")
    assert proc.returncode == 0, proc.stderr
    assert (site / "site" / "gif" / "stride2.gif").is_file()
    assert not list((site / "site").rglob("*.toml"))


def test_a_failing_figure_is_a_warning_and_an_error_under_strict(tmp_path):
    bad = FIGURES.replace("stride = 2", "stride = 0")
    site = make_site(tmp_path, figures=bad)
    proc = mkdocs(site)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" in proc.stderr and "stride must be >= 1, got 0" in proc.stderr
    assert "figures.toml" in proc.stderr  # says which config and figure
    strict = mkdocs(site, "--strict")
    assert strict.returncode != 0
    assert "stride must be >= 1, got 0" in strict.stderr


def test_serve_redraws_a_changed_figure(tmp_path):
    import socket
    import time
    import urllib.request

    site = make_site(tmp_path)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "NO_COLOR": "1"}
    serve = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "-a",
                              f"127.0.0.1:{port}"], cwd=site, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def frames(wanted, timeout=120):
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/gif/stride2.gif") as r:
                    seen = Image.open(io.BytesIO(r.read())).n_frames
            except OSError:
                pass
            if seen == wanted:
                return seen
            assert serve.poll() is None, serve.stderr.read()
            time.sleep(0.3)
        return seen

    try:
        assert frames(4) == 4  # i=5, k=3, s=2: 2x2 steps
        config = site / "figures.toml"
        config.write_text(config.read_text().replace("stride = 2", "stride = 1"))
        assert frames(9) == 9  # redrawn: 3x3 steps
    finally:
        serve.terminate()
        try:
            serve.wait(20)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
    assert sorted(p.name for p in (site / "docs").iterdir()) == ["index.md"]


PAGE = """# Strides

Text before.

```convanim
kind = "arithmetic"
name = "page-stride"
alt = "a stride-2 convolution"
input-size = 5
stride = 2
animation = true
quality-animation = 30
```

```convanim
kind = "arithmetic"
input-size = 4
quality = 40
```

```convanim
kind = "arithmetic"
stride = 0
```

```convanim
kind = "arithmetic"
name = "page-player"
input-size = 4
animation = true
type = "html"
```

```convanim
kind = "arithmetic"
name = "stride2"
gif-dir = "gif"
animation = true
```
"""


def test_figures_declared_in_a_page(tmp_path):
    site = make_site(tmp_path)
    (site / "docs" / "guide").mkdir()
    (site / "docs" / "guide" / "strides.md").write_text(PAGE)
    docs_before = tree(site / "docs")
    proc = mkdocs(site)
    assert proc.returncode == 0, proc.stderr
    out = site / "site"
    assert Image.open(out / "convanim" / "page-stride.gif").n_frames == 4
    assert Image.open(out / "convanim" / "guide-strides-2_00.png").size[0] > 0
    page = (out / "guide" / "strides" / "index.html").read_text()
    assert '<img alt="a stride-2 convolution" src="../../convanim/page-stride.gif"' in page
    assert 'src="../../convanim/guide-strides-2_00.png"' in page
    # The bad block: a warning naming the page and block, and the block left as written.
    assert ("WARNING -  convanim: guide/strides.md: convanim block 3: stride must be >= 1, "
            "got 0") in proc.stderr, proc.stderr
    assert "stride = 0" in page
    assert re.search(r'<iframe src="\.\./\.\./convanim/page-player\.html" title="page-player" '
                     r'style="width: \d+px; max-width: 100%; height: \d+px; border: 0;">', page)
    assert 'data-frames="4"' in (out / "convanim" / "page-player.html").read_text()
    assert ("convanim: guide/strides.md: convanim block 5: figure 'stride2' writes the files "
            "of figure 'stride2' of figures.toml") in proc.stderr
    assert Image.open(out / "gif" / "stride2.gif").n_frames == 4  # the config's, i=5 s=2
    assert tree(site / "docs") == docs_before
    assert mkdocs(site, "--strict").returncode != 0
