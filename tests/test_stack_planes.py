"""2-D stacks and padding modes in stacks: the cells and nodes a frame lights against a
reference walk through numpy.pad's index maps, receptive fields per axis against the
closed form, and the refusals."""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from convanim.figure import figure, plan
from convanim.scenes import stack
from convanim.spec import SpecError

NUMPY_MODE = {"zeros": "constant", "reflect": "reflect", "replicate": "edge",
              "circular": "wrap"}


def out_size(n, k, s, d, lo, hi):
    """PyTorch's output size, written out again for the reference."""
    return (n + lo + hi - d * (k - 1) - 1) // s + 1


def window_over_padding_only(n, k, s, d, lo, hi):
    """A pooling window that reads no input cell (PyTorch outputs -inf there): a loop."""
    return any(not any(0 <= o * s - lo + j * d < n for j in range(k))
               for o in range(out_size(n, k, s, d, lo, hi)))


def pools_over_padding_only(size, layers, pad):
    """Whether a pooling layer of the stack (``pad`` per axis, both sides) has a window
    over padding only, before any layer has no output (a stack refuses both)."""
    for l in layers:
        outs = [out_size(size[a], l["k"][a], l["s"][a], l["d"][a], pad[a], pad[a])
                for a in (0, 1)]
        if min(outs) < 1:
            return False
        if l["kind"] == "pool" and any(window_over_padding_only(
                size[a], l["k"][a], l["s"][a], l["d"][a], pad[a], pad[a]) for a in (0, 1)):
            return True
        size = outs
    return False


def reference_walk(shape, layers, level, out, mode="zeros"):
    """The (y, x) cells output ``out`` of layer ``level`` depends on, per level: a plain loop
    over every tap of every lit cell, a padding cell's copy read from numpy.pad of the
    plane's index map (-1 in zero padding)."""
    sizes = [tuple(shape)]
    for l in layers:
        t, b, left, r = l["padding"]
        sizes.append((out_size(sizes[-1][0], l["k"][0], l["s"][0], l["d"][0], t, b),
                      out_size(sizes[-1][1], l["k"][1], l["s"][1], l["d"][1], left, r)))
    lit = [set() for _ in range(level + 1)]
    lit[level] = {tuple(out)}
    for lvl in range(level, 0, -1):
        l = layers[lvl - 1]
        t, b, left, r = l["padding"]
        (h, w), (h0, w0) = sizes[lvl], sizes[lvl - 1]
        index = np.arange(h0 * w0).reshape(h0, w0)
        layer_mode = "zeros" if l["kind"] == "pool" else mode
        extra = {"constant_values": -1} if layer_mode == "zeros" else {}
        padded = np.pad(index, ((t, b), (left, r)), mode=NUMPY_MODE[layer_mode], **extra)
        for y, x in lit[lvl]:
            if not (0 <= y < h and 0 <= x < w):
                continue
            for ty in range(l["k"][0]):
                for tx in range(l["k"][1]):
                    py, px = y * l["s"][0] + ty * l["d"][0], x * l["s"][1] + tx * l["d"][1]
                    lit[lvl - 1].add((py - t, px - left))
                    if padded[py, px] >= 0:
                        lit[lvl - 1].add(divmod(int(padded[py, px]), w0))
    return [sorted(s) for s in lit], sizes


def closed_form(ks, ss, ds):
    r, j, out = 1, 1, []
    for k, s, d in zip(ks, ss, ds):
        r, j = r + (k - 1) * d * j, j * s
        out.append((r, j))
    return out


@st.composite
def plane_stacks(draw):
    """Small 2-D stacks that fit the figure's limits: layers, padding, an input size."""
    count = draw(st.integers(1, 3))
    layers = [dict(kind=draw(st.sampled_from(["conv", "conv", "pool"])),
                   k=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                   s=(draw(st.integers(1, 2)), draw(st.integers(1, 2))),
                   d=(draw(st.integers(1, 2)), draw(st.integers(1, 2)))) for _ in range(count)]
    p = draw(st.integers(0, 1))
    need = [1, 1]
    for l in reversed(layers):
        need = [max((need[a] - 1) * l["s"][a] + l["d"][a] * (l["k"][a] - 1) + 1 - 2 * p, 1)
                for a in (0, 1)]
    if max(need) > 16 - 2 * p:  # too large to draw: the same layers at stride 1
        for l in layers:
            l["s"] = (1, 1)
        need = [1, 1]
        for l in reversed(layers):
            need = [max(need[a] + l["d"][a] * (l["k"][a] - 1) - 2 * p, 1) for a in (0, 1)]
    size = tuple(min(need[a] + draw(st.integers(0, 3)), 16 - 2 * p) for a in (0, 1))
    text = " ".join(f"{'pool,' if l['kind'] == 'pool' else ''}k={l['k'][0]}x{l['k'][1]},"
                    f"s={l['s'][0]}x{l['s'][1]},d={l['d'][0]}x{l['d'][1]}" for l in layers)
    return size, text, p, layers


def plane_scene(**values):
    kind, options = figure("stack", planes=True, **values)
    fig = plan(kind, options).with_all_steps()
    return fig, fig.scene()


@settings(max_examples=25, deadline=None)
@given(plane_stacks())
def test_plane_frames_light_the_cells_a_reference_walk_reads(drawn):
    size, text, p, layers = drawn
    if pools_over_padding_only(size, layers, (p, p)):
        with pytest.raises(SpecError, match="read only padding"):
            plane_scene(input_size=size, layers=text, padding=p)
        return
    fig, scene = plane_scene(input_size=size, layers=text, padding=p)
    assert scene["layers"] == [{"kind": l["kind"], "k": list(l["k"]), "s": list(l["s"]),
                                "d": list(l["d"]), "padding": [p] * 4} for l in layers]
    per_axis = [closed_form(*[[l[key][a] for l in layers] for key in "ksd"]) for a in (0, 1)]
    for f, fy, fx in zip(scene["receptive_field"], *per_axis):
        assert f["size"] == [fy[0], fx[0]] and f["jump"] == [fy[1], fx[1]]
    _, sizes = reference_walk(size, scene["layers"], 1, (0, 0))
    assert fig.data()["sizes"] == [list(s) for s in sizes]
    assert len(scene["frames"]) == sizes[-1][0] * sizes[-1][1]
    for frame in scene["frames"]:
        want, _ = reference_walk(size, scene["layers"], frame["level"], frame["out"])
        got = [sorted((y, x) for l, y, x in frame["lit"] if l == lvl)
               for lvl in range(len(want))]
        assert got == want
        assert frame["out"] == list(divmod(frame["step"], sizes[-1][1]))
        inputs = want[0]
        if all(0 <= y < size[0] and 0 <= x < size[1] for y, x in inputs) and \
                all(0 <= y < sizes[l][0] and 0 <= x < sizes[l][1]
                    for l, cells in enumerate(want) for y, x in cells):
            # no tap in padding: the input cells span the whole field, per axis
            span = [max(c[a] for c in inputs) - min(c[a] for c in inputs) + 1 for a in (0, 1)]
            assert span == scene["receptive_field"][-1]["size"]


@settings(max_examples=25, deadline=None)
@given(plane_stacks(), st.sampled_from(["reflect", "replicate", "circular"]))
def test_plane_copies_light_what_numpy_pad_copies(drawn, mode):
    """A padding mode in 2-D: the lit cells follow every copy to the cell it copies (the
    reference walk reads numpy.pad's index map), each lit copy has an arrow from that
    cell, and PyTorch's limits are kept layer by layer."""
    size, text, p, layers = drawn
    sizes, ok = [size], True
    for l in layers:
        limit = {"reflect": p < min(sizes[-1]), "circular": p <= min(sizes[-1])}.get(mode, True)
        ok = ok and (l["kind"] == "pool" or limit) and \
            not pools_over_padding_only(sizes[-1], [l], (p, p))
        sizes.append(tuple(out_size(sizes[-1][a], l["k"][a], l["s"][a], l["d"][a], p, p)
                           for a in (0, 1)))
    kind, options = figure("stack", planes=True, input_size=size, layers=text, padding=p,
                           padding_mode=mode)
    if not ok:
        with pytest.raises(SpecError, match="padding must be|read only padding"):
            plan(kind, options)
        return
    scene = plan(kind, options).with_all_steps().scene()
    for frame in scene["frames"]:
        want, _ = reference_walk(size, scene["layers"], frame["level"], frame["out"], mode)
        lit = {(l, y, x) for l, y, x in frame["lit"]}
        assert lit == {(l, y, x) for l, cells in enumerate(want) for y, x in cells}
        for l, y, x, sy, sx, *_page in frame["arrows"]:
            h, w = sizes[l]
            t, _b, left, _r = scene["layers"][l]["padding"]
            index = np.pad(np.arange(h * w).reshape(h, w), p,
                           mode=NUMPY_MODE[mode])
            assert not (0 <= y < h and 0 <= x < w)
            assert divmod(int(index[y + t, x + left]), w) == (sy, sx)
            assert (l, y, x) in lit and (l, sy, sx) in lit


def test_plane_per_layer_steps_and_dilation_holes():
    fig, scene = plane_scene(input_size=(7, 9), layers="k=3,d=2 k=2", per_layer=True)
    assert fig.steps == 2
    first = scene["frames"][0]
    assert first["level"] == 1
    # one output of a dilated 3x3 reads 9 cells spread over a 5x5 field, not all 25
    assert sorted((y, x) for l, y, x in first["lit"] if l == 0) == \
        [(y, x) for y in (0, 2, 4) for x in (0, 2, 4)]
    assert scene["receptive_field"][0]["size"] == [5, 5]


def test_plane_causal_pads_the_width_on_the_left_only():
    fig, scene = plane_scene(input_size=(4, 6), layers="k=2 k=2,d=2", causal=True)
    assert [l["padding"] for l in scene["layers"]] == [[0, 0, 1, 0], [0, 0, 2, 0]]
    assert fig.data()["sizes"] == [[4, 6], [3, 6], [1, 6]]  # height: 4-1, then 3-2
    for frame in scene["frames"]:  # output column t reads input columns <= t only
        t = frame["out"][1]
        assert max(x for l, y, x in frame["lit"] if l == 0) == t


@pytest.mark.usefixtures("tex_tools")
def test_plane_json_gives_per_axis_fields(tmp_path, capsys, monkeypatch):
    from convanim.cli import main

    monkeypatch.chdir(tmp_path)
    code = main(["stack", "-i", "5x6", "--layers", "k=3 k=2x3,s=1x2", "--labels", "-q", "40",
                 "--json", "--quiet", "--theme", "dark"])
    out = capsys.readouterr()
    assert code == 0
    paths = out.out.split()
    assert any(p.endswith("_00.png") for p in paths)
    data = json.loads(next(open(p).read() for p in paths if p.endswith(".json")))
    assert data["sizes"] == [[5, 6], [3, 4], [2, 1]]
    assert data["receptive_field"] == [{"size": [3, 3], "jump": [1, 1], "start": [1.5, 1.5]},
                                       {"size": [4, 5], "jump": [1, 2], "start": [2.0, 2.5]}]
    assert data["layers"][1] == {"kind": "conv", "k": [2, 3], "s": [1, 2], "d": [1, 1],
                                 "padding": [0, 0, 0, 0]}
    assert data["steps"] == 2
    assert all("stack_planes_k3s1d1-k2x3s1x2d1_" in p for p in paths)
    assert out.err.splitlines()[2].split()[2:5] == ["2x3", "1x2", "1"]


@pytest.mark.parametrize("values, message", [
    ({"input_size": 8, "planes": True, "layers": " ".join(["k=2"] * 5)}, "at most 4"),
    ({"input_size": 15, "planes": True, "layers": "k=3", "padding": 1}, "at most 16 per axis"),
    ({"input_size": (6, 20), "layers": "k=3"}, "at most 16 per axis"),
    ({"input_size": 6, "planes": True, "layers": "k=5 k=5,s=3 k=3", "padding": 2,
      "padding_mode": "reflect"}, "layer 3: reflect padding must be smaller than the input"),
    ({"input_size": 6, "layers": "k=3x2"}, "in a sequence"),
    ({"input_size": (4, 6), "layers": "k=5"}, "along the height"),
])
def test_bad_plane_stacks_are_refused(values, message):
    with pytest.raises(SpecError, match=message):
        kind, options = figure("stack", **values)
        plan(kind, options)


# --- padding modes in 1-D stacks ---------------------------------------------------------

@st.composite
def moded_stacks(draw):
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    layers = [dict(k=draw(st.integers(1, 3)), s=draw(st.integers(1, 2)),
                   d=draw(st.integers(1, 2)), pool=draw(st.booleans()))
              for _ in range(draw(st.integers(1, 3)))]
    return mode, draw(st.integers(0, 2)), layers, draw(st.integers(2, 12))


@settings(max_examples=40, deadline=None)
@given(moded_stacks())
def test_moded_stack_lights_the_nodes_numpy_pad_copies(drawn):
    mode, p, layers, n = drawn
    text = " ".join(f"{'pool,' if l['pool'] else ''}k={l['k']},s={l['s']},d={l['d']}"
                    for l in layers)
    spec = [dict(kind="pool" if l["pool"] else "conv", k=(1, l["k"]), s=(1, l["s"]),
                 d=(1, l["d"]), padding=(0, 0, p, p)) for l in layers]
    # which stacks PyTorch takes: every level at least one cell, the mode's limit per layer
    sizes, ok = [n], True
    for l in spec:
        limit = {"reflect": p < sizes[-1], "circular": p <= sizes[-1]}.get(mode, True)
        ok = ok and (l["kind"] == "pool" or limit) and \
            not pools_over_padding_only((1, sizes[-1]), [l], (0, p))
        sizes.append(out_size(sizes[-1], l["k"][1], l["s"][1], l["d"][1], p, p))
        ok = ok and sizes[-1] >= 1
    kind, options = figure("stack", input_size=n, layers=text, padding=p, padding_mode=mode)
    if not ok:
        with pytest.raises(SpecError):
            plan(kind, options)
        return
    fig = plan(kind, options).with_all_steps()
    scene = fig.scene()
    for frame in scene["frames"]:
        want, _ = reference_walk((1, n), spec, frame["level"], (0, frame["out"][1]), mode)
        assert sorted((lvl, pos) for lvl, pos, _ in frame["nodes"]) == \
            sorted((lvl, x) for lvl, cells in enumerate(want) for _, x in cells)
    # every padding node of a conv layer says which node it copies: numpy.pad's index map
    for lvl, row in enumerate(scene["rows"][:-1]):
        l = spec[lvl]
        index = np.pad(np.arange(row["size"]), (p, p),
                       mode=NUMPY_MODE["zeros" if l["kind"] == "pool" else mode],
                       **({"constant_values": -1} if l["kind"] == "pool" else {}))
        assert [c for _, _, _, c in row["nodes"]] == \
            [None if 0 <= pos < row["size"] or v < 0 else int(v)
             for pos, v in zip(range(-p, row["size"] + p), index)]


def test_moded_stack_arrows_join_each_lit_copy_to_its_source():

    kind, options = figure("stack", input_size=6, layers="k=3 k=3", padding=1,
                           padding_mode="reflect")
    fig = plan(kind, options).with_all_steps()
    scene = fig.scene()
    first = scene["frames"][0]  # output 0 reads reflect copies on the left of both levels
    assert sorted((lvl, pos, src) for lvl, pos, src, *_ in first["arrows"]) == \
        [(0, -1, 1), (1, -1, 1)]
    assert fig.data()["layers"][0]["padding"] == [1, 1]
    assert fig.name.count("reflect") == 1
    assert "nn.ReflectionPad1d((1, 1)), nn.Conv1d(1, 1, 3, stride=1)" in \
        kind.torch_call(fig.spec, options)


@pytest.mark.parametrize("planes, pad", [(False, "nn.ConstantPad1d((1, 0), float('-inf'))"),
                                         (True, "nn.ConstantPad2d((1, 0, 0, 0), float('-inf'))")])
def test_a_padded_pooling_layer_pads_with_minus_infinity_in_the_pytorch_call(planes, pad):
    """Max pooling's padding never wins a max (PyTorch pads it with -inf): zeros would
    change every window of negative values that reaches into it."""
    kind, options = figure("stack", input_size=6, layers="k=2 pool,k=2", causal=True,
                           planes=planes, padding_mode="reflect")
    call = kind.torch_call(plan(kind, options).spec, options)
    assert call.count("float('-inf')") == 1 and f"{pad}, nn.MaxPool" in call
    assert ("ReflectionPad2d((1, 0, 0, 0)), nn.Conv2d" if planes
            else "ReflectionPad1d((1, 0)), nn.Conv1d") in call


def test_plane_names_stand_left_of_every_frustum_line_and_cell():
    """A frustum line ran through the 'input' label: the names now stand left of the
    drawing's front-left corner, where nothing else is drawn."""
    _, s = plane_scene(input_size=(8, 8), layers="k=3 k=3,d=2", labels=True)
    xs = [x for f in s["frames"] for _l, x0, _y0, x1, _y1 in f["lines"] for x in (x0, x1)]
    xs += [x for p in s["planes"] for *_c, quad in p["cells"] for x, _y in quad]
    assert min(xs) >= 0 and all(p["label"][0] == 0 for p in s["planes"])


def test_frustum_lines_are_drawn_before_the_plane_they_rise_to():
    """Each frame's lines up to plane l come before plane l's cells, so the plane hides
    the part of them under it (they were drawn over it)."""
    from convanim.cli import plan_command

    tex = plan_command(["stack", "-i", "8", "--planes", "--layers", "k=3 k=3,d=2"]).tex()
    frame = tex[tex.index("\\begin{cvframe}"):tex.index("\\end{cvframe}")]
    _, s = plane_scene(input_size=(8, 8), layers="k=3 k=3,d=2")
    for lvl in (1, 2):
        quad = s["planes"][lvl]["cells"][0][4]
        first_cell = "] ({},{}) -- ({},{}) -- ".format(*quad[0], *quad[1])
        lines = [frame.index(f"\\path[frustum] ({x0},{y0}) -- ({x1},{y1})")
                 for l, x0, y0, x1, y1 in s["frames"][0]["lines"] if l == lvl]
        assert len(lines) == 4 and max(lines) < frame.index(first_cell), lvl
