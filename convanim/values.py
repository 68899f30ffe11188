"""The user's own values for a figure's operands: inline text, a file, an image, a named
kernel, or an array from Python (numpy, nested lists, a torch tensor, a Pillow image).

Whatever the form, the result is one :class:`Values`: an immutable array that compares
and hashes by its exact contents, so figure options holding one stay hashable, the
cache key changes exactly when a value does, and ``--json`` writes the numbers back
as they were given (float64, which JSON round-trips). A user's file is only read.

Inline text: rows separated by ``;``, entries by spaces (or commas); ``|`` separates
the planes of a 3-D array (a channels input, C x H x W) and ``||`` the filters of a
4-D one (a channels kernel, D x C/G x kh x kw), so ``"1 0; 0 1 | 2 2; 2 2"`` is two
2 x 2 planes. A JSON list of lists (``"[[1, 2], [3, 4]]"``) is read too.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
import math
import numbers
import os
import re
from pathlib import Path

import numpy as np

from .errors import SpecError

#: Entries an array may have, and cells per axis an image may have, when read; the
#: figures' own limits (16 cells per axis at most) refuse far smaller ones, with the
#: reason, but a file must not take the memory of the machine first.
MAX_ENTRIES = 1 << 20
MAX_IMAGE = 4096
MAX_FILE = 64 << 20
ARRAY_SUFFIXES = (".npy", ".csv", ".txt")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".pgm", ".ppm", ".pbm")

_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)
_NOT_FINITE = re.compile(r"[-+]?(?:nan|inf|infinity)", re.I)
#: Text that can only be inline numbers (no letters but an exponent's e, no slash).
_INLINE = re.compile(r"[-+0-9.eE\s;,|]*[0-9][-+0-9.eE\s;,|]*", re.ASCII)

_base: contextvars.ContextVar[Path | None] = contextvars.ContextVar("convanim_values_base",
                                                                    default=None)


@contextlib.contextmanager
def relative_to(folder):
    """Read relative file names under ``folder`` (a config's or a page's folder)."""
    token = _base.set(Path(folder))
    try:
        yield
    finally:
        _base.reset(token)


def _named() -> dict[str, np.ndarray]:
    g1 = np.array([1, 2, 1])
    g5 = np.array([1, 4, 6, 4, 1])
    return {
        "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]]),
        "sobel-x": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
        "sobel-y": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]]),
        "laplacian": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]]),
        "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
        "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]]),
        "box": np.full((3, 3), 1 / 9),
        "gaussian": np.outer(g1, g1) / 16,
        "gaussian5": np.outer(g5, g5) / 256,
    }


#: Named kernels, as image processing writes them (box and gaussian sum to 1).
NAMED = _named()


class Values:
    """An immutable array of finite numbers, compared and hashed by its exact contents.

    ``origin`` says where it came from (for messages: an image too large is told how to
    crop it); it is not part of equality. ``array`` is int64 where every entry is an
    integer (images, ``"1 2; 3 4"``), else float64.
    """

    __slots__ = ("_data", "origin", "image", "text")

    def __init__(self, array, origin: str = "array", image: bool = False,
                 text: str | None = None):
        data = np.array(array, dtype=np.float64)
        data.setflags(write=False)
        self._data, self.origin, self.image, self.text = data, origin, image, text

    @property
    def shape(self) -> tuple[int, ...]:
        return self._data.shape

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def integral(self) -> bool:
        d = self._data
        return bool(np.all(d == np.round(d)) and np.all(np.abs(d) < 2**53))

    @property
    def array(self) -> np.ndarray:
        return self._data.astype(np.int64) if self.integral else self._data

    def tolist(self) -> list:
        return self.array.tolist()

    def __iter__(self):  # json.dumps(default=list) of a cache key: the nested numbers
        return iter(self.tolist())

    def __eq__(self, other):
        return (isinstance(other, Values) and self.shape == other.shape
                and self._data.tobytes() == other._data.tobytes())

    def __hash__(self):
        return hash((self.shape, self._data.tobytes()))

    def __repr__(self):
        return f"Values({self.origin}, shape {shape_text(self.shape)})"

    def spell(self) -> str:
        """As the command line spells it: the text given, else inline numbers."""
        if self.text is not None:
            return self.text
        return inline(self.array)


def shape_text(shape) -> str:
    return "x".join(str(n) for n in shape)


def inline(a: np.ndarray) -> str:
    """An array in the inline syntax (``;`` rows, ``|`` planes, ``||`` filters)."""
    if a.ndim == 0:
        return repr(a.item())
    seps = {1: " ", 2: "; ", 3: " | ", 4: " || "}
    return seps[a.ndim].join(inline(row) for row in a)


def _number(token: str) -> float:
    if _NOT_FINITE.fullmatch(token):
        raise SpecError(f"{token!r}: values must be finite numbers (no NaN or inf)")
    if not _NUMBER.fullmatch(token):
        names = ", ".join(NAMED)
        raise SpecError(f"{_cut(token)} is not a number (values are numbers, a named kernel "
                        f"({names}) or a file: .npy, .csv, .txt or an image)")
    return float(token)


def _cut(text: str) -> str:
    return repr(text) if len(text) <= 30 else repr(text[:24]) + f"... ({len(text)} characters)"


def _nested(text: str, level: int) -> list:
    """Split on the separator of ``level`` (4: ``||``, 3: ``|``, 2: ``;``, 1: entries)."""
    if level == 1:
        tokens = [t for t in re.split(r"[\s,]+", text.strip()) if t]
        if not tokens:
            raise SpecError("an empty row (two separators in a row, or one at the end)")
        return [_number(t) for t in tokens]
    sep = {4: "||", 3: "|", 2: ";"}[level]
    return [_nested(part, level - 1) for part in text.split(sep)]


def _depth(text: str) -> int:
    if "||" in text:
        return 4
    if "|" in text:
        return 3
    return 2


def _rectangular(nested, where: str) -> np.ndarray:
    """Nested lists as an array; a ragged row is named."""
    def shape_of(x, path):
        if not isinstance(x, list):
            return ()
        if not x:
            raise SpecError(f"{where}: an empty list{path}")
        shapes = [shape_of(v, f"{path}[{i}]") for i, v in enumerate(x)]
        for i, s in enumerate(shapes):
            if s != shapes[0]:
                what = "row" if len(s) == 1 or len(shapes[0]) == 1 else "part"
                raise SpecError(f"{where}: ragged: {what} {i}{path and ' of ' + path} has "
                                f"shape {shape_text(s) or 'a number'}, the first "
                                f"{shape_text(shapes[0]) or 'a number'}")
        return (len(x), *shapes[0])

    shape_of(nested, "")
    try:
        return np.array(nested, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise SpecError(f"{where}: not numbers ({e})") from None


def parse_inline(text: str) -> np.ndarray:
    """``"1 2; 3 4"`` -> a 2 x 2 array (see the module's docstring)."""
    if text.lstrip().startswith("["):
        try:
            nested = json.loads(text)
        except ValueError as e:
            raise SpecError(f"not a JSON list of lists ({e})") from None
        return from_python(nested, "values").array
    return _rectangular(_nested(text, _depth(text)), "values")


def parse(text: str) -> Values:
    """Values as a command line, a config file or a directive spells them."""
    stripped = text.strip()
    if stripped.lower() in NAMED:
        return Values(NAMED[stripped.lower()], f"kernel {stripped.lower()}", text=text)
    if stripped.startswith("[") or _INLINE.fullmatch(text):
        return Values(_checked(parse_inline(text), "values"), "inline values", text=text)
    path = _path(stripped)
    if path is not None:
        return read(path, text)
    if re.fullmatch(r"[\w-]+", stripped) and not _NUMBER.fullmatch(stripped) \
            and not _NOT_FINITE.fullmatch(stripped):
        raise SpecError(f"{_cut(stripped)} is neither a named kernel ({', '.join(NAMED)}) "
                        f"nor a file")
    return Values(_checked(parse_inline(text), "values"), "inline values", text=text)


def _path(text: str) -> Path | None:
    """The file ``text`` names, if it names one: it exists, has a known suffix or a slash."""
    if not text or "\0" in text or "\n" in text:
        return None
    base = _base.get()
    path = Path(text).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if path.suffix.lower() in ARRAY_SUFFIXES + IMAGE_SUFFIXES or "/" in text or os.sep in text \
            or path.is_file():
        return path
    return None


def read(path: Path, text: str | None = None) -> Values:
    """The values of a file: ``.npy``, ``.csv``/``.txt`` or an image Pillow reads."""
    shown = text if text is not None else str(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise SpecError(f"{shown}: not a file")
    except OSError as e:
        raise SpecError(f"cannot read {shown}: {e.strerror or e}") from None
    if size > MAX_FILE:
        raise SpecError(f"{shown} is {size:,} bytes; a values file is at most {MAX_FILE:,}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npy":
            array = _read_npy(path, shown)
        elif suffix in (".csv", ".txt"):
            array = _read_text(path, shown, "," if suffix == ".csv" else None)
        else:
            return Values(_checked(_read_image(path, shown), shown), f"image {shown}",
                          image=True, text=text)
    except OSError as e:
        raise SpecError(f"cannot read {shown}: {e.strerror or e}") from None
    return Values(_checked(array, shown), f"file {shown}", text=text)


def _read_npy(path: Path, shown: str) -> np.ndarray:
    try:
        a = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise SpecError(f"{shown}: not a numpy array file ({e})") from None
    if isinstance(a, np.lib.npyio.NpzFile) or a.dtype.kind not in "biuf":
        raise SpecError(f"{shown}: not an array of real numbers (dtype {a.dtype})")
    return a.astype(np.float64)


def _read_text(path: Path, shown: str, sep: str | None) -> np.ndarray:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{shown}: not text; values files are .npy, .csv, .txt or an "
                        f"image") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = [t.strip() for t in line.split(",")] if sep else re.split(r"[\s,]+", line)
        try:
            rows.append([_number(t) for t in tokens])
        except SpecError as e:
            raise SpecError(f"{shown}:{n}: {e}") from None
    if not rows:
        raise SpecError(f"{shown}: no values")
    return _rectangular(rows, shown)


def _read_image(path: Path, shown: str) -> np.ndarray:
    """Pixel values: greyscale as H x W, colour as 3 x H x W (RGB); alpha is dropped."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            w, h = img.size
            if max(w, h) > MAX_IMAGE:
                raise SpecError(f"{shown} is {w}x{h} pixels; crop or resize it to the few "
                                f"cells a figure shows (at most 16 per axis)")
            mode = img.mode
            if mode in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"):
                return np.asarray(img.convert("F") if mode not in ("1", "L", "LA")
                                  else img.convert("L"), dtype=np.float64)
            return np.asarray(img.convert("RGB"), dtype=np.float64).transpose(2, 0, 1)
    except UnidentifiedImageError:
        raise SpecError(f"{shown} is neither an array (.npy, .csv, .txt) nor an image "
                        f"Pillow reads") from None
    except (ValueError, Image.DecompressionBombError) as e:
        raise SpecError(f"{shown}: cannot read the image ({e})") from None


def _checked(a: np.ndarray, where: str) -> np.ndarray:
    if a.size > MAX_ENTRIES:
        raise SpecError(f"{where}: {a.size:,} values; at most {MAX_ENTRIES:,}")
    if a.size and not np.all(np.isfinite(a)):
        raise SpecError(f"{where}: values must be finite numbers (no NaN or inf)")
    if np.any(np.abs(a) > 3e38):
        raise SpecError(f"{where}: values must fit a float32 (|v| < 3e38)")
    return a


def from_python(value, origin: str = "array") -> Values:
    """Values from a numpy array, nested lists, a torch tensor or a Pillow image."""
    if isinstance(value, Values):
        return value
    if isinstance(value, os.PathLike):
        return read(Path(os.fspath(value)))
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor, torch unimported
        value = value.detach().cpu().numpy()
    elif type(value).__module__.startswith("PIL.") and hasattr(value, "convert"):
        mode = value.mode
        value = (np.asarray(value.convert("L")) if mode in ("1", "L", "LA")
                 else np.asarray(value.convert("RGB")).transpose(2, 0, 1))
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise SpecError(f"expected an array of real numbers, got dtype {value.dtype}")
        return Values(_checked(value.astype(np.float64), origin), origin)
    if isinstance(value, (list, tuple)):
        def check(x):
            if isinstance(x, (list, tuple)):
                return [check(v) for v in x]
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
                raise SpecError(f"{_cut(str(x))} is not a number")
            if not math.isfinite(x):
                raise SpecError("values must be finite numbers (no NaN or inf)")
            return float(x)
        return Values(_checked(_rectangular(check(list(value)), "values"), origin), origin)
    raise SpecError(f"expected values: text, a file, a numpy array, nested lists or a "
                    f"tensor, got {type(value).__name__}")


def with_dims(values: Values, dims: tuple[int, ...], what: str) -> Values:
    """Refuse an array of a number of dimensions the option does not take."""
    if values.ndim in dims:
        return values
    names = {2: "H x W", 3: "C x H x W", 4: "D x C/G x kh x kw"}
    want = " or ".join(f"{d}-D ({names[d]})" for d in dims)
    extra = ""
    if values.image and values.ndim == 3:
        extra = ": a colour image has 3 channels; draw it with channels, or give a greyscale image"
    raise SpecError(f"{what} must be {want}, got {values.ndim}-D "
                    f"({shape_text(values.shape) or 'a single number'}){extra}")
