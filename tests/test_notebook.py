"""convanim.render in Jupyter: a real notebook executed by nbclient on an ipykernel, its
outputs checked as a front end shows them, the player in a browser."""
import base64
import io
import re

import nbformat
import pytest
from nbclient import NotebookClient
from PIL import Image

from browser import Browser

pytestmark = pytest.mark.usefixtures("tex_tools")

CELLS = {
    "gif": 'convanim.render("arithmetic", "g", input_size=5, stride=2, animation=True, '
           'quality_animation=30)',
    "webp": 'convanim.render("arithmetic", "w", input_size=5, stride=2, animation=True, '
            'type="webp", quality_animation=30)',
    "svg": 'convanim.render("arithmetic", "s", input_size=5, stride=2, animation=True, '
           'type="svg")',
    "mp4": 'convanim.render("arithmetic", "v", input_size=5, stride=2, animation=True, '
           'type="mp4", quality_animation=30)',
    "html": 'convanim.render("arithmetic", "p", input_size=5, stride=2, animation=True, '
            'type="html")',
}


def data_uri(text, mime):
    (data,) = re.findall(rf'src="data:{re.escape(mime)};base64,([A-Za-z0-9+/=]+)"', text)
    return base64.b64decode(data)


@pytest.mark.browser
def test_a_notebook_shows_every_format_and_the_player_runs(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import convanim")] + \
        [nbformat.v4.new_code_cell(code) for code in CELLS.values()]
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    shown = {}
    for fmt, cell in zip(CELLS, nb.cells[1:]):
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert not [o for o in cell.outputs if o.output_type == "error"]
        shown[fmt] = result.data["text/html"]

    assert Image.open(io.BytesIO(data_uri(shown["gif"], "image/gif"))).n_frames == 4
    assert data_uri(shown["gif"], "image/gif") == (tmp_path / "gif/g.gif").read_bytes()
    assert Image.open(io.BytesIO(data_uri(shown["webp"], "image/webp"))).n_frames == 4
    svg = data_uri(shown["svg"], "image/svg+xml").decode()
    assert svg.startswith("<svg") or "<svg" in svg[:200]
    assert "@keyframes" in svg and "<script" not in svg  # animates in an <img>
    mp4 = data_uri(shown["mp4"], "video/mp4")
    assert mp4[4:8] == b"ftyp" and shown["mp4"].startswith("<video ")
    assert shown["html"].startswith('<iframe class="convanim" srcdoc="')
    assert "<script" not in shown["html"]  # escaped inside srcdoc: no script of the notebook's

    # A front end inserts output HTML as innerHTML, which runs no <script> of it (as
    # JupyterLab does for an untrusted output): the player inside its iframe still runs.
    host = tmp_path / "host.html"
    host.write_text("<!doctype html><html><body><div id=out></div><script>"
                    f"document.getElementById('out').innerHTML = {html_js(shown['html'])};"
                    "</script></body></html>")
    with Browser() as browser:
        browser.open(host.as_uri())
        frame = "document.querySelector('iframe').contentDocument"
        for _ in range(100):
            if browser.js(f"!!{frame}.querySelector('[data-frames]') && "
                          f"{frame}.readyState === 'complete'"):
                break
            browser.js("new Promise(r => setTimeout(r, 50))")
        assert browser.errors() == []
        player = f"{frame}.querySelector('[data-frames]')"
        assert browser.js(f"{player}.dataset.frames") == "4"
        browser.click(".cv-play", frame)  # pause
        before = int(browser.js(f"{player}.dataset.step"))
        browser.click(".cv-next", frame)
        assert int(browser.js(f"{player}.dataset.step")) == (before + 1) % 4
        size = browser.js("(() => { const f = document.querySelector('iframe'); return "
                          "[f.contentDocument.documentElement.scrollHeight, f.clientHeight]; })()")
        assert size[0] <= size[1], size  # the iframe holds the whole player, no scroll bar


def html_js(text):
    import json

    return json.dumps(text)
