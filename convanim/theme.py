"""The figures' colours: print (the default), Solarized light and Solarized dark.

Every colour a template uses is named here, by what it marks, so the contrast
rules of a publishable figure can be checked from the values themselves
(tests/test_look.py, tests/test_legible.py): the current-step highlight stands out
from every kind of cell in greyscale too (WCAG luminance contrast >= 1.5:1), and text
keeps >= 4.5:1 on every fill it can sit on. Cells are filled with solid colours, never
translucent overlays, so what a reader sees is exactly these values.

"print" is for papers: a white page and saturated fills in the spirit of the classic
convolution-arithmetic figures (blue input, cyan output, a goldenrod window) that
stay apart when printed in greyscale. The kernel window is see-through: a tap over
padding, over an inserted zero or over output padding takes the highlight mixed
with that cell's own fill ("currentpadding", ...), so the reader sees which taps land
on real input, and each stays apart from the others in greyscale.
"""
from __future__ import annotations

THEMES = ("print", "light", "dark")


def mix(a: str, b: str, t: float) -> str:
    """``t`` of hex colour ``a`` over ``1 - t`` of ``b`` (a tint of ``a`` on ``b``)."""
    return "".join(f"{round(t * int(a[i:i + 2], 16) + (1 - t) * int(b[i:i + 2], 16)):02X}"
                   for i in (0, 2, 4))


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a hex colour."""
    def linear(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(colour[i:i + 2], 16)) for i in (0, 2, 4))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


# Solarized (Ethan Schoonover)
BASE03, BASE02, BASE1, BASE2, BASE3 = "002B36", "073642", "93A1A1", "EEE8D5", "FDF6E3"
YELLOW, ORANGE, BLUE, CYAN = "B58900", "CB4B16", "268BD2", "2AA198"
MAGENTA, GREEN, VIOLET, RED = "D33682", "859900", "6C71C4", "DC322F"
#: The accents that tell the groups of a channels figure apart, in order: group 0 is
#: the plain data blue; yellow, the current-step highlight's hue, comes last.
GROUP_ACCENTS = (BLUE, MAGENTA, GREEN, ORANGE, VIOLET, CYAN, RED, YELLOW)

WHITE, BLACK = "FFFFFF", "000000"
GOLDENROD = "B8860B"

PALETTES = {
    "print": {
        "background": WHITE, "text": BLACK, "muted": "262626", "line": BLACK,
        "data": "86B6E8", "padding": WHITE, "inserted": "DCDCDC",
        "outpad": "F8B98A", "output": "9ED9E3",
        "entry": "86B6E8", "current": GOLDENROD, "copy": mix("86B6E8", WHITE, .45),
    },
    "light": {
        "background": BASE3, "text": BASE03, "muted": "2E3C42", "line": BASE03,
        "data": mix(BLUE, BASE3, .22), "padding": BASE3, "inserted": BASE2,
        "outpad": mix(ORANGE, BASE3, .2), "output": mix(CYAN, BASE3, .25),
        "entry": mix(BLUE, BASE3, .22), "current": mix(YELLOW, BASE3, .72),
        "copy": mix(BLUE, BASE3, .1),
    },
    "dark": {
        "background": BASE03, "text": BASE3, "muted": BASE2, "line": BASE1,
        "data": mix(BLUE, BASE03, .25), "padding": BASE03, "inserted": "0E3D47",
        "outpad": mix(ORANGE, BASE03, .18), "output": mix(CYAN, BASE03, .24),
        "entry": mix(BLUE, BASE03, .25), "current": mix(YELLOW, BASE03, .55),
        "copy": mix(BLUE, BASE03, .16),
    },
}
#: The kinds of cell a tap of the kernel window can lie on, beside real input ("data",
#: whose tap is "current" itself).
SEE_THROUGH = ("padding", "inserted", "outpad")
#: A tap over each of them: the highlight's hue at this luminance, between the highlight
#: and the cell's own fill, so it stands out from its untapped neighbours (>= 1.5:1) and
#: the taps over different kinds stay apart in greyscale (>= 1.1:1, each kind also
#: keeping its own outline: solid, dashed, dotted).
_TAP_LUMINANCE = {
    "print": {"outpad": .32, "inserted": .40, "padding": .55},
    "light": {"outpad": .44, "inserted": .51, "padding": .59},
    "dark": {"outpad": .081, "inserted": .098, "padding": .062},
}


def at_luminance(colour: str, target: float) -> str:
    """``colour`` mixed with white or black to the relative luminance ``target``."""
    other = "FFFFFF" if target > luminance(colour) else "000000"
    lo, hi = 0.0, 1.0  # share of ``other``
    for _ in range(30):
        t = (lo + hi) / 2
        if (luminance(mix(other, colour, t)) < target) == (other == "FFFFFF"):
            lo = t
        else:
            hi = t
    return mix(other, colour, (lo + hi) / 2)


# The Solarized highlights a shade deeper than a plain tint, to leave room for the taps.
PALETTES["light"]["current"] = at_luminance(YELLOW, .37)
PALETTES["dark"]["current"] = at_luminance(YELLOW, .135)
for _theme, _targets in _TAP_LUMINANCE.items():
    for _kind in SEE_THROUGH:
        PALETTES[_theme][f"current{_kind}"] = at_luminance(PALETTES[_theme]["current"],
                                                           _targets[_kind])
#: The fill of a tap over each kind of cell.
TAP_FILLS = {"data": "current", **{k: f"current{k}" for k in SEE_THROUGH}}
# Per group of a channels figure: a tint for its cells (as pale as "data", so text and
# the highlight keep their contrast) and the full accent for its outlines and names.
for _theme, _bg, _t in (("print", WHITE, .3), ("light", BASE3, .22), ("dark", BASE03, .25)):
    for _g, _accent in enumerate(GROUP_ACCENTS):
        PALETTES[_theme][f"group{_g}"] = mix(_accent, _bg, _t)
        PALETTES[_theme][f"groupline{_g}"] = _accent
GROUPS = len(GROUP_ACCENTS)
#: Fills a cell can have; text and the highlight are checked against each.
GROUP_FILLS = tuple(f"group{g}" for g in range(GROUPS))
FILLS = ("background", "data", "padding", "inserted", "outpad", "output", "entry", "copy",
         "current", *(f"current{k}" for k in SEE_THROUGH), *GROUP_FILLS)
#: Kinds the current-step highlight must stand out from.
HIGHLIGHTED_AGAINST = ("data", "padding", "inserted", "outpad", "output", "entry",
                       *GROUP_FILLS)


#: What the colours of the default (print) theme mark, in words: the index page's legend
#: (tests/test_legible.py checks each colour's name against its hue).
LEGEND = ("blue: input, cyan: output, white with dashed edges: padding, grey with dotted "
          "edges: inserted zeros, orange: output padding, goldenrod: the kernel window's "
          "taps (paler over padding and zeros)")


def palette(theme: str = "print") -> dict[str, str]:
    return PALETTES[theme]


# Highlights of the matrix kinds (#31)
#: A highlighted row or column of a matrix (alphabet, im2col): its non-zero entries take
#: "hientry", a deep shade of the highlight, and its zeros "hizero", a pale one, so zero
#: and non-zero stay >= 3:1 apart inside it while text keeps >= 4.5:1 on both; the row
#: also keeps an outline. Luminances per theme (dark: light text, so the zeros go dark).
_HIGHLIGHT_LUMINANCE = {"print": (.2, .8), "light": (.27, .935), "dark": (.163, .018)}
for _theme, (_entry, _zero) in _HIGHLIGHT_LUMINANCE.items():
    PALETTES[_theme]["hientry"] = at_luminance(YELLOW if _theme != "print" else GOLDENROD, _entry)
    PALETTES[_theme]["hizero"] = at_luminance(YELLOW if _theme != "print" else GOLDENROD, _zero)
#: The fills of a highlighted row's entries: non-zero and zero.
HIGHLIGHT_FILLS = ("hientry", "hizero")
