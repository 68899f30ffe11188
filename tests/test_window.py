"""The kernel window as a shadow (issue 31), measured in pixels in every theme.

The window was a solid gold fill that replaced what lay under it: value colours and
group colours vanished, the legend matched nothing. Each test renders a numerical
figure as PDF (for where the cells are: the shadow's rectangles, one per tap in the
scene's tap order, PyMuPDF reading the forms too) and as PNG at 100 dpi (for the
colours), and samples each cell in its upper left quarter, clear of its number and
its weight."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from convanim import shading, theme
from convanim.cli import plan_command

DPI = 100


def render(tmp_path, argv: list[str]):
    """The figure's first page: (its drawings, its pixels as an RGB array)."""
    import pymupdf as fitz
    from PIL import Image

    tmp_path.mkdir(parents=True, exist_ok=True)
    out = {}
    for fmt in ("pdf", "png"):
        r = subprocess.run([sys.executable, "-m", "convanim", *argv, "-y", fmt, "-q", str(DPI),
                            "fig", "--quiet", "--out-dir", str(tmp_path / fmt)],
                           capture_output=True, text=True, env=dict(os.environ), cwd=tmp_path)
        assert r.returncode == 0, r.stderr
        out[fmt] = sorted((tmp_path / fmt).glob(f"*.{fmt}"))[0]
    drawings = fitz.open(out["pdf"])[0].get_drawings()
    return drawings, np.asarray(Image.open(out["png"]).convert("RGB")).astype(int)


def shadow_cells(drawings) -> list:
    """The window's shadow: the translucent path's rectangles, one per tap, in order."""
    (path,) = [d for d in drawings if d.get("fill_opacity") is not None
               and abs(d["fill_opacity"] - theme.WINDOW_OPACITY) < 0.01
               and len([i for i in d["items"] if i[0] == "re"]) > 1]
    return [item[1] for item in path["items"] if item[0] == "re"]


def sample(pixels, rect) -> tuple[int, int, int]:
    """The median colour of a small patch in a cell's upper left quarter."""
    x = (rect.x0 + 0.22 * rect.width) * DPI / 72
    y = (rect.y0 + 0.22 * rect.height) * DPI / 72
    patch = pixels[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2].reshape(-1, 3)
    return tuple(int(v) for v in np.median(patch, axis=0))


def hex_of(rgb) -> str:
    return "".join(f"{v:02X}" for v in rgb)


def close(rgb, colour: str, tol: int = 4) -> bool:
    return all(abs(a - int(colour[i:i + 2], 16)) <= tol for a, i in zip(rgb, (0, 2, 4)))


def apart(a, b) -> int:
    return max(abs(x - y) for x, y in zip(a, b))


def cell_rect(taps, rects, r, c):
    """Cell (r, c)'s rectangle, from the tapped cells' (a regular grid)."""
    import pymupdf as fitz

    (r0, c0), first = taps[0], rects[0]
    w, h = first.width, first.height
    return fitz.Rect(first.x0 + (c - c0) * w, first.y0 + (r - r0) * h,
                     first.x0 + (c - c0 + 1) * w, first.y0 + (r - r0 + 1) * h)


@pytest.mark.parametrize("name", theme.THEMES)
@pytest.mark.usefixtures("tex_tools")
def test_every_kind_keeps_its_own_colour_under_the_window(tmp_path, name):
    """Padding, input, inserted zeros (a transposed conv) and copies (reflect padding)
    under the window: each shows its kind's colour shadowed, as theme.under_window
    computes it, and no two kinds look alike there; every tap stands out from the same
    kind untapped."""
    p = theme.palette(name)
    seen = {}
    for argv in (["numerical", "-i", "4", "-k", "3", "-s", "2", "-p", "1", "-t"],
                 ["numerical", "-i", "4", "-k", "3", "-p", "2", "--padding-mode", "reflect"]):
        argv = [*argv, "--theme", name, "-e", "0"]
        scene = plan_command([*argv, "-y", "pdf"]).scene()
        taps = scene["frames"][0]["taps"]
        drawings, pixels = render(tmp_path / str(len(seen)), argv)
        rects = shadow_cells(drawings)
        assert len(rects) == len(taps)
        tapped = {tuple(t) for t in taps}
        for (r, c), rect in zip(taps, rects):
            kind = scene["canvas"][r][c]["kind"]
            colour = sample(pixels, rect)
            assert close(colour, theme.under_window(name, p[kind])), (kind, hex_of(colour))
            seen.setdefault(kind, colour)
        for r, row in enumerate(scene["canvas"]):  # the same kinds outside the window
            for c, cell in enumerate(row):
                if (r, c) not in tapped and cell["kind"] in seen:
                    colour = sample(pixels, cell_rect(taps, rects, r, c))
                    assert close(colour, p[cell["kind"]]), (cell["kind"], hex_of(colour))
                    assert theme.contrast(hex_of(colour), hex_of(seen[cell["kind"]])) \
                        >= theme.TAP_CONTRAST - 0.02, cell["kind"]
    assert {"padding", "data", "inserted", "copy"} <= set(seen)
    kinds = sorted(seen)
    for i, a in enumerate(kinds):
        for b in kinds[i + 1:]:
            assert apart(seen[a], seen[b]) >= 10, (a, b, seen[a], seen[b])


@pytest.mark.parametrize("name", theme.THEMES)
@pytest.mark.usefixtures("tex_tools")
def test_value_colours_show_through_the_window(tmp_path, name):
    """--fill value: under the window each cell keeps its value's colour (two levels
    stay apart, the legend's swatch shadowed), and a cell differs tapped (step 0) and
    untapped (step 3, the window moved away)."""
    argv = ["numerical", "-i", "3", "-k", "2", "--input", "1 -4 3; 4 2 -1; 0 2 4",
            "--kernel", "1 0; 0 1", "--fill", "value", "--legend", "--theme", name]
    levels = shading.colours(name)
    scene = plan_command([*argv, "-y", "pdf"]).scene()
    taps = scene["frames"][0]["taps"]
    drawings, pixels = render(tmp_path / "a", [*argv, "-e", "0"])
    rects = shadow_cells(drawings)
    under = {}
    for (r, c), rect in zip(taps, rects):
        fill = scene["canvas"][r][c]["fill"]
        colour = sample(pixels, rect)
        assert close(colour, theme.under_window(name, levels[fill])), (fill, hex_of(colour))
        under[(r, c)] = colour
    fills = {scene["canvas"][r][c]["fill"] for r, c in under}
    assert len(fills) == 4 and len(set(under.values())) == 4  # 1, -4, 4, 2: four levels
    assert apart(under[(0, 0)], under[(1, 1)]) >= 12  # 1 and 2 under the window
    assert apart(under[(0, 1)], under[(1, 0)]) >= 12  # -4 and 4
    moved, moved_pixels = render(tmp_path / "b", [*argv, "-e", "3"])
    rect00 = cell_rect(taps, rects, 0, 0)
    outside = sample(moved_pixels, rect00)
    assert close(outside, levels[scene["canvas"][0][0]["fill"]])
    assert theme.contrast(hex_of(outside), hex_of(under[(0, 0)])) >= theme.TAP_CONTRAST - 0.02
    assert apart(outside, under[(0, 0)]) >= 12


def shadow_spots(items) -> list[tuple[float, float]]:
    """Where to sample each shadowed cell, in PDF points: a rectangle's upper left quarter
    (clear of its number), the middle of a slanted cell (four lines, the slanted view)."""
    spots, corners = [], []
    for item in items:
        if item[0] == "re":
            r = item[1]
            spots.append((r.x0 + 0.22 * r.width, r.y0 + 0.22 * r.height))
        elif item[0] == "l":
            corners.append(item[1])
            if len(corners) == 4:
                spots.append((sum(c.x for c in corners) / 4, sum(c.y for c in corners) / 4))
                corners = []
    return spots


#: A figure of every kind that draws a kernel window, one step each.
EVERY_KIND = [
    ["arithmetic", "-i", "5", "-k", "3", "-p", "1", "-e", "6"],
    ["numerical", "-i", "4", "-k", "3", "-p", "1"],
    ["channels", "-i", "4", "-k", "3", "--in-channels", "2", "--out-channels", "4",
     "--groups", "2"],
    ["alphabet", "-i", "4", "-k", "3", "-p", "1", "-e", "5"],
    ["alphabet", "-i", "4", "-k", "3", "--in-channels", "2", "--out-channels", "4",
     "--groups", "2", "-e", "5"],
    ["im2col", "-i", "4", "-k", "3", "-p", "1", "-e", "5"],
    ["im2col", "-i", "4", "-k", "3", "--in-channels", "3", "--out-channels", "2", "-e", "2"],
]


@pytest.mark.parametrize("name", theme.THEMES)
@pytest.mark.parametrize("argv", EVERY_KIND, ids=lambda a: "-".join(a[:1] + a[-4:]))
@pytest.mark.usefixtures("tex_tools")
def test_every_kind_draws_its_window_as_a_shadow(tmp_path, argv, name):
    """The window's taps are the translucent shadow in every kind, never a solid fill:
    each shadowed cell shows one of the theme's fills under the window (the cell's
    own kind or group colour), never the highlight colour that used to replace it."""
    p = theme.palette(name)
    fills = {f: theme.under_window(name, p[f]) for f in theme.SHADOWED}
    drawings, pixels = render(tmp_path, [*argv, "--theme", name])
    spots = [spot for d in drawings if d.get("fill_opacity") is not None
             and abs(d["fill_opacity"] - theme.WINDOW_OPACITY) < 0.01
             for spot in shadow_spots(d["items"])]
    assert len(spots) >= 4, "the window's taps are shadowed"
    shown = set()
    for x, y in spots:
        patch = pixels[int(y * DPI / 72) - 1:int(y * DPI / 72) + 2,
                       int(x * DPI / 72) - 1:int(x * DPI / 72) + 2].reshape(-1, 3)
        colour = tuple(int(v) for v in np.median(patch, axis=0))
        match = [f for f, c in fills.items() if close(colour, c, tol=5)]
        assert match, (hex_of(colour), "is no fill seen through the shadow")
        assert not close(colour, p["current"], tol=5), "a tap filled with the highlight"
        shown.update(match)
    assert shown, "the cells under the window show their fills"
