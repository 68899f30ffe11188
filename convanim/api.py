"""The Python API: ``convanim.render(kind, name=None, **options)``.

Options are the figure command's, with Python values (``input_size=(5, 7)``,
``transposed=True``); they are turned back into that command's arguments and
parsed by its own parser, so names, types, defaults and error messages are the
command's by construction, including options added to the command later. The
build config and the Sphinx directive go through :func:`figure_args` too.
"""
from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path

from .errors import SpecError, VerifyError

#: Options of the command that make no sense without a command line.
NOT_OPTIONS = {"help", "config"}


def _long_flag(action) -> str:
    return next((s for s in action.option_strings if s.startswith("--")), action.option_strings[0])


def figure_options(kind: str) -> dict[str, argparse.Action]:
    """The kind's options by Python name (``input_size``), as the command defines them."""
    from .cli import figure_parser

    return _options(figure_parser(kind))


def _options(parser) -> dict[str, argparse.Action]:
    """Options by Python name: the dest, and every other long name (``format`` for
    ``-y/--type/--format``)."""
    options = {}
    for a in parser._actions:
        if a.option_strings and a.dest not in NOT_OPTIONS:
            options[a.dest] = a
            for flag in a.option_strings:
                if flag.startswith("--"):
                    options.setdefault(flag[2:].replace("-", "_"), a)
    return options


def is_flag(action: argparse.Action) -> bool:
    """An option that takes no value (``-t``, ``--json``): true or false in Python."""
    return action.nargs == 0


def _text(value) -> str | None:
    """A Python value as the command line would spell it; None for a wrong type."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and \
            all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return f"{value[0]}x{value[1]}"
    return None


def figure_args(kind: str, name: str | None = None, **options) -> argparse.Namespace:
    """Parse Python options exactly as the figure command parses its arguments.

    Keys may use ``_`` or ``-`` (``input_size``, ``input-size``). Raises
    :class:`SpecError` with the command's message for a bad value, and names an
    unknown option, so a typo never silently draws the default.
    """
    from .cli import figure_parser

    parser = figure_parser(kind)
    known = _options(parser)
    argv = []
    for key, value in options.items():
        dest = key.replace("-", "_")
        action = known.get(dest)
        if action is None:
            raise SpecError(f"unknown option {key!r} for {kind} figures (known: "
                            f"{', '.join(sorted(k.replace('_', '-') for k in known))})")
        flag = _long_flag(action)
        if is_flag(action):
            if not isinstance(value, bool):
                raise SpecError(f"argument {'/'.join(action.option_strings)}: expected true "
                                f"or false, got {value!r}")
            if value:
                argv.append(flag)
            continue
        text = _text(value)
        if text is None:
            raise SpecError(f"argument {'/'.join(action.option_strings)}: expected a number, "
                            f"a string or an (h, w) pair, got {value!r}")
        argv.append(f"{flag}={text}")
    if name is not None and not isinstance(name, str):
        raise SpecError(f"NAME must be a string, got {name!r}")
    args = parser.parse_args(argv)
    args.name = name
    return args


def make(args, cache=True, progress: bool = False) -> list[Path]:
    """Plan, optionally verify, render and place one figure; what the command does."""
    from .figure import plan

    return make_planned(plan(args), cache, progress)


def make_planned(figure, cache=True, progress: bool = False) -> list[Path]:
    """Render a planned figure (verifying it first if asked); returns the paths placed."""
    from .cache import Cache

    args = figure.args
    if getattr(args, "verify", False):
        from . import verify
        from .cli import _figure_checks

        checks = _figure_checks(figure, args)
        if not all(c.passed for c in checks):
            sys.stderr.write(verify.format_checks(checks))
            raise VerifyError("the figure's numbers differ from the backend's; nothing written")
    use_cache = cache and not getattr(args, "no_cache", False)
    return figure.make(cache=Cache() if use_cache else None, progress=progress)


class Figures(list):
    """The paths written, as a list; a notebook shows the animation (or the frame) inline."""

    def _first(self, *suffixes) -> Path | None:
        return next((p for p in self if p.suffix in suffixes and p.is_file()), None)

    def _repr_html_(self) -> str | None:
        """The animation inline: an image, a video, or the HTML player's own markup."""
        path = self._first(".gif", ".webp", ".html", ".mp4", ".webm", ".svg", ".png")
        if path is None:
            return None
        if path.suffix == ".html":
            import re

            page = path.read_text(encoding="utf-8")
            return re.search(r"<body[^>]*>\s*(.*)</body>", page, re.S).group(1)
        mime = {".gif": "image/gif", ".png": "image/png", ".svg": "image/svg+xml",
                ".webp": "image/webp", ".mp4": "video/mp4", ".webm": "video/webm"}[path.suffix]
        data = base64.b64encode(path.read_bytes()).decode()
        if path.suffix in (".mp4", ".webm"):
            return (f'<video src="data:{mime};base64,{data}" autoplay loop muted playsinline '
                    f'controls></video>')
        return f'<img src="data:{mime};base64,{data}" alt="{path.name}">'

    def _repr_png_(self) -> bytes | None:
        path = self._first(".png")
        return path.read_bytes() if path else None


def render(kind: str, name: str | None = None, **options) -> Figures:
    """Draw one figure with the command's options as Python values; returns the paths.

    ``convanim.render("arithmetic", input_size=5, stride=2, animation=True)`` writes
    ``out/….pdf`` and ``gif/….gif`` like ``python -m convanim arithmetic -i 5 -s 2 -a``.
    Bad options raise :class:`convanim.errors.SpecError` (a ValueError) with the
    command's message; a missing tool or TeX failure raises ``ToolError``.
    """
    args = figure_args(kind, name, **options)
    return Figures(make(args, progress=args.animation and not args.quiet))
