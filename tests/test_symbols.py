"""One multiplication symbol (issue 31, item 7): the cells write the weights as ``×2``, so
the arithmetic written under the figure is ``3×2 + …`` too, not ``3·2 + …``."""
import re
import subprocess

import pytest

from convanim.cli import plan_command

from helpers import run

FIGURES = [
    ["numerical", "-i", "4", "-k", "3", "-e", "2"],
    ["numerical", "-i", "4", "-k", "3", "-s", "2", "-p", "1", "-t", "-e", "3"],
    ["numerical", "--input", "1 -2 3; 4 5 -6; 7 8 9", "--kernel", "1 0; -1 2", "-e", "1"],
    ["channels", "-i", "3", "-k", "2", "--in-channels", "2", "--out-channels", "2", "-e", "1"],
    ["channels", "-i", "4", "-k", "3", "--in-channels", "4", "--out-channels", "2",
     "--groups", "2", "-e", "5"],
]


@pytest.mark.parametrize("argv", FIGURES, ids=lambda a: " ".join(a))
def test_the_arithmetic_multiplies_with_the_cells_symbol(argv):
    tex = plan_command([*argv, "-y", "pdf"]).tex()
    assert "\\cdot" not in tex
    products = re.findall(r"\{[-\d.()]+\{\\times\}[-\d.()]+\}", tex)  # 3×2: tight, as in the cells
    assert products, "the step's products are written out"


@pytest.mark.parametrize("argv", [FIGURES[0], FIGURES[3]], ids=["numerical", "channels"])
@pytest.mark.usefixtures("tex_tools")
def test_the_page_reads_one_multiplication_symbol(workdir, capsys, argv):
    status, out, err = run(capsys, *argv, "-y", "pdf", "--quiet")
    assert status == 0, err
    (pdf,) = out
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "×" in text and "·" not in text and "⋅" not in text, text
