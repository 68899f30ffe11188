"""The layout lint over a matrix of real figures (issue 31): every kind × theme × width,
with representative options (1-D, channels and groups, padding modes, --copies,
--labels, --legend, -t, im2col's phases, stacks of layers and planes).

Each case is drawn once, one step as a PDF, and linted (tests/layout_lint.py: no stroke
through a word, no overlapping words, no text off the page, no page taller than 22 cm at
16 cm wide). Every case passes: the faults issue 31 found (lines through copied labels
and W's block names, pages taller than 22 cm, a frustum line through a plane's name) were
fixed; a new fault fails its case here rather than waiting in a list of known ones.
"""
from __future__ import annotations

import shlex

import pytest

from helpers import run
from layout_lint import lint, summary

#: Representative option sets of every kind, drawn one step each.
OPTION_SETS = [
    # arithmetic: default, 1-D, transposed, padding modes with --copies, dilation
    "arithmetic",
    "arithmetic -i 1x12 -k 1x3",
    "arithmetic -i 6 -k 3 -s 2 -p 1 -t --labels",
    "arithmetic -i 4 -k 3 -p 2 --padding-mode circular --copies --labels",
    "arithmetic -i 5 -k 3 -p 1 --padding-mode reflect --copies",
    "arithmetic -i 7 -k 3 -d 2 --labels",
    "arithmetic -i 5 -k 3 -p 1 --padding-mode replicate --copies -e 4",
    # numerical: default, 1-D, values with a legend, transposed, pooling, reflect padding
    "numerical",
    "numerical -i 1x12 -k 1x3",
    "numerical -i 4 -k 3 --input '1 -2 0 1; 0.5 1 2 0; 3 0 -1 1; 1 1 -1 2' --fill value --legend",
    "numerical -i 5 -k 3 -t -e 2",
    "numerical -m max -i 4 -k 2 -s 2",
    "numerical -i 5 -k 3 -p 1 --padding-mode reflect",
    # alphabet: default, 1-D, strides and padding, groups, a large one, transposed
    "alphabet",
    "alphabet -i 1x8 -k 1x3",
    "alphabet -i 5 -k 3 -s 2 -p 1 -e 2",
    "alphabet -i 4 -k 3 --in-channels 2 --out-channels 4 --groups 2 -e 5",
    "alphabet -i 7 -k 3 -p 1",
    "alphabet -i 4 -k 3 -t",
    "alphabet -i 7 -k 3 -p 1 -t",
    # im2col: default, 1-D, the loss and gradient phases, channels, circular padding
    "im2col",
    "im2col -i 1x8 -k 1x3",
    "im2col -i 5 -k 3 -s 2 -p 1 --phase loss -e 6",
    "im2col -i 5 -k 3 -s 2 -p 1 --phase gradient",
    "im2col -i 5 -k 3 --in-channels 3 --out-channels 2 -e 4",
    "im2col -i 4 -k 3 -p 1 --padding-mode circular",
    "im2col -i 4 -k 3 -s 2 -p 1 --in-channels 4 --out-channels 4 --groups 2",
    # channels: default, groups, labels, values with a legend, 1-D, replicate padding
    "channels",
    "channels -i 5 -k 3 --in-channels 2 --out-channels 4 --groups 2",
    "channels -i 7 -k 3 -p 1 --in-channels 3 --out-channels 2 --labels",
    "channels -i 4 -k 3 --in-channels 2 --out-channels 2 --fill value --legend",
    "channels -i 1x10 -k 1x3 --in-channels 2 --out-channels 2",
    "channels -i 5 -k 3 -p 1 --padding-mode replicate --in-channels 2 --out-channels 2",
    "channels -i 5 -k 3 --in-channels 3 --out-channels 3 --groups 3 --labels",
    # stack: default, WaveNet, planes, a pooling layer
    "stack",
    "stack -i 16 --layers 'k=2,d=1 k=2,d=2 k=2,d=4 k=2,d=8' --causal --labels",
    "stack -i 8 --planes --layers 'k=3 k=3,d=2' --labels",
    "stack -i 12 --layers 'k=3 pool,k=2,s=2 k=3' --labels",
    # added after the list above (appended, so the themes the sets above meet stay put):
    # the diamond view's front link ran up a dilated window's diagonal, here through labels
    "arithmetic -i 7 -k 3 -d 2 -p 2 --padding-mode reflect --copies -e 4",
    # -t --labels name the equivalent direct conv too (two more lines of label)
    "arithmetic -i 7 -k 3 -s 2 -d 2 -p 2 -t --labels",
    "channels -i 5 -k 3 -s 2 -p 1 -t --in-channels 2 --out-channels 2 --labels",
    # channels' --column narrow --labels (laid out for 8.25 cm by the column's name)
    "channels -i 7 -k 3 -p 1 --in-channels 3 --out-channels 2 --labels --column narrow",
    # the matrix kinds' highlights and copies (#31 §2, §7): a highlighted row of a large
    # alphabet, an im2col whose entries read copies (dashed) under the highlight
    "alphabet -i 7 -k 3 -p 1 -e 10",
    "im2col -i 4 -k 3 -p 1 --padding-mode replicate",
    # the channels GEMM's entries read from copies (dashed, #31 §7); an id over 100
    # characters would read as "caseN" to pytest -k
    "im2col -i 4 -p 1 --padding-mode reflect --in-channels 2 --out-channels 2",
    # volumes (#34): a stack of depth slices, the window a box; numerical's slices side by side
    "arithmetic -i 4x5x5 -k 3 --labels",
    "arithmetic -i 4x5x5 -k 3 -s 2 -p 1 -e 3",
    "arithmetic -i 3x4x4 -k 3 -s 2 -p 1 -t --labels --per-slice",
    "numerical -i 3x4x4 -k 2x3x3 -e 5",
    "numerical -i 4x5x5 -k 3 -e 4",
    "numerical -i 3x4x4 -k 2 -p 1 -m max -e 3",
    # vol2col and a tiny volume's matrix (#34): slices in rows over X or C
    "im2col -i 4x5x5 -k 3 -e 3",
    "im2col -i 3x4x4 -k 2 -s 2 -p 1 --phase loss -e 2",
    "im2col -i 3x4x4 -k 2 -s 2 --phase gradient -e 1",
    "im2col -i 3x3x3 -k 2 -p 1 --padding-mode reflect -e 5",
    "alphabet -i 2x3x3 -k 2 -e 1",
    "alphabet -i 3x3x3 -k 2 -e 3",
    "alphabet -i 2x2x2 -k 2 -s 2 -t -e 5",
    # channels of a volume (#34): channels' slices in rows, the bank's kernels, groups, -t
    "channels -i 3x4x4 -k 2x3x3 --in-channels 2 --out-channels 2 -e 3",
    "channels -i 2x4x4 -k 2x3x3 --in-channels 2 --out-channels 4 --groups 2 -p 1 -s 2 -e 9",
    "channels -i 2x3x3 -k 2 --in-channels 2 --out-channels 2 -s 2 -t -e 5",
    "channels -i 2x4x4 -k 3 -p 1 --padding-mode reflect --fill value --legend -e 7",
]
THEMES = ["print", "dark", "light"]
WIDTHS = [None, "16", "8.25"]   # the natural size, a one-column and a two-column paper


def case_of(options: str, theme: str, width: str | None) -> str:
    """A set that names its --column keeps that width at every width of the matrix."""
    given = width and "--column" not in options
    return f"{options} --theme {theme}" + (f" --width {width}" if given else "")


def argv_of(case: str) -> list[str]:
    return shlex.split(case)


#: Every option set at every width, the theme turning with the set (a Latin square:
#: each set meets each theme and each width once, each theme meets each width).
CASES = [case_of(options, THEMES[(w + j) % len(THEMES)], width)
         for j, options in enumerate(OPTION_SETS) for w, width in enumerate(WIDTHS)]


def problems_of(case: str, tmp_path, capsys) -> list[str]:
    """Draw the case's step as a PDF into tmp_path and lint it."""
    status, out, err = run(capsys, *argv_of(case), "-y", "pdf", "fig", "--quiet",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    pdf = [p for p in out if p.suffix == ".pdf"]
    assert len(pdf) == 1, out
    width = argv_of(case)[argv_of(case).index("--width") + 1] if "--width" in case else None
    return lint(pdf[0], width_cm=float(width) if width else 16.0)


def test_the_matrix_covers_the_issue():
    """Every kind, theme and width; 1-D, groups, padding modes, --copies, --labels,
    --legend and -t all drawn; at least 80 passing cases."""
    for kind in ("arithmetic", "numerical", "alphabet", "im2col", "channels", "stack"):
        assert any(c.split()[0] == kind for c in CASES), kind
    for word in ("1x", "--groups", "reflect", "circular", "replicate", "--copies", "--labels",
                 "--legend", " -t", "--phase", "--theme print", "--theme dark",
                 "--theme light", "--width 16", "--width 8.25"):
        assert any(word in c for c in CASES), word
    assert len(CASES) >= 80


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("case", CASES)
def test_layout_is_clean(case, tmp_path, capsys):
    problems = problems_of(case, tmp_path, capsys)
    assert not problems, f"{case}: " + summary(problems, 10)
