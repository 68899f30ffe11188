"""TeX source -> PDF/PNG/SVG and animations: the render engine, in rooms.

Every frame of a figure is a page of one document, typeset by a pool of pdflatex runs
(:mod:`.texpool`), rasterised by pdftoppm on worker threads (:mod:`.raster`) and
encoded (:mod:`.encoders`), or turned into the HTML player and the animated SVG
(:mod:`.web`). Each output format is described once (:mod:`.formats`). Work happens
in a temporary directory, outputs are placed atomically and stored in the
content-hash cache, from which a later identical request is served without running
TeX at all. This package draws documents: it knows no figure kind and no command line. (It is
``engine``, not ``render``: ``convanim.render`` is the Python API's function.)
"""
from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import files, texformat
from ..cache import Cache, code_fingerprint, key
from ..errors import ToolError
from ..tex import compiled_templates_in
from . import formats, raster, texpool, tools
from .tools import Cancel, Cancelled

__all__ = ["Cancel", "Cancelled", "Product", "Settings", "TooManyPixels", "product_key",
           "render"]


@dataclass(frozen=True)
class Product:
    kind: str   # a format's kind (formats.TABLE): pdf (all pages), png / svg (page 1), or an
    #             animation of all pages, as gif ... svg-animation
    dest: Path


@dataclass(frozen=True)
class Settings:
    dpi: int = 600          # png and svg frames
    gif_dpi: int = 150      # frames of the raster animations
    delay_ms: int = 1000    # per frame
    transparent: bool = False   # PNG with alpha, GIF with the background transparent
    background: str = "FFFFFF"  # page colour (hex), which the GIF palette keeps exact


TooManyPixels = raster.TooManyPixels

#: The cache entry's record of the drawing's natural size (layout.warning needs it on a hit).
NATURAL = "natural-size.txt"


def render(make_tex, pages: int, products: list[Product], settings: Settings = Settings(),
           params: dict | None = None, cache: Cache | None = None, progress: bool = False,
           extra: dict[Path, bytes] | None = None, captions=None,
           cancel: Cancel | None = None, natural: list | None = None,
           pool: texpool.TexPool | None = None, source=None) -> list[Path]:
    """Make every product and place it, with the ``extra`` files, all or none.

    ``natural``, a list, gets the drawing's natural size (TeX points, see
    :func:`raster.natural_size`), from TeX's log or the cache entry, when it is known.

    ``make_tex()`` gives the document, one page per frame; it is called only when
    the cache (keyed on ``params``, everything that decides the document) misses,
    and so is ``captions()``, the player's (line, text alternative) per frame (HTML only). ``pool``: the
    pdflatex runs' pool (:data:`texpool.POOL`, this process's, by default).
    ``source()`` gives the portable TeX of the formats made of it (formats.SOURCE_WORDS),
    which no TeX run makes here: the author's LaTeX typesets it.
    Returns the paths placed, products first.
    """
    cancel = cancel or Cancel()
    pool = pool or texpool.POOL
    names = [f"figure.{p.kind}" for p in products]
    extras = [(data, Path(dest)) for dest, data in (extra or {}).items()]
    if cache is not None:
        k = product_key(params, products, settings)
        hit = cache.get(k, names + [NATURAL])
        if hit is not None:
            cancel.check()
            if natural is not None:
                natural.extend(_read_natural(hit[NATURAL]))
            return files.place_all([(hit[n], p.dest) for n, p in zip(names, products)] + extras)
    fmts = [formats.of(p.kind) for p in products]
    if all(f.source == "source" for f in fmts):
        return _source_only(source, products, names, params, settings, cache, cancel, extras)
    tools.require(t for f in fmts for t in f.tools)  # pipeline order
    video = [f.word for f in fmts if f.video]
    if video and not have_video():  # before TeX runs, not after
        raise ToolError(f"{video[0]} needs imageio and imageio-ffmpeg: pip install "
                        f"'convanim[video]' (or run `make setup`)")

    files.sweep(tempfile.gettempdir(), "convanim-*", 24 * 3600)  # a kill -9's work folders
    fmt = texformat.lookup(cache.root / "formats", cancel) if cache is not None else None
    work, early = pool.take_early(fmt)
    whole = [f.source == "pdf" for f in fmts]
    keep = False
    claimed = False
    doc = None
    try:
        cancel.add(work)
        shares, claimed = pool.claim(pages, any(whole), len(early)), True
        folders = [work, *(work / f"share-{n}" for n in range(1, shares))]
        for folder in folders[1:]:
            folder.mkdir(exist_ok=True)
        for proc in early[shares:]:
            texpool.discard(proc)
        if fmt is not None:  # TeX loads its format while Python draws the document
            early = early[:shares] + [texpool.start_pdflatex(f, fmt)
                                      for f in folders[len(early):]]
        with _templates(cache):
            tex = make_tex()
        if any(f.source == "raster" or f.kind == "png" for f in fmts):
            # pdflatex keeps one core busy; load the raster libraries on another meanwhile.
            threading.Thread(target=raster.import_raster_libraries, daemon=True).start()
        try:
            doc = texpool.typeset(tex, folders, pages, progress, fmt, early,
                                  check_page=raster.too_many_pixels(products, settings, pages))
        except ToolError:
            # the message points at the log inside
            keep = any((folder / "figure.log").is_file() for folder in folders)
            raise
        cancel.check()
        if any(whole):
            doc.unite_soon()
        made = {}
        for n in sorted(range(len(products)), key=whole.__getitem__):  # pdfunite's last
            write = _WRITERS[fmts[n].writer]
            made[names[n]] = write(products[n], doc, work, pages, settings, progress, captions)
        size = raster.natural_size(doc.first.with_suffix(".log"))
        (work / NATURAL).write_text(" ".join(map(str, size)) if size else "")
        made[NATURAL] = work / NATURAL
        if natural is not None and size:
            natural.extend(size)
        cancel.check()
        if cache is not None:
            cache.put(k, made)
        return files.place_all([(made[n], p.dest) for n, p in zip(names, products)] + extras)
    except BaseException:
        tools.stop_tools(work)  # an interrupt leaves pdftoppm running (Python waits only 0.25 s)
        raise
    finally:
        if claimed:
            pool.release()
        cancel.discard(work)
        for proc in early:
            texpool.discard(proc)
        if doc is not None:
            doc.close()
        if not keep:
            tools.remove_tree(work)


def _source_only(source, products, names, params, settings, cache, cancel, extras):
    """Products that are the figure's TeX source: written from ``source()``, no TeX run."""
    work = files.work_folder()
    try:
        with _templates(cache):
            text = source().encode()
        made = {}
        for name in names:
            (work / name).write_bytes(text)
            made[name] = work / name
        cancel.check()
        if cache is not None:
            (work / NATURAL).write_text("")
            cache.put(product_key(params, products, settings), {**made, NATURAL: work / NATURAL})
        return files.place_all([(made[n], p.dest) for n, p in zip(names, products)] + extras)
    finally:
        tools.remove_tree(work)


def _read_natural(path: Path) -> list[float]:
    try:
        return [float(v) for v in path.read_text().split()][:2]
    except (OSError, ValueError):
        return []


def _templates(cache: Cache | None):
    """The compiled templates of this code, kept in the cache (or in memory without one)."""
    return compiled_templates_in(cache.root / "templates" / code_fingerprint()[:16]
                                 if cache is not None else None)


def product_key(params: dict | None, products: list[Product], settings: Settings) -> str:
    """The cache key of a request; ``build`` compares it to decide what is stale."""
    return key({"figure": params, "products": [p.kind for p in products],
                "settings": vars(settings)})


def have_video() -> bool:
    """imageio and imageio-ffmpeg (whose wheel carries the ffmpeg binary) are installed."""
    from importlib.util import find_spec

    return find_spec("imageio") is not None and find_spec("imageio_ffmpeg") is not None


# --- the writers of formats.TABLE: a product from the typeset document ---------------------

def _whole_pdf(product, doc, work, pages, settings, progress, captions) -> Path:
    return doc.whole()


def _png(product, doc, work, pages, settings, progress, captions) -> Path:
    # cropped to the whole pixels the page covers: no unpainted sliver at the bottom and right
    w, h = raster.page_pixels(doc.first, settings.dpi)
    if settings.transparent:  # pdftoppm has no alpha; pdftocairo does
        tools.run(["pdftocairo", "-png", "-transp", "-singlefile", "-f", "1", "-l", "1",
                   "-r", str(settings.dpi), *raster.crop(w, h), str(doc.first),
                   str(work / "frame")])
        return work / "frame.png"
    if w * h > raster.MAX_FRAME_PIXELS:
        raise TooManyPixels("png", w, h, settings.dpi)
    tools.run(["pdftoppm", "-png", "-singlefile", "-r", str(settings.dpi), "-f", "1", "-l", "1",
               *raster.crop(w, h), str(doc.first), str(work / "frame")])
    return work / "frame.png"


def _svg(product, doc, work, pages, settings, progress, captions) -> Path:
    out = work / "frame.svg"
    tools.run(["pdftocairo", "-svg", "-f", "1", "-l", "1", str(doc.first), str(out)])
    return out


def _gif(product, doc, work, pages, settings, progress, captions) -> Path:
    from .encoders import write_gif

    out = work / "figure.gif"
    write_gif(raster.raster_chunks(doc, work, pages, settings.gif_dpi, progress), out,
              settings.delay_ms, background=settings.background,
              transparent=settings.transparent)
    return out


def _frames(product, doc, work, pages, settings, progress, captions) -> Path:
    from .encoders import write_frames

    out = work / f"figure.{product.kind}"
    write_frames(product.kind, raster.raster_chunks(doc, work, pages, settings.gif_dpi, progress),
                 out, settings.delay_ms, background=settings.background,
                 transparent=settings.transparent)
    return out


def _player(product, doc, work, pages, settings, progress, captions) -> Path:
    from . import web

    out = work / "figure.html"
    pairs = captions() if captions else [  # numbered as -e numbers the steps, from 0
        (f"Step {n} of 0\u2013{pages - 1}" if pages > 1 else f"Step {n}",) * 2
        for n in range(pages)]
    web.write_html(web.pdf_deck(doc.whole(), pages, work), out, settings.delay_ms,
                   [line for line, _ in pairs], product.dest.stem, settings.background,
                   settings.transparent, labels=[label for _, label in pairs])
    return out


def _svg_animation(product, doc, work, pages, settings, progress, captions) -> Path:
    from . import web

    out = work / "figure.svg-animation"
    web.write_svg(web.pdf_deck(doc.whole(), pages, work), out, settings.delay_ms)
    return out


def _no_writer(product, doc, work, pages, settings, progress, captions) -> Path:
    raise AssertionError("TeX source is written without a TeX run (_source_only)")


_WRITERS = {"source": _no_writer, "pdf": _whole_pdf, "png": _png, "svg": _svg, "gif": _gif, "frames": _frames,
            "player": _player, "svg-animation": _svg_animation}
