"""Vector animations for the web: the interactive HTML player and the animated SVG.

Both start from the figure's one PDF: every page becomes an SVG (``pdftocairo
-svg``, one process per page on worker threads), and :func:`deck` merges the
pages so that what they share is stored once. pdftocairo names its glyphs and
clip paths per page (``glyph0-1``, ``clip3``), so definitions are renamed by
content and equal ones collapse into one; the static layers every frame repeats
(planes, grids, labels) become ``<g>`` groups in ``<defs>`` that each frame
``<use>``\\ s, and only what a frame changes (the window, its highlight, its
numbers) is written per frame. A 49-frame figure is then about the size of a
few of its pages.

- :func:`write_html` renders ``convanim/templates/player.html.j2``: one self-contained
  file (no network, no external script or style) with play/pause, a step
  slider, previous/next, speed, arrow keys and a caption line per step. Every id
  and class is prefixed by a hash of the figure, so two players can share a page
  (raw HTML in a docs page) without clashing.
- :func:`write_svg` writes one SVG that animates with CSS keyframes only (no
  script), so it survives sites that strip scripts (a README on a code host).
  A viewer without CSS animation shows the last frame, the complete output.
"""
from __future__ import annotations

import hashlib
import os
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import tools

SVG_NS = "http://www.w3.org/2000/svg"
#: Stands for the figure's id prefix until the content (and so the prefix) is known.
_P = "\x01"
_URL = re.compile(r"url\(#([^)]+)\)")
_DECIMALS = re.compile(r"-?\d+\.\d{3,}")
#: Attributes whose numbers are lengths in points: 0.01 pt is far below a pixel at any
#: sensible zoom, and cairo's six decimals are a quarter of the file.
_ROUNDED = {"d", "x", "y", "style"}


@dataclass
class Deck:
    """The pages of a figure as SVG, with what they share stored once."""
    width: str              # of a page, with unit ("265.9pt")
    height: str
    view_box: str
    prefix: str             # of every id: unique per figure, so players can share a page
    defs: list[str]         # shared definitions: glyphs, clip paths, the static groups
    frames: list[list[str]] # per page, in paint order: <use> of a shared group or an element
    css: str = ""           # the style attributes, each once, as classes


def pdf_deck(pdf: Path, pages: int, work: Path) -> Deck:
    """The figure's pages merged (:func:`deck`), from one ``pdftocairo -svg`` run.

    Given a many-page PDF, pdftocairo writes one SVG 1.2 document: the definitions
    of all pages once, then a ``<pageSet>`` with a ``<page>`` each (browsers show
    only the first, so the pages are taken apart here). One process reads the PDF
    and its fonts once, four times faster than a process per page; should the
    document not have that shape, each page is converted on its own.
    """
    out = work / "pages.svg"
    tools.run(["pdftocairo", "-svg", str(pdf), str(out)])
    root = ET.fromstring(out.read_bytes())
    out.unlink()
    page_set = next((c for c in root if _local(c.tag) == "pageSet"), None)
    if page_set is None:  # one page: a plain SVG
        bodies = [list(root)] if pages == 1 else []
    else:
        bodies = [list(p) for p in page_set if _local(p.tag) == "page"]
    if len(bodies) != pages:
        return deck(page_svgs(pdf, pages, work))
    local = _definitions(root)
    return _merge(_size(root), [(local, _body(body)) for body in bodies])


def page_svgs(pdf: Path, pages: int, work: Path) -> list[str]:
    """Every page of ``pdf`` as an SVG document of its own, in order (a process each)."""
    def one(page: int) -> str:
        out = work / f"page-{page:05d}.svg"
        tools.run(["pdftocairo", "-svg", "-f", str(page), "-l", str(page), str(pdf), str(out)])
        text = out.read_text(encoding="utf-8")
        out.unlink()
        return text

    with ThreadPoolExecutor(max(1, min(os.cpu_count() or 1, pages))) as pool:
        return list(pool.map(one, range(1, pages + 1)))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _round(match) -> str:
    text = f"{float(match.group()):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _serialise(el, rename, style, keep_id: str | None = None) -> str:
    """One element as SVG text, references renamed, style attributes made classes
    (``style(value)`` names the class), namespace prefixes written plainly."""
    parts = [f"<{_local(el.tag)}"]
    if keep_id is not None:
        parts.append(f' id="{keep_id}"')
    for name, value in el.attrib.items():
        if name == "id":
            continue
        if name.startswith("{"):
            ns, local = name[1:].split("}")
            name = local  # xlink:href -> href (SVG 2, every current browser)
        if name in _ROUNDED:
            value = _DECIMALS.sub(_round, value)
        if name == "style" and "class" not in el.attrib:
            name, value = "class", style(value)
        elif name.endswith("href") and value.startswith("#"):
            value = "#" + rename(value[1:])
        elif "url(#" in value:
            value = _URL.sub(lambda m: f"url(#{rename(m.group(1))})", value)
        parts.append(f' {name}="{_escape(value)}"')
    children = list(el)
    text = (el.text or "").strip()
    if not children and not text:
        return "".join(parts) + "/>"
    inner = _escape(text) + "".join(_serialise(c, rename, style) for c in children)
    return "".join(parts) + ">" + inner + f"</{_local(el.tag)}>"


def _escape(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _size(root) -> tuple[str, str, str]:
    return root.get("width", ""), root.get("height", ""), root.get("viewBox", "")


def _definitions(root) -> dict:
    """The elements of ``<defs>`` by id (cairo wraps its glyph symbols in a bare ``<g>``)."""
    local = {}
    for child in root:
        if _local(child.tag) == "defs":
            stack = list(child)
            while stack:
                el = stack.pop(0)
                if el.get("id") is None and _local(el.tag) == "g":
                    stack[:0] = list(el)
                elif el.get("id") is not None:
                    local[el.get("id")] = el
    return local


def _body(children) -> list:
    """What a page paints, in order: the children of cairo's ``surface`` group."""
    body = []
    for child in children:
        if _local(child.tag) in ("defs", "pageSet"):
            continue
        if _local(child.tag) == "g" and (child.get("id") or "").startswith("surface"):
            body += list(child)
        else:
            body.append(child)
    return body


def _renamer(local: dict, defs: dict, def_text: list, style):
    """Renames a page's definitions by content: an equal one seen before keeps its id."""
    renamed: dict[str, str] = {}

    def rename(name: str) -> str:
        if name in renamed:
            return renamed[name]
        if name not in local:  # not a definition of this page: leave it
            return name
        renamed[name] = name  # a cycle (never made by cairo) stays local
        content = _serialise(local[name], rename, style)
        gid = defs.get(content)
        if gid is None:
            gid = defs[content] = f"{_P}d{len(defs)}"
            def_text.append(_serialise(local[name], rename, style, keep_id=gid))
        renamed[name] = gid
        return gid

    return rename


def deck(svgs: list[str]) -> Deck:
    """Merge pages given as SVG documents of their own (see :func:`_merge`)."""
    roots = [ET.fromstring(text.encode("utf-8")) for text in svgs]
    return _merge(_size(roots[0]), [(_definitions(r), _body(r)) for r in roots])


def _merge(size, pages: list[tuple[dict, list]]) -> Deck:
    """Merge the pages, each ``(its definitions by id, what it paints)``: equal
    definitions once, shared runs of elements as groups."""
    defs: dict[str, str] = {}       # content (id left out) -> global id
    def_text: list[str] = []
    styles: dict[str, str] = {}     # style attribute -> class

    def style(value: str) -> str:
        # CSS declarations, moved into a <style>: nothing that could end it or be markup
        value = value.strip().replace("<", "").replace("&", "").replace("}", "")
        if value not in styles:
            styles[value] = f"{_P}s{len(styles)}"
        return styles[value]

    frames_raw: list[list[str]] = []
    renames: dict[int, object] = {}  # pages sharing one <defs> share its renaming
    for local, body in pages:
        rename = renames.get(id(local))
        if rename is None:
            rename = renames[id(local)] = _renamer(local, defs, def_text, style)
            for name in local:
                rename(name)
        frames_raw.append([_serialise(el, rename, style) for el in body])

    # Group each frame's elements into runs shared by the same frames: a run every
    # frame has (the static layers) is written once and used by reference.
    index: dict[str, int] = {}
    seqs = [[index.setdefault(el, len(index)) for el in frame] for frame in frames_raw]
    elements = list(index)
    members: dict[int, set] = {}
    for f, seq in enumerate(seqs):
        for i in seq:
            members.setdefault(i, set()).add(f)
    groups: dict[tuple, str] = {}
    frames: list[list[str]] = []
    for seq in seqs:
        out, run = [], []

        def flush(run=run, out=out):
            if not run:
                return
            if len(members[run[0]]) == 1:
                out.extend(elements[i] for i in run)
            else:
                key = tuple(run)
                gid = groups.get(key)
                if gid is None:
                    gid = groups[key] = f"{_P}g{len(groups)}"
                    def_text.append(f'<g id="{gid}">' + "".join(elements[i] for i in run)
                                    + "</g>")
                out.append(f'<use href="#{gid}"/>')
            run.clear()

        for i in seq:
            if run and members[i] != members[run[-1]]:
                flush()
            run.append(i)
        flush()
        frames.append(out)
    css = "".join(f".{name}{{{value}}}" for value, name in styles.items())
    digest = hashlib.sha256("".join(def_text + [x for f in frames for x in f] + [css]).encode())
    prefix = "c" + digest.hexdigest()[:7] + "-"
    fix = lambda s: s.replace(_P, prefix)  # noqa: E731
    width, height, view_box = size
    return Deck(width, height, view_box, prefix[:-1], [fix(d) for d in def_text],
                [[fix(x) for x in f] for f in frames], fix(css))


def write_svg(d: Deck, path: Path, delay_ms: int) -> None:
    """One SVG animated by CSS keyframes: frame n is visible for ``delay_ms`` in each loop.

    Each frame has its own keyframes (hidden, visible in its slot, hidden) and no
    delay, so a loop never drifts; without CSS animation only the last frame shows.
    """
    n = len(d.frames)
    total = n * delay_ms
    p = d.prefix
    css = [d.css, f".{p}-f{{visibility:hidden;animation:{total}ms step-end infinite}}",
           f".{p}-f.{p}-last{{visibility:visible}}"]
    for i in range(n):
        a, b = 100 * i / n, 100 * (i + 1) / n
        keys = [f"{a:.4g}%{{visibility:visible}}"] if i == 0 else \
            [f"0%{{visibility:hidden}}", f"{a:.4g}%{{visibility:visible}}"]
        if i < n - 1:
            keys.append(f"{b:.4g}%{{visibility:hidden}}")
        css.append(f"@keyframes {p}-k{i}{{{''.join(keys)}}}")
        css.append(f".{p}-n{i}{{animation-name:{p}-k{i}}}")
    parts = [f'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="{SVG_NS}" '
             f'width="{d.width}" height="{d.height}" '
             f'viewBox="{d.view_box}">\n<style>{"".join(css)}</style>\n<defs>',
             *d.defs, "</defs>\n"]
    for i, frame in enumerate(d.frames):
        last = f" {p}-last" if i == n - 1 else ""
        parts.append(f'<g class="{p}-f {p}-n{i}{last}">' + "".join(frame) + "</g>\n")
    parts.append("</svg>\n")
    path.write_text("".join(parts), encoding="utf-8")


def write_html(d: Deck, path: Path, delay_ms: int, captions: list[str], title: str,
               background: str, transparent: bool = False,
               labels: list[str] | None = None) -> None:
    """The player, from ``convanim/templates/player.html.j2`` (Jinja with HTML autoescape).

    ``captions``: the line shown under each frame; ``labels``: each frame's text
    alternative (its aria-label), the caption where not given.

    ``background`` is the figure's page colour (hex). The file's own page takes it,
    with text that contrasts with it (a dark theme gets light text), unless the
    figure is ``transparent``; pasted into another page, the player inherits that
    page's colours.
    """
    import jinja2
    from markupsafe import Markup

    from ..tex import template_dir
    from ..theme import luminance

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                             autoescape=True, trim_blocks=True, lstrip_blocks=True)
    _, _, vw, vh = (float(v) for v in d.view_box.split())
    page = "" if transparent else \
        f"background:#{background};color:{'#002B36' if luminance(background) > 0.2 else '#FDF6E3'};"
    html = env.get_template("player.html.j2").render(
        deck=d, defs=Markup("".join(d.defs)), css=Markup(d.css),
        frames=[Markup("".join(f)) for f in d.frames], delay_ms=delay_ms,
        captions=captions, labels=labels or captions, title=title, page=page,
        aspect=f"{vw / vh:.4f}",
        background="transparent" if transparent else f"#{background}")
    path.write_text(html, encoding="utf-8")


def player_size(page: str) -> tuple[int, int]:
    """CSS pixels an iframe needs for a player page (its text): the first frame's size
    (in pt) plus room for the controls and the caption below it."""
    import re

    m = re.search(r'<svg[^>]*?width="([\d.]+)pt"[^>]*?height="([\d.]+)pt"', page)
    w, h = (float(m.group(1)), float(m.group(2))) if m else (300.0, 300.0)
    width = max(round(w * 4 / 3) + 40, 320)
    # the frame fills the stage's width (the iframe's, less 2 x 6 px of padding), so it
    # is drawn taller than its natural size in the same proportion
    return width, round(h / w * (width - 12)) + 170
