"""TeX source -> PDF/PNG/SVG and animations: one pdflatex run for all frames, then raster.

Every frame of a figure is a page of one document, so an animation costs one
pdflatex process per core: an animation's pages are shared among as many pdflatex
runs as there are idle cores, each typesetting its share of the frames of the same
document side by side. The pages are rasterised by pdftoppm in chunks on
worker threads while the GIF encoder quantizes the chunks already done, so only a
few frames are ever held in full colour. Work happens in a temporary directory,
outputs are placed atomically and stored in the content-hash cache, from which a
later identical request is served without running TeX at all. The same frames make
lossless WebP and APNG (Pillow) and MP4/WebM (imageio-ffmpeg); the vector
animations (the HTML player, the animated SVG) come from ``web.py``.
"""
from __future__ import annotations

import atexit
import fcntl
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from . import files, texformat
from .cache import Cache, code_fingerprint, key
from .errors import SpecError, ToolError
from .tex import compiled_templates_in

TEX_TIMEOUT_S = 600
#: Pixels of all GIF frames together; beyond it the frames do not fit in memory.
MAX_GIF_PIXELS = 400_000_000
#: Pixels of one PNG frame: the largest figure at the default 600 DPI (a 64x64 alphabet
#: matrix, 111 Mpx, 0.5 GB in pdftoppm, 5 s) fits; -q 2400 on big figures does not.
MAX_FRAME_PIXELS = 120_000_000
#: Pages rasterised per pdftoppm call.
CHUNK = 12
#: Frames of at most this many pixels in all are held in full colour at once (36 MB),
#: so their palette comes from the frames themselves: no sample of their own to
#: rasterise first (three more pdftoppm runs, one after another).
SMALL_PIXELS = 12_000_000
#: Fewest pages per pdflatex run when typesetting is shared among cores: every share
#: repeats the document's set-up (its planes' PDF forms). Two already repay it: the
#: 4-frame stride-2 animation ran at 1.14x its floor in two shares, 1.21x in one.
SHARE_PAGES = 2
#: Median cut sees at most this many pixels of the palette sample (subsampled evenly).
PALETTE_PIXELS = 100_000

_INSTALL = {
    "pdflatex": "install TeX Live (Debian: sudo apt-get install texlive-latex-base "
                "texlive-latex-recommended texlive-pictures), or run `make setup`",
    "pdftoppm": "install poppler (Debian: sudo apt-get install poppler-utils), or run `make setup`",
}
_INSTALL["pdfinfo"] = _INSTALL["pdftocairo"] = _INSTALL["pdftoppm"]
_TOOLS = {"pdf": ["pdflatex"], "png": ["pdflatex", "pdftoppm", "pdfinfo"],
          "gif": ["pdflatex", "pdftoppm", "pdfinfo"], "svg": ["pdflatex", "pdftocairo"],
          "html": ["pdflatex", "pdftocairo"], "svg-animation": ["pdflatex", "pdftocairo"]}
#: Animations made from raster frames besides the GIF (Pillow: WebP, APNG; imageio: video).
RASTER_ANIMATIONS = ("webp", "apng", "mp4", "webm")
#: Products made from one PDF of every page (the shares joined by pdfunite).
WHOLE_PDF = ("pdf", "html", "svg-animation")
for _kind in RASTER_ANIMATIONS:
    _TOOLS[_kind] = _TOOLS["gif"]
#: Animation formats (``-y`` with ``-a``) -> product kind and file suffix.
ANIMATIONS = {"gif": ("gif", ".gif"), "webp": ("webp", ".webp"), "apng": ("apng", ".png"),
              "mp4": ("mp4", ".mp4"), "webm": ("webm", ".webm"), "html": ("html", ".html"),
              "svg": ("svg-animation", ".svg")}
_VIDEO = {  # codec and its settings: crisp flat colours, playable everywhere (yuv420p)
    "mp4": ("libx264", ["-crf", "23", "-preset", "medium", "-tune", "stillimage",
                        "-movflags", "+faststart"]),
    "webm": ("libvpx-vp9", ["-crf", "30", "-b:v", "0", "-deadline", "good", "-cpu-used", "4",
                            "-row-mt", "1"]),
}


@dataclass(frozen=True)
class Product:
    kind: str   # pdf (all pages), png / svg (page 1), or an animation of all pages:
    #             gif, webp, apng, mp4, webm, html (the player), svg-animation
    dest: Path


@dataclass(frozen=True)
class Settings:
    dpi: int = 600          # png and svg frames
    gif_dpi: int = 150      # GIF frames
    delay_ms: int = 1000    # per GIF frame
    transparent: bool = False   # PNG with alpha, GIF with the background transparent
    background: str = "FFFFFF"  # page colour (hex), which the GIF palette keeps exact


class Cancelled(Exception):
    """A render stopped by :meth:`Cancel.cancel` from another thread."""


class Cancel:
    """Stops the renders given it from another thread (``build`` on SIGTERM): the tools
    they run are stopped at once, and none of them places a file afterwards."""

    def __init__(self):
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._folders: set[Path] = set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            folders = list(self._folders)
        for work in folders:
            stop_tools(work)

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")

    def add(self, work: Path) -> None:
        with self._lock:
            self._folders.add(work)
        if self._event.is_set():  # cancelled while this render was starting
            stop_tools(work)
            raise Cancelled("cancelled")

    def discard(self, work: Path) -> None:
        with self._lock:
            self._folders.discard(work)


def render(make_tex, pages: int, products: list[Product], settings: Settings = Settings(),
           params: dict | None = None, cache: Cache | None = None, progress: bool = False,
           extra: dict[Path, bytes] | None = None, captions=None,
           cancel: Cancel | None = None, natural: list | None = None) -> list[Path]:
    """Make every product and place it, with the ``extra`` files, all or none.

    ``natural``, a list, gets the drawing's natural size (TeX points, see
    :func:`natural_size`), from TeX's log or the cache entry, when it is known.

    ``make_tex()`` gives the document, one page per frame; it is called only when
    the cache (keyed on ``params``, everything that decides the document) misses,
    and so is ``captions()``, the player's line per frame (HTML only).
    Returns the paths placed, products first.
    """
    cancel = cancel or Cancel()
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
    for tool in dict.fromkeys(t for p in products for t in _TOOLS[p.kind]):  # pipeline order
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} not found: {_INSTALL[tool]}")
    video = [p.kind for p in products if p.kind in _VIDEO]
    if video and not have_video():  # before TeX runs, not after
        raise ToolError(f"{video[0]} needs imageio and imageio-ffmpeg: pip install "
                        f"'convanim[video]' (or run `make setup`)")

    files.sweep(tempfile.gettempdir(), "convanim-*", 24 * 3600)  # a kill -9's work folders
    fmt = texformat.lookup(cache.root / "formats", cancel) if cache is not None else None
    work, early = _take_early(fmt)
    keep = False
    claimed = False
    doc = None
    try:
        cancel.add(work)
        shares, claimed = _claim_cores(pages, products, len(early)), True
        folders = [work, *(work / f"share-{n}" for n in range(1, shares))]
        for folder in folders[1:]:
            folder.mkdir(exist_ok=True)
        for proc in early[shares:]:
            _discard(proc)
        if fmt is not None:  # TeX loads its format while Python draws the document
            early = early[:shares] + [_start_pdflatex(f, fmt) for f in folders[len(early):]]
        with compiled_templates_in(cache.root / "templates" / code_fingerprint()[:16]
                                   if cache is not None else None):
            tex = make_tex()
        if any(p.kind in ("png", "gif", *RASTER_ANIMATIONS) for p in products):
            # pdflatex keeps one core busy; load the raster libraries on another meanwhile.
            threading.Thread(target=_import_raster_libraries, daemon=True).start()
        try:
            doc = typeset(tex, folders, pages, progress, fmt, early,
                          check_page=_too_many_pixels(products, settings, pages))
        except ToolError:
            # the message points at the log inside
            keep = any((folder / "figure.log").is_file() for folder in folders)
            raise
        cancel.check()
        whole = [p.kind in WHOLE_PDF for p in products]
        if any(whole):
            doc.unite_soon()
        made = {}
        for n in sorted(range(len(products)), key=whole.__getitem__):  # pdfunite's last
            made[names[n]] = _make(products[n], doc, work, pages, settings, progress, captions)
        size = natural_size(doc.first.with_suffix(".log"))
        (work / NATURAL).write_text(" ".join(map(str, size)) if size else "")
        made[NATURAL] = work / NATURAL
        if natural is not None and size:
            natural.extend(size)
        cancel.check()
        if cache is not None:
            cache.put(k, made)
        return files.place_all([(made[n], p.dest) for n, p in zip(names, products)] + extras)
    except BaseException:
        stop_tools(work)  # an interrupt leaves pdftoppm running (Python waits only 0.25 s)
        raise
    finally:
        if claimed:
            _release_cores()
        cancel.discard(work)
        for proc in early:
            _discard(proc)
        if doc is not None:
            doc.close()
        if not keep:
            _remove_tree(work)


#: The cache entry's record of the drawing's natural size (layout.warning needs it on a hit).
NATURAL = "natural-size.txt"


def _read_natural(path: Path) -> list[float]:
    try:
        return [float(v) for v in path.read_text().split()][:2]
    except (OSError, ValueError):
        return []


def stop_tools(work: Path) -> None:
    """Stop our child processes that work in ``work`` (pdflatex, pdftoppm, pdfinfo...).

    An interrupt reaches the main thread only, not the pdftoppm calls waiting on
    worker threads, so they are found in /proc (Linux; elsewhere nothing is found):
    children of this process whose folder is ``work`` or one inside it (a share's
    pdflatex), or whose arguments name it. A program embedding convanim keeps its own
    child processes.
    """
    me, mark, folder = os.getpid(), os.fsencode(str(work)), os.path.realpath(work)
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return
    for entry in entries:
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            if ppid != me:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cwd = os.readlink(f"/proc/{entry}/cwd")
                ours = mark in f.read() or cwd == folder or cwd.startswith(folder + os.sep)
            if ours:
                os.kill(int(entry), signal.SIGTERM)
        except (OSError, IndexError, ValueError):
            continue


def _remove_tree(path: Path) -> None:
    """Remove the work folder, again if a tool stopping just now added a file to it."""
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.05)


def product_key(params: dict | None, products: list[Product], settings: Settings) -> str:
    """The cache key of a request; ``build`` compares it to decide what is stale."""
    return key({"figure": params, "products": [p.kind for p in products],
                "settings": vars(settings)})


#: Renders under way in this process (``build`` runs several on threads), so that the
#: cores are shared among them rather than each taking them all.
_renders = 0
_renders_lock = threading.Lock()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _busy_elsewhere(loadavg: str = "/proc/loadavg") -> int:
    """Tasks running or ready to run at this instant besides this one (the fourth field of
    /proc/loadavg; the load averages would count this very command's last minute)."""
    try:
        with open(loadavg) as f:
            return max(0, int(f.read().split()[3].split("/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        return 0


def _claim_cores(pages: int, products: list[Product], own: int = 0) -> int:
    """How many pdflatex runs share this render's pages: one per core that neither
    another render of this process nor another program is using, at least SHARE_PAGES
    pages each; CONVANIM_TEX_JOBS=N says N. A share's set-up is repeated CPU, so a busy
    machine gets one run. Merging the shares into one PDF needs pdfunite (poppler),
    which a PDF-only user may lack. ``own``: this render's pdflatex runs already started
    (still loading their format, they are not another program)."""
    global _renders
    asked = os.environ.get("CONVANIM_TEX_JOBS", "").strip()
    if asked and not (asked.isdigit() and int(asked) >= 1):
        raise SpecError(f"CONVANIM_TEX_JOBS must be a whole number >= 1, got {asked!r}")
    cores = _cores()
    with _renders_lock:
        _renders += 1
        free = min(cores // _renders, cores - max(0, _busy_elsewhere() - own))
    shares = min(int(asked), pages) if asked else max(1, min(free, pages // SHARE_PAGES))
    whole = any(p.kind in WHOLE_PDF for p in products)
    if shares > 1 and whole and shutil.which("pdfunite") is None:
        return 1
    return shares


def _release_cores() -> None:
    global _renders
    with _renders_lock:
        _renders -= 1


@dataclass
class Typeset:
    """The document's pages: one PDF, or one PDF per share of consecutive pages."""
    shares: list[tuple[Path, int]]  # (PDF, its pages), in page order
    work: Path
    _uniting: subprocess.Popen | None = None
    _united: bool = False

    @property
    def first(self) -> Path:
        """The PDF holding page 1 (its log has the page size and the natural size)."""
        return self.shares[0][0]

    def unite_soon(self) -> None:
        """Start joining the shares (pdfunite, a process of its own), so that it runs
        while the frames are rasterised rather than before."""
        if len(self.shares) > 1 and self._uniting is None:
            self._uniting = subprocess.Popen(
                ["pdfunite", *(str(pdf) for pdf, _ in self.shares), str(self.work / "whole.pdf")],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                text=True, errors="replace")

    def close(self) -> None:
        """Stop a pdfunite still running (a product failed before it was needed)."""
        if self._uniting is not None and self._uniting.poll() is None:
            self._uniting.kill()
            self._uniting.communicate()

    def whole(self) -> Path:
        """One PDF of every page (the shares joined once, by pdfunite)."""
        if len(self.shares) == 1:
            return self.first
        out = self.work / "whole.pdf"
        if not self._united:  # once, for every product that needs it
            self.unite_soon()
            proc = self._uniting
            _, err = proc.communicate()
            if proc.returncode != 0:
                raise _failed("pdfunite", err)
            self._united = True
        return out

    def locate(self, first: int, last: int) -> list[tuple[Path, int, int]]:
        """Pages ``first``..``last`` of the document as (PDF, first, last) in its shares."""
        found = []
        for (pdf, _), (lo, hi) in zip(self.shares, self.bounds()):
            a, b = max(first, lo), min(last, hi)
            if a <= b:
                found.append((pdf, a - lo + 1, b - lo + 1))
        return found

    def bounds(self) -> list[tuple[int, int]]:
        """Each share's first and last page in the document."""
        out, start = [], 1
        for _, count in self.shares:
            out.append((start, start + count - 1))
            start += count
        return out


_FRAME = re.compile(r"^\\begin\{cvframe\}", re.M)


def share_frames(tex: str, pages: int, shares: int) -> list[tuple[str, int]] | None:
    """The document cut into ``shares`` documents of consecutive frames, with their page
    counts, or None when it is not one ``cvframe`` per page (then it is typeset whole).

    Each keeps the set-up and puts blank lines where the others' frames were, so a TeX
    error's line number is the whole document's, and starts its page counter where its
    first frame is (the progress lines, the page-1 size check).
    """
    starts = [m.start() for m in _FRAME.finditer(tex)]
    end = tex.rfind("\\end{document}")
    if len(starts) != pages or not starts or end < starts[-1]:
        return None
    frames = [tex[a:b] for a, b in zip(starts, starts[1:] + [end])]
    blank = ["\n" * frame.count("\n") for frame in frames]
    head, tail = tex[:starts[0]], tex[end:]
    out = []
    for n in range(shares):
        a, b = n * pages // shares, (n + 1) * pages // shares
        counter = f"\\setcounter{{cvpage}}{{{a}}}" if a else ""
        out.append((head + "".join(blank[:a]) + counter + "".join(frames[a:b])
                     + "".join(blank[b:]) + tail, b - a))
    return out


def typeset(tex: str, folders: list[Path], pages: int, progress: bool,
            fmt: Path | None = None, started: list[subprocess.Popen] = (),
            check_page=None) -> Typeset:
    """The document's PDF, typeset by one pdflatex per folder on a share of its frames,
    side by side (one folder: :func:`compile_pdf` as it is). ``started`` has a
    :func:`_start_pdflatex` per folder, or nothing. The first failure, in page order,
    is raised once every run has stopped."""
    work = folders[0]
    parts = share_frames(tex, pages, len(folders)) if len(folders) > 1 else None
    if parts is None:
        for proc in started[1:]:
            _discard(proc)
        pdf = compile_pdf(tex, work, pages, progress, fmt, started[0] if started else None,
                          check_page=check_page)
        return Typeset([(pdf, pages)], work)
    bar = _bar(pages, "typesetting", progress)
    results: list = [None] * len(parts)

    def share(n: int) -> None:
        try:
            results[n] = compile_pdf(parts[n][0], folders[n], parts[n][1], False, fmt,
                                     started[n] if started else None,
                                     check_page=check_page if n == 0 else None, bar=bar)
        except BaseException as e:  # noqa: B036 (handed to the caller's thread)
            results[n] = e

    # daemons: an interrupt must not wait for a share's TeX, which is stopped below
    others = [threading.Thread(target=share, args=(n,), daemon=True)
              for n in range(1, len(parts))]
    done = False
    try:
        for thread in others:
            thread.start()
        share(0)
        if isinstance(results[0], BaseException):
            raise results[0]
        for thread in others:
            thread.join()
        for result in results:
            if isinstance(result, BaseException):
                raise result
        done = True
        return Typeset([(pdf, count) for pdf, (_, count) in zip(results, parts)], work)
    finally:
        if not done:  # a share failed or an interrupt came: no TeX runs on
            for proc in started:
                _discard(proc)
            while any(thread.is_alive() for thread in others):
                stop_tools(work)
                for thread in others:
                    thread.join(0.05)
        if bar is not None:
            bar.close()


def compile_pdf(tex: str, work: Path, pages: int, progress: bool,
                fmt: Path | None = None, started: subprocess.Popen | None = None,
                check_page=None, bar=None) -> Path:
    """Run pdflatex once; a failure names the first ``!`` error of the log.

    With ``fmt`` (see texformat.py) a document that starts with the common preamble
    is compiled from that format, its preamble lines left blank so the log's line
    numbers are the full document's; ``started`` is a :func:`_start_pdflatex` of
    that format in ``work``, to use instead of starting one. Should pdflatex refuse
    the format itself (no TeX error in the log), the format is dropped and the
    document compiled in full. ``check_page(width, height)`` (PDF points) sees the
    first page's size as soon as TeX ships it out; a reason it returns stops TeX and
    raises :class:`SpecError`. ``bar``, a progress bar shared with other runs, counts
    the pages instead of one of its own.
    """
    body = texformat.split(tex) if fmt is not None else None
    if body is not None:
        lines = texformat.preamble().count("\n")
        head = f"% convanim: the preamble is preloaded from {fmt.name}" + "\n" * lines
        if _pdflatex(head + body, work, pages, progress, fmt, started, check_page, bar):
            return work / "figure.pdf"
        texformat.forget(fmt)
    elif started is not None:
        _discard(started)
    _pdflatex(tex, work, pages, progress, None, None, check_page, bar)  # a failure raises
    return work / "figure.pdf"


#: TeX reads and writes only below its work folder and its own tree, never a file a
#: template value might name (defence in depth: values are TeX-escaped already).
_TEX_ENV = {"openin_any": "p", "openout_any": "p"}


def _pdflatex_command(fmt: Path | None) -> list[str]:
    # -no-parse-first-line: TeX would read the document's first line for a %& format
    # name, then open the file again (a FIFO's data is gone once read)
    return ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
            "-no-parse-first-line", *([f"-fmt={fmt}"] if fmt is not None else [])]


def _start_pdflatex(work: Path, fmt: Path) -> subprocess.Popen:
    """pdflatex in ``work`` on ``fmt``, typesetting ``figure.tex``, a FIFO that
    :func:`_feed` fills once the document is drawn: TeX loads its format now, which it
    does only once it has its file's name (a name sent on stdin later made it load the
    format after the drawing, 50-70 ms of every small figure). This process holds the
    FIFO open both ways, so TeX's open never waits and, should this process die, TeX
    reads the end of the file and stops."""
    fifo = work / "figure.tex"
    os.mkfifo(fifo)
    hold = os.open(fifo, os.O_RDWR)
    try:
        if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux: a document of up to 1 MB in one write
            try:
                fcntl.fcntl(hold, fcntl.F_SETPIPE_SZ, 1 << 20)
            except OSError:
                pass
        proc = subprocess.Popen(_pdflatex_command(fmt) + [fifo.name], cwd=work,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                env={**os.environ, **_TEX_ENV})
    except BaseException:
        os.close(hold)
        raise
    proc.fifo = hold  # the FIFO's descriptor until _feed or _discard takes it
    return proc


def _feed(proc: subprocess.Popen, fd: int, data: bytes) -> None:
    """Write the document into a started run's FIFO (TeX reads it as it typesets), then
    close it once TeX has read every byte, or has ended."""
    try:
        os.set_blocking(fd, False)
        view = memoryview(data)
        while view and proc.poll() is None:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:  # the pipe is full: TeX is still on the start
                select.select([], [fd], [], 0.05)
        unread = bytearray(4)
        while proc.poll() is None:  # closing before TeX read it all would lose the rest
            fcntl.ioctl(fd, termios.FIONREAD, unread)
            if not int.from_bytes(unread, sys.byteorder):
                break
            time.sleep(0.002)
    finally:
        os.close(fd)


#: pdflatex runs that :func:`start_early` started: (format, work folder, runs), or None.
_early: tuple[Path, Path, list[subprocess.Popen]] | None = None

#: Words after which no figure is drawn, or none from the cache's format.
_NO_FIGURE = {"-h", "--help", "--version", "--no-cache"}


def start_early(words: list[str]) -> None:
    """For a figure command (``words``, the command line's), start one pdflatex on the
    preamble's format now, before Python imports, parses and draws: TeX's start-up then
    costs the command nothing. The first render takes it (:func:`_take_early`) and starts
    the other shares' runs before it draws, when this one's format is loaded: a second
    run loading beside the imports slowed them (three processes on two cores; the
    4-frame animation ended 50-80 ms later). An unused run is stopped at exit, and one
    whose Python was killed ends by itself on the end of its input. Nothing starts
    without a built format, or when CONVANIM_TEX_JOBS is not a positive number."""
    global _early
    from . import kinds  # the registry's names: no scene module, no numpy

    if not words or words[0] not in kinds.names() or _NO_FIGURE.intersection(words):
        return
    asked = os.environ.get("CONVANIM_TEX_JOBS", "").strip()
    if asked and not (asked.isdigit() and int(asked) >= 1):
        return  # the render refuses it, in words
    from .cache import cache_root

    fmt = texformat.ready(cache_root() / "formats")
    if fmt is None or shutil.which("pdflatex") is None:
        return
    work = Path(tempfile.mkdtemp(prefix="convanim-"))
    _early = (fmt, work, [_start_pdflatex(work, fmt)])
    atexit.register(_drop_early)


def _take_early(fmt: Path | None) -> tuple[Path, list[subprocess.Popen]]:
    """The work folder and the pdflatex runs :func:`start_early` started for this
    format, once; else a new folder and no run."""
    global _early
    if _early is not None:
        early_fmt, work, runs = _early
        if early_fmt == fmt and all(run.poll() is None for run in runs):
            _early = None
            return work, runs
        _drop_early()
    return Path(tempfile.mkdtemp(prefix="convanim-")), []


def _drop_early() -> None:
    global _early
    taken, _early = _early, None
    if taken is not None:
        for run in taken[2]:
            _discard(run)
        _remove_tree(taken[1])


def _discard(proc: subprocess.Popen) -> None:
    """Stop a started pdflatex that was not (or no longer is) needed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    fd, proc.fifo = getattr(proc, "fifo", None), None
    if fd is not None:
        os.close(fd)
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError:
            pass


def _pdflatex(tex: str, work: Path, pages: int, progress: bool, fmt: Path | None,
              started: subprocess.Popen | None = None, check_page=None, shared_bar=None) -> bool:
    """One pdflatex run: True when it made the PDF; False when, from ``fmt``, it failed
    with no TeX error (the format's fault); else a ToolError."""
    bar = shared_bar if shared_bar is not None else _bar(pages, "typesetting", progress)
    feeder = None
    if started is not None:
        proc = started
        fd, proc.fifo = proc.fifo, None
        feeder = threading.Thread(target=_feed, args=(proc, fd, tex.encode("utf-8")),
                                  daemon=True)
        feeder.start()
    else:
        (work / "figure.tex").unlink(missing_ok=True)  # a discarded run's FIFO
        (work / "figure.tex").write_text(tex, encoding="utf-8")
        proc = subprocess.Popen(_pdflatex_command(fmt) + ["figure.tex"], cwd=work,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                env={**os.environ, **_TEX_ENV})
    timed_out = threading.Event()
    # a daemon: should an interrupt skip its cancel, it must not hold the exit for 600 s
    watchdog = threading.Timer(TEX_TIMEOUT_S, lambda: (timed_out.set(), proc.kill()))
    watchdog.daemon = True
    try:
        watchdog.start()
        for line in proc.stdout:
            if not line.startswith("convanim-page "):
                continue
            if bar is not None:
                bar.update(1)
            number, *size = line.split()[1:]
            size = size[:2]
            if number == "1" and check_page is not None and len(size) == 2:
                w, h = (float(v.removesuffix("pt")) * 72 / 72.27 for v in size)  # TeX pt
                reason = check_page(w, h)
                if reason:
                    raise SpecError(reason)
        proc.wait()
    finally:
        watchdog.cancel()
        if proc.poll() is None:  # interrupted: TeX must not write on into the work folder
            proc.kill()
            proc.wait()
        proc.stdout.close()
        if feeder is not None:  # the FIFO becomes the document, as a run on a file leaves it
            feeder.join()
            (work / "figure.tex").unlink()
            (work / "figure.tex").write_text(tex, encoding="utf-8")
        if bar is not None and shared_bar is None:
            bar.close()
    log, pdf = work / "figure.log", work / "figure.pdf"
    if proc.returncode == 0 and pdf.is_file():
        return True
    if timed_out.is_set():
        raise ToolError(f"pdflatex did not finish within {TEX_TIMEOUT_S} s (log: {log})")
    if proc.returncode < 0:  # stopped by a signal (an interrupt): not the format's fault
        raise ToolError(f"pdflatex was stopped (signal {-proc.returncode})")
    error = _first_error(log)
    if fmt is not None and error == "pdflatex failed":
        for leftover in (log, pdf):
            leftover.unlink(missing_ok=True)
        return False
    raise ToolError(f"LaTeX failed: {error} (log: {log})")


def _first_error(log: Path) -> str:
    """The first ``!`` message of a TeX log, with the lines that continue it."""
    if not log.is_file():
        return "pdflatex failed"
    lines = log.read_text(errors="replace").splitlines()
    for n, line in enumerate(lines):
        if line.startswith("!"):
            message = [line]
            for more in lines[n + 1:n + 4]:
                if not more.strip() or more.startswith(("l.", "See ", "Type ", "!", "<")):
                    break
                message.append(more.strip())
            return " ".join(message)
    return "pdflatex failed"


def _make(product: Product, doc: Typeset, work: Path, pages: int, settings: Settings,
          progress: bool, captions=None) -> Path:
    kind = product.kind
    pdf = doc.first  # page 1
    if kind == "pdf":
        return doc.whole()
    if kind == "png" and settings.transparent:  # pdftoppm has no alpha; pdftocairo does
        _run(["pdftocairo", "-png", "-transp", "-singlefile", "-f", "1", "-l", "1",
              "-r", str(settings.dpi), str(pdf), str(work / "frame")])
        return work / "frame.png"
    if kind == "png":
        w, h = _page_pixels(pdf, settings.dpi)
        if w * h > MAX_FRAME_PIXELS:
            raise SpecError(_png_too_large(w, h, settings.dpi))
        _run(["pdftoppm", "-png", "-singlefile", "-r", str(settings.dpi), "-f", "1", "-l", "1",
              str(pdf), str(work / "frame")])
        return work / "frame.png"
    if kind == "svg":
        out = work / "frame.svg"
        _run(["pdftocairo", "-svg", "-f", "1", "-l", "1", str(pdf), str(out)])
        return out
    if kind == "gif":
        out = work / "figure.gif"
        write_gif(_raster_chunks(doc, work, pages, settings.gif_dpi, progress), out,
                  settings.delay_ms, background=settings.background,
                  transparent=settings.transparent)
        return out
    if kind in RASTER_ANIMATIONS:
        out = work / f"figure.{kind}"
        write_frames(kind, _raster_chunks(doc, work, pages, settings.gif_dpi, progress), out,
                     settings.delay_ms, background=settings.background,
                     transparent=settings.transparent)
        return out
    if kind in ("html", "svg-animation"):
        from . import web

        deck = web.pdf_deck(doc.whole(), pages, work)
        out = work / f"figure.{kind}"
        if kind == "svg-animation":
            web.write_svg(deck, out, settings.delay_ms)
        else:
            lines = captions() if captions else [f"Step {n + 1} of {pages}" for n in range(pages)]
            web.write_html(deck, out, settings.delay_ms, lines, product.dest.stem,
                           settings.background, settings.transparent)
        return out
    raise ValueError(kind)


def _raster_chunks(doc: Typeset | Path, work: Path, pages: int, dpi: int, progress: bool):
    """Yield the pages as lists of RGB images, in order, a chunk at a time.

    The first item is the palette sample: the first, middle and last pages (at half
    resolution, or for a small figure the frames themselves). pdftoppm runs on worker
    threads (a process each, so on every core) while the caller quantizes the chunks
    already yielded.
    """
    from PIL import Image

    if isinstance(doc, Path):
        doc = Typeset([(doc, pages)], work)
    w, h = _page_pixels(doc.first, dpi)
    if w * h * pages > MAX_GIF_PIXELS:
        raise SpecError(_gif_too_large(pages, w, h, dpi))

    stopped = threading.Event()

    def raster(first: int, last: int, at: int = dpi, kind: str = "p") -> list:
        if stopped.is_set():
            return []
        rgb = []
        for n, (pdf, a, b) in enumerate(doc.locate(first, last)):
            root = f"{kind}{first:05d}-{at}-{n}"
            _run(["pdftoppm", "-r", str(at), "-f", str(a), "-l", str(b), str(pdf),
                  str(work / root)])
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
        return [raster(p, p, max(dpi // 2, 10), "s")[0] for p in picks]

    bar = None if small else _bar(pages, "rasterising", progress)
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
                    stop_tools(work)
                    wait(jobs, timeout=0.05)
    if bar is not None:
        bar.close()


def _page_pixels(pdf: Path, dpi: int) -> tuple[int, int]:
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
                    return _pixels(*(float(v) * 72 / 72.27 for v in m.groups()[:2]), dpi)
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "1", str(pdf)], capture_output=True,
                         text=True, errors="replace")
    for line in out.stdout.splitlines():
        if line.startswith("Page") and "size:" in line:
            w, _, h = line.split("size:")[1].split()[:3]
            return _pixels(float(w), float(h), dpi)
    raise ToolError(f"pdfinfo failed: {(out.stderr.strip().splitlines() or ['no page size'])[0]}")


_PAGE_LINE = re.compile(r"convanim-page 1 ([\d.]+)pt ([\d.]+)pt(?: ([\d.]+)pt ([\d.]+)pt)?\s*$")


def natural_size(log: Path) -> tuple[float, float] | None:
    """The first page's drawing before --width scaled it, in TeX points, from the log."""
    if log.is_file():
        with open(log, errors="replace") as f:
            for line in f:
                m = _PAGE_LINE.match(line)
                if m and m.group(3):
                    return float(m.group(3)), float(m.group(4))
    return None


def _pixels(w_bp: float, h_bp: float, dpi: int) -> tuple[int, int]:
    """A page of ``w_bp`` x ``h_bp`` PDF points in pixels at ``dpi``, as pdftoppm makes it."""
    return round(w_bp / 72 * dpi), round(h_bp / 72 * dpi)


def _too_many_pixels(products, settings: Settings, pages: int):
    """Why a page of this size would be too many pixels for a product, or None: checked
    on the first page TeX ships out, so a figure past the budget never runs TeX to the end."""
    def check(w_bp: float, h_bp: float) -> str | None:
        for product in products:
            if product.kind == "png" and not settings.transparent:
                w, h = _pixels(w_bp, h_bp, settings.dpi)
                if w * h > MAX_FRAME_PIXELS:
                    return _png_too_large(w, h, settings.dpi)
            if product.kind in ("gif", *RASTER_ANIMATIONS):
                w, h = _pixels(w_bp, h_bp, settings.gif_dpi)
                if w * h * pages > MAX_GIF_PIXELS:
                    return _gif_too_large(pages, w, h, settings.gif_dpi)
        return None
    return check


def _png_too_large(w: int, h: int, dpi: int) -> str:
    return (f"PNG too large: {w}x{h} px at -q {dpi} exceeds {MAX_FRAME_PIXELS // 10**6} Mpx; "
            f"lower -q, or use -y pdf or svg")


def _gif_too_large(pages: int, w: int, h: int, dpi: int) -> str:
    return (f"GIF too large: {pages} frames of {w}x{h} px at -qa {dpi} exceed "
            f"{MAX_GIF_PIXELS // 10**6} Mpx; lower -qa or draw fewer steps")


def _import_raster_libraries() -> None:
    from PIL import GifImagePlugin, Image, PpmImagePlugin  # noqa: F401


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise _failed(cmd[0], proc.stderr)


def _failed(tool: str, stderr: str) -> ToolError:
    """A tool's failure, in the first line it wrote."""
    return ToolError(f"{tool} failed: {(stderr.strip().splitlines() or ['no message'])[0]}")


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
    if kind in ("mp4", "webm"):
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


def have_video() -> bool:
    """imageio and imageio-ffmpeg (whose wheel carries the ffmpeg binary) are installed."""
    from importlib.util import find_spec

    return find_spec("imageio") is not None and find_spec("imageio_ffmpeg") is not None


def _write_video(kind: str, chunks, path: Path, delay_ms: int, page: tuple) -> None:
    import imageio.v2 as imageio
    import numpy as np
    from PIL import Image

    codec, params = _VIDEO[kind]
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


def _bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="page", file=sys.stderr, leave=False)
