"""TeX source -> PDF/PNG/SVG/GIF: one pdflatex run for all frames, then raster.

Every frame of a figure is a page of one document, so an animation costs one
pdflatex process and one pdf2image call (pdftoppm over page ranges in threads).
Work happens in a temporary directory; outputs are moved into place atomically and
stored in the content-hash cache, which a later identical request copies from
without running TeX at all.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import files
from .cache import Cache, key

TEX_TIMEOUT_S = 600

_INSTALL = {
    "pdflatex": "install TeX Live (Debian: sudo apt-get install texlive-latex-base "
                "texlive-latex-recommended texlive-pictures), or run `make setup`",
    "pdftoppm": "install poppler (Debian: sudo apt-get install poppler-utils), or run `make setup`",
}
_INSTALL["pdfinfo"] = _INSTALL["pdftocairo"] = _INSTALL["pdftoppm"]
_TOOLS = {"pdf": ["pdflatex"], "png": ["pdflatex", "pdftoppm", "pdfinfo"],
          "gif": ["pdflatex", "pdftoppm", "pdfinfo"], "svg": ["pdflatex", "pdftocairo"]}


class ToolError(RuntimeError):
    """A missing program or a TeX failure: one line, exit status 1."""


@dataclass(frozen=True)
class Product:
    kind: str   # pdf (all pages), png / svg (page 1), gif (all pages as frames)
    dest: Path


@dataclass(frozen=True)
class Settings:
    dpi: int = 600          # png and svg frames
    gif_dpi: int = 150      # GIF frames
    delay_ms: int = 1000    # per GIF frame


def render(make_tex, pages: int, products: list[Product], settings: Settings = Settings(),
           params: dict | None = None, cache: Cache | None = None,
           progress: bool = False) -> list[Path]:
    """Make every product and place it at its ``dest``; returns the dests.

    ``make_tex()`` gives the document, one page per frame; it is called only when
    the cache (keyed on ``params``, everything that decides the document) misses.
    """
    names = [f"figure.{p.kind}" for p in products]
    if cache is not None:
        k = key({"figure": params, "products": [p.kind for p in products],
                 "settings": vars(settings)})
        hit = cache.get(k, names)
        if hit is not None:
            return [files.copy_file(hit[n], p.dest) for n, p in zip(names, products)]
    for tool in dict.fromkeys(t for p in products for t in _TOOLS[p.kind]):  # pipeline order
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} not found: {_INSTALL[tool]}")

    tex = make_tex()
    work = Path(tempfile.mkdtemp(prefix="convanim-"))
    if any(p.kind in ("png", "gif") for p in products):
        # pdflatex keeps one core busy; load the raster libraries on the other meanwhile.
        threading.Thread(target=_import_raster_libraries, daemon=True).start()
    pdf = compile_pdf(tex, work, pages, progress)
    made = {}
    for name, p in zip(names, products):
        made[name] = _make(p.kind, pdf, work, pages, settings, progress)
    if cache is not None:
        cache.put(k, made)
    placed = [files.copy_file(made[n], p.dest) for n, p in zip(names, products)]
    shutil.rmtree(work, ignore_errors=True)
    return placed


def compile_pdf(tex: str, work: Path, pages: int, progress: bool) -> Path:
    """Run pdflatex once; on failure keep ``work`` and report the first ``!`` line."""
    (work / "figure.tex").write_text(tex, encoding="utf-8")
    cmd = ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
           "figure.tex"]
    bar = _bar(pages, "typesetting", progress)
    try:
        proc = subprocess.Popen(cmd, cwd=work, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in proc.stdout:
            if line.startswith("convanim-page ") and bar is not None:
                bar.update(1)
        proc.wait(timeout=TEX_TIMEOUT_S)
    finally:
        if bar is not None:
            bar.close()
    log = work / "figure.log"
    pdf = work / "figure.pdf"
    if proc.returncode != 0 or not pdf.is_file():
        first = "pdflatex failed"
        if log.is_file():
            bang = [ln for ln in log.read_text(errors="replace").splitlines() if ln.startswith("!")]
            if bang:
                first = bang[0]
        raise ToolError(f"LaTeX failed: {first} (log: {log})")
    return pdf


def _make(kind: str, pdf: Path, work: Path, pages: int, settings: Settings, progress: bool) -> Path:
    if kind == "pdf":
        return pdf
    if kind == "png":
        from pdf2image import convert_from_path

        convert_from_path(pdf, dpi=settings.dpi, fmt="png", output_folder=work,
                          output_file="frame", single_file=True, paths_only=True)
        return work / "frame.png"
    if kind == "svg":
        out = work / "frame.svg"
        _run(["pdftocairo", "-svg", "-f", "1", "-l", "1", str(pdf), str(out)])
        return out
    if kind == "gif":
        from pdf2image import convert_from_path

        bar = _bar(pages, "rasterising", progress)
        images = convert_from_path(pdf, dpi=settings.gif_dpi, fmt="ppm", output_folder=work,
                                   thread_count=max(1, min(os.cpu_count() or 1, pages)))
        if bar is not None:
            bar.update(pages)
            bar.close()
        out = work / "figure.gif"
        write_gif(images, out, settings.delay_ms)
        return out
    raise ValueError(kind)


def _import_raster_libraries() -> None:
    import pdf2image  # noqa: F401
    from PIL import GifImagePlugin, Image, PpmImagePlugin  # noqa: F401


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no message"])[0]
        raise ToolError(f"{cmd[0]} failed: {detail}")


def write_gif(images, path: Path, delay_ms: int, colors: int = 64) -> None:
    """One shared palette for every frame (no flicker, small file), looping forever."""
    from PIL import Image

    frames = [im.convert("RGB") for im in images]
    width = max(f.width for f in frames)
    height = max(f.height for f in frames)
    for n, f in enumerate(frames):
        if f.size != (width, height):
            canvas = Image.new("RGB", (width, height), "white")
            canvas.paste(f, (0, 0))
            frames[n] = canvas
    # The palette comes from the first, middle and last frames at half resolution:
    # every colour a frame can show is on one of them, and median cut is the cost.
    picks = sorted({0, len(frames) // 2, len(frames) - 1})
    strip = Image.new("RGB", (width, height * len(picks)), "white")
    for n, i in enumerate(picks):
        strip.paste(frames[i], (0, n * height))
    palette = strip.reduce(2).quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:  # Pillow releases the GIL here
        indexed = list(pool.map(
            lambda f: f.quantize(palette=palette, dither=Image.Dither.NONE), frames))
    # Quantizing lands the background on an off-white entry; make that entry pure white.
    white = Image.new("RGB", (1, 1), "white").quantize(palette=palette, dither=Image.Dither.NONE)
    entries = indexed[0].getpalette()
    n = white.getpixel((0, 0))
    entries[3 * n:3 * n + 3] = [255, 255, 255]
    for f in indexed:
        f.putpalette(entries)
    indexed[0].save(path, save_all=True, append_images=indexed[1:], duration=delay_ms,
                    loop=0, disposal=1)


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="page", file=sys.stderr, leave=False)
