"""The figures' colours and the design language every kind draws with.

Themes: print (the default: a white page, saturated fills in the spirit of the classic
convolution-arithmetic figures), Solarized light and Solarized dark. Every colour a
template uses is named here by what it marks, so the rules below are checked from the
values themselves (tests/test_look.py, tests/test_legible.py, tests/test_window.py).

The design language (every kind, every theme):

- **Cell kinds.** Input ("data", blue), output (cyan), output padding ("outpad",
  orange), a padding cell holding a copy of an input cell ("copy", blue-grey, the
  copied cell's name with --copies), inserted zeros (pale grey in print and light,
  near the page in dark) and zero padding (the page's own colour). Each kind also has
  an edge pattern that survives greyscale (scenes.grid_lines): input solid; padding,
  output padding and copies dashed; inserted zeros dotted. ``PATTERNS`` names them.
- **Contrast rule.** Two kinds on one canvas (and each kind against the page) are told
  apart by luminance, >= 3:1 (WCAG), or, where luminance cannot do it while every
  number keeps >= 4.5:1 on its fill, by their different edge patterns. ``TOLD_APART``
  says which pairs hold which rule in each theme. Luminance cannot separate fills
  from each other: the text band (>= 4.5:1 with the text) and the page band (>= 3:1
  from the page) leave room for one step, so input, output, output padding and copies
  share one luminance 3:1 from the page (``KIND_LUMINANCE``), inserted zeros and zero
  padding sit near the page, and patterns tell those apart.
- **Window.** The kernel window is a shadow: a translucent darkening (the colour
  "window" at opacity ``WINDOW_OPACITY``, PDF's normal blend, so a shadowed fill is
  exactly ``under_window(theme, fill)``) over each tap, below the grid lines and the
  numbers, with a 1.6 pt outline. Every cell keeps its own fill under it (kind,
  value colour, group colour), tapped cells stand out from untapped ones
  (``TAP_CONTRAST``), and text keeps >= 4.5:1 on the shadowed fills too. The output
  cell a step writes takes the same shadow. A translucent overlay rather than one
  mixed colour per fill: one drawing works over every fill a figure can have (value
  levels, group tints, future kinds) and a template need not know what lies under a
  tap. Taps that do not count (the gradient phase's inserted zeros of dY) get the
  outline only.
- **Highlight.** "current" (goldenrod) marks a matrix row or column and the step's
  cell where a kind highlights rather than shadows; it stands >= 1.5:1 from every fill
  it can sit on (``HIGHLIGHTED_AGAINST``).
- **Labels.** Text and muted text (zeros) keep >= 4.5:1 on every fill, shadowed or not.
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


# Solarized (Ethan Schoonover)
BASE03, BASE02, BASE1, BASE2, BASE3 = "002B36", "073642", "93A1A1", "EEE8D5", "FDF6E3"
YELLOW, ORANGE, BLUE, CYAN = "B58900", "CB4B16", "268BD2", "2AA198"
MAGENTA, GREEN, VIOLET, RED = "D33682", "859900", "6C71C4", "DC322F"
#: The accents that tell the groups of a channels figure apart, in order: group 0 is
#: the plain data blue; yellow, the current-step highlight's hue, comes last.
GROUP_ACCENTS = (BLUE, MAGENTA, GREEN, ORANGE, VIOLET, CYAN, RED, YELLOW)

WHITE, BLACK = "FFFFFF", "000000"
GOLDENROD = "B8860B"

#: The luminance of the filled kinds (input, output, output padding, copies, group
#: tints): >= 3:1 from the page while the text keeps >= 4.5:1 on them and on their
#: shadow. Light's text is black, not base03: with base03 text on base3 no luminance
#: is both (a fill needs >= .265 for the text and <= .274 for the page).
KIND_LUMINANCE = {"print": .295, "light": .268, "dark": .164}
#: Inserted zeros: a neutral grey near the page's luminance (apart from it by their
#: dotted edges and, on dark's teal page, by hue), >= 1.5:1 from the highlight.
INSERTED_LUMINANCE = {"print": .84, "light": .76, "dark": .027}
#: The highlight ("current"): >= 1.5:1 from the page, the kinds and inserted zeros.
CURRENT_LUMINANCE = {"print": .53, "light": .45, "dark": .07}
_HUES = {  # the hue of each filled kind, before it is set to its theme's luminance
    "print": {"data": "2F8FE0", "output": "1FB4C8", "outpad": "F08A3C", "copy": "8FA3B8",
              "current": GOLDENROD},
    "light": {"data": BLUE, "output": CYAN, "outpad": ORANGE, "copy": "7F96A8",
              "current": YELLOW},
    "dark": {"data": BLUE, "output": CYAN, "outpad": ORANGE, "copy": "6F8796",
             "current": YELLOW},
}
_PAGE = {
    "print": {"background": WHITE, "text": BLACK, "muted": "111111", "line": BLACK},
    "light": {"background": BASE3, "text": BLACK, "muted": "111111", "line": BASE03},
    "dark": {"background": BASE03, "text": BASE3, "muted": BASE3, "line": BASE1},
}

PALETTES: dict[str, dict[str, str]] = {}
for _theme, _page in _PAGE.items():
    _p = dict(_page)
    _p["padding"] = _p["background"]
    for _kind in ("data", "output", "outpad", "copy"):
        _p[_kind] = at_luminance(_HUES[_theme][_kind], KIND_LUMINANCE[_theme])
    _p["entry"] = _p["data"]
    _p["inserted"] = at_luminance("C8C8C8", INSERTED_LUMINANCE[_theme])  # a neutral grey
    _p["current"] = at_luminance(_HUES[_theme]["current"], CURRENT_LUMINANCE[_theme])
    # Per group of a channels figure: a tint at the kinds' luminance for its cells, the
    # full accent for its outlines and names.
    for _g, _accent in enumerate(GROUP_ACCENTS):
        _p[f"group{_g}"] = at_luminance(mix(_accent, _p["background"], .5),
                                        KIND_LUMINANCE[_theme])
        _p[f"groupline{_g}"] = _accent
    PALETTES[_theme] = _p

GROUPS = len(GROUP_ACCENTS)
GROUP_FILLS = tuple(f"group{g}" for g in range(GROUPS))
#: Fills a cell can have; text and the highlight are checked against each.
FILLS = ("background", "data", "padding", "inserted", "outpad", "output", "entry", "copy",
         "current", *GROUP_FILLS)
#: Kinds the current-step highlight must stand out from.
HIGHLIGHTED_AGAINST = ("background", "data", "padding", "inserted", "outpad", "output",
                       "entry", *GROUP_FILLS)

# --- the window ----------------------------------------------------------------------------

#: The shadow's opacity (base.tex.j2's `shadow` style writes this number).
WINDOW_OPACITY = 0.4
#: Tapped vs untapped, the same fill: the least WCAG contrast of any fill a tap can lie on.
TAP_CONTRAST = 1.15
#: The fills the shadow lies on and text sits on, beside the value levels (shading.py).
SHADOWED = ("data", "padding", "inserted", "outpad", "copy", "output", *GROUP_FILLS)


def under_window(theme: str, fill: str) -> str:
    """The colour a hex ``fill`` shows under the window's shadow in ``theme``."""
    return mix(PALETTES[theme]["window"], fill, WINDOW_OPACITY)


def _window(theme: str) -> str:
    """The darkest grey whose shadow leaves text >= 4.5:1 on every shadowed kind (dark:
    black, which only deepens the contrast of its light text)."""
    p = PALETTES[theme]
    if theme == "dark":
        return BLACK

    def legible(grey: str) -> bool:
        return all(contrast(p[t], mix(grey, p[f], WINDOW_OPACITY)) >= 4.5
                   for t in ("text", "muted") for f in SHADOWED)

    # legibility only grows as the grey lightens: the first legible one, by bisection
    lo, hi = 0, 255
    if not legible("FFFFFF"):
        raise AssertionError(theme)
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if legible(f"{mid:02X}" * 3) else (mid + 1, hi)
    return f"{lo:02X}" * 3


for _theme in THEMES:
    PALETTES[_theme]["window"] = _window(_theme)

# --- telling kinds apart ------------------------------------------------------------------

#: Each kind's edge pattern (scenes.grid_lines): what tells it apart where luminance does
#: not. Output planes stand alone; copies and output padding never share a canvas (a
#: transposed conv pads with zeros only).
PATTERNS = {"background": "none", "data": "solid", "padding": "dashed", "copy": "dashed",
            "outpad": "dashed", "inserted": "dotted", "output": "solid"}
#: Pairs of kinds on one canvas (or against the page): "luminance" (>= 3:1) or
#: "pattern" (their edge patterns differ), the same in every theme.
TOLD_APART = {
    ("background", "data"): "luminance",
    ("background", "outpad"): "luminance", ("background", "copy"): "luminance",
    ("background", "padding"): "pattern", ("background", "inserted"): "pattern",
    ("padding", "data"): "luminance", ("padding", "outpad"): "luminance",
    ("padding", "copy"): "luminance", ("padding", "inserted"): "pattern",
    ("data", "inserted"): "pattern", ("data", "outpad"): "pattern",
    ("data", "copy"): "pattern", ("inserted", "outpad"): "pattern",
    ("inserted", "copy"): "pattern",
}

# --- the kernel window's fills by kind, for tex.kinds_at -------------------------------------

#: The kinds of cell a tap can lie on, beside real input.
SEE_THROUGH = ("padding", "inserted", "outpad")
#: Every tap takes the same shadow now; tex.kinds_at still reads which kinds exist.
TAP_FILLS = {"data": "window", **{k: "window" for k in SEE_THROUGH}}


#: What the colours of the default (print) theme mark, in words: the index page's legend
#: (tests/test_legible.py checks each colour's name against its hue).
LEGEND = ("blue: input, cyan: output, white with dashed edges: padding, grey with dotted "
          "edges: inserted zeros, orange: output padding, dark shadow with a thick "
          "outline: the kernel window (each cell's colour shows through), goldenrod: the "
          "highlighted row or column")


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
