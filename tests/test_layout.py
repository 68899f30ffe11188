"""Laying out for the width asked (issue 19): --width and --column choose where the
panels go so that text stays >= 5 pt in the column and the page <= 22 cm; when it cannot,
one warning line, exit 0. Measured on real PDFs with poppler (a few small figures)."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from convanim import layout

from helpers import run

WORD = re.compile(r'<word xMin="[\d.]+" yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)">')


def draw(tmp_path, *args):
    env = dict(os.environ)  # the session's preamble format, a private cache (conftest)
    return subprocess.run([sys.executable, "-m", "convanim", *args, "-y", "pdf", "fig",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path)


def measure(tmp_path, *args):
    """(page width cm, page height cm, smallest word pt, stderr) of step 0 as drawn."""
    r = draw(tmp_path, *args)
    assert r.returncode == 0, r.stderr
    html = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "fig_00.pdf"), "-"],
                          capture_output=True, text=True).stdout
    w, h = map(float, re.search(r'<page width="([\d.]+)" height="([\d.]+)"', html).groups())
    smallest = min(float(b) - float(a) for a, b in WORD.findall(html))
    return w / 72 * 2.54, h / 72 * 2.54, smallest, r.stderr


@pytest.mark.parametrize("args", [
    ["alphabet", "-i", "4", "-k", "3", "--column", "narrow"],       # 3.0 pt on main
    ["im2col", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "--width", "8.25"],  # 3.4 pt
    ["numerical", "-i", "5", "-k", "3", "-d", "2", "-p", "2", "--width", "8.25"],  # 4.5 pt
    ["arithmetic", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t", "--labels", "--caption",
     "labels below", "--column", "narrow"],                                      # 4.9 pt
])
@pytest.mark.usefixtures("tex_tools")
def test_a_two_column_paper_gets_text_of_5pt(tmp_path, args):
    w, h, smallest, err = measure(tmp_path, *args)
    assert w == pytest.approx(8.25, abs=0.05)
    assert smallest >= 5.0 and h <= 22.0
    assert err == ""


@pytest.mark.usefixtures("tex_tools")
def test_a_tall_matrix_is_rearranged_to_fit_a_page(tmp_path):
    """alphabet -i 7 -k 3 -p 1 -t was 16 x 28.6 cm at --width 16."""
    w, h, smallest, err = measure(tmp_path, "alphabet", "-i", "7", "-k", "3", "-p", "1", "-t",
                                  "--column", "wide")
    assert w == pytest.approx(16.0, abs=0.05)
    assert h <= 22.0 and smallest >= 5.0
    assert err == ""


@pytest.mark.usefixtures("tex_tools")
def test_a_figure_that_cannot_fit_says_so_once_and_still_draws(tmp_path):
    for _ in range(2):  # drawn, then from the cache: the warning both times
        r = draw(tmp_path, "numerical", "-i", "3", "-k", "2", "--width", "1.5", "--quiet")
        assert r.returncode == 0
        assert r.stdout.split() == [str(tmp_path / "fig_00.pdf")]
        lines = r.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("convanim: warning: at --width 1.5 cm")
        assert "pt (under 5 pt)" in lines[0]


@pytest.mark.usefixtures("tex_tools")
def test_width_and_column_must_agree(workdir, capsys):
    status, out, err = run(capsys, "arithmetic", "--width", "10", "--column", "narrow")
    assert status == 2 and out == [] and "disagree" in err[0]
    status, out, err = run(capsys, "arithmetic", "--width", "8.25", "--column", "narrow",
                           "-y", "pdf", "-i", "3")
    assert status == 0


def test_the_budget_and_the_choice():
    budget = layout.fit("alphabet", 8.25)
    assert budget["width"] == pytest.approx((8.25 - 2 * layout.BORDER_CM) * 6.2 / 5)
    wide, narrow = {"width": 15.0, "height": 6.0}, {"width": 9.0, "height": 12.0}
    tall = {"width": 9.0, "height": 40.0}
    assert layout.arrange([wide, narrow], budget) is narrow
    assert layout.arrange([wide, narrow], None) is wide
    assert layout.arrange([wide, tall], budget) is wide  # neither fits: the nearer
    assert layout.warning("alphabet", (200.0, 100.0), 8.25) is None
    assert "3." in layout.warning("alphabet", (400.0, 100.0), 8.25)
    assert "cm tall" in layout.warning("numerical", (100.0, 400.0), 8.25)


def test_a_single_unmeasured_layout_is_taken_at_any_width(workdir, capsys):
    """A sequence has one layout (the template gives it no size): --width drew a
    traceback (KeyError: 'width'); the fuzz test's first --causal commands found it."""
    assert layout.arrange([{"at": "beside"}], layout.fit("numerical", 3.0)) == {"at": "beside"}
    status, out, err = run(capsys, "numerical", "-i", "1x6", "-k", "1x3", "--causal", "-y",
                           "pdf", "--width", "3", "--quiet")
    assert status == 0 and len(out) == 1, err
