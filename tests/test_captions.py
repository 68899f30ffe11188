"""Captions are text: whatever they start or end with, however long, all of it on the page."""
import re
import subprocess

import pytest

from convanim.figure import MAX_CAPTION

from helpers import files_under, pdf_pages, run

pytestmark = pytest.mark.usefixtures("tex_tools")

KINDS = ["arithmetic", "numerical", "alphabet", "im2col"]


def words_on_page(pdf) -> tuple[str, bool]:
    """The page's text without spaces, and whether every word lies inside the page."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                         text=True, check=True).stdout
    w, h = (float(v) for v in re.search(r'<page width="([\d.]+)" height="([\d.]+)"', xml).groups())
    words = re.findall(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" '
                       r'yMax="([-\d.]+)">([^<]*)</word>', xml)
    inside = all(0 <= float(a) and 0 <= float(b) and float(c) <= w + 0.5 and float(d) <= h + 0.5
                 for a, b, c, d, _ in words)
    text = "".join(t for *_, t in words)
    for entity, ch in (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"), ("&quot;", '"'),
                       ("&apos;", "'")):
        text = text.replace(entity, ch)
    return text, inside


def extractable(caption: str) -> str:
    """The caption as pdftotext reads it back: no spaces, and no _ (TeX draws \\_ as a rule)."""
    return "".join(caption.split()).replace("_", "")


def in_order(needle: str, text: str) -> bool:
    """Every character of needle, in order, in text (lines beside a wrapped caption,
    such as matrix labels at the same height, come between its lines)."""
    rest = iter(text)
    return all(ch in rest for ch in needle)


def caption_shown(workdir, capsys, kind, caption) -> float:
    """Render with the caption, check all of it is on the page; returns the page width."""
    status, out, err = run(capsys, kind, "c", "-i", "4", "-k", "3", "-y", "pdf", "--quiet",
                           "--caption", caption)
    assert status == 0, err
    text, inside = words_on_page(workdir / out[0])
    if len(caption) < 40:  # one line: read back whole
        assert extractable(caption) in text, (caption, text)
    else:
        assert in_order(extractable(caption), text), (caption, text)
    assert inside, "part of the caption lies outside the page"
    return pdf_pages(workdir / out[0])[0][0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("caption", ["[a] x", "[5cm] hello", "*starred", "{braced} text",
                                     "ends with \\"])
def test_a_caption_is_text_whatever_it_starts_or_ends_with(workdir, capsys, kind, caption):
    caption_shown(workdir, capsys, kind, caption)


@pytest.mark.parametrize("kind", KINDS)
def test_a_long_caption_wraps_to_the_figure_and_keeps_every_word(workdir, capsys, kind):
    words = " ".join(f"w{n}" for n in range(120)) + " " + "Z" * 300 + " %$&#_^~<>|{}\\ end"
    caption = (words + " " + "q" * MAX_CAPTION)[:MAX_CAPTION]
    width = caption_shown(workdir, capsys, kind, caption)
    bare = caption_shown(workdir, capsys, kind, "short")
    six_cm = 6 / 2.54 * 72 + 2 * 4  # the narrowest wrapping, plus the page's border
    pad = 2 * 3.4  # the caption node's inner sep, left and right
    assert width <= max(bare, six_cm) + pad, "a long caption must wrap, not widen the page"


@pytest.mark.parametrize("length", [MAX_CAPTION + 1, 2_000, 20_000])
def test_a_caption_over_the_limit_is_refused(workdir, capsys, length):
    status, out, err = run(capsys, "arithmetic", "-y", "pdf", "--caption", ("x " * length)[:length])
    assert status == 2 and out == []
    assert err == [f"convanim: error: --caption is {length} characters long; at most "
                   f"{MAX_CAPTION} (it is wrapped to the figure's width)"]
    assert files_under(workdir) == []
