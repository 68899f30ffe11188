"""The diverging fill: a cell's colour follows its value, blue above zero, red below.

Levels, not a continuous ramp: ``LEVELS`` tints a side, each a colour the template
defines once (``cvvpos3``), so a figure with a thousand cells still has a few dozen
colours. The strongest tint of each theme is the strongest on which the theme's text
keeps a WCAG contrast of 4.5:1, under the kernel window's shadow too, so a number
stays legible on any fill.
"""
from __future__ import annotations

import math

from .theme import BLUE, RED, contrast, mix, palette, under_window

LEVELS = 8
MIN_CONTRAST = 4.5


def _strongest(accent: str, colors: dict, theme: str) -> float:
    """The largest tint of ``accent`` on the background that text still reads on,
    shadowed by the window or not."""
    def legible(fill: str) -> bool:
        return min(contrast(colors["text"], fill),
                   contrast(colors["text"], under_window(theme, fill))) >= MIN_CONTRAST

    t = 0.8
    while t > 0.1 and not legible(mix(accent, colors["background"], t)):
        t -= 0.02
    return t


def colours(theme: str) -> dict[str, str]:
    """``vzero`` and ``vpos1``..``vposN``, ``vneg1``..``vnegN`` for the theme."""
    colors = palette(theme)
    out = {"vzero": colors["background"]}
    for side, accent in (("pos", BLUE), ("neg", RED)):
        top = _strongest(accent, colors, theme)
        for n in range(1, LEVELS + 1):
            out[f"v{side}{n}"] = mix(accent, colors["background"], top * n / LEVELS)
    return out


def level(value: float, bound: float) -> str:
    """The fill of ``value`` on a scale of ``-bound .. bound``."""
    if value == 0 or bound <= 0:
        return "vzero"
    n = min(LEVELS, max(1, math.ceil(abs(value) / bound * LEVELS - 1e-9)))
    return f"v{'pos' if value > 0 else 'neg'}{n}"


def bound(*arrays) -> float:
    """The scale's end: the largest magnitude shown (1 where everything is zero)."""
    import numpy as np

    m = max((float(np.max(np.abs(a))) for a in arrays if np.size(a)), default=0.0)
    return m if m > 0 else 1.0


def legend() -> list[str]:
    """The key's swatches, most negative to most positive."""
    return ([f"vneg{n}" for n in range(LEVELS, 0, -1)] + ["vzero"]
            + [f"vpos{n}" for n in range(1, LEVELS + 1)])
