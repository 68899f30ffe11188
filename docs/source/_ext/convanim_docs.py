"""Pages of convanim's own docs generated from the code, so they follow it: a kind, an
option, a gallery figure or a command added later appears without editing the docs.

- ``.. convanim-kinds::``: every registered kind, its options (from the declarations)
  and an example drawn by the ``convanim`` directive;
- ``.. convanim-gallery::``: every figure of every shipped gallery config, drawn by the
  directive, with its command and PyTorch call;
- ``.. convanim-cli::``: every command's ``--help``, as argparse (generated from the
  declarations) prints it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

#: What the directive sets itself, or what does not belong in a page's figure.
SKIP = {"animation", "type", "format", "out-dir", "gif-dir", "out_dir", "gif_dir", "json",
        "quiet"}


def _rst_text(text: str) -> str:
    """Plain text that reStructuredText shows as written."""
    for ch in "\\*`|_[]":
        text = text.replace(ch, "\\" + ch)
    return " ".join(text.split())


def _cell(text: str) -> str:
    return _rst_text(text) or "\\ "


def _option_table(options, title: str) -> list[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", "   :widths: 25 15 60", "   :width: 100%", "",
             "   * - option", "     - value", "     - meaning"]
    for opt in options:
        flags = ", ".join(f"``{f}``" for f in opt.flags) or f"``{opt.name.upper()}``"
        value = "flag" if opt.is_flag else f"``{opt.type.metavar or type(opt.type).__name__}``"
        lines += [f"   * - {flags}", f"     - {value}", f"     - {_cell(opt.help_text())}"]
    return lines + [""]


def _directive_lines(kind: str, name: str, options: dict, caption: str = "") -> list[str]:
    from convanim import index, kinds

    declared = kinds.get(kind).Options.by_name()
    lines = [f".. convanim:: {kind} {name}"]
    for key, value in options.items():
        if key in SKIP:
            continue
        if value is True:
            lines.append(f"   :{key}:")
        elif value is False:
            continue
        else:
            text = index.option_text(declared[key.replace("-", "_")], value)
            lines.append(f"   :{key}: {text}")
    if caption:
        lines.append(f"   :caption: {_rst_text(caption)}")
    return lines + [""]


class _Generated(SphinxDirective):
    has_content = False

    def lines(self) -> list[str]:
        raise NotImplementedError

    def run(self):
        node = nodes.section()
        node.document = self.state.document
        self.state.nested_parse(StringList(self.lines(), source=self.get_source_info()[0]),
                                self.content_offset, node, match_titles=True)
        return node.children


class KindsDirective(_Generated):
    def lines(self) -> list[str]:
        from convanim import kinds
        from convanim.options import FigureOptions, declared

        shared = declared(FigureOptions)
        shared_names = {o.name for o in shared}
        out = ["Options of every kind", "---------------------", "",
               "Every figure command (and the build config, the Sphinx directive, the "
               "MkDocs plugin's config and ``convanim.render``) takes these, by their long "
               "names.", ""]
        out += _option_table(shared, "Shared options")
        for name in kinds.names():
            kind = kinds.get(name)
            title = f"``{name}``"
            out += [title, "-" * len(title), "", _rst_text(kind.summary) + ".", ""]
            own = [o for o in kind.Options.options() if o.name not in shared_names]
            if own:
                out += _option_table(own, f"Options of {name}")
            out += [f"The default figure, ``python -m convanim {name} -a``:", ""]
            out += _directive_lines(name, f"kind-{name}", {})
        return out


class GalleryDirective(_Generated):
    def lines(self) -> list[str]:
        from convanim import build, index

        out = []
        for gallery in build.galleries():
            path = build.GALLERY_DIR / f"{gallery}.toml"
            self.env.note_dependency(str(path))
            with tempfile.TemporaryDirectory() as root:
                config = build.load(path, Path(root))
            title = _rst_text(config.title)
            out += [title, "-" * len(title), "",
                    f"``python -m convanim build --gallery {gallery}`` draws all of these.", ""]
            for entry in config.entries:
                heading = f"``{entry.name}``"
                out += [heading, "~" * len(heading), ""]
                if entry.description:
                    out += [_rst_text(entry.description), ""]
                out += [_rst_text(index.parameters(entry.figure)) + "; "
                        + _rst_text(index.sizes(entry.figure)) + ".", ""]
                out += _directive_lines(entry.kind, entry.name, entry.options)
                out += [".. code-block:: sh", "", "   " + index.command(entry), "",
                        ".. code-block:: python", "", "   " + index.torch_call(entry.figure),
                        ""]
        return out


class CliDirective(_Generated):
    def lines(self) -> list[str]:
        from convanim.cli import build_parser

        def subcommands(parser):
            return next(a for a in parser._actions if isinstance(getattr(a, "choices", None),
                                                                   dict))

        commands = list(subcommands(build_parser()).choices)  # every kind and tool
        old = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "88"  # argparse wraps at the terminal's width
        try:
            out = ["``python -m convanim --help``", "-----------------------------", "",
                   ".. code-block:: text", ""]
            out += ["   " + line for line in build_parser().format_help().splitlines()] + [""]
            for command in commands:
                sub = subcommands(build_parser(command))
                title = f"``{command}``"
                out += [title, "-" * len(title), "", ".. code-block:: text", ""]
                out += ["   " + line for line in
                        sub.choices[command].format_help().splitlines()] + [""]
        finally:
            if old is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = old
        return out


def setup(app):
    app.add_directive("convanim-kinds", KindsDirective)
    app.add_directive("convanim-gallery", GalleryDirective)
    app.add_directive("convanim-cli", CliDirective)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
