"""Clean on paper and screen (issue 19): labels inside their cells, a see-through kernel
window, a print default that survives greyscale, figures laid out for the width asked.
Measured on real PDFs with poppler where a label's place matters, and on the palette's
own values for colours."""
from __future__ import annotations

import colorsys
import os
import re
import subprocess
import sys

import pytest

from convanim import tex, theme
from convanim.scenes.arithmetic import Arithmetic, ArithmeticOptions
from convanim.scenes.channels import Channels, ChannelsOptions
from convanim.scenes.numerical import Numerical, NumericalOptions
from convanim.spec import ConvSpec

from helpers import fill_paths

PT_PER_CM = 72 / 2.54
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">'
                  r'([^<]*)</word>')


def words(tmp_path, *args) -> list[tuple[float, float, float, float, str]]:
    env = dict(os.environ)  # the session's preamble format, a private cache (conftest)
    r = subprocess.run([sys.executable, "-m", "convanim", *args, "-y", "pdf", "fig", "--quiet",
                        "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path)],
                       capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    pdf = [line for line in r.stdout.split() if line.endswith(".pdf")][0]
    html = subprocess.run(["pdftotext", "-bbox", pdf, "-"], capture_output=True,
                          text=True).stdout
    return [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(html)]


@pytest.mark.usefixtures("tex_tools")
def test_weights_stand_clear_of_the_cell_edges(tmp_path):
    """``numerical -i 5 -k 3 -t -e 2``: each ``×w`` sat on its cell's right edge, where a
    dashed line or the window's frame cut through it."""
    ws = words(tmp_path, "numerical", "-i", "5", "-k", "3", "-t", "-e", "2")
    pitch = 0.8 * PT_PER_CM  # the numerical view's cell
    values = [w for w in ws if re.fullmatch(r"-?\d+", w[4]) and w[2] < 7 * pitch]
    first_centre = min((w[0] + w[2]) / 2 for w in values)
    edges = [first_centre - pitch / 2 + k * pitch for k in range(8)]
    weights = [w for w in ws if w[4].startswith("×")]
    assert len(weights) == 9
    for x0, _, x1, _, text in weights:
        assert min(abs(x1 - e) for e in edges) >= 2.0, text
        assert min(abs(x0 - e) for e in edges) >= 2.0, text


def labels(ws, letter):
    """Boxes of the labels ``letter`` with a subscript (pdftotext reads them as two
    words): ``(x0, y0, x1)``."""
    out = []
    for x0, y0, x1, y1, t in ws:
        if t != letter:
            continue
        sub = [w for w in ws if re.fullmatch(r"\d+,?\d*", w[4]) and abs(w[0] - x1) < 1.0
               and w[1] < y1]
        out.append((x0, y0, max(s[2] for s in sub)))
    return out


@pytest.mark.usefixtures("tex_tools")
def test_matrix_entries_never_run_into_each_other(tmp_path):
    """The alphabet matrix's ``w00 w01 w02`` touched (1.6 pt apart at 8 pt)."""
    ws = words(tmp_path, "alphabet", "-i", "4", "-k", "3")
    rows: dict[float, list] = {}
    for x0, y0, x1 in labels(ws, "w"):
        rows.setdefault(round(y0), []).append((x0, x1))
    gaps = [b[0] - a[1] for row in rows.values() for a, b in zip(sorted(row), sorted(row)[1:])]
    assert len(gaps) > 20
    assert min(gaps) >= 3.0


# --- the see-through window and the print default -----------------------------------------

@pytest.mark.parametrize("name", theme.THEMES)
def test_the_window_shows_what_lies_under_it(name):
    """The window was solid gold: every tap the same colour, whatever lay under it. Now a
    shadow: each kind keeps its own colour under it, a tap stands out from the same fill
    untapped, and numbers keep 4.5:1 on the shadow."""
    p = theme.palette(name)
    under = {kind: theme.under_window(name, p[kind]) for kind in theme.SHADOWED}
    kinds = ["data", "padding", "inserted", "outpad", "copy"]
    assert len({under[k] for k in kinds}) == len(kinds)
    for kind, colour in under.items():
        assert theme.contrast(colour, p[kind]) >= theme.TAP_CONTRAST, kind
        for text in ("text", "muted"):
            assert theme.contrast(p[text], colour) >= 4.5, (kind, text)


@pytest.mark.parametrize("kind, spec, steps, options", [
    (Arithmetic, ConvSpec((5, 5), (3, 3), (2, 2), (1, 1), transposed=True), [0, 4],
     ArithmeticOptions(labels=False, caption="")),
    (Numerical, ConvSpec((6, 6), (3, 3), (2, 2), (1, 1), transposed=True), [0, 35],
     NumericalOptions()),
    (Channels, ConvSpec((5, 5), (3, 3), (2, 2), (1, 1), transposed=True), [0, 24],
     ChannelsOptions(in_channels=2, out_channels=2, groups=1)),
])
def test_taps_are_shadowed_not_filled(kind, spec, steps, options):
    """The window was one opaque block (fill=cvcurrent over every tap): now each frame
    draws the translucent shadow over its taps and no opaque fill in the window's colour."""
    source = tex.render(kind.template, scene=kind().scene(spec.validate(), steps, options))
    styles = [style for style, _ in fill_paths(source)]
    assert styles.count("shadow") >= len(steps)
    assert not any(s.startswith("fill=cvcurrent") for s in styles)
    assert "shadow/.style={fill=cvwindow, fill opacity=%s}" % theme.WINDOW_OPACITY in source


def test_print_is_the_default_a_white_page_with_saturated_fills():
    from convanim.options import FigureOptions

    assert FigureOptions().theme == "print"
    p = theme.palette()
    assert p["background"] == "FFFFFF" and p["padding"] == "FFFFFF"

    def hue_saturation(colour):
        h, _, s = colorsys.rgb_to_hls(*(int(colour[i:i + 2], 16) / 255 for i in (0, 2, 4)))
        return h * 360, s

    for fill, lo, hi in (("data", 195, 225), ("output", 180, 200), ("current", 35, 50)):
        h, s = hue_saturation(p[fill])
        assert lo <= h <= hi and s >= 0.5, (fill, h, s)
    assert theme.palette("light")["data"] != p["data"]  # Solarized's blue, not print's
    assert theme.palette("light")["background"] == "FDF6E3"  # Solarized stays a theme


def test_the_index_legend_names_the_colours_drawn():
    """The legend said "blue: input, cyan: output" over pale grey-blue and mint fills."""
    from convanim import index

    p = theme.palette("print")
    named = {part.split(": ")[0].split()[0]: part.split(": ")[1]
             for part in theme.LEGEND.split(", ")}
    assert named["blue"] == "input" and named["cyan"] == "output"
    assert named["dark"].startswith("the kernel window")
    hues = {"blue": (195, 225, "data"), "cyan": (180, 200, "output"),
            "orange": (15, 35, "outpad"), "goldenrod": (35, 50, "current")}
    for word, (lo, hi, fill) in hues.items():
        r, g, b = (int(p[fill][i:i + 2], 16) / 255 for i in (0, 2, 4))
        assert lo <= colorsys.rgb_to_hls(r, g, b)[0] * 360 <= hi, word
    r, g, b = (int(p["inserted"][i:i + 2], 16) for i in (0, 2, 4))
    assert r == g == b and "grey with dotted edges: inserted zeros" in theme.LEGEND
    assert "LEGEND" in index.html_page.__code__.co_names


def test_kinds_at_names_the_kinds_a_tap_can_lie_on():
    assert tex.kinds_at([[{"kind": "padding"}, {"kind": "reflect"}]]) == {"0,0": "padding",
                                                                            "0,1": "data"}
    assert tex.kinds_at({"inserted": [[1, 2]], "circular": [[0, 0]]}) == {
        "1,2": "inserted", "0,0": "data"}
