"""No figure draws copied padding as zero padding: in every kind that takes a padding mode,
the scene marks exactly the padding cells numpy.pad fills with a copy as copies (with the
cell they copy), and the zero padding of mode zeros as padding; im2col's entries read from
a copy are marked as copies too."""
import numpy as np
import pytest

from convanim.figure import figure, plan

NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}
MODES = list(NUMPY_MODE)
SIDES = [(1, 1, 1, 1), (0, 2, 1, 0), (2, 1, 0, 2)]
H, W = 3, 4


def expected(mode, sides):
    """Per padded cell: ("data", cell), ("copy", copied cell) or ("padding", None), from
    numpy.pad of the operand's index map (-1 in zero padding)."""
    t, b, l, r = sides
    index = np.pad(np.arange(H * W).reshape(H, W), ((t, b), (l, r)), mode=NUMPY_MODE[mode],
                   **({"constant_values": -1} if mode == "zeros" else {}))
    out = {}
    for y in range(index.shape[0]):
        for x in range(index.shape[1]):
            inside = t <= y < t + H and l <= x < l + W
            v = int(index[y, x])
            out[y, x] = (("data", divmod(v, W)) if inside
                         else ("copy", divmod(v, W)) if v >= 0 else ("padding", None))
    return out


def scene(kind, mode, sides, **extra):
    k, options = figure(kind, input_size=(H, W), kernel_size=2, padding_sides=sides,
                        padding_mode=mode, **extra)
    fig = plan(k, options)
    return fig, fig.scene()


def canvas_marks(canvas):
    return {(y, x): (c["kind"], tuple(c["copies"]) if c["kind"] == "copy"
                     else tuple(c["cell"]) if c["kind"] == "data" else None)
            for y, row in enumerate(canvas) for x, c in enumerate(row)}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sides", SIDES)
def test_canvases_mark_copies_where_numpy_pad_copies(mode, sides):
    want = expected(mode, sides)
    kinds = {cell: kind for cell, (kind, _) in want.items()}
    for extra in ({}, {"in_channels": 2, "out_channels": 2}):  # im2col, and its GEMM
        _, s = scene("im2col", mode, sides, **extra)
        assert canvas_marks(s["canvas"]) == want
    _, s = scene("numerical", mode, sides)
    assert canvas_marks(s["canvas"]) == want
    assert {(y, x): c["fill"] for y, row in enumerate(s["canvas"])
            for x, c in enumerate(row)} == kinds
    _, s = scene("arithmetic", mode, sides)
    assert {(y, x): kind for kind, cells in s["cells"].items() for y, x in cells} == kinds
    _, s = scene("channels", mode, sides, in_channels=2, out_channels=1)
    for plane in s["inputs"]:  # a data cell takes its group's colour
        assert {(y, x): "data" if c["kind"].startswith("group") else c["kind"]
                for y, row in enumerate(plane["cells"]) for x, c in enumerate(row)} == kinds


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sides", SIDES)
@pytest.mark.parametrize("stride", [1, 2])
def test_im2col_entries_read_from_copies_are_copies(mode, sides, stride):
    """Entry (tap, output) of X reads padded cell (oy*s + ky, ox*s + kx): a copy there is an
    entry marked as a copy (the copied cell), a zero there is null, never the other way."""
    want = expected(mode, sides)
    fig, s = scene("im2col", mode, sides, stride=stride)
    oh, ow = fig.spec.output_size
    for tap in range(4):
        ky, kx = divmod(tap, 2)
        for col in range(oh * ow):
            oy, ox = divmod(col, ow)
            kind, cell = want[oy * stride + ky, ox * stride + kx]
            entry = s["matrix"][tap][col]
            assert (tuple(entry) if entry else None) == cell
            assert s["copies"][tap][col] == (kind == "copy")
            assert (s["zero_kinds"][tap][col] == "padding") == (kind == "padding")
    _, g = scene("im2col", mode, sides, stride=stride, in_channels=2, out_channels=2)
    assert g["copies"] == s["copies"] * 2  # X stacks the two planes' unfolded blocks
    for r, row in enumerate(g["x_fill"]):
        for col, fill in enumerate(row):
            copy = s["copies"][r % 4][col]
            null = g["matrix"][r][col] is None
            assert fill.startswith("copygroup") == copy and fill.startswith("z") == null
