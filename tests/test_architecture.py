"""The shape of the code: the render engine knows no figure kind and no command line,
each output format is described in one table, and no module outgrows one job."""
import ast
import re
from pathlib import Path

import pytest

from convanim import kinds
from convanim.engine import formats
from convanim.options import FigureOptions

PACKAGE = Path(kinds.__file__).resolve().parent
ENGINE = PACKAGE / "engine"


def modules(folder: Path = PACKAGE) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def command_line_flags() -> set[str]:
    """Every flag a figure command or a tool command takes."""
    from convanim.cli import build_parser

    flags = {f for name in kinds.names() for o in kinds.get(name).Options.options()
             for f in o.flags}
    parser = build_parser()
    for action in parser._actions:
        for sub in getattr(action, "choices", None) or {}:
            sub_parser = action.choices[sub]
            if hasattr(sub_parser, "_actions"):
                flags.update(f for a in sub_parser._actions for f in a.option_strings)
    return flags - {"-h", "--help"}


def test_the_engine_imports_no_kind_no_scene_and_no_front_end():
    banned = {"kinds", "kind", "scenes", "cli", "options", "figure", "build", "sphinx",
              "mkdocs", "api", "__main__"}
    for path in modules(ENGINE):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
                if node.level == 2 or (node.module or "").startswith("convanim"):
                    parts = {p for n in names for p in n.split(".")}
                    assert not parts & banned, f"{path.name} imports {parts & banned}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not set(alias.name.split(".")) & banned, (path.name, alias.name)


def test_the_engine_names_no_command_line_flag():
    flags = command_line_flags()
    assert {"-q", "-qa", "--width", "-y", "--delay"} <= flags  # the ones it used to name
    word = re.compile(r"(?<![\w-])(--?[a-z][a-z-]*)")
    for path in modules(ENGINE):
        for text in strings(ast.parse(path.read_text())):
            named = set(word.findall(text)) & flags
            assert not named, f"{path.name} names {named}: {text[:60]!r}"


def strings(tree) -> list[str]:
    """Every string of a module, docstrings included; an f-string with X for each value."""
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
             for v in node.values}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            out.append("".join(v.value if isinstance(v, ast.Constant) else "X"
                               for v in node.values))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in parts:
            out.append(node.value)
    return out


def test_a_format_is_described_once():
    """Its suffix, mime type, whether it is a video: in the table. A format's own name
    appears only there and in the module that encodes it."""
    holding = [p.relative_to(PACKAGE) for p in modules() if "webm" in p.read_text().lower()]
    assert sorted(map(str, holding)) == ["engine/encoders.py", "engine/formats.py"]
    assert formats.of_word("svg", True).kind == "svg-animation"
    assert formats.of_word("svg", False).kind == "svg"
    assert formats.VIDEO_WORDS == ("mp4", "webm")
    assert formats.mime(".webm") == "video/webm" and formats.mime(".png") == "image/png"
    assert all(f.writer in __import__("convanim.engine", fromlist=["_WRITERS"])._WRITERS
               for f in formats.TABLE)


@pytest.mark.parametrize("word", FigureOptions.by_name()["type"].type.choices)
def test_every_format_word_is_in_the_table(word):
    assert any(f.word == word for f in formats.TABLE)


def test_no_module_outgrows_one_job():
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in modules()}
    assert max(sizes.values()) <= 700, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_run_settings_are_declared_once_and_never_part_of_the_picture():
    """Resolutions, folders, cache, progress, verify and backend: RenderSettings declares
    them, every kind's options take those declarations, and none decides the picture."""
    from convanim.options import RenderSettings, declared

    for name in kinds.names():
        by_name = kinds.get(name).Options.by_name()
        for opt in declared(RenderSettings):
            taken = by_name[opt.name]
            assert (taken.flags, taken.help, taken.default, type(taken.type)) == \
                (opt.flags, opt.help, opt.default, type(opt.type)) and not taken.picture
    options = FigureOptions(quality=300, out_dir="figs", verify=True, backend="numpy")
    assert options.render_settings() == RenderSettings(quality=300, out_dir="figs",
                                                       verify=True, backend="numpy")
    assert not set(RenderSettings.names()) & set(options.picture())
    assert FigureOptions(quality=300).picture() == FigureOptions().picture()


def test_stats_takes_the_layer_options_as_the_figures_declare_them():
    from convanim.cli import build_parser
    from convanim.options import ChannelOptions

    stats = build_parser("stats")._subparsers._group_actions[0].choices["stats"]
    by_flag = {f: a for a in stats._actions for f in a.option_strings}
    for name in ("kernel_size", "stride", "padding", "padding_sides", "padding_mode", "causal",
                 "dilation", "in_channels", "out_channels", "groups"):
        opt = ChannelOptions.by_name()[name]
        action = by_flag[opt.flags[0]]
        assert action.option_strings == list(opt.flags) and action.help == opt.help_text()
