"""Figure options, declared once: flags, type, default, help, and whether they decide the
picture.

Every front end is generated from these declarations: the command line, the TOML
config of ``build``, the Sphinx directive, the index page's command and the Python
API. A value is converted by its option's type whichever front end it came from,
so ``5``, ``numpy.int64(5)``, ``"5"`` and ``(5, 5)`` are one input size, and a bad
value gets the same one-line message everywhere (``argument -i/--input-size: …``).

A kind declares its own options as a frozen dataclass over :class:`FigureOptions`;
see :func:`option`.
"""
from __future__ import annotations

import math
import numbers
import os
import re
from dataclasses import dataclass, field, fields

from .errors import SpecError
from .geometry import PADDING_MODES
from .lazy import numpy_types
from .engine import formats
from .layout import TEX_WIDTHS
from .spec import INT64_MAX, parse_int, parse_pair, parse_size, shown

#: ``-y`` of a single step, and of an animation (``-a``); the first of each is the default.
SINGLE_FORMATS = ("png", *(w for w in formats.SINGLE_WORDS if w != "png"))
ANIMATION_FORMATS = formats.ANIMATION_WORDS
FORMATS = formats.WORDS
_ANIMATION_HELP = [f.word + (" (default)" if n == 0 else f" ({f.note})" if f.note else "")
                   for n, f in enumerate(f for f in formats.TABLE if f.animation)]
BACKENDS = ("auto", "cuda", "simulator", "numpy", "torch")
#: --column: the widths (cm) of the common paper columns.
COLUMNS = {"narrow": 8.25, "wide": 16.0}
#: --theme; the first is the default (convanim/theme.py holds the colours).
THEMES = ("print", "light", "dark")


# --- value types: text (command line, directive) or Python values (API, TOML) ------------

class ValueType:
    """Turns what a front end gives into the option's value; raises :class:`SpecError`."""

    metavar: str | None = None

    def parse(self, text: str):
        """A value as a command line spells it."""
        raise NotImplementedError

    def coerce(self, value):
        """Any value a front end may hold: text is parsed, Python values are checked."""
        return self.parse(value) if isinstance(value, str) else self.from_python(value)

    def from_python(self, value):
        raise SpecError(f"expected a string, got {value!r}")

    def spell(self, value) -> str:
        """The value as the command line spells it (the index page's command, help)."""
        return str(value)


def _is_bool(value) -> bool:
    return isinstance(value, (bool, *numpy_types("bool_")))


def _integer(value) -> bool:
    """An int or a numpy integer; a bool is not a size."""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def _int64(value) -> int:
    value = int(value)
    if abs(value) > INT64_MAX:
        raise SpecError(f"{shown(str(value))} is too large (at most {INT64_MAX})")
    return value


class Pair(ValueType):
    """``N``, ``HxW`` or ``DxHxW``; ``5``, ``(5, 7)``, ``[4, 5, 5]`` or numpy integers from
    Python.

    A figure holds ``N`` as ``(N, N)``, spread over a volume's three axes when the figure
    is planned (:func:`convanim.spec.spread_axes`); with ``volumes`` (``stats``' own
    flags) a size is kept as given, ``(N,)`` for a single N, to be spread over the layer's
    axes once they are known (:func:`convanim.stats.spread_sizes`).
    """

    metavar = "N|HxW|DxHxW"

    def __init__(self, volumes: bool = False):
        self.volumes = volumes

    def parse(self, text):
        return parse_size(text) if self.volumes else parse_pair(text)

    def from_python(self, value):
        if _integer(value):
            v = _int64(value)
            return (v,) if self.volumes else (v, v)
        if isinstance(value, (tuple, list, *numpy_types("ndarray"))):
            items = list(value)
            if len(items) in (2, 3) and all(map(_integer, items)):
                return tuple(_int64(v) for v in items)
        raise SpecError(f"expected a number, a string, an (h, w) pair or a (d, h, w) "
                        f"triple, got {value!r}")

    def spell(self, value):
        if len(value) == 3:  # a volume stays one: 3x3x3, never 3 (which is 2-D alone)
            return "x".join(str(v) for v in value)
        return str(value[0]) if len(set(value)) == 1 else "x".join(str(v) for v in value)


class Padding(Pair):
    """``-p``: ``N`` or ``HxW`` cells on each side, or ``same`` or ``valid`` (PyTorch's names)."""

    metavar = "N|HxW|DxHxW|same|valid"
    WORDS = ("same", "valid")

    def parse(self, text):
        if text.strip() in self.WORDS:
            return text.strip()
        try:
            return super().parse(text)
        except SpecError:
            raise SpecError(f"expected N, HxW, DxHxW, same or valid, got {shown(text)}") from None

    def spell(self, value):
        return value if isinstance(value, str) else super().spell(value)


class Sides(ValueType):
    """``T,B,L,R``: padding on the top, bottom, left and right, each >= 0, or a volume's
    six, ``F,B,T,B,L,R`` (front and back first)."""

    metavar = "T,B,L,R|F,B,T,B,L,R"

    def parse(self, text):
        parts = text.split(",")
        if len(parts) not in (4, 6):
            raise SpecError(f"expected four sides T,B,L,R or six F,B,T,B,L,R (e.g. 0,0,2,0), "
                            f"got {shown(text)}")
        return self._check(tuple(parse_int(p) for p in parts))

    def from_python(self, value):
        if isinstance(value, (tuple, list, *numpy_types("ndarray"))) \
                and all(_integer(v) for v in value) and len(value) in (4, 6):
            return self._check(tuple(_int64(v) for v in value))
        raise SpecError(f"expected four sides (top, bottom, left, right) or six (front, back, "
                        f"top, bottom, left, right), got {value!r}")

    @staticmethod
    def _check(value):
        if min(value) < 0:
            raise SpecError(f"padding must be >= 0 on every side, got {','.join(map(str, value))}")
        return value

    def spell(self, value):
        return ",".join(str(v) for v in value)


class Int(ValueType):
    """An integer in ASCII digits, optionally in ``[low, high]``."""

    def __init__(self, low: int | None = None, high: int | None = None,
                 metavar: str | None = None):
        self.low, self.high, self.metavar = low, high, metavar

    def parse(self, text):
        return self._in_range(parse_int(text))

    def from_python(self, value):
        if not _integer(value):
            raise SpecError(f"expected an integer, got {value!r}")
        return self._in_range(_int64(value))

    def _in_range(self, v: int) -> int:
        if self.low is not None and not self.low <= v <= self.high:
            raise SpecError(f"must be between {self.low} and {self.high}, got {v}")
        return v


#: A decimal number; no two parts can match the same digits, so a 16,000-digit value
#: fails in linear time (``[0-9]+\.?[0-9]*`` backtracked quadratically).
_NUMBER = re.compile(r"\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:e[-+]?[0-9]+)?\s*", re.ASCII | re.I)
#: Characters of a number option: more is no width or resolution anyone means.
_MAX_NUMBER = 100


class Float(ValueType):
    """A finite non-negative decimal number in ``[low, high]`` (no ``nan``, ``inf``, ``٥``)."""

    def __init__(self, low: float, high: float, metavar: str | None = None,
                 what: str = "a number"):
        self.low, self.high, self.metavar, self.what = low, high, metavar, what

    def parse(self, text):
        if len(text) > _MAX_NUMBER or not _NUMBER.fullmatch(text):
            raise SpecError(f"expected {self.what}, got {shown(text)}")
        return self._in_range(float(text), shown(text))

    def from_python(self, value):
        if not isinstance(value, numbers.Real) or _is_bool(value) or not math.isfinite(value):
            raise SpecError(f"expected a number, got {value!r}")
        return self._in_range(float(value), repr(value))

    def _in_range(self, v: float, text: str) -> float:
        if not self.low <= v <= self.high:
            raise SpecError(f"must be between {self.low:g} and {self.high:g}, got {text}")
        return v

    def spell(self, value):
        return f"{value:g}"


class Width(Float):
    """--width: centimetres, or a width LaTeX knows at TeX time (``-y tex`` only), for
    which the figure is laid out as for the paper column it usually is."""

    WORDS = TEX_WIDTHS

    def parse(self, text):
        return text.strip() if text.strip() in self.WORDS else super().parse(text)

    def spell(self, value):
        return value if isinstance(value, str) else super().spell(value)


class Choice(ValueType):
    def __init__(self, choices: tuple[str, ...], metavar: str | None = None):
        self.choices = tuple(choices)
        self.metavar = metavar or "{" + ",".join(self.choices) + "}"

    def parse(self, text):
        if text not in self.choices:
            raise SpecError(f"invalid choice: {text!r} (choose from {', '.join(self.choices)})")
        return text


class Flag(ValueType):
    """On or off: a command-line flag without a value, ``true``/``false`` elsewhere."""

    def parse(self, text):
        raise SpecError(f"expected true or false, got {text!r}")

    def from_python(self, value):
        if not _is_bool(value):
            raise SpecError(f"expected true or false, got {value!r}")
        return bool(value)


class Text(ValueType):
    def parse(self, text):
        return text


class Folder(ValueType):
    """A path: a string or a :class:`pathlib.Path` (kept as the string it spells).

    Not one with a NUL (no system takes it) or a line break (every path written is
    printed on a line of its own, which scripts read).
    """

    metavar = "DIR"

    def parse(self, text):
        bad = next((ch for ch in ("\0", "\n", "\r") if ch in text), None)
        if bad is not None:
            raise SpecError(f"a path cannot hold {bad!r}, got {shown(text)}")
        return text

    def from_python(self, value):
        if isinstance(value, os.PathLike):
            path = os.fspath(value)
            if isinstance(path, str):
                return self.parse(path)
        raise SpecError(f"expected a path, got {value!r}")


class Array(ValueType):
    """Values of an operand (:mod:`convanim.values`): inline ``"1 2; 3 4"``, a named kernel,
    a file (``.npy``, ``.csv``, ``.txt``, an image), or from Python a numpy array, nested
    lists, a torch tensor; with ``dims`` its allowed numbers of dimensions."""

    metavar = "VALUES"

    def __init__(self, dims: tuple[int, ...], what: str):
        self.dims, self.what = tuple(dims), what

    def parse(self, text):
        from . import values

        return values.with_dims(values.parse(text), self.dims, self.what)

    def from_python(self, value):
        from . import values

        return values.with_dims(values.from_python(value), self.dims, self.what)

    def spell(self, value):
        return value.spell()


# --- declarations -------------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One option as every front end sees it."""
    name: str                   # the Python name, the dataclass field
    flags: tuple[str, ...]      # command-line flags; () for the positional NAME
    type: ValueType
    help: str
    default: object = None
    #: Whether it decides what the figure shows (part of the cache key); options that
    #: only say where, whether or in which file type are not.
    picture: bool = True

    @property
    def label(self) -> str:
        """How messages name it, as argparse does: ``-i/--input-size``."""
        return "/".join(self.flags) if self.flags else self.name.upper()

    @property
    def long_names(self) -> list[str]:
        """Every name it answers to in Python and config files (``type``, ``format``)."""
        names = [self.name] + [f[2:].replace("-", "_") for f in self.flags
                               if f.startswith("--")]
        return list(dict.fromkeys(names))

    @property
    def is_flag(self) -> bool:
        return isinstance(self.type, Flag)

    def convert(self, value):
        try:
            return self.type.coerce(value)
        except SpecError as e:
            raise SpecError(f"argument {self.label}: {e}") from None

    def help_text(self) -> str:
        """The help line, with the default where one means something and is not stated."""
        if self.default in (None, False, "") or "default" in self.help:
            return self.help
        return f"{self.help} (default: {self.type.spell(self.default)})"


def option(default, *flags: str, type: ValueType, help: str, picture: bool = True):
    """A dataclass field declaring an option; the field's name is the option's name."""
    return field(default=default, metadata={"option": (flags, type, help, picture)})


def convert_declared(options) -> None:
    """Every declared value of a frozen options object in its type's form (a pair from 5,
    a tuple from a list...), whichever front end gave it."""
    for opt in declared(options):
        value = getattr(options, opt.name)
        if value is not None or opt.default is not None:
            object.__setattr__(options, opt.name, opt.convert(value))


def declared(cls_or_options) -> list[Option]:
    """The options of an options class, in declaration order (the shared ones first)."""
    out = []
    for f in fields(cls_or_options):
        flags, vtype, help_, picture = f.metadata["option"]
        out.append(Option(f.name, flags, vtype, help_, f.default, picture))
    return out


@dataclass(frozen=True)
class RenderSettings:
    """How a run goes, apart from what the picture is (manim's config beside its scenes):
    the resolutions and the frame delay, the folders, the cache, progress, verify and its
    backend. None of them is part of the cache key's picture. Declared here once; every
    figure's options take them (:meth:`declared_field`), and
    :meth:`FigureOptions.render_settings` hands them on as one object."""

    quality: int = option(600, "-q", "--quality", type=Int(10, 2400, "DPI"), picture=False,
                          help="DPI of a single step")
    quality_animation: int = option(
        150, "-qa", "--quality-animation", type=Int(10, 600, "DPI"), picture=False,
        help="DPI of the frames of a raster animation (gif, webp, apng, video)")
    delay: int = option(1000, "--delay", type=Int(10, 60000, "MS"), picture=False,
                        help="milliseconds per animation frame")
    out_dir: str = option("out", "--out-dir", type=Folder(), picture=False,
                          help="where frames and PDFs go")
    gif_dir: str = option("gif", "--gif-dir", type=Folder(), picture=False,
                          help="where animations (of any format) go")
    no_cache: bool = option(False, "--no-cache", type=Flag(), picture=False,
                            help="neither read nor write the cache")
    quiet: bool = option(False, "--quiet", type=Flag(), picture=False, help="no progress bar")
    verify: bool = option(False, "--verify", type=Flag(), picture=False,
                          help="first recompute the figure's numbers on --backend; stop if "
                               "they differ")
    backend: str = option("auto", "--backend", type=Choice(BACKENDS), picture=False,
                          help="where verify runs: a GPU if present, else the CUDA simulator")
    tex_package: str | None = option(None, "--tex-package", type=Folder(), picture=False,
                                     help="-y tex: write convanim.sty into this folder "
                                          "(default: beside the figure)")

    def __post_init__(self):
        convert_declared(self)

    @classmethod
    def declared_field(cls, name: str):
        """The field declaring setting ``name``, for an options class that takes it."""
        f = next(f for f in fields(cls) if f.name == name)
        flags, vtype, help_, _ = f.metadata["option"]
        return option(f.default, *flags, type=vtype, help=help_, picture=False)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class FigureOptions:
    """The options every figure kind has. Values are converted and checked one by one on
    construction (``FigureOptions(input_size=5)`` holds ``(5, 5)``); what depends on
    several of them is checked when the figure is planned."""

    name: str | None = option(None, type=Text(), picture=False,
                              help="base name of the outputs (default: from kind and "
                                   "parameters)")
    input_size: tuple = option((5, 5), "-i", "--input-size", type=Pair(),
                               help="the input's size, N or HxW")
    kernel_size: tuple = option((3, 3), "-k", "--kernel-size", type=Pair(),
                                help="the kernel's size, N or HxW")
    stride: tuple = option((1, 1), "-s", "--stride", type=Pair(), help="stride, N or HxW")
    padding: tuple | str = option((0, 0), "-p", "--padding", type=Padding(),
                                  help="padding on each side, N or HxW; same (the output is "
                                       "ceil(i/s), the odd cell after) or valid (none)")
    padding_sides: tuple | None = option(
        None, "--padding-sides", type=Sides(),
        help="padding on the top, bottom, left and right (overrides -p); a volume's six, "
             "front and back first")
    padding_mode: str = option("zeros", "--padding-mode", type=Choice(PADDING_MODES),
                               help="what padding cells hold: zeros, or a copy of an input "
                                    "cell (PyTorch's padding_mode)")
    causal: bool = option(False, "--causal", type=Flag(),
                          help="pad d(k-1) on the left only: output t reads inputs <= t")
    dilation: tuple = option((1, 1), "-d", "--dilation", type=Pair(),
                             help="spacing of the kernel's taps, N or HxW")
    output_size: tuple | None = option(
        None, "-o", "--output-size", type=Pair(),
        help="the conv's output size; an error unless it equals the computed one")
    transposed: bool = option(False, "-t", "--transposed", type=Flag(),
                              help="show the transposed conv of the conv given by -i -k -s -p -d")
    output_padding: tuple | None = option(
        None, "--output-padding", type=Pair(),
        help="transposed only (default: so the transposed output is exactly -i)")
    step: int | None = option(None, "-e", "--step", type=Int(metavar="STEP"),
                              help="step to draw, 0-based, row-major (default 0; not with -a)")
    animation: bool = option(False, "-a", "--animation", type=Flag(),
                             help="draw every step: OUT/NAME.pdf (one page each) and the "
                                  "animation, GIF/NAME.gif (or -y's format)")
    type: str | None = option(
        None, "-y", "--type", "--format", type=Choice(FORMATS, metavar="TYPE"), picture=False,
        help=f"a single step: {formats.listed(['png (default)', *SINGLE_FORMATS[1:]])}; with "
             f"-a the animation: {formats.listed(_ANIMATION_HELP)}")
    quality: int = RenderSettings.declared_field("quality")
    quality_animation: int = RenderSettings.declared_field("quality_animation")
    delay: int = RenderSettings.declared_field("delay")
    out_dir: str = RenderSettings.declared_field("out_dir")
    gif_dir: str = RenderSettings.declared_field("gif_dir")
    json: bool = option(False, "--json", type=Flag(), picture=False,
                        help="also write OUT/NAME.json, the figure data")
    caption: str = option("", "--caption", type=Text(),
                          help="text under the figure, taken literally")
    theme: str = option("print", "--theme", type=Choice(THEMES),
                        help="print: a white page and fills that survive greyscale; light "
                             "or dark: Solarized, for slides and dark-mode pages")
    transparent: bool = option(False, "--transparent", type=Flag(),
                               help="no page background (PDF, PNG and GIF)")
    width: float | str | None = option(
        None, "--width", type=Width(1.0, 100.0, metavar="CM"),
        help="lay the figure out for this width and scale every page to it, text kept >= 5 pt "
             "where it can be (default: the natural size, at which text is at least 6 pt); "
             "with -y tex also columnwidth or textwidth, read when LaTeX runs")
    column: str | None = option(None, "--column", type=Choice(tuple(COLUMNS)),
                                help="--width of a paper column: narrow, a two-column "
                                     "paper's (8.25 cm), or wide, a one-column paper's (16 cm)")
    no_cache: bool = RenderSettings.declared_field("no_cache")
    quiet: bool = RenderSettings.declared_field("quiet")
    verify: bool = RenderSettings.declared_field("verify")
    backend: str = RenderSettings.declared_field("backend")
    tex_package: str | None = RenderSettings.declared_field("tex_package")

    def width_cm(self) -> float | None:
        """The page width asked, in cm: --width (a width read at TeX time, columnwidth or
        textwidth, laid out as that column), else --column's; None: the natural size."""
        if isinstance(self.width, str):
            return TEX_WIDTHS[self.width]
        return self.width or COLUMNS.get(self.column)

    def __post_init__(self):
        convert_declared(self)

    @classmethod
    def options(cls) -> list[Option]:
        return declared(cls)

    @classmethod
    def by_name(cls) -> dict[str, Option]:
        """Options by every name they answer to (``input_size``, ``format`` for ``type``)."""
        out: dict[str, Option] = {}
        for opt in declared(cls):
            for n in opt.long_names:
                out.setdefault(n, opt)
        return out

    def render_settings(self) -> RenderSettings:
        """How this figure's run goes (:class:`RenderSettings`), apart from its picture."""
        return RenderSettings(**{n: getattr(self, n) for n in RenderSettings.names()})

    def picture(self) -> dict:
        """The values that decide what the figure shows (the cache key's part)."""
        return {o.name: getattr(self, o.name) for o in declared(self) if o.picture}


@dataclass(frozen=True)
class ChannelOptions(FigureOptions):
    """The channel counts of a conv (stats' names), for every kind that draws channels.

    Declared once here so the channels figure and im2col with channels take the same
    flags, help and checks.
    """

    in_channels: int = option(1, "--in-channels", type=Int(1, 1 << 20, "C"),
                              help="input channels of the conv (default 1)")
    out_channels: int = option(1, "--out-channels", type=Int(1, 1 << 20, "D"),
                               help="output channels, filters (default 1)")
    groups: int = option(1, "--groups", type=Int(1, 1 << 20, "G"),
                         help="groups; both channel counts divisible by it (default 1)")

    def has_channels(self) -> bool:
        """Whether the figure draws several planes (any count not 1) rather than one."""
        return (self.in_channels, self.out_channels, self.groups) != (1, 1, 1)

    def check_groups(self) -> None:
        """PyTorch's rule: both channel counts divisible by the groups."""
        for what, n in (("--in-channels", self.in_channels),
                        ("--out-channels", self.out_channels)):
            if n % self.groups:
                raise SpecError(f"{what} {n} is not divisible by --groups {self.groups}")


def has_channels(options) -> bool:
    """Whether ``options`` ask for several planes (options without channel counts: one)."""
    return isinstance(options, ChannelOptions) and options.has_channels()
