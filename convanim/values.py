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
import io
import json
import math
import numbers
import os
import re
import warnings
from pathlib import Path

import numpy as np

from . import files
from .errors import SpecError

#: Entries an array may have, and pixels per axis an image may have (read from its
#: header, before any pixel is decoded), when read; the figures' own limits (16 cells
#: per axis at most) refuse far smaller ones, with the reason, but a file must not take
#: the memory of the machine first.
MAX_ENTRIES = 1 << 20
MAX_IMAGE = 256
MAX_FILE = 64 << 20
#: Characters of inline values, and of one number: parsing stays linear and short.
MAX_INLINE = 1 << 20
MAX_TOKEN = 100
#: Nesting of a JSON or Python list of values: a kernel is at most 4-D.
MAX_DEPTH = 4
ARRAY_SUFFIXES = (".npy", ".csv", ".txt")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp",
                  ".pgm", ".ppm", ".pbm")
#: The image formats read, told by a file's content (never its name), each decoded
#: inside Pillow. Never EPS, PS or PDF: Pillow hands those to Ghostscript, a PostScript
#: interpreter a file can make write files or loop forever.
IMAGE_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP", "PPM")

#: One number; no two parts can match the same digits, so a long token fails in
#: linear time (``[0-9]+\.?[0-9]*`` backtracked quadratically).
_NUMBER = re.compile(r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)
_NOT_FINITE = re.compile(r"[-+]?(?:nan|inf|infinity)", re.I)
#: The characters inline numbers are written with (no letters but an exponent's e).
_INLINE_CHARS = re.compile(r"[-+0-9.eE\s;,|]*", re.ASCII)

_base: contextvars.ContextVar[Path | None] = contextvars.ContextVar("convanim_values_base",
                                                                    default=None)
_root: contextvars.ContextVar[Path | None] = contextvars.ContextVar("convanim_values_root",
                                                                    default=None)


@contextlib.contextmanager
def relative_to(folder, root=None):
    """Read relative file names under ``folder`` (a config's or a page's folder).

    With ``root`` (an untrusted config, page or directive), a file is read only if it
    lies inside ``root``: a path that is absolute, climbs out with ``..`` or leaves
    through a symlink is refused, as outputs outside a build's root are.
    """
    tokens = _base.set(Path(folder)), _root.set(None if root is None else Path(root))
    try:
        yield
    finally:
        _base.reset(tokens[0])
        _root.reset(tokens[1])


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
    if len(token) <= MAX_TOKEN and _NUMBER.fullmatch(token):
        return float(token)
    if _NOT_FINITE.fullmatch(token):
        raise SpecError(f"{token!r}: values must be finite numbers (no NaN or inf)")
    names = ", ".join(NAMED)
    longer = f" of at most {MAX_TOKEN} characters" if len(token) > MAX_TOKEN else ""
    raise SpecError(f"{_cut(token)} is not a number{longer} (values are numbers, a named "
                    f"kernel ({names}) or a file: .npy, .csv, .txt or an image)")


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
    if len(text) > MAX_INLINE:
        raise SpecError(f"inline values are {len(text):,} characters; at most "
                        f"{MAX_INLINE:,} (give more in a .npy file)")
    if text.lstrip().startswith("["):
        depth = deepest = 0
        for ch in text:  # before json.loads, which recurses once per bracket
            depth += (ch == "[") - (ch == "]")
            deepest = max(deepest, depth)
        if deepest > MAX_DEPTH:
            raise SpecError(f"values nested {deepest} lists deep; at most {MAX_DEPTH} (4-D)")
        try:  # integers as floats: no 4300-digit limit, no overflow, inf refused below
            nested = json.loads(text, parse_int=float)
        except ValueError as e:
            raise SpecError(f"not a JSON list of lists ({e})") from None
        return from_python(nested, "values").array
    return _rectangular(_nested(text, _depth(text)), "values")


def _inline(text: str) -> bool:
    """Whether ``text`` can only be inline numbers (digits and separators; no slash)."""
    return bool(_INLINE_CHARS.fullmatch(text)) and any(ch.isdigit() for ch in text)


def parse(text: str) -> Values:
    """Values as a command line, a config file or a directive spells them."""
    stripped = text.strip()
    if stripped.lower() in NAMED:
        return Values(NAMED[stripped.lower()], f"kernel {stripped.lower()}", text=text)
    if stripped.startswith("[") or _inline(text):
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
    """The file ``text`` names, if it names one: it exists, has a known suffix or a slash.

    Under :func:`relative_to` with a root, a file outside that root is refused here.
    """
    if not text or "\0" in text or "\n" in text:
        return None
    base, root = _base.get(), _root.get()
    path = Path(text).expanduser()
    if root is not None and path.is_absolute():
        raise SpecError(f"{text!r} is an absolute path; the values files of a config or "
                        f"page are read only from inside {root}")
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        exists = path.is_file()
    except OSError:  # a name too long for the system is no file
        exists = False
    if not (path.suffix.lower() in ARRAY_SUFFIXES + IMAGE_SUFFIXES or "/" in text
            or os.sep in text or exists):
        return None
    if root is not None:
        if not os.path.abspath(path).startswith(os.path.abspath(root).rstrip(os.sep) + os.sep):
            raise SpecError(f"{text!r} is outside {root} (through ..); the values files of a "
                            f"config or page are read only from inside it")
        if not files.inside(root, path):
            raise SpecError(f"{text!r} leads outside {root} through a symlink; the values "
                            f"files of a config or page are read only from inside it")
    return path


def check_inside(text: str, root: Path) -> None:
    """Refuse ``text`` if it names a values file outside ``root`` (``-c FILE``'s values)."""
    with relative_to(root, root):
        _path(text.strip())


def read(path: Path, text: str | None = None) -> Values:
    """The values of a file: ``.npy``, ``.csv``/``.txt`` or an image (by its content).

    Messages name the file, never its content: a page may point at a secret.
    """
    shown = text if text is not None else str(path)
    data = files.read_regular(path, MAX_FILE, shown)  # a regular file, to the cap
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = _read_npy(data, shown)
    elif suffix in (".csv", ".txt"):
        array = _read_text(data, shown, "," if suffix == ".csv" else None)
    else:
        return Values(_checked(_read_image(data, shown), shown), f"image {shown}",
                      image=True, text=text)
    return Values(_checked(array, shown), f"file {shown}", text=text)


def _read_npy(data: bytes, shown: str) -> np.ndarray:
    """A ``.npy`` file, its header checked before any array is made (a 128-byte file may
    claim 100000 x 100000)."""
    fmt = np.lib.format
    f = io.BytesIO(data)
    try:
        version = fmt.read_magic(f)
        header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, _, dtype = header(f)
    except (ValueError, SyntaxError, TypeError, EOFError):
        raise SpecError(f"{shown}: not a numpy .npy file") from None
    if dtype.kind not in "biuf":
        raise SpecError(f"{shown}: not an array of real numbers (dtype {dtype})")
    if len(shape) > MAX_DEPTH or math.prod(shape) > MAX_ENTRIES:
        raise SpecError(f"{shown}: an array of shape {shape_text(shape)}; at most "
                        f"{MAX_DEPTH}-D and {MAX_ENTRIES:,} values")
    f.seek(0)
    try:
        a = np.load(f, allow_pickle=False)
    except (ValueError, EOFError):
        raise SpecError(f"{shown}: its data is shorter than its header says") from None
    return a.astype(np.float64)


def _read_text(data: bytes, shown: str, sep: str | None) -> np.ndarray:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{shown}: not text; values files are .npy, .csv, .txt or an "
                        f"image") from None
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        tokens = [t.strip() for t in line.split(",")] if sep else re.split(r"[\s,]+", line)
        row = []
        for j, token in enumerate(tokens, 1):
            try:
                row.append(_number(token))
            except SpecError:  # the token is not shown: the file may be a secret
                raise SpecError(f"{shown}:{n}: entry {j} is not a finite number") from None
        rows.append(row)
    if not rows:
        raise SpecError(f"{shown}: no values")
    return _rectangular(rows, shown)


def _read_image(data: bytes, shown: str) -> np.ndarray:
    """An image in one of :data:`IMAGE_FORMATS`, told by its content; its size checked
    from the header (``Image.open`` decodes nothing) before any pixel is decoded."""
    from PIL import Image

    try:
        with warnings.catch_warnings():  # the size is refused below, in one line
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise SpecError(f"{shown}: the image's header claims over "
                        f"{2 * Image.MAX_IMAGE_PIXELS:,} pixels; at most "
                        f"{MAX_IMAGE}x{MAX_IMAGE}") from None
    except Exception:  # noqa: BLE001 (whatever a parser raises on a hostile header)
        raise SpecError(f"{shown} is neither an array (.npy, .csv, .txt) nor an image "
                        f"({', '.join(IMAGE_FORMATS)}, told by its content)") from None
    with img:
        w, h = img.size
        if max(w, h) > MAX_IMAGE:
            raise SpecError(f"{shown} is {w}x{h} pixels; crop or resize it to the few "
                            f"cells a figure shows (at most 16 per axis)")
        try:
            return pixels(img)
        except Exception as e:  # noqa: BLE001 (a decoder's error on a broken file)
            raise SpecError(f"{shown}: a broken {img.format} image "
                            f"({type(e).__name__})") from None


def pixels(img) -> np.ndarray:
    """A Pillow image's values, the same for a file and the API: greyscale (``1``, ``L``,
    ``LA``, a palette of greys) as H x W; 16-bit, 32-bit and float images as their own
    numbers; colour as 3 x H x W RGB. Alpha is dropped."""
    mode = img.mode
    if mode in ("I", "F") or mode.startswith("I;16"):
        return np.asarray(img, dtype=np.float64)
    if mode in ("1", "L", "LA", "La"):
        return np.asarray(img.convert("L"), dtype=np.float64)
    rgb = np.asarray(img.convert("RGB"), dtype=np.float64).transpose(2, 0, 1)
    if mode in ("P", "PA") and np.array_equal(rgb[0], rgb[1]) and np.array_equal(rgb[0], rgb[2]):
        return rgb[0]  # every colour used is a grey: a greyscale image
    return rgb


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
        value = pixels(value)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biuf":
            raise SpecError(f"expected an array of real numbers, got dtype {value.dtype}")
        return Values(_checked(value.astype(np.float64), origin), origin)
    if isinstance(value, (list, tuple)):
        def check(x, depth):
            if isinstance(x, (list, tuple)):
                if depth > MAX_DEPTH:
                    raise SpecError(f"values nested deeper than {MAX_DEPTH} lists (4-D)")
                return [check(v, depth + 1) for v in x]
            if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
                raise SpecError(f"{_cut(str(x))} is not a number")
            try:
                x = float(x)
            except OverflowError:  # an int of hundreds of digits
                raise SpecError("values must fit a float32 (|v| < 3e38)") from None
            if not math.isfinite(x):
                raise SpecError("values must be finite numbers (no NaN or inf)")
            return x
        return Values(_checked(_rectangular(check(list(value), 1), "values"), origin), origin)
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
