"""The index page of a build: every figure with its parameters, command and PyTorch call.

Two files in the build's root: ``index.md`` (images by relative path, for a docs
site or a repository) and ``index.html``, self-contained (images inline as data
URIs, CSS inline), so it can be mailed or opened from anywhere.
"""
from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shlex
from pathlib import Path
from urllib.parse import quote

from .version import __version__
from .theme import LEGEND
from .spec import format_pair
from .options import Array
from .engine import formats

#: What the page shows of a figure's files: any but the PDF of its pages and TeX source.
_SHOWN = formats.SHOWN_SUFFIXES
_VIDEO = formats.VIDEO_SUFFIXES


def paths(root: Path) -> list[Path]:
    return [root / "index.md", root / "index.html"]


def fingerprint() -> str:
    """Changes when this module (the page's layout) does, so the page is rebuilt."""
    return hashlib.sha256(Path(__file__).read_bytes() + __version__.encode()).hexdigest()


def torch_call(figure) -> str:
    """The PyTorch module or function computing what the figure shows (one channel)."""
    return figure.kind.torch_call(figure.spec, figure.options)


def sizes(figure) -> str:
    """What the figure maps to what: ``5x5 -> 3x3``, and its steps."""
    spec = figure.spec
    src = spec.forward_output if spec.transposed else spec.input_size
    return f"{format_pair(src)} → {format_pair(spec.output_size)}, {figure.steps} steps"


def parameters(figure) -> str:
    own = figure.kind.parameters(figure.options)
    if own is not None:  # a kind whose options are not one conv's (stack)
        return ", ".join([own] + figure.kind.describe(figure.options))
    spec = figure.spec
    names = ("input", "kernel", "stride", "padding", "dilation")
    parts = [f"{n} {format_pair(v)}" for n, v in zip(names, spec.args)]
    if spec.padding_mode != "zeros":
        parts.append(f"{spec.padding_mode} padding")
    if spec.transposed:
        parts.append(f"output padding {format_pair(spec.output_padding)} (transposed)")
    return ", ".join(parts + figure.kind.describe(figure.options))


def command(entry) -> str:
    """The figure command that draws this entry alone, from the options' declarations."""
    options = entry.figure.kind.Options.by_name()
    words = ["python -m convanim", entry.kind, entry.name]
    for key, value in entry.options.items():
        opt = options[key.replace("-", "_")]
        if opt.name in ("out_dir", "gif_dir"):
            continue
        flag = opt.flags[0]
        if opt.is_flag:
            if value:
                words.append(flag)
        else:  # pasted into a shell, it runs only convanim
            words += [flag, shlex.quote(option_text(opt, value))]
    return " ".join(words)


def option_text(opt, value) -> str:
    """A config value as the command line (or a directive) spells it."""
    # a TOML array: an array's values, a size 4x5x5, sides 0,0,1,1,1,1
    if isinstance(value, (list, tuple)) or (isinstance(opt.type, Array)
                                            and not isinstance(value, str)):
        return opt.type.spell(opt.convert(value))
    return str(value)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")
#: What starts a list item at the start of a paragraph (``- a``, ``1. a``).
_MD_LIST = re.compile(r"^([-+]|\d+[.)])")


def md_text(text: str) -> str:
    """Untrusted text as Markdown that shows it literally: no HTML, no links or emphasis,
    no new block (line breaks become spaces)."""
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(" ".join(text.split()), quote=False))
    return _MD_LIST.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], text)


def md_code(text: str) -> str:
    """A code span holding ``text`` whatever backticks it has (CommonMark's rule: a fence
    longer than any run inside, padded with spaces)."""
    text = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    return f"{fence} {text} {fence}" if "`" in text else f"{fence}{text}{fence}"


def _image(entry) -> Path | None:
    """The animation (of any format), else the single frame, that the page shows."""
    return next((p for p in entry.figure.outputs() if p.suffix in _SHOWN), None)


def _markdown_media(name: str, rel: str, suffix: str) -> str:
    """An image, a video (raw HTML, which Markdown passes through) or a link to a player."""
    rel = quote(rel)  # a folder with spaces or brackets stays one link
    if suffix in _VIDEO:
        return f'<video src="{html.escape(rel)}" autoplay loop muted playsinline controls></video>'
    if suffix == ".html":
        return f"[{name}: interactive player]({rel})"
    return f"![{name}]({rel})"


def _html_media(image: Path, name: str) -> str:
    """The figure inline: a data URI, or the player in an ``iframe srcdoc``."""
    if image.suffix == ".html":
        return (f'<iframe class="player" title="{html.escape(name)}" '
                f'srcdoc="{html.escape(image.read_text(encoding="utf-8"))}"></iframe>')
    data = f"data:{formats.mime(image.suffix)};base64,{base64.b64encode(image.read_bytes()).decode()}"
    if image.suffix in _VIDEO:
        return f'<video src="{data}" autoplay loop muted playsinline controls></video>'
    return f'<img src="{data}" alt="{html.escape(name)}">'


def markdown(config, root: Path) -> str:
    lines = [f"# {md_text(config.title)}", "",
             f"Drawn by convanim {__version__} from {md_code(config.path.name)}.", ""]
    for e in config.entries:
        image = _image(e)
        lines += [f"## {e.name}", ""]
        if e.description:
            lines += [md_text(e.description), ""]
        if image is not None:
            rel = Path(os.path.relpath(image, root)).as_posix()
            lines += [_markdown_media(e.name, rel, image.suffix), ""]
        lines += [f"- {parameters(e.figure)}; {sizes(e.figure)}",
                  f"- {md_code(command(e))}",
                  f"- {md_code(torch_call(e.figure))}", ""]
    return "\n".join(lines)


_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;background:#fafafa}
h1{font-weight:600}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:1.2rem}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:1rem}
.card h2{font-size:1.05rem;margin:0 0 .4rem;font-family:ui-monospace,monospace}
.card img,.card video{display:block;max-width:100%;height:auto;margin:.5rem auto}
.card iframe{display:block;width:100%;height:30rem;border:0;margin:.5rem auto}
.card p{margin:.3rem 0;font-size:.9rem}
code{font-size:.78rem;background:#f0f0f0;padding:.1rem .25rem;border-radius:3px;
word-break:break-word}
.params{color:#555}
.wide{grid-column:span 2}
@media (max-width:700px){.wide{grid-column:auto}}
"""


def _aspect(image: Path) -> float:
    if image.suffix in (".svg", ".html", *_VIDEO):
        return 1.0
    from PIL import Image

    with Image.open(image) as im:
        return im.width / im.height


def html_page(config) -> str:
    cards = []
    for e in config.entries:
        image = _image(e)
        img = ""
        if image is not None and image.is_file():
            img = _html_media(image, e.name)
        wide = " wide" if img and _aspect(image) > 2 else ""  # a matrix figure: two columns
        cards.append(
            f'<div class="card{wide}" id="{html.escape(e.name)}"><h2>{html.escape(e.name)}</h2>'
            + (f"<p>{html.escape(e.description)}</p>" if e.description else "")
            + img
            + f'<p class="params">{html.escape(parameters(e.figure))}; '
              f'{html.escape(sizes(e.figure))}</p>'
            + f"<p><code>{html.escape(command(e))}</code></p>"
            + f"<p><code>{html.escape(torch_call(e.figure))}</code></p></div>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(config.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(config.title)}</h1><p>Drawn by convanim {__version__} from "
            f"<code>{html.escape(config.path.name)}</code>. In the print theme, "
            f"{html.escape(LEGEND)}.</p>"
            f'<div class="grid">{"".join(cards)}</div></body></html>\n')


def write(config, root: Path) -> list[Path]:
    """Place both pages (all or none); returns their paths."""
    from . import files

    md, page = paths(root)
    return files.place_all([(markdown(config, root).encode(), md),
                            (html_page(config).encode(), page)])
