"""The pages as pixels: pdftoppm on worker threads, a chunk of pages at a time.

The encoders quantize the chunks already done while the next ones are rasterised,
so only a few frames are ever held in full colour. The pixel budgets are checked
from the first page TeX ships out, before the rest is typeset.
"""
from __future__ import annotations

import math
import os
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from ..errors import SpecError, ToolError
from . import formats, tools
from .texpool import Typeset

#: Pixels of all GIF frames together; beyond it the frames do not fit in memory.
MAX_GIF_PIXELS = 400_000_000
#: Pixels of one PNG frame: the largest figure at the default 600 DPI (a 64x64 alphabet
#: matrix, 111 Mpx, 0.5 GB in pdftoppm, 5 s) fits; 2400 DPI on big figures does not.
MAX_FRAME_PIXELS = 120_000_000
#: Pages rasterised per pdftoppm call.
CHUNK = 12
#: Frames of at most this many pixels in all are held in full colour at once (36 MB),
#: so their palette comes from the frames themselves: no sample of their own to
#: rasterise first (three more pdftoppm runs, one after another).
SMALL_PIXELS = 12_000_000


def raster_chunks(doc: Typeset | Path, work: Path, pages: int, dpi: int, progress: bool):
    """Yield the pages as lists of RGB images, in order, a chunk at a time.

    The first item is the palette sample: the first, middle and last pages (at half
    resolution, or for a small figure the frames themselves). pdftoppm runs on worker
    threads (a process each, so on every core) while the caller quantizes the chunks
    already yielded.
    """
    from PIL import Image

    if isinstance(doc, Path):
        doc = Typeset([(doc, pages)], work)
    w, h = page_pixels(doc.first, dpi)
    if w * h * pages > MAX_GIF_PIXELS:
        raise TooManyPixels("gif", w, h, dpi, pages)

    stopped = threading.Event()
    half = max(dpi // 2, 10)
    sizes = {dpi: (w, h), half: page_pixels(doc.first, half)}

    def raster(first: int, last: int, at: int = dpi, kind: str = "p") -> list:
        if stopped.is_set():
            return []
        rgb = []
        for n, (pdf, a, b) in enumerate(doc.locate(first, last)):
            root = f"{kind}{first:05d}-{at}-{n}"
            tools.run(["pdftoppm", "-r", str(at), "-f", str(a), "-l", str(b), *crop(*sizes[at]),
                       str(pdf), str(work / root)])
            for path in sorted(work.glob(f"{root}-*.ppm")):  # -01, -02...: equal widths
                with Image.open(path) as im:
                    rgb.append(im.convert("RGB"))
                path.unlink()
        return rgb

    picks = sorted({1, (pages + 1) // 2, pages})
    cores = os.cpu_count() or 1
    small = pages <= CHUNK or w * h * pages <= SMALL_PIXELS  # the sample: the frames
    if small and len(doc.shares) > 1:  # one pdftoppm per share, each on its own PDF
        ranges = doc.bounds()
    elif small:  # one pdftoppm per core on a share of the pages (alphabet's 9: two calls)
        parts = max(1, min(cores, pages // 2))
        ranges = [(1 + n * pages // parts, (n + 1) * pages // parts) for n in range(parts)]
    else:  # chunks within each share: one pdftoppm each
        ranges = [(a, min(a + CHUNK - 1, last)) for first, last in doc.bounds()
                  for a in range(first, last + 1, CHUNK)]

    def sample() -> list:
        # "s": its own file names, even where half the DPI is the DPI (-qa 10): a chunk's
        # pdftoppm must never write, nor this one delete, the other's files
        return [raster(p, p, half, "s")[0] for p in picks]

    bar = None if small else tools.bar(pages, "rasterising", progress)
    with ThreadPoolExecutor(max(1, min(cores, pages))) as pool:
        jobs = []
        done = False
        try:  # submitting inside: a signal between two submits must stop the first's tool
            if not small:
                jobs.append(pool.submit(sample))
            for a, b in ranges:
                jobs.append(pool.submit(raster, a, b))
            if small:
                frames = [f for job in jobs for f in job.result()]
                yield [frames[p - 1] for p in picks]
                yield frames
            else:
                for n, job in enumerate(jobs):
                    chunk = job.result()
                    yield chunk
                    if bar is not None and n:
                        bar.update(len(chunk))
            done = True
        finally:  # stopped early (an error, an interrupt): no pdftoppm runs on
            if not done:
                stopped.set()
                for job in jobs:
                    job.cancel()
                # a worker may have passed the check just before: stop its tool too
                while not all(job.done() for job in jobs):
                    tools.stop_tools(work)
                    wait(jobs, timeout=0.05)
    if bar is not None:
        bar.close()


def page_pixels(pdf: Path, dpi: int) -> tuple[int, int]:
    """Width and height in pixels of the first page at ``dpi`` (pages share one size).

    From the ``convanim-page`` line our documents log (TeX points, 72.27 an inch),
    else from pdfinfo (big points, 72 an inch).
    """
    log = pdf.with_suffix(".log")
    if log.is_file():
        with open(log, errors="replace") as f:
            for line in f:
                m = _PAGE_LINE.match(line)
                if m:
                    return pixels(*(float(v) * 72 / 72.27 for v in m.groups()[:2]), dpi)
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "1", str(pdf)], capture_output=True,
                         text=True, errors="replace")
    for line in out.stdout.splitlines():
        if line.startswith("Page") and "size:" in line:
            w, _, h = line.split("size:")[1].split()[:3]
            return pixels(float(w), float(h), dpi)
    raise ToolError(f"pdfinfo failed: {(out.stderr.strip().splitlines() or ['no page size'])[0]}")


_PAGE_LINE = re.compile(r"convanim-page 1 ([\d.]+)pt ([\d.]+)pt(?: ([\d.]+)pt ([\d.]+)pt)?\s*$")


def natural_size(log: Path) -> tuple[float, float] | None:
    """The first page's drawing before it was scaled to a width, in TeX points, from the log."""
    if log.is_file():
        with open(log, errors="replace") as f:
            for line in f:
                m = _PAGE_LINE.match(line)
                if m and m.group(3):
                    return float(m.group(3)), float(m.group(4))
    return None


def pixels(w_bp: float, h_bp: float, dpi: int) -> tuple[int, int]:
    """A page of ``w_bp`` x ``h_bp`` PDF points in pixels at ``dpi``: the whole pixels it
    covers, the size of every raster we make (:func:`crop`). pdftoppm and pdftocairo
    round the page up, and the part of the last row and column past the page is left
    unpainted: a white line at the bottom and right of a dark page."""
    # a hair of tolerance: a size that is a whole number of pixels, off in the last
    # digit of the TeX points -> big points conversion, is that whole number
    return math.floor(w_bp / 72 * dpi + 1e-6), math.floor(h_bp / 72 * dpi + 1e-6)


def crop(w: int, h: int) -> list[str]:
    """pdftoppm's (and pdftocairo's) options that keep the ``w`` x ``h`` pixels at the
    top left of a page (the crop area starts at 0, 0 by default): :func:`pixels`' size,
    without the unpainted sliver."""
    return ["-W", str(w), "-H", str(h)]


class TooManyPixels(SpecError):
    """A frame, or an animation's frames together, past the pixel budget. It says what
    and how large; the front end that chose the resolution says how to lower it."""

    def __init__(self, product: str, w: int, h: int, dpi: int, pages: int = 1):
        self.product, self.w, self.h, self.dpi, self.pages = product, w, h, dpi, pages
        self.limit_mpx = (MAX_FRAME_PIXELS if product == "png" else MAX_GIF_PIXELS) // 10**6
        what = (f"{w}x{h} px" if product == "png" else f"{pages} frames of {w}x{h} px")
        super().__init__(f"{product.upper()} too large: {what} at {dpi} DPI exceed "
                         f"{self.limit_mpx} Mpx")


def too_many_pixels(products, settings, pages: int):
    """Why a page of this size would be too many pixels for a product, or None: checked
    on the first page TeX ships out, so a figure past the budget never runs TeX to the end."""
    def check(w_bp: float, h_bp: float) -> TooManyPixels | None:
        for product in products:
            if product.kind == "png" and not settings.transparent:
                w, h = pixels(w_bp, h_bp, settings.dpi)
                if w * h > MAX_FRAME_PIXELS:
                    return TooManyPixels("png", w, h, settings.dpi)
            if formats.of(product.kind).source == "raster":
                w, h = pixels(w_bp, h_bp, settings.gif_dpi)
                if w * h * pages > MAX_GIF_PIXELS:
                    return TooManyPixels("gif", w, h, settings.gif_dpi, pages)
        return None
    return check


def import_raster_libraries() -> None:
    from PIL import GifImagePlugin, Image, PpmImagePlugin  # noqa: F401


