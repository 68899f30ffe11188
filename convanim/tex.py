"""Jinja for LaTeX, with escaping in one place.

Delimiters that leave TeX's braces alone: ``\\VAR{x}``, ``\\BLOCK{for ...}``,
``\\#{comment}``.

Templates write TeX literally; every value they interpolate passes through
:func:`escape` (the environment's ``finalize``), so user text such as a caption
can never inject TeX.
"""
from __future__ import annotations

import contextvars
import math
import os
import re
import tempfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

_SPECIAL = {
    "\\": r"$\backslash$", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
    "#": r"\#", "%": r"\%", "_": r"\_", "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}", "<": r"$<$", ">": r"$>$", "|": r"$|$",
}
# Math-mode forms need only the Computer Modern Type 1 fonts that every TeX Live has;
# \textbackslash and friends would pull in bitmap TS1 fonts. ^ and ~ are the characters
# (\^{} and \~{} are accents): in T1 and Unicode fonts LaTeX's own, in OT1 fonts (which
# have only the accents) typewriter's, as the preamble and convanim.sty define them.
_SPECIAL_RE = re.compile("|".join(re.escape(c) for c in _SPECIAL))


#: Words this long may break anywhere, so a wrapped caption never sticks out of its box.
LONG_WORD = 16


def escape(value):
    """TeX-escape strings; numbers and other values print as they are.

    Text a template marks ``| safe`` (the TeX its own macros produce) and user text
    made TeX by :func:`text` pass as they are.
    """
    from markupsafe import Markup

    if isinstance(value, Markup):
        return value
    if isinstance(value, str):
        return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], value)
    return value


def text(value: str):
    """User text (the ``text`` filter): escaped, with a break point between the characters
    of every word of :data:`LONG_WORD` or more characters."""
    from markupsafe import Markup

    def word(m):
        w = m.group()
        if len(w) < LONG_WORD:
            return escape(w)
        return r"\allowbreak{}".join(escape(ch) for ch in w)

    return Markup(re.sub(r"\S+", word, value))


def template_dir() -> Path:
    """The package's templates (package data: the same folder in a checkout and a wheel)."""
    return Path(__file__).resolve().parent / "templates"


_COMPILED = contextvars.ContextVar("convanim_compiled_templates", default=None)


@contextmanager
def compiled_templates_in(folder: Path | None):
    """Within the block, load templates compiled by an earlier process from ``folder``
    and store new compilations there; None: compile in memory only (``--no-cache``).

    Compiling a template costs 40-120 ms, more than rendering it; Jinja's bytecode
    checks the template's source checksum, and the caller puts ``folder`` under a
    fingerprint of convanim's code, which holds this environment's settings.
    """
    token = _COMPILED.set(folder)
    try:
        yield
    finally:
        _COMPILED.reset(token)


def _bytecode_cache(salt: str = ""):
    import jinja2

    class Folder(jinja2.BytecodeCache):
        def get_cache_key(self, name, filename=None):  # the portable mode's apart
            return super().get_cache_key(name + salt, filename)

        def load_bytecode(self, bucket):
            folder = _COMPILED.get()
            if folder is None:
                return
            try:
                with open(folder / f"{bucket.key}.cache", "rb") as f:
                    bucket.load_bytecode(f)
            except FileNotFoundError:
                pass
            except Exception:  # noqa: BLE001 - a damaged entry: compile anew
                bucket.reset()

        def dump_bytecode(self, bucket):
            folder = _COMPILED.get()
            if folder is None:
                return
            tmp = None
            try:
                folder.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
                with os.fdopen(fd, "wb") as f:
                    bucket.write_bytecode(f)
                os.replace(tmp, folder / f"{bucket.key}.cache")
                tmp = None
            except OSError:
                pass  # an unwritable cache only costs the compilation next time
            finally:
                if tmp is not None:
                    os.unlink(tmp)

    return Folder()


def number(value: str):
    """A printed number in a cell (the ``number`` filter): a negative one gets a real
    minus sign (text fonts have only the hyphen)."""
    from markupsafe import Markup

    value = str(value)
    return Markup(f"$-${escape(value[1:])}") if value.startswith("-") else escape(value)


def fills(cells):
    """Filled rectangles as TeX (the ``fills`` filter): one path per style, the styles
    in order of first use. ``cells``: (style, x, y, w, h), (x, y) the lower left corner
    in the picture's units; cells of different styles must not overlap, as their order
    changes.

    A path costs TeX about 0.7 ms, a rectangle in it a few µs more; and each rectangle
    is a ``\\cvrect`` (base.tex.j2), pgf's basic layer: TikZ's parser took 0.56 ms
    for ``(x,y) rectangle +(w,h)``, 0.09 ms this way, for the same PDF operators. One
    path also fills neighbouring cells of a colour without a seam between them.
    """
    from markupsafe import Markup

    paths: dict[str, list[str]] = {}
    for style, *box in cells:
        paths.setdefault(style, []).append("\\cvrect" + "".join(f"{{{real(v)}}}" for v in box))
    return Markup("".join(f"  \\path[{escape(style)}]\\pgfextra{{{''.join(rects)}}};\n"
                          for style, rects in paths.items()))


def real(value) -> str:
    """A number as TeX reads a factor: plain decimals (Python prints 1e-05, which TeX
    cannot read), enough of them that TeX rounds it as it rounds the full float."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, float):
        raise TypeError(f"a coordinate must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"a coordinate must be finite, got {value!r}")
    digits = f"{value:.10f}".rstrip("0").rstrip(".")
    return "0" if digits in ("", "-0") else digits


#: A length in the templates' source: a number or a \\VAR{...} followed by cm.
_CM = re.compile(r"(\\VAR\{[^{}]*\}|(?<![\w.\\])\d*\.?\d+)cm\b")


def portable_source(source: str) -> str:
    """A template's source with every length in cm read as ``\\cvcm`` (convanim.sty's unit,
    set at TeX time from the width asked). Only the template's own text changes: values
    it interpolates (a caption saying 5cm) are not part of the source."""
    return _CM.sub(r"\1\\cvcm", source)


@lru_cache(maxsize=2)
def environment(portable: bool = False):
    """The templates' Jinja environment; ``portable``: for ``-y tex`` (lengths in \\cvcm)."""
    import jinja2
    import jinja2.ext

    class Portable(jinja2.ext.Extension):
        def preprocess(self, source, name, filename=None):
            return portable_source(source)

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template_dir()),
        bytecode_cache=_bytecode_cache("/portable" if portable else ""),
        extensions=[Portable] if portable else [],
        block_start_string=r"\BLOCK{", block_end_string="}",
        variable_start_string=r"\VAR{", variable_end_string="}",
        comment_start_string=r"\#{", comment_end_string="}",
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        autoescape=False, undefined=jinja2.StrictUndefined, finalize=escape,
    )
    env.filters["text"] = text
    env.filters["kinds_at"] = kinds_at
    env.filters["fills"] = fills
    env.filters["real"] = real
    from .theme import TAP_FILLS

    env.globals["tap_fills"] = list(TAP_FILLS.items())
    from .layout import arrange

    env.globals["arrange"] = arrange
    env.filters["number"] = number
    return env


def kinds_at(cells) -> dict[str, str]:
    """``"r,c"`` -> the kind of that canvas cell (data, padding, ...), from a scene's
    canvas grid (rows of ``{"kind": ...}``) or its cells by kind (``{kind: [[r, c]]}``):
    the see-through window fills each tap by the kind it lies on. A kind with no tap fill
    of its own (theme.TAP_FILLS) counts as data: its taps take the plain highlight."""
    from .theme import TAP_FILLS

    def known(kind):
        return kind if kind in TAP_FILLS else "data"

    if isinstance(cells, dict):
        return {f"{r},{c}": known(kind) for kind, rc in cells.items() for r, c in rc}
    return {f"{r},{c}": known(cell["kind"]) for r, row in enumerate(cells)
            for c, cell in enumerate(row)}


def render(template: str, source: str | None = None, **context) -> str:
    """The TeX source of ``template`` (a file name under convanim/templates/), or of the template
    text ``source`` (a kind that ships its own; it may extend ``base.tex.j2`` too);
    ``style`` defaults to the print theme at natural size."""
    if "style" not in context:
        from .theme import palette

        context["style"] = {"colors": palette("print"), "transparent": False, "width": None,
                            "fit": None}
    env = environment(bool(context["style"].get("portable")))
    compiled = env.from_string(source) if source is not None else env.get_template(template)
    return compiled.render(**context)



def package() -> str:
    """convanim.sty, what ``-y tex`` figures need in the author's document: every theme's
    colours and the portable versions of the PDF path's macros."""
    from .shading import colours
    from .theme import THEMES, palette
    from .version import __version__

    themes = {t: {**palette(t), **colours(t)} for t in THEMES}
    return environment().get_template("convanim.sty.j2").render(themes=themes,
                                                                version=__version__)
