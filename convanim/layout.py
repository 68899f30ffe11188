"""Laying a figure out for the width asked (--width, --column).

A template measures the arrangements it can draw (panels beside the matrix, the matrix
below, the panels in a row...; channels measures its arrangements in Python, in
scenes/channels_layout.py) and :func:`arrange` picks the first that fits: text at
least 5 pt once the page is scaled to the width, and the page at most 22 cm tall.
When none fits, the figure is drawn in the one that comes closest and :func:`warning`
says so in one line, measured on the page TeX actually made.
"""
from __future__ import annotations

#: The smallest text a reader should be given, and the height of a paper's text block.
MIN_TEXT_PT = 5.0
PAGE_HEIGHT_CM = 22.0
#: Each kind's smallest text at its natural size, in pt, as poppler measures a word: the
#: 7 pt subscripts (6.2), numerical's 8 pt numbers (7.1; channels too, whose subscripts are
#: 8 pt when a width is asked), arithmetic's labels (8.0).
SMALLEST_TEXT_PT = {"numerical": 7.1, "arithmetic": 8.0, "channels": 7.1}
SUBSCRIPT_PT = 6.2
#: Widths -y tex reads when LaTeX runs, and the paper column each is laid out for (cm).
TEX_WIDTHS = {"columnwidth": 8.25, "textwidth": 16.0}
#: The page's border on each side (base.tex.j2's \cvborder), in cm.
BORDER_CM = 4 / 72.27 * 2.54


def smallest_text(kind: str) -> float:
    return SMALLEST_TEXT_PT.get(kind, SUBSCRIPT_PT)


def fit(kind: str, width_cm: float | None) -> dict | None:
    """What a template lays out against: the widest natural drawing (cm) whose text stays
    >= 5 pt at ``width_cm``, and the tallest height per unit of width that keeps the page
    within 22 cm. None: no width asked, the natural layout."""
    if width_cm is None:
        return None
    inner = width_cm - 2 * BORDER_CM
    return {"width": inner * smallest_text(kind) / MIN_TEXT_PT,
            "aspect": (PAGE_HEIGHT_CM - 2 * BORDER_CM) / inner}


def arrange(candidates: list[dict], budget: dict | None) -> dict:
    """The first candidate (dicts with ``width`` and ``height`` in cm, in the template's
    order of preference) that fits ``budget`` (see :func:`fit`); without a budget the
    first; when none fits, the one that needs the least shrinking beyond it. A single
    candidate (a sequence's one layout) is taken as it is, measured or not."""
    if budget is None or len(candidates) == 1:
        return candidates[0]

    def excess(c: dict) -> float:
        return max(c["width"] / budget["width"], c["height"] / (c["width"] * budget["aspect"]))

    for c in candidates:
        if excess(c) <= 1.0:
            return c
    return min(candidates, key=excess)


def warning(kind: str, natural_pt: tuple[float, float], width_cm: float) -> str | None:
    """One line when the page TeX drew (natural size ``natural_pt``, TeX points) scaled
    to ``width_cm`` has text under 5 pt or is taller than 22 cm; else None."""
    w, h = natural_pt
    if w <= 0:
        return None
    inner_pt = (width_cm - 2 * BORDER_CM) / 2.54 * 72.27
    scale = inner_pt / w
    text = smallest_text(kind) * scale
    height_cm = h * scale / 72.27 * 2.54 + 2 * BORDER_CM
    faults = []
    if text < MIN_TEXT_PT - 0.05:
        faults.append(f"its smallest text is {text:.1f} pt (under {MIN_TEXT_PT:g} pt)")
    if height_cm > PAGE_HEIGHT_CM + 0.05:
        faults.append(f"it is {height_cm:.1f} cm tall (over {PAGE_HEIGHT_CM:g} cm)")
    if not faults:
        return None
    return (f"convanim: warning: at --width {width_cm:g} cm {' and '.join(faults)}; a "
            f"smaller figure (-i, -k) or a wider column would keep it legible")
