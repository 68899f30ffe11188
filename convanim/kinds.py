"""The registry of figure kinds: every front end offers exactly these.

A built-in kind is registered here, one line; a program (or a test) adds its own
with :func:`register` before it draws.
"""
from __future__ import annotations

from .errors import SpecError
from .kind import Kind
from .scenes.alphabet import Alphabet
from .scenes.arithmetic import Arithmetic
from .scenes.channels import Channels
from .scenes.im2col import Im2col
from .scenes.numerical import Numerical
from .scenes.stack import Stack

_KINDS: dict[str, Kind] = {}


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


def get(name: str) -> Kind:
    """The kind called ``name``; :class:`SpecError` names the known ones otherwise."""
    try:
        return _KINDS[name]
    except (KeyError, TypeError):
        raise SpecError(f"unknown kind {name!r} (choose from {', '.join(_KINDS)})") from None


for _kind in (Arithmetic(), Numerical(), Alphabet(), Im2col(), Channels(), Stack()):
    register(_kind)
