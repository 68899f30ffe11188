"""The HTML player and the animated SVG, in a real headless Chromium."""
import io
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from browser import Browser, serve
from helpers import run

from convanim.engine import web

pytestmark = pytest.mark.usefixtures("tex_tools")


@pytest.fixture(scope="module")
def browser():
    with Browser() as b:
        yield b


def _player(html: str) -> str:
    """The player's self-contained div, as one would paste it into a page."""
    return re.search(r"<body[^>]*>\s*(.*)</body>", html, re.S).group(1)


def test_html_player_plays_steps_and_says_what_each_step_is(workdir, capsys, browser, tmp_path):
    status, out, _ = run(capsys, "numerical", "p", "-i", "4", "-k", "3", "-a", "-y", "html",
                         "--delay", "400", "--json", "--quiet")
    assert status == 0 and [str(p) for p in out] == ["out/p.pdf", "gif/p.html", "out/p.json"]
    page = (workdir / "gif/p.html").read_text()
    # self-contained: nothing is fetched (only fragment references and namespaces)
    assert re.findall(r'(?:src|href)="(?!#)', page) == []
    assert "<link" not in page and "@import" not in page
    output = json.loads((workdir / "out/p.json").read_text())["output"]   # 2x2

    browser.open((workdir / "gif/p.html").as_uri())
    assert browser.errors() == []
    player = "document.querySelector('[data-frames]')"
    assert browser.js(f"{player}.dataset.frames") == "4"
    assert browser.js(f"{player}.dataset.playing") == "true"   # plays like the GIF
    browser.click(".cv-play")
    assert browser.js(f"{player}.dataset.playing") == "false"
    start = int(browser.js(f"{player}.dataset.step"))

    def shown():
        """(step, the one frame displayed, the caption line)."""
        return browser.js(f"""(() => {{
            const p = {player};
            const on = [...p.querySelectorAll('.cv-stage svg')]
                .filter(s => getComputedStyle(s).display !== 'none');
            return [+p.dataset.step, on.map(s => +s.dataset.step),
                    p.querySelector('.cv-caption').textContent,
                    +p.querySelector('.cv-slider').value, on[0].getAttribute('aria-label')];
        }})()""")

    browser.key("ArrowRight", 39)
    step, on, caption, slider, label = shown()
    assert step == (start + 1) % 4 and on == [step] and slider == step
    y, x = divmod(step, 2)
    # numbered as -e numbers the steps (from 0); the arithmetic is drawn, not repeated
    assert caption == f"Step {step} of 0\u20133: output cell ({y}, {x})"
    # ... but it is the frame's text alternative, for a screen reader
    assert label.startswith(f"{caption}: y[{y},{x}] = ")
    assert label.endswith(f" = {output[y][x]:g}")
    assert label.count("×") == 9 and "·" not in label  # nine products, crossed as drawn
    browser.click(".cv-next")
    assert shown()[0] == (start + 2) % 4
    browser.key("ArrowLeft", 37)
    assert shown()[0] == (start + 1) % 4
    browser.key("End", 35)
    assert shown()[:2] == [3, [3]]
    browser.click(".cv-next")  # wraps around
    assert shown()[:2] == [0, [0]]
    browser.screenshot(tmp_path / "step0.png")
    browser.key("ArrowRight", 39)
    browser.screenshot(tmp_path / "step1.png")
    with Image.open(tmp_path / "step0.png") as a, Image.open(tmp_path / "step1.png") as b:
        assert a.size == (1000, 800)
        colours = a.convert("RGB").getcolors(1 << 20)
        assert len(colours) > 20, "the frame is drawn, not a blank page"
        assert a.convert("RGB").tobytes() != b.convert("RGB").tobytes()

    # speed: at 4x the 400 ms delay is 100 ms a step
    browser.js(f"(() => {{ const s = {player}.querySelector('.cv-speed'); s.value = '4';"
               f" s.dispatchEvent(new Event('change')); }})()")
    before = shown()[0]
    browser.click(".cv-play")
    assert browser.js(f"{player}.dataset.playing") == "true"
    moved = browser.js(f"new Promise(r => setTimeout(() => r(+{player}.dataset.step), 250))")
    assert (moved - before) % 4 != 0, "at 4x, 250 ms hold two 100 ms steps (none at 1x)"
    assert browser.errors() == []


def test_player_works_in_an_iframe_and_pasted_twice_as_raw_html(workdir, capsys, browser):
    run(capsys, "arithmetic", "a", "-i", "4", "-k", "3", "-a", "-y", "html", "--quiet")
    run(capsys, "arithmetic", "b", "-i", "5", "-k", "3", "-s", "2", "-a", "-y", "html",
        "--quiet")
    a, b = (_player((workdir / f"gif/{n}.html").read_text()) for n in "ab")
    (workdir / "gif/raw.html").write_text(
        f"<!DOCTYPE html><html><body><h1>Docs page</h1>{a}<p>text</p>{b}</body></html>")
    (workdir / "gif/frame.html").write_text(
        '<!DOCTYPE html><html><body><p>Docs page</p><iframe src="a.html" width="600" '
        'height="560"></iframe></body></html>')

    browser.open((workdir / "gif/raw.html").as_uri())
    assert browser.errors() == []
    steps = "[...document.querySelectorAll('[data-frames]')].map(p => +p.dataset.step)"
    frames = "[...document.querySelectorAll('[data-frames]')].map(p => +p.dataset.frames)"
    assert browser.js(frames) == [4, 4]
    browser.click("[data-frames] .cv-play")          # pause the first
    browser.click("[data-frames] ~ [data-frames] .cv-play")  # and the second
    first, second = browser.js(steps)
    browser.click("[data-frames] .cv-next")
    assert browser.js(steps) == [(first + 1) % 4, second], "only the clicked player moves"
    browser.key("ArrowRight", 39)  # the first has the focus since its click
    assert browser.js(steps) == [(first + 2) % 4, second]

    # a docs site serves its pages over HTTP: the iframe is same-origin, as there
    with serve(workdir / "gif") as url:
        browser.open(f"{url}/frame.html")
        _in_iframe(browser)


def _in_iframe(browser):
    browser.js("new Promise(r => { const f = document.querySelector('iframe'); "
               "f.contentDocument && f.contentDocument.readyState === 'complete' ? r() : "
               "f.addEventListener('load', () => r()); })")
    assert browser.errors() == []
    inner = "document.querySelector('iframe').contentDocument"
    assert browser.js(f"{inner}.querySelector('[data-frames]').dataset.frames") == "4"
    browser.click(".cv-play", frame=inner)
    before = int(browser.js(f"{inner}.querySelector('[data-frames]').dataset.step"))
    browser.click(".cv-next", frame=inner)
    assert int(browser.js(f"{inner}.querySelector('[data-frames]').dataset.step")) == \
        (before + 1) % 4


def test_animated_svg_is_valid_xml_and_shows_one_frame_per_delay(workdir, capsys, browser,
                                                                 tmp_path):
    status, out, _ = run(capsys, "arithmetic", "s", "-i", "5", "-k", "3", "-s", "2", "-a",
                         "-y", "svg", "--delay", "300", "--quiet")
    assert status == 0 and [str(p) for p in out] == ["out/s.pdf", "gif/s.svg"]
    text = (workdir / "gif/s.svg").read_text()
    root = ET.fromstring(text.encode())          # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    groups = [g for g in root if g.tag == f"{ns}g"]
    assert len(groups) == 4
    assert root.find(f"{ns}script") is None and "<script" not in text
    assert "1200ms step-end infinite" in text    # 4 frames of 300 ms, looping
    ids = [el.get("id") for el in root.iter() if el.get("id")]
    assert len(ids) == len(set(ids))
    refs = set(re.findall(r'href="#([^"]+)"', text)) | set(re.findall(r"url\(#([^)]+)\)", text))
    assert refs <= set(ids), "every reference resolves"

    browser.open((workdir / "gif/s.svg").as_uri())
    assert browser.errors() == []
    visible = """(t => {
        document.getAnimations().forEach(a => { a.pause(); a.currentTime = t; });
        return [...document.querySelectorAll('svg > g')].map((g, i) =>
            getComputedStyle(g).visibility === 'visible' ? i : -1).filter(i => i >= 0);
    })"""
    assert browser.js(f"document.getAnimations().length") == 4
    for t, frame in [(100, 0), (450, 1), (700, 2), (1150, 3), (1300, 0), (2050, 2)]:
        assert browser.js(f"{visible}({t})") == [frame], f"at {t} ms"
    browser.js(f"{visible}(100)")
    browser.screenshot(tmp_path / "a.png")
    browser.js(f"{visible}(700)")
    browser.screenshot(tmp_path / "b.png")
    with Image.open(tmp_path / "a.png") as a, Image.open(tmp_path / "b.png") as b:
        assert len(a.convert("RGB").getcolors(1 << 20)) > 20
        assert a.convert("RGB").tobytes() != b.convert("RGB").tobytes()

    # As a README shows it: an <img> (no script runs there); it animates on its own.
    (workdir / "gif/readme.html").write_text('<!DOCTYPE html><img src="s.svg" alt="s">')
    browser.open((workdir / "gif/readme.html").as_uri())
    assert browser.js("document.querySelector('img').naturalWidth") > 100
    shots = []
    for n in range(2):
        shots.append(Image.open(io.BytesIO(browser.screenshot(tmp_path / f"img{n}.png")))
                     .convert("RGB").tobytes())
        browser.js("new Promise(r => setTimeout(r, 450))")  # not a multiple of the 1.2 s loop
    assert shots[0] != shots[1]


def test_without_css_animation_the_svg_shows_the_last_frame(workdir, capsys):
    run(capsys, "arithmetic", "s", "-a", "-y", "svg", "--quiet")
    text = (workdir / "gif/s.svg").read_text()
    root = ET.fromstring(text.encode())
    groups = [g for g in root if g.tag.endswith("}g")]
    last = groups[-1].get("class").split()
    prefix = last[0][:-2]
    assert f"{prefix}-last" in last and all(f"{prefix}-last" not in g.get("class")
                                            for g in groups[:-1])
    assert f".{prefix}-f.{prefix}-last{{visibility:visible}}" in text


def test_pages_share_their_static_parts_once(workdir, capsys, tmp_path):
    run(capsys, "numerical", "n", "-i", "5", "-k", "3", "-a", "-y", "pdf", "--quiet")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    pages = web.page_svgs(workdir / "out/n.pdf", 9, scratch)
    deck = web.pdf_deck(workdir / "out/n.pdf", 9, scratch)    # one pdftocairo run
    apart = web.deck(pages)                                   # a run per page
    assert len(deck.frames) == len(apart.frames) == 9
    assert (len(deck.defs), [len(f) for f in deck.frames], len(deck.css)) == \
        (len(apart.defs), [len(f) for f in apart.frames], len(apart.css))
    assert list(scratch.iterdir()) == []
    merged = sum(map(len, deck.defs)) + sum(len(x) for f in deck.frames for x in f)
    assert merged < sum(map(len, pages)) / 3, (merged, sum(map(len, pages)))
    glyphs = [d for d in deck.defs if d.startswith("<symbol")]
    assert len(glyphs) == len(set(g.split('"', 2)[2] for g in glyphs)), "each glyph once"
    shared = [d for d in deck.defs if d.startswith('<g id=')]
    assert shared and all(any(f'#{d.split(chr(34))[1]}"' in x for x in deck.frames[i])
                          for d in shared[:1] for i in range(9))


def test_player_page_takes_the_theme_and_a_pasted_player_inherits(workdir, capsys):
    run(capsys, "arithmetic", "d", "-i", "4", "-a", "-y", "html", "--theme", "dark", "--quiet")
    run(capsys, "arithmetic", "t", "-i", "4", "-a", "-y", "html", "--transparent", "--quiet")
    dark, clear = ((workdir / f"gif/{n}.html").read_text() for n in "dt")
    assert '<body style="margin:0;background:#002B36;color:#FDF6E3;">' in dark
    assert '<body style="margin:0;">' in clear and "background:transparent}" in clear
    assert "color:inherit" in _player(dark)


def test_player_fills_its_container_and_keeps_its_controls_on_one_row(workdir, capsys, browser):
    """It kept its natural width in a wide column, and its controls wrapped below 400 px."""
    run(capsys, "numerical", "n", "-i", "4", "-k", "3", "-a", "-y", "html", "--quiet")
    player = _player((workdir / "gif/n.html").read_text())
    (workdir / "gif/sizes.html").write_text(
        '<!DOCTYPE html><html><body style="margin:0">'
        f'<div id="wide" style="width:900px">{player}</div>'
        f'<div id="narrow" style="width:320px">{player}</div></body></html>')
    browser.open((workdir / "gif/sizes.html").as_uri())
    assert browser.errors() == []
    for box, width in (("wide", 900), ("narrow", 320)):
        shown = browser.js(f"document.querySelector('#{box} svg.cv-on')"
                           ".getBoundingClientRect().width")
        assert width - 14 <= shown <= width, box  # the player's 6 px padding each side
        middles = browser.js(f"[...document.querySelectorAll('#{box} .cv-controls > *')]"
                             ".map(e => {{ const r = e.getBoundingClientRect();"
                             " return (r.top + r.bottom) / 2; }})")
        assert len(middles) == 5 and max(middles) - min(middles) <= 4, (box, middles)
        right = browser.js(f"Math.max(...[...document.querySelectorAll('#{box} .cv-controls > *')]"
                           ".map(e => e.getBoundingClientRect().right))")
        assert right <= width, box


@pytest.mark.parametrize("size", [(1600, 700), (1000, 800), (420, 700)])
def test_the_caption_and_controls_are_centred_under_the_figure(workdir, capsys, browser, size):
    """Item 7 of issue 31: the controls ran edge to edge and the caption sat at the left,
    away from a figure drawn in the middle of a wide window. Both are centred on the
    player, and the controls are no wider than the figure (unless it is narrower than
    they need)."""
    assert run(capsys, "numerical", "p", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-a",
               "-y", "html", "--quiet")[0] == 0
    browser.page.set_viewport_size({"width": size[0], "height": size[1]})
    try:
        browser.open((workdir / "gif/p.html").as_uri())
        browser.click(".cv-play")  # still
        player, figure, controls, caption, need = browser.js("""(() => {
            const p = document.querySelector('[data-frames]');
            const box = r => [r.left, r.right];
            const svg = p.querySelector('.cv-stage svg.cv-on'), r = svg.getBoundingClientRect();
            const vb = svg.viewBox.baseVal, w = Math.min(r.width, r.height * vb.width / vb.height);
            const parts = [...p.querySelector('.cv-controls').children]
                .map(c => c.getBoundingClientRect());
            const text = document.createRange();
            text.selectNodeContents(p.querySelector('.cv-caption'));
            const need = [...p.querySelector('.cv-controls').children]
                .reduce((s, c) => s + c.getBoundingClientRect().width, 0);
            return [box(p.getBoundingClientRect()), [(r.left + r.right - w) / 2, (r.left + r.right + w) / 2],
                    [Math.min(...parts.map(c => c.left)), Math.max(...parts.map(c => c.right))],
                    box(text.getBoundingClientRect()), need];
        })()""")
    finally:
        browser.page.set_viewport_size({"width": 1000, "height": 800})
    centre = sum(player) / 2
    assert abs(sum(figure) / 2 - centre) <= 3, (figure, player)
    assert abs(sum(controls) / 2 - centre) <= 3, (controls, player)
    assert abs(sum(caption) / 2 - centre) <= 3, (caption, player)
    assert controls[1] - controls[0] <= max(figure[1] - figure[0], 22 * 14) + 2, (controls, figure)
    assert controls[0] >= player[0] and controls[1] <= player[1]
