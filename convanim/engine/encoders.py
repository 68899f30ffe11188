"""The animations made from raster frames: GIF with one shared palette, lossless WebP
and APNG (Pillow), MP4 and WebM video (imageio-ffmpeg, whose wheel carries ffmpeg).
"""
from __future__ import annotations

import math
from pathlib import Path

from ..errors import ToolError
from . import formats

#: Median cut sees at most this many pixels of the palette sample (subsampled evenly).
PALETTE_PIXELS = 100_000
#: The video formats' codec and its settings: crisp flat colours, playable everywhere (yuv420p).
VIDEO = {
    "mp4": ("libx264", ["-crf", "23", "-preset", "medium", "-tune", "stillimage",
                        "-movflags", "+faststart"]),
    "webm": ("libvpx-vp9", ["-crf", "30", "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                            "-row-mt", "1"]),
}


def write_gif(chunks, path: Path, delay_ms: int, colors: int = 64, background: str = "FFFFFF",
              transparent: bool = False) -> None:
    """A looping GIF with one shared palette (no flicker, small file).

    ``chunks`` yields the palette sample (images holding every colour the frames
    use), then the frames in order, a list at a time; each chunk is quantized as
    it arrives so only its full-colour frames are held. The page colour keeps an
    exact palette entry; ``transparent`` makes it (the unpainted page, white as
    pdftoppm renders it) the GIF's transparent colour.
    """
    chunks = iter(chunks)
    try:
        _write_gif(chunks, path, delay_ms, colors, background, transparent)
    finally:
        if hasattr(chunks, "close"):  # a generator: let it stop its workers now
            chunks.close()


def _write_gif(chunks, path: Path, delay_ms: int, colors: int, background: str,
               transparent: bool) -> None:
    from PIL import Image

    sample = next(chunks)
    strip = Image.new("RGB", (max(f.width for f in sample), sum(f.height for f in sample)),
                      "white")
    y = 0
    for f in sample:
        strip.paste(f, (0, y))
        y += f.height
    step = math.ceil(math.sqrt(strip.width * strip.height / PALETTE_PIXELS))
    if step > 1:
        # every step-th pixel of every step-th row: the same colours in nearly the same
        # proportions, for median cut's time on PALETTE_PIXELS pixels at most
        strip = strip.resize((strip.width // step, strip.height // step),
                             Image.Resampling.NEAREST)
    palette = strip.quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    # Quantizing lands the background on a near entry; make that entry exact.
    page = "FFFFFF" if transparent else background
    rgb = tuple(int(page[i:i + 2], 16) for i in (0, 2, 4))
    white = Image.new("RGB", (1, 1), rgb).quantize(palette=palette, dither=Image.Dither.NONE)
    white = white.getpixel((0, 0))
    entries = palette.getpalette()
    entries[3 * white:3 * white + 3] = list(rgb)
    indexed = []
    for chunk in chunks:
        indexed += [f.quantize(palette=palette, dither=Image.Dither.NONE) for f in chunk]
    # A figure's pages share one size; should one differ, put every frame on a
    # page-coloured canvas of the largest size, top-left, as on the page.
    width, height = max(f.width for f in indexed), max(f.height for f in indexed)
    for n, f in enumerate(indexed):
        if f.size != (width, height):
            indexed[n] = Image.new("P", (width, height), white)
            indexed[n].paste(f, (0, 0))
    for f in indexed:
        f.putpalette(entries)
    extra = {"transparency": white} if transparent else {}
    indexed[0].save(path, save_all=True, append_images=indexed[1:], duration=delay_ms,
                    loop=0, disposal=1 if not transparent else 2, **extra)


def write_frames(kind: str, chunks, path: Path, delay_ms: int, background: str = "FFFFFF",
                 transparent: bool = False) -> None:
    """A looping WebP or APNG (lossless, Pillow) or an MP4 or WebM video (imageio-ffmpeg).

    ``chunks`` is what :func:`write_gif` takes; the palette sample is not needed.
    Every frame lasts ``delay_ms``: the stills' duration, the video's 1000/delay fps.
    ``transparent`` (WebP, APNG) makes the unpainted page, white as pdftoppm renders
    it, transparent, as the GIF does; a video has no alpha (refused before this).
    """
    from PIL import Image

    chunks = iter(chunks)
    next(chunks)
    page = tuple(int(("FFFFFF" if transparent else background)[i:i + 2], 16) for i in (0, 2, 4))
    if formats.of(kind).video:
        _write_video(kind, chunks, path, delay_ms, page)
        return
    frames = [f for chunk in chunks for f in chunk]
    width, height = max(f.width for f in frames), max(f.height for f in frames)
    for n, f in enumerate(frames):
        if f.size != (width, height):  # top-left on a page-coloured canvas, as write_gif
            frames[n] = Image.new("RGB", (width, height), page)
            frames[n].paste(f, (0, 0))
    if transparent:
        frames = [_page_transparent(f, page) for f in frames]
    if kind == "webp":
        frames[0].save(path, format="WEBP", save_all=True, append_images=frames[1:],
                       duration=delay_ms, loop=0, lossless=True, quality=100, method=4)
    else:
        frames[0].save(path, format="PNG", save_all=True, append_images=frames[1:],
                       duration=delay_ms, loop=0, optimize=False)


def _page_transparent(frame, page: tuple):
    from PIL import Image, ImageChops

    rgba = frame.convert("RGBA")
    alpha = ImageChops.difference(frame, Image.new("RGB", frame.size, page)).convert("L")
    rgba.putalpha(alpha.point(lambda v: 255 if v else 0))
    return rgba


def _write_video(kind: str, chunks, path: Path, delay_ms: int, page: tuple) -> None:
    import imageio.v2 as imageio
    import numpy as np
    from PIL import Image

    codec, params = VIDEO[kind]
    writer = None
    try:
        for chunk in chunks:
            for f in chunk:
                if writer is None:  # yuv420p needs even sides: pad with the page colour
                    size = (f.width + f.width % 2, f.height + f.height % 2)
                    writer = imageio.get_writer(
                        path, format="FFMPEG", mode="I", fps=1000 / delay_ms, codec=codec,
                        pixelformat="yuv420p", quality=None, macro_block_size=2,
                        ffmpeg_log_level="error", output_params=params)
                if f.size != size:
                    canvas = Image.new("RGB", size, page)
                    canvas.paste(f, (0, 0))
                    f = canvas
                writer.append_data(np.asarray(f))
    except (OSError, RuntimeError) as e:
        detail = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ToolError(f"ffmpeg failed writing {kind}: {detail}") from None
    finally:
        if writer is not None:
            writer.close()


