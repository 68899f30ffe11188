"""alphabet's conv matrix and im2col's unfolded operand, against independent loops."""
import json
import re
import subprocess

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from convanim import geometry
from convanim.scenes import alphabet, im2col
from convanim.spec import ConvSpec
from convanim.options import FigureOptions
from convanim.scenes.alphabet import Alphabet
from convanim.scenes.im2col import Im2col, Im2colOptions

import reference as ref
from helpers import files_under, pdf_pages, run
from test_geometry import convs

ARGS = FigureOptions(caption="")


def drawable(c):
    i, k, s, p, d = c
    return all(p[a] <= d[a] * (k[a] - 1) for a in (0, 1))


@settings(max_examples=150, deadline=None)
@given(convs(), st.booleans())
def test_alphabet_matrix_multiplies_like_the_convolution(c, transposed):
    i, k, s, p, d = c
    assume(not transposed or drawable(c))
    spec = ConvSpec(*c, transposed=transposed).validate()
    scene = Alphabet().scene(spec, [0], ARGS)
    # weights tagged by kernel entry: C @ x must equal conv2d with those weights
    w = np.arange(1, k[0] * k[1] + 1, dtype=float).reshape(k)
    C = np.array([[w[e[0], e[1]] if e else 0.0 for e in row] for row in scene["matrix"]])
    forward = ref.conv_matrix(i, w, s, p, d)
    assert np.array_equal(C, forward.T if transposed else forward)


def test_alphabet_matrix_of_a_dilated_kernel_has_only_real_taps():
    spec = ConvSpec(input_size=(7, 7), dilation=(2, 2)).validate()
    matrix = Alphabet().scene(spec, [0], ARGS)["matrix"]
    assert sum(e is not None for row in matrix for e in row) == 81  # the seed drew 225


def test_alphabet_vectors_elide_runs_but_keep_what_the_row_uses():
    spec = ConvSpec(input_size=(5, 5)).validate()
    frame = Alphabet().scene(spec, [4], ARGS)["frames"][0]
    shown = [s["index"] for s in frame["x_slots"] if s]
    assert shown == [6, 7, 8, 11, 12, 13, 16, 17, 18]  # output (1, 1) reads a11..a33
    assert frame["x_slots"][0] is None and frame["x_slots"][-1] is None
    assert [s["index"] for s in frame["y_slots"] if s] == list(range(9))


@settings(max_examples=200, deadline=None)
@given(convs(), st.sampled_from(im2col.PHASES))
def test_im2col_matrix_is_the_phase_unfolded(c, phase):
    assume(phase != "loss" or drawable(c))
    spec = ConvSpec(*c).validate()
    scene = Im2col().scene(spec, [0], Im2colOptions(phase=phase, caption=""))
    got = [[tuple(e) if e else None for e in row] for row in scene["matrix"]]
    assert got == ref.im2col(phase, *c)
    nulls = sum(e is None for row in got for e in row)
    assert scene["counts"]["zeros"] == nulls
    assert scene["counts"]["elements"] == len(got) * len(got[0])
    i, k, s, p, d = c
    o = geometry.conv_output_size(*c)
    hh = [(o[a] - 1) * s[a] + 1 for a in (0, 1)]
    expect_kernel_zeros = hh[0] * hh[1] - o[0] * o[1] if phase == "gradient" else 0
    assert scene["counts"]["kernel_zeros"] == expect_kernel_zeros
    assert scene["output_size"] == list({"forward": o, "loss": i, "gradient": k}[phase])


def test_im2col_zero_kinds_tell_padding_from_insertion():
    spec = ConvSpec(input_size=(5, 5), stride=(2, 2), padding=(1, 1)).validate()
    scene = Im2col().scene(spec, [0], Im2colOptions(phase="loss", caption=""))
    kinds = {k for row in scene["zero_kinds"] for k in row if k}
    assert kinds == {"padding", "inserted"}
    assert all((e is None) == (z is not None)
               for row_e, row_z in zip(scene["matrix"], scene["zero_kinds"])
               for e, z in zip(row_e, row_z))


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("kind,args,frames", [
    ("alphabet", ["-i", "4", "-k", "3"], 4),
    ("alphabet", ["-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t"], 25),
    ("im2col", ["-i", "5", "-k", "3", "-s", "2", "-p", "1", "--phase", "gradient"], 9),
    ("im2col", ["-i", "4", "-k", "3", "-s", "2", "-p", "1", "--phase", "loss"], 16),
])
def test_matrix_figures_animate_and_report_json(workdir, capsys, kind, args, frames):
    status, out, _ = run(capsys, kind, "m", "-a", "--json", "--quiet", "-qa", "20", *args)
    assert status == 0
    assert [str(p) for p in out] == ["out/m.pdf", "gif/m.gif", "out/m.json"]
    assert len(pdf_pages(workdir / "out/m.pdf")) == frames
    data = json.loads((workdir / "out/m.json").read_text())
    assert data["kind"] == kind and data["steps"] == frames


@pytest.mark.parametrize("kind,args,message", [
    ("alphabet", ["-i", "9"], "the matrix would be 49x81; alphabet figures draw at most 64"),
    ("im2col", ["-t"], "its transposed conv is --phase loss"),
    ("im2col", ["--phase", "sideways"], "invalid choice: 'sideways'"),
    ("im2col", ["-i", "9", "--phase", "loss"], "loss im2col matrix would be 9x81"),
    ("alphabet", ["-d", "0"], "dilation must be >= 1"),
])
def test_matrix_figures_refuse_with_the_reason(workdir, capsys, kind, args, message):
    status, out, err = run(capsys, kind, *args)
    assert status == 2 and out == [] and message in err[0], err
    assert files_under(workdir) == []


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("args,smallest", [
    # GEMMs whose X is 25 and 27 columns wide cannot keep 5 pt in 8.25 cm
    (["im2col", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "--in-channels", "2",
      "--out-channels", "3", "--phase", "loss"], 4.5),
    (["im2col", "-i", "5", "-k", "3", "--in-channels", "3", "--out-channels", "2",
      "--phase", "gradient"], 4.2),
])
def test_too_small_at_a_narrow_width_warns_once(tmp_path, capsys, args, smallest):
    """Drawn with --width 8.25 below 5 pt: one line on stderr with the smallest size
    and what to do (#31 §6)."""
    status, _, err = run(capsys, *args, "--width", "8.25", "-y", "pdf", "--out-dir",
                         str(tmp_path), "--gif-dir", str(tmp_path), "--quiet")
    assert status == 0
    warnings = [line for line in err if "warning" in line]
    assert len(warnings) == 1, err
    assert f"at --width 8.25 cm its smallest text is {smallest} pt (under 5 pt)" in warnings[0]
    assert "a smaller figure (-i, -k) or a wider column" in warnings[0]


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("args", [
    ["im2col", "-i", "5", "-k", "3", "--in-channels", "3", "--out-channels", "2", "-e", "4"],
    ["im2col", "-i", "4", "-k", "3", "-s", "2", "-p", "1", "--in-channels", "4",
     "--out-channels", "4", "--groups", "2"],
    ["im2col", "-i", "4", "-k", "3", "-p", "1", "--padding-mode", "replicate",
     "--in-channels", "2", "--out-channels", "2"],
    ["alphabet", "-i", "4", "-k", "3", "--in-channels", "2", "--out-channels", "4",
     "--groups", "2", "-e", "5"],
])
def test_channels_matrices_keep_5pt_at_a_narrow_width(tmp_path, capsys, args):
    """The channels GEMMs and the grouped alphabet of #31 §6 (3.5, 3.2, 3.7 and 4.9 pt
    before; the alphabet's title now wraps to its matrix) drawn with --width 8.25:
    8.25 cm wide, no warning, and no word below 5 pt high (the legibility tool's
    measure: the height of poppler's word boxes, 6.2 pt at the natural size)."""
    status, out, err = run(capsys, *args, "--width", "8.25", "-y", "pdf", "--out-dir",
                           str(tmp_path), "--gif-dir", str(tmp_path), "--quiet")
    assert status == 0 and not err, err
    pdf = next(p for p in out if p.suffix == ".pdf")
    (w, _), = pdf_pages(pdf)
    assert w / 72 * 2.54 == pytest.approx(8.25, abs=0.05)
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    heights = [float(m[3]) - float(m[1]) for m in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">', html)]
    assert len(heights) > 20 and min(heights) >= 5.0


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("args", [["alphabet", "-i", "7", "-k", "3", "-p", "1"],
                                  ["alphabet", "-i", "7", "-k", "3", "-p", "1", "-t"],
                                  ["alphabet", "-i", "5", "-k", "3", "-s", "2", "-p", "1"]])
def test_alphabet_up_to_7_fits_a_page_at_its_default_size(tmp_path, capsys, args):
    """16 x 22 cm, placed in a 16 cm column (shrunk if wider), without warning (#31 §4)."""
    status, out, err = run(capsys, *args, "-e", "0", "-y", "pdf", "--out-dir", str(tmp_path),
                           "--gif-dir", str(tmp_path), "--quiet")
    assert status == 0 and not err
    (w, h), = pdf_pages(next(p for p in out if p.suffix == ".pdf"))
    w_cm, h_cm = w / 72 * 2.54, h / 72 * 2.54
    assert h_cm * min(1, 16 / w_cm) <= 22


@pytest.mark.usefixtures("tex_tools")
def test_alphabet_vector_entries_sit_on_the_matrix_rows(tmp_path, capsys):
    """1-D: each output entry b_i is level with row i of C (#31 §7), read from the PDF."""
    import pymupdf

    status, out, _ = run(capsys, "alphabet", "-i", "1x8", "-k", "1x3", "-e", "0", "-y", "pdf",
                         "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path), "--quiet")
    assert status == 0
    page = pymupdf.open(next(p for p in out if p.suffix == ".pdf"))[0]
    words = page.get_text("words")
    # right of the panels (past the input's last cell a7): C's w0, one per row, and b
    right = max(w[2] for w in words if w[4] == "a7")

    def centres(text):
        return sorted((w[1] + w[3]) / 2 for w in words if w[4] == text and w[0] > right)
    rows = centres("w0")
    assert len(rows) == 6
    for i in range(6):
        assert centres(f"b{i}") == [pytest.approx(rows[i], abs=1.5)]   # points
