"""Every output format, described once (matplotlib's ``filetypes`` is the model).

A format is what one product of a render is: the word a user asks for it by, its
file suffix and mime type; whether it shows one step or every step; what it is made from (page 1 of the
PDF, the whole PDF, or the pages rasterised); the programs it needs and the writer
that makes it. Options, the front ends, the index page, the notebook view and the
render read their facts here and nowhere else.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Programs that typeset and rasterise, in the order a render runs them.
TEX = ("pdflatex",)
RASTER = ("pdflatex", "pdftoppm", "pdfinfo")
CAIRO = ("pdflatex", "pdftocairo")


@dataclass(frozen=True)
class Format:
    kind: str            # the product's name inside a render (and its cache entry)
    word: str            # the name a user asks for it by
    suffix: str
    mime: str
    animation: bool      # every step (``-a``) or one step
    source: str          # "page": page 1 of the PDF; "pdf": the whole PDF; "raster": every page
    #                      rasterised; "source": no PDF, the figure's portable TeX source
    tools: tuple[str, ...]
    writer: str          # the render's writer of this product
    video: bool = False  # no alpha channel; needs imageio-ffmpeg
    note: str = ""       # what help adds to the word


TABLE = (
    Format("pdf", "pdf", ".pdf", "application/pdf", False, "pdf", TEX, "pdf"),
    Format("png", "png", ".png", "image/png", False, "page", RASTER, "png"),
    Format("svg", "svg", ".svg", "image/svg+xml", False, "page", CAIRO, "svg"),
    Format("gif", "gif", ".gif", "image/gif", True, "raster", RASTER, "gif"),
    Format("webp", "webp", ".webp", "image/webp", True, "raster", RASTER, "frames"),
    Format("apng", "apng", ".png", "image/apng", True, "raster", RASTER, "frames"),
    Format("mp4", "mp4", ".mp4", "video/mp4", True, "raster", RASTER, "frames", video=True),
    Format("webm", "webm", ".webm", "video/webm", True, "raster", RASTER, "frames", video=True),
    Format("html", "html", ".html", "text/html", True, "pdf", CAIRO, "player",
           note="interactive player"),
    Format("svg-animation", "svg", ".svg", "image/svg+xml", True, "pdf", CAIRO, "svg-animation",
           note="animated, no script"),
    Format("tex", "tex", ".tex", "application/x-tex", False, "source", (), "source",
           note="TikZ source for LaTeX"),
    Format("tex-animation", "tex", ".tex", "application/x-tex", True, "source", (), "source",
           note="TikZ source of every step: beamer overlays, animate"),
)
_BY_KIND = {f.kind: f for f in TABLE}

#: The words of a single step's formats, and of an animation's (every step).
SINGLE_WORDS = tuple(f.word for f in TABLE if not f.animation)
ANIMATION_WORDS = tuple(f.word for f in TABLE if f.animation)
#: Every word (a front end may take pdf and png for an animation's GIF).
WORDS = tuple(dict.fromkeys(f.word for f in TABLE))
#: Words of the formats that are videos (no alpha).
VIDEO_WORDS = tuple(f.word for f in TABLE if f.video)
#: Suffixes of the video files, and of every file convanim writes.
VIDEO_SUFFIXES = tuple(f.suffix for f in TABLE if f.video)
SUFFIXES = tuple(dict.fromkeys(f.suffix for f in TABLE))
#: Suffixes a page can show, as an image or a player: every one but the PDF of the pages
#: and the TeX source (which only a LaTeX document shows).
SHOWN_SUFFIXES = tuple(dict.fromkeys(f.suffix for f in TABLE
                                     if f.suffix != ".pdf" and f.source != "source"))
#: Words of the formats that are TeX source, which no TeX run makes.
SOURCE_WORDS = tuple(dict.fromkeys(f.word for f in TABLE if f.source == "source"))


def of(kind: str) -> Format:
    """The format of a product kind (``svg-animation``, not ``svg``, for the animated SVG)."""
    return _BY_KIND[kind]


def of_word(word: str, animation: bool) -> Format:
    """The format a user asks for by ``word``, of a single step or of an animation."""
    return next(f for f in TABLE if f.word == word and f.animation == animation)


def mime(suffix: str) -> str:
    """The mime type of a file convanim writes (an animated PNG is served as image/png)."""
    if suffix == ".png":
        return "image/png"
    return next(f.mime for f in TABLE if f.suffix == suffix)


def listed(words) -> str:
    """Words as help text lists them: "a, b or c"."""
    words = list(words)
    return ", ".join(words[:-1]) + (" or " if len(words) > 1 else "") + words[-1]
