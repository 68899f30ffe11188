"""The stack kind: receptive fields against the closed form and against the highlighted taps."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convanim import geometry as g
from convanim.figure import figure, plan
from convanim.spec import SpecError

from helpers import run

layer = st.tuples(st.integers(1, 4), st.integers(1, 3), st.integers(1, 4), st.integers(0, 3),
                  st.integers(0, 3))


def closed_form(layers):
    """r_l = r_{l-1} + (k_l - 1) d_l j_{l-1}, j_l = j_{l-1} s_l, written out again."""
    r, j, out = 1, 1, []
    for k, s, d in layers:
        r = r + (k - 1) * d * j
        j = j * s
        out.append((r, j))
    return out


@st.composite
def stacks(draw):
    """Layers, and an input long enough for every layer to have an output."""
    drawn = draw(st.lists(layer, min_size=1, max_size=5))
    need = 1  # the fewest cells each level needs, from the top down
    for k, s, d, lo, hi in reversed(drawn):
        need = max((need - 1) * s + d * (k - 1) + 1 - lo - hi, 1)
    return need + draw(st.integers(0, 12)), drawn


@settings(max_examples=120, deadline=None)
@given(stacks())
def test_receptive_fields_are_the_closed_form_and_the_taps_walked_back(stack):
    n, drawn = stack
    layers = [g.StackLayer(k, s, d, lo, hi) for k, s, d, lo, hi in drawn]
    sizes = g.stack_sizes(n, layers)
    assert min(sizes) >= 1
    fields = g.receptive_fields(layers)
    assert [(f["size"], f["jump"]) for f in fields] == closed_form([l[:3] for l in drawn])
    for level in range(1, len(layers) + 1):
        f = fields[level - 1]
        for out in range(sizes[level]):
            reads = g.stack_reads(n, layers, level, out, through_padding=True)[0]
            assert max(reads) - min(reads) + 1 == f["size"]  # the field, holes included
            assert (max(reads) + min(reads) + 1) / 2 == f["start"] + out * f["jump"]


def scene_of(**values):
    kind, options = figure("stack", **values)
    fig = plan(kind, options).with_all_steps()
    return fig, fig.scene()


@pytest.mark.parametrize("values", [
    {"layers": "k=2,d=1 k=2,d=2 k=2,d=4 k=2,d=8", "causal": True},
    {"input_size": 12, "layers": "k=3 pool,k=2,s=2 k=3,d=2", "padding": 1},
    {"input_size": 9, "layers": "k=3,s=2 k=2", "padding": "same"},
])
def test_the_scene_highlights_exactly_the_field(values):
    fig, scene = scene_of(**values)
    layers = [g.StackLayer(l["k"], l["s"], l["d"], *l["padding"], pool=l["kind"] == "pool")
              for l in scene["layers"]]
    n = scene["rows"][0]["size"]
    for frame in scene["frames"]:
        reads = g.stack_reads(n, layers, frame["level"], frame["out"][1])
        assert sorted(p for _, p in frame["taps"]) == reads[0]
        lit = sorted((lvl, pos) for lvl, pos, _ in frame["nodes"])
        assert lit == sorted((lvl, p) for lvl, row in enumerate(reads) for p in row)
        # every highlighted edge joins two highlighted nodes, one layer apart
        for e in frame["edges"]:
            lvl, o, q, *_ = scene["edges"][e]
            assert (lvl, o) in lit and (lvl - 1, q) in lit
        # where no tap falls in padding, the input cells are the whole field
        inside = all(0 <= p < scene["rows"][l]["size"] for l, p in lit)
        if inside:
            span = max(reads[0]) - min(reads[0]) + 1
            assert span == scene["receptive_field"][frame["level"] - 1]["size"]


def test_wavenet_stack_json_and_steps():
    fig, scene = scene_of(layers="k=2,d=1 k=2,d=2 k=2,d=4 k=2,d=8", causal=True)
    data = fig.data()
    assert data["layers"] == [{"kind": "conv", "k": 2, "s": 1, "d": d, "padding": [d, 0]}
                              for d in (1, 2, 4, 8)]
    assert [f["size"] for f in data["receptive_field"]] == [2, 4, 8, 16]
    assert [f["jump"] for f in data["receptive_field"]] == [1, 1, 1, 1]
    assert fig.steps == 16  # one per output of the last layer
    assert fig.name.startswith("stack_k2s1d1-k2s1d2-k2s1d4-k2s1d8_causal_")  # as it was
    last = scene["frames"][-1]
    assert sorted(p for _, p in last["taps"]) == list(range(16))  # output 15 sees them all
    json.dumps(data)
    per_layer, _ = scene_of(layers="k=2,d=1 k=2,d=2", per_layer=True)
    assert per_layer.steps == 2


@pytest.mark.parametrize("values, message", [
    ({"layers": "k=2,x=3"}, "each layer is"),
    ({"layers": "k=3 k=3x4x5"}, "'k=3x4x5' is a layer of volumes"),
    ({"layers": "conv,k=3,s=1x2x2"}, "is a layer of volumes"),
    ({"layers": "s=2"}, "needs k="),
    ({"layers": " ".join(["k=2"] * 9)}, "at most 8"),
    ({"input_size": 80, "layers": "k=2"}, "at most 64"),
    ({"input_size": "4x6", "layers": " ".join(["k=1"] * 5)}, "2-D stack figures draw at most 4"),
    ({"layers": "k=2", "padding": 16, "padding_mode": "reflect"}, "smaller than the input"),
    ({"input_size": 4, "layers": "k=3,d=3"}, "more than its padded"),
])
def test_bad_stacks_are_refused(values, message):
    with pytest.raises(SpecError, match=message):
        kind, options = figure("stack", **values)
        plan(kind, options)


@pytest.mark.usefixtures("tex_tools")
def test_terminal_prints_the_receptive_fields(tmp_path, capsys, monkeypatch):
    from convanim.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["stack", "-i", "8", "--layers", "k=2,d=1 k=2,d=2", "--causal", "-y", "pdf",
                 "--quiet"])
    err = capsys.readouterr().err.splitlines()
    assert code == 0
    assert err[0].split() == ["layer", "kind", "k", "s", "d", "padding", "receptive", "field",
                              "jump", "start"]
    assert err[1].split()[6:8] == ["2", "1"] and err[2].split()[6:8] == ["4", "1"]


def _smallest_text_pt(pdf, column_cm):
    """The smallest word's height once the page is scaled to fit a ``column_cm`` column,
    as the legibility yardstick measures it (pdftotext's word box: 0.887 of the font size
    PyMuPDF reads, for Computer Modern)."""
    import pymupdf

    with pymupdf.open(str(pdf)) as doc:
        page = doc[0]
        sizes = [span["size"] for block in page.get_text("dict")["blocks"]
                 for line in block.get("lines", []) for span in line["spans"]
                 if span["text"].strip()]
        width = page.rect.width
    scale = min(1.0, column_cm / 2.54 * 72 / width)
    return min(sizes) * 0.887 * scale, width / 72 * 2.54


WAVENET = ["stack", "-i", "16", "--layers", "k=2,d=1 k=2,d=2 k=2,d=4 k=2,d=8", "--causal",
           "--labels"]


@pytest.mark.usefixtures("tex_tools")
@pytest.mark.parametrize("argv", [
    WAVENET,                                                       # the gallery's WaveNet
    WAVENET + ["--caption", "A WaveNet stack"],
    WAVENET + ["--padding-mode", "replicate"],
    ["stack", "-i", "8", "--planes", "--layers", "k=3 k=3,d=2", "--labels"],   # gallery's
    ["stack", "-i", "12", "--layers", "k=3 pool,k=2,s=2 k=3", "--labels"],
    ["stack"],
])
def test_stacks_keep_5pt_text_in_an_8_25cm_column(argv, tmp_path, capsys):
    """Drawn with --width 8.25 the WaveNet stack was 3.4 pt: its layers' parameters now go
    below the rows and the nodes close up, so every word is >= 5 pt, and nothing warns."""
    status, out, err = run(capsys, *argv, "--width", "8.25", "-y", "pdf", "fig",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    smallest, width = _smallest_text_pt(next(p for p in out if p.suffix == ".pdf"), 8.25)
    assert smallest >= 5.0, (argv, smallest)
    assert width <= 8.3 and not [line for line in err if "warning" in line], err


@pytest.mark.usefixtures("tex_tools")
def test_a_stack_too_wide_for_its_column_warns_in_one_line(tmp_path, capsys):
    """Without --width, drawn at its natural 18.7 cm and shrunk into 8.25 cm, the WaveNet
    stack is under 5 pt; --width 4 cannot keep it legible either, and says so once."""
    status, out, err = run(capsys, *WAVENET, "--width", "4", "-y", "pdf", "fig",
                           "--out-dir", str(tmp_path), "--gif-dir", str(tmp_path))
    assert status == 0, err
    smallest, _ = _smallest_text_pt(next(p for p in out if p.suffix == ".pdf"), 4)
    warn = [line for line in err if "warning" in line]
    assert smallest < 5.0 and len(warn) == 1, (smallest, err)
    assert "under 5 pt" in warn[0] and "--width 4" in warn[0]
