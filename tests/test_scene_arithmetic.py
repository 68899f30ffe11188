"""What the arithmetic template is told to draw, frame by frame."""

import pytest

from convanim.scenes import arithmetic
from convanim.spec import ConvSpec
from convanim.scenes.arithmetic import Arithmetic, ArithmeticOptions

ARGS = ArithmeticOptions(labels=True, caption="")


def scene_of(**kw):
    spec = ConvSpec(**kw).validate()
    return spec, Arithmetic().scene(spec, list(range(spec.lowered().steps)), ARGS)


def test_cells_cover_the_canvas_exactly_once():
    _, s = scene_of(input_size=(6, 6), stride=(2, 2), padding=(1, 1), transposed=True)
    h, w = s["canvas"]
    cells = [tuple(c) for kind in s["cells"].values() for c in kind]
    assert len(cells) == len(set(cells)) == h * w


def test_transposed_canvas_has_insertions_padding_and_output_padding():
    # conv 6 -> 3 (k3 s2 p1); transposed: 3 cells, 1 zero between, padding 1, output padding 1
    _, s = scene_of(input_size=(6, 6), stride=(2, 2), padding=(1, 1), transposed=True)
    assert s["canvas"] == [8, 8] and s["output"] == [6, 6]
    assert len(s["cells"]["data"]) == 9
    assert len(s["cells"]["inserted"]) == 25 - 9
    assert sorted(map(tuple, s["cells"]["outpad"])) == sorted(
        {(7, c) for c in range(8)} | {(r, 7) for r in range(8)})
    assert len(s["cells"]["padding"]) == 64 - 25 - 15


def test_frames_step_row_major_and_shade_only_the_real_taps():
    _, s = scene_of(input_size=(7, 7), dilation=(2, 2))
    assert len(s["frames"]) == 9
    f = s["frames"][5]  # output (1, 2)
    assert f["out"] == [1, 2]
    assert sorted(map(tuple, f["taps"])) == [(r, c) for r in (1, 3, 5) for c in (2, 4, 6)]
    assert f["window"] == [1, 2, 5, 6]


@pytest.mark.parametrize("transposed,stride,operand,canvas,output,note", [
    (False, 2, [5, 5], [7, 7], [3, 3], "padded"),
    (True, 2, [3, 3], [7, 7], [5, 5], "zeros inserted, padded"),
    (True, 1, [5, 5], [7, 7], [5, 5], "padded"),
])
def test_labels_give_the_sizes(transposed, stride, operand, canvas, output, note):
    _, s = scene_of(input_size=(5, 5), stride=(stride, stride), padding=(1, 1),
                    transposed=transposed)
    op = s["labels"]["operand"]
    assert (op["size"], op["note"], op["canvas"]) == (operand, note, canvas)
    assert ("transposed" in op["name"]) == transposed
    assert [k for k, _ in op["kinds"]] == ["padding"] + (["inserted"] if stride > 1 and transposed
                                                         else [])
    assert s["labels"]["output"]["size"] == output
