"""The typed figure model: options declared once, kinds as objects, imports one way.

The import graph is read with ast from convanim/ itself (function-level imports
included), so a circle or a front end importing another fails here, not in review.
A toy kind defined in this file is drawn from every front end without touching any
module of the package.
"""
import ast
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import convanim
from convanim import kinds
from convanim.errors import SpecError, VerifyError
from convanim.kind import Kind
from convanim.options import Choice, FigureOptions, option
from convanim.scenes import window

from helpers import PROJECT, files_under, pdf_pages, run

PACKAGE = PROJECT / "convanim"


# --- the import graph ---------------------------------------------------------------------

def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path, modules) -> list[tuple[str, str, int]]:
    """Every convanim module that ``name`` imports anywhere in its file, with what it
    takes from it and the line: ``(module, imported name or "", line)``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(a.name, "", node.lineno) for a in node.names
                    if a.name.split(".")[0] == "convanim"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "convanim":
                continue
            for a in node.names:  # `from . import files` imports the module convanim.files
                sub = f"{source}.{a.name}"
                out.append((sub, "", node.lineno) if sub in modules
                           else (source, a.name, node.lineno))
    return out


def _graph():
    modules = _modules()
    return modules, {name: _imports(name, path, modules) for name, path in modules.items()}


def test_no_module_imports_itself_in_a_circle():
    modules, graph = _graph()
    edges = {m: sorted({t for t, _, _ in imports if t in modules and t != m})
             for m, imports in graph.items()}
    state, circles = {}, []

    def visit(m, trail):
        state[m] = "open"
        for t in edges[m]:
            if state.get(t) == "open":
                circles.append(" -> ".join(trail[trail.index(t):] + [t]))
            elif t not in state:
                visit(t, trail + [t])
        state[m] = "done"

    for m in sorted(edges):
        if m not in state:
            visit(m, [m])
    assert circles == []
    # the graph is real: the front ends reach the model, the model the scenes
    assert "convanim.figure" in edges["convanim.api"]
    assert "convanim.kinds" in edges["convanim.figure"]


def test_only_main_imports_the_cli_and_no_private_name_crosses_modules():
    modules, graph = _graph()
    importers = sorted(m for m, imports in graph.items()
                       if any(t == "convanim.cli" for t, _, _ in imports))
    assert importers == ["convanim.__main__"]
    private = [f"{m}:{line} takes {what} from {t}" for m, imports in graph.items()
               for t, what, line in imports
               if what.startswith("_") and not what.startswith("__")]
    assert private == []


def test_front_ends_do_not_import_each_other():
    modules, graph = _graph()
    fronts = {"convanim.cli", "convanim.api", "convanim.build", "convanim.sphinx",
              "convanim.mkdocs"}
    engine_users = {"convanim.cli", "convanim.mkdocs"}
    crossing = sorted(f"{m} -> {t}" for m in fronts for t, _, _ in graph[m]
                      if t in fronts - {m} and not (m in engine_users and t == "convanim.build"))
    assert crossing == []  # `build` and the MkDocs plugin are the adapters of build's engine


def test_convanim_render_is_a_plain_function():
    import inspect

    assert inspect.isfunction(convanim.render) and convanim.render.__module__ == "convanim.api"


# --- the declarations ---------------------------------------------------------------------

def test_every_option_has_help_and_states_its_default_once(capsys):
    from convanim.cli import main

    for kind in kinds.names():
        for opt in kinds.get(kind).Options.options():
            assert opt.help, opt.name
            assert opt.help_text().count("(default:") <= 1, opt.help_text()
            if "default" in opt.help:  # stated in its own words: not appended again
                assert opt.help_text() == opt.help
        with pytest.raises(SystemExit):
            main([kind, "--help"])
        text = capsys.readouterr().out
        assert "(default: None)" not in text and "(default: )" not in text
        assert "(default: False)" not in text and "goo.gl" not in text
        input_help = ("the input's length: N, or 1xN (a sequence); HxW with H > 1, or N "
                      "with --planes, a 2-D input (default: 1x16)"
                      if kind == "stack" else "the input's size, N or HxW (default: 5)")
        assert input_help in " ".join(text.split())


@pytest.mark.parametrize("value", [5, np.int64(5), np.int32(5), "5", (5, 5), [5, 5],
                                   np.array([5, 5])])
def test_python_values_of_every_spelling_are_one_size(value):
    from convanim.scenes.arithmetic import ArithmeticOptions

    assert ArithmeticOptions(input_size=value).input_size == (5, 5)


@pytest.mark.usefixtures("tex_tools")
def test_the_api_takes_numpy_integers_and_paths(workdir):
    result = convanim.render("arithmetic", "np", input_size=np.int64(4), stride=np.int32(2),
                             out_dir=Path("frames"), type="pdf", quality=np.int64(30))
    assert [str(p) for p in result] == ["frames/np_00.pdf"]
    assert len(pdf_pages(workdir / "frames/np_00.pdf")) == 1


def test_bad_values_name_the_option_in_every_front_end():
    from convanim.scenes.numerical import NumericalOptions

    for value, message in [(2.5, "argument -s/--stride: expected a number, a "
                                             "string, an (h, w) pair or a (d, h, w) triple, "
                                             "got 2.5"),
                           ("2x", "argument -s/--stride: expected N, HxW or DxHxW")]:
        with pytest.raises(SpecError, match="^" + re.escape(message)):
            NumericalOptions(stride=value)
    with pytest.raises(SpecError, match=r"argument --seed: must be between 0 and"):
        NumericalOptions(seed=-1)
    with pytest.raises(SpecError, match=r"argument --width: expected a number, got nan"):
        NumericalOptions(width=float("nan"))
    with pytest.raises(SpecError, match=r"argument --out-dir: expected a path, got 3"):
        NumericalOptions(out_dir=3)


# --- a kind defined here, drawn from every front end --------------------------------------

class Corners(Kind):
    """A toy kind: the padded input as a grid, the window of each step shaded."""

    name = "corners"
    summary = "a toy kind: the kernel window of each step on the padded input"

    @dataclass(frozen=True)
    class Options(FigureOptions):
        shade: str = option("light", "--shade", type=Choice(("light", "strong")),
                            help="how strongly the window is shaded")

    template_source = textwrap.dedent(r"""
        \BLOCK{extends "base.tex.j2"}
        \BLOCK{block frames}
        \BLOCK{set H, W = scene.canvas}
        \BLOCK{for f in scene.frames}
        \BLOCK{set r0, c0, r1, c1 = f.window}
        \begin{cvframe}\begin{tikzpicture}[x=.5cm, y=.5cm]
          \fill[cvcurrent\BLOCK{if scene.shade == "light"}!40\BLOCK{endif}]
            (\VAR{c0},\VAR{H - r1 - 1}) rectangle (\VAR{c1 + 1},\VAR{H - r0});
          \draw[cvsolid] (0,0) grid (\VAR{W},\VAR{H});
        \end{tikzpicture}\end{cvframe}
        \BLOCK{endfor}
        \BLOCK{endblock}
        """)

    def name_parts(self, options):
        return [options.shade]

    def scene(self, spec, steps, options):
        low = spec.lowered()
        return {"canvas": list(low.canvas), "shade": options.shade,
                "frames": [window(low, s) for s in steps]}

    def data(self, spec, scene, options):
        return {"windows": [f["window"] for f in scene["frames"]]}


@pytest.fixture
def corners():
    kinds.register(Corners())
    yield
    kinds.unregister("corners")


@pytest.mark.usefixtures("tex_tools")
def test_a_new_kind_is_drawn_from_the_cli(workdir, capsys, corners):
    status, out, err = run(capsys, "corners", "-i", "4", "-s", "2", "--shade", "strong", "-a",
                           "-qa", "20", "--quiet", "--json")
    assert status == 0, err
    name = "corners_strong_i4_k3_s2_p0_d1"
    assert [str(p) for p in out] == [f"out/{name}.pdf", f"gif/{name}.gif", f"out/{name}.json"]
    assert len(pdf_pages(workdir / f"out/{name}.pdf")) == 1
    data = json.loads((workdir / f"out/{name}.json").read_text())
    assert data["kind"] == "corners" and data["windows"] == [[0, 0, 2, 2]]
    status, out, err = run(capsys, "corners", "--shade", "pale")
    assert status == 2 and "argument --shade: invalid choice: 'pale'" in err[0]
    status, out, err = run(capsys, "corners", "--verify", "-y", "pdf")
    assert status == 2 and err == ["convanim: error: --verify: corners figures have no "
                                   "numbers to verify"]


@pytest.mark.usefixtures("tex_tools")
def test_a_new_kind_is_drawn_from_the_api(workdir, corners):
    result = convanim.render("corners", "c", input_size=(5, 4), animation=True,
                             quality_animation=20, quiet=True)
    assert [str(p) for p in result] == ["out/c.pdf", "gif/c.gif"]
    assert Image.open(workdir / "gif/c.gif").n_frames == 6  # a 3x2 output
    with pytest.raises(SpecError, match="unknown option 'labels' for corners figures"):
        convanim.render("corners", labels=True)


@pytest.mark.usefixtures("tex_tools")
def test_a_new_kind_is_drawn_from_a_build_config(workdir, capsys, corners):
    (workdir / "figs.toml").write_text(textwrap.dedent("""
        index = true
        [defaults]
        shade = "strong"        # only the corners kind has it
        [figures.toy]
        kind = "corners"
        input-size = 5
        stride = 2
        animation = true
        quality-animation = 20
        [figures.classic]
        kind = "arithmetic"
        input-size = 4
        type = "pdf"
        """))
    status, out, err = run(capsys, "build", "figs.toml", "--quiet", "-j", "1")
    assert status == 0, err
    assert sorted(str(p) for p in out) == ["gif/toy.gif", "index.html", "index.md",
                                           "out/classic_00.pdf", "out/toy.pdf"]
    assert Image.open(workdir / "gif/toy.gif").n_frames == 4
    index = (workdir / "index.md").read_text()
    assert "`python -m convanim corners toy --shade strong -i 5 -s 2 -a -qa 20`" in index


# --- --verify from every front end --------------------------------------------------------

BACKEND = __import__("os").environ.get("CONVANIM_TEST_BACKEND", "simulator")


@pytest.mark.usefixtures("tex_tools")
def test_verify_from_the_api(workdir, monkeypatch):
    result = convanim.render("numerical", "v", input_size=5, stride=2, type="pdf",
                             verify=True, backend=BACKEND)
    assert [str(p) for p in result] == ["out/v_00.pdf"]
    from convanim.scenes import numerical

    real = numerical.compute
    monkeypatch.setattr(numerical, "compute",  # a figure whose numbers are wrong
                        lambda *a: (lambda o, v, r: (o + 1, v, r))(*real(*a)))
    with pytest.raises(VerifyError, match="differ from the backend's; nothing written"):
        convanim.render("numerical", "w", input_size=5, type="pdf", verify=True,
                        backend=BACKEND)
    assert files_under(workdir) == [Path("out/v_00.pdf")]


@pytest.mark.usefixtures("tex_tools")
def test_verify_from_a_build_config(workdir, capsys, monkeypatch):
    (workdir / "figs.toml").write_text(textwrap.dedent(f"""
        [defaults]
        verify = true
        backend = "{BACKEND}"
        type = "pdf"
        [figures.ok]
        kind = "alphabet"
        input-size = 4
        [figures.bad]
        kind = "numerical"
        input-size = 4
        """))
    from convanim.scenes import numerical

    real = numerical.compute
    monkeypatch.setattr(numerical, "compute",
                        lambda *a: (lambda o, v, r: (o * 2 + 1, v, r))(*real(*a)))
    status, out, err = run(capsys, "build", "figs.toml", "--quiet", "-j", "1")
    assert status == 1
    assert [str(p) for p in out] == ["out/ok_00.pdf"]
    assert "convanim: error: figure 'bad': the figure's numbers differ from the backend's; " \
           "nothing written" in err


@pytest.mark.usefixtures("tex_tools")
def test_verify_from_a_sphinx_page(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "conf.py").write_text('extensions = ["convanim.sphinx"]\n'
                                 f'convanim_defaults = {{"quality-animation": 20, '
                                 f'"backend": "{BACKEND}"}}\n')
    (src / "index.rst").write_text(textwrap.dedent("""
        Checked
        =======

        .. convanim:: numerical checked
           :input-size: 4
           :verify:
        """))
    env = {**__import__("os").environ, "PYTHONPATH": str(PROJECT),
           "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-N", "-W", "-b", "html", str(src),
                           str(tmp_path / "html")], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    assert Image.open(tmp_path / "html/_images/checked.gif").n_frames == 4
