"""A layout lint for a figure's PDF (issue 31): what a reader sees at a glance.

``lint(pdf_path, page=0)`` reads one page's words and stroked paths with PyMuPDF and
returns one human-readable line per fault (an empty list: the page is clean). PyMuPDF
walks the page's Form XObjects too (our figures draw grids, labels and frames inside
forms), so what it reads is what is painted; the clip of each form (its BBox) and of
each ``\\clip`` is applied to the strokes inside it (as its bounding rectangle).

The rules (all lengths in PDF points, 1/72 in):

* **Words.** A word is a run of non-space characters on one text line, as MuPDF groups
  them; a subscript or superscript set right after its base (``a`` + ``13``) belongs to
  the base's word. Its box is the union of its characters' boxes, read with
  ``TEXT_ACCURATE_BBOXES``: from the glyphs' outlines vertically (the ink, not the
  font's ascender to descender), the advance widths sideways. Each box is then *shrunk*
  by ``INSET`` (15 %) of its height on every side (sideways by at most a quarter of its
  width): a border that touches a label, or a baseline rule under it, is fine.
* **Stroke through a word**: the centre line of a stroked segment (a line, each edge of
  a rectangle or quad, a Bézier curve as ``CURVE_STEPS`` chords), after clipping, meets
  a word's shrunk box. Filled-only paths, and strokes with no colour or zero opacity, do
  not count.
* **Words overlap**: the shrunk boxes of two words intersect in more than ``OVERLAP``
  (20 %) of the smaller one's area; except a *script on its base*: a word set in a size
  below ``SCRIPT`` (0.8) of the other's and whose centre sits at least ``SCRIPT_SHIFT``
  (15 %) of the larger word's height above or below the other's (limits stacked on
  Σ, a script that MuPDF put on a line of its own).
* **Text outside the page**: a word's shrunk box reaches more than ``SLACK`` (0.5 pt)
  beyond the page (its crop box).
* **Page too tall**: placed in a ``width_cm`` column (16 cm: a one-column paper's text
  width), shrunk to it if wider and never enlarged (as the legibility yardstick places
  it), the page is taller than ``HEIGHT_CM`` (22 cm): it must fit 16 × 22 cm. A figure
  laid out for another column (``--width 8.25``) is checked in that column:
  ``lint(pdf, width_cm=8.25)`` asks that it fit 8.25 × 22 cm.

Faults are reported as e.g. ``stroke through 'a13' at (120.4, 88.0)``, ``words 'w0,1'
and '...' overlap at (30.2, 41.5)`` (``\\vdots`` reads as three full stops), ``text
outside the page: 'x' at (…)``, ``page 15.3 x 27.7 cm: taller than 22 cm at 16 cm
wide``; a word crossed by several strokes is reported once. Coordinates are PDF points
from the page's top left.

Not checked here: words that come close without overlapping (alphabet's ``⋮`` sits
1.8 pt above the next entry), a label that fills its cell edge to edge, a stroke that
only touches a word, font sizes, colours and contrast.
"""
from __future__ import annotations

from dataclasses import dataclass

import pymupdf

INSET = 0.15          # of a word box's height, shrunk off every side
OVERLAP = 0.20        # of the smaller word's (shrunk) area
SCRIPT = 0.8          # font size ratio below which a word may be a script
SCRIPT_SHIFT = 0.15   # of the larger word's height: a script's vertical offset
SLACK = 0.5           # pt a word may reach beyond the page
CURVE_STEPS = 8       # chords per Bézier curve
WIDTH_CM, HEIGHT_CM = 16.0, 22.0
PT_PER_CM = 72 / 2.54


@dataclass
class Word:
    text: str
    size: float                                  # the largest font size in the word
    box: tuple[float, float, float, float]       # x0, y0, x1, y1, as MuPDF gives it
    inner: tuple[float, float, float, float]     # the box shrunk by INSET

    @property
    def centre(self) -> tuple[float, float]:
        x0, y0, x1, y1 = self.box
        return (x0 + x1) / 2, (y0 + y1) / 2


def _shrunk(box):
    x0, y0, x1, y1 = box
    dy = INSET * (y1 - y0)
    dx = min(dy, 0.25 * (x1 - x0))
    return x0 + dx, y0 + dy, x1 - dx, y1 - dy


def words(page) -> list[Word]:
    """The page's words (see the module's rules), from MuPDF's characters."""
    out = []
    raw = page.get_text("rawdict", flags=pymupdf.TEXT_PRESERVE_WHITESPACE
                        | pymupdf.TEXT_PRESERVE_LIGATURES | pymupdf.TEXT_ACCURATE_BBOXES,
                        clip=pymupdf.INFINITE_RECT())  # text off the page too
    for block in raw["blocks"]:
        for line in block.get("lines", []):
            current: list[tuple[str, float, tuple]] = []
            chars = [(c["c"], span["size"], c["bbox"]) for span in line["spans"]
                     for c in span["chars"]]
            for ch in chars + [(" ", 0.0, None)]:
                if ch[0].isspace():
                    if current:
                        box = (min(c[2][0] for c in current), min(c[2][1] for c in current),
                               max(c[2][2] for c in current), max(c[2][3] for c in current))
                        out.append(Word("".join(c[0] for c in current),
                                        max(c[1] for c in current), box, _shrunk(box)))
                    current = []
                else:
                    current.append(ch)
    return out


def _bezier(p0, p1, p2, p3, steps=CURVE_STEPS):
    pts = []
    for i in range(steps + 1):
        t = i / steps
        u = 1 - t
        pts.append((u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                    u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1]))
    return list(zip(pts, pts[1:]))


def _segments(item) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """The straight pieces of one drawing item (PyMuPDF's 'l', 're', 'qu', 'c')."""
    kind = item[0]
    if kind == "l":
        return [(tuple(item[1]), tuple(item[2]))]
    if kind == "c":
        return _bezier(*(tuple(p) for p in item[1:5]))
    if kind == "re":
        r = item[1]
        corners = [(r.x0, r.y0), (r.x1, r.y0), (r.x1, r.y1), (r.x0, r.y1)]
    elif kind == "qu":
        q = item[1]
        corners = [tuple(q.ul), tuple(q.ur), tuple(q.lr), tuple(q.ll)]
    else:
        return []
    return list(zip(corners, corners[1:] + corners[:1]))


def _clip(seg, rect):
    """The part of a segment inside a rectangle (Liang–Barsky), or None."""
    (x0, y0), (x1, y1) = seg
    rx0, ry0, rx1, ry1 = rect
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - rx0), (dx, rx1 - x0), (-dy, y0 - ry0), (dy, ry1 - y0)):
        if p == 0:
            if q < 0:
                return None
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return None
    return (x0 + lo * dx, y0 + lo * dy), (x0 + hi * dx, y0 + hi * dy)


def strokes(page) -> list[tuple[tuple[float, float], tuple[float, float]]]:
    """Every visible stroked segment of the page, forms included, clipped to its clips."""
    out = []
    clips: dict[int, tuple] = {}   # nesting level -> the clip rectangle in force there
    for path in page.get_drawings(extended=True):
        level = path.get("level", 0) or 0
        if path["type"] == "clip":
            rect = tuple(path["scissor"])
            parent = [clips[k] for k in clips if k < level]
            for p in parent:
                rect = (max(rect[0], p[0]), max(rect[1], p[1]),
                        min(rect[2], p[2]), min(rect[3], p[3]))
            clips = {k: v for k, v in clips.items() if k < level}
            clips[level] = rect
            continue
        if path["type"] == "group":
            continue
        clips = {k: v for k, v in clips.items() if k < level}
        if "s" not in path["type"] or path.get("color") is None \
                or (path.get("stroke_opacity") is not None and path["stroke_opacity"] <= 0):
            continue
        for item in path["items"]:
            for seg in _segments(item):
                for rect in clips.values():
                    seg = _clip(seg, rect) if seg else None
                if seg:
                    out.append(seg)
    return out


def _area(box) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _intersection(a, b):
    return max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])


def _is_script(a: Word, b: Word) -> bool:
    """Is one of the two a script set on the other (smaller and shifted up or down)?"""
    small, big = (a, b) if a.size < b.size else (b, a)
    if small.size >= SCRIPT * big.size:
        return False
    shift = abs(small.centre[1] - big.centre[1])
    return shift >= SCRIPT_SHIFT * (big.box[3] - big.box[1])


def _fmt(x: float, y: float) -> str:
    return f"({x:.1f}, {y:.1f})"


def lint(pdf_path, page: int = 0, width_cm: float = WIDTH_CM) -> list[str]:
    """One line per layout fault of a PDF page (see the module's rules); [] if clean.
    ``width_cm``: the column the figure is drawn for; the page, scaled to it, must be at
    most 22 cm tall."""
    with pymupdf.open(str(pdf_path)) as doc:
        pg = doc[page]
        rect = pg.rect
        ws = [w for w in words(pg) if _area(w.inner) > 0]
        segs = strokes(pg)
    problems = []
    for w in ws:
        for seg in segs:
            hit = _clip(seg, w.inner)
            if hit:
                (ax, ay), (bx, by) = hit
                problems.append(f"stroke through {w.text!r} at {_fmt((ax + bx) / 2, (ay + by) / 2)}")
                break
    for i, a in enumerate(ws):
        for b in ws[i + 1:]:
            common = _intersection(a.inner, b.inner)
            if _area(common) > OVERLAP * min(_area(a.inner), _area(b.inner)) \
                    and not _is_script(a, b):
                problems.append(f"words {a.text!r} and {b.text!r} overlap at "
                                f"{_fmt((common[0] + common[2]) / 2, (common[1] + common[3]) / 2)}")
    for w in ws:
        x0, y0, x1, y1 = w.inner
        if x0 < rect.x0 - SLACK or y0 < rect.y0 - SLACK or x1 > rect.x1 + SLACK \
                or y1 > rect.y1 + SLACK:
            problems.append(f"text outside the page: {w.text!r} at {_fmt(*w.centre)}")
    w_cm, h_cm = rect.width / PT_PER_CM, rect.height / PT_PER_CM
    placed = h_cm * min(1.0, width_cm / w_cm)  # shrunk to the column, never enlarged
    if placed > HEIGHT_CM:
        problems.append(f"page {w_cm:.1f} x {h_cm:.1f} cm: taller than {HEIGHT_CM:g} cm at "
                        f"{width_cm:g} cm wide ({placed:.1f} cm)")
    return problems


def summary(problems: list[str], most: int = 3) -> str:
    """A short reason for a list of faults: the kinds of fault, with the first few."""
    return "; ".join(problems[:most]) + (f"; … ({len(problems)} in all)"
                                         if len(problems) > most else "")
