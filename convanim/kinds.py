"""The registry of figure kinds: every front end offers exactly these.

A built-in kind is registered here, one line; a program (or a test) adds its own
with :func:`register` before it draws. A built-in kind's module is imported when the
kind is first asked for, so a figure command loads its own scene, not all six.
"""
from __future__ import annotations

import threading
from importlib import import_module
from typing import TYPE_CHECKING

from .errors import SpecError

if TYPE_CHECKING:  # the registry imports no scene, nor numpy, until a kind is asked for
    from .kind import Kind

#: The built-in kinds, in the order the command line lists them: name -> module:class.
_BUILTIN = {
    "arithmetic": "arithmetic:Arithmetic",
    "numerical": "numerical:Numerical",
    "alphabet": "alphabet:Alphabet",
    "im2col": "im2col:Im2col",
    "channels": "channels:Channels",
    "stack": "stack:Stack",
}

#: Every kind offered: a Kind, or for a built-in not yet asked for, its module:class.
_KINDS: dict[str, Kind | str] = dict(_BUILTIN)
_loading = threading.Lock()  # build's threads: one instance per kind


def register(kind: Kind) -> Kind:
    """Offer ``kind`` under its name (replacing one of that name); returns it."""
    if not kind.name or not kind.name.isidentifier():
        raise ValueError(f"a figure kind needs a name that is an identifier, got {kind.name!r}")
    _KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


def names() -> list[str]:
    return list(_KINDS)


#: Words after which a figure command draws nothing, or nothing from the cache's format.
_NO_FIGURE = {"-h", "--help", "--version", "--no-cache"}


def figure_command(words: list[str]) -> bool:
    """Whether a command line (``words``) draws a figure with the cache's TeX format, so
    that a pdflatex started before Python imports the rest will be used."""
    return bool(words) and words[0] in _KINDS and not _NO_FIGURE.intersection(words)


def get(name: str) -> Kind:
    """The kind called ``name``; :class:`SpecError` names the known ones otherwise."""
    try:
        kind = _KINDS[name]
    except (KeyError, TypeError):
        raise SpecError(f"unknown kind {name!r} (choose from {', '.join(_KINDS)})") from None
    if isinstance(kind, str):
        with _loading:
            kind = _KINDS[name]
            if isinstance(kind, str):
                module, cls = kind.split(":")
                kind = getattr(import_module(f".scenes.{module}", __package__), cls)()
                _KINDS[name] = kind
    return kind
