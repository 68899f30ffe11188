"""pdflatex, the process pool of a render: one run per share of the pages.

Every frame of a figure is a page of one document; its pages are shared among as
many pdflatex runs as there are idle cores (:class:`TexPool` claims them), each
typesetting its share side by side. A run can be started before the document is
drawn (:meth:`TexPool.start_early`, from a figure command's first line), reading
its document from a FIFO, so TeX loads its format while Python imports and draws.
"""
from __future__ import annotations

import atexit
import fcntl
import os
import re
import select
import shutil
import subprocess
import sys
import termios
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .. import files, texformat
from ..errors import SpecError, ToolError
from . import tools

TEX_TIMEOUT_S = 600
#: Fewest pages per pdflatex run when typesetting is shared among cores: every share
#: repeats the document's set-up (its planes' PDF forms). Two already repay it: the
#: 4-frame stride-2 animation ran at 1.14x its floor in two shares, 1.21x in one.
SHARE_PAGES = 2


class TexPool:
    """The pdflatex runs of this process: the cores its renders claim (``build`` runs
    several renders on threads, which share the cores rather than each taking them
    all) and the run started early for the first render. ``cores`` and ``busy``
    count the cores this process may use and the tasks running elsewhere."""

    def __init__(self, cores=None, busy=None):
        self.cores = cores or usable_cores
        self.busy = busy or busy_elsewhere
        self.renders = 0  # renders holding a claim
        self.early: tuple[Path, Path, list[subprocess.Popen]] | None = None  # fmt, work, runs
        self._lock = threading.Lock()

    def claim(self, pages: int, whole: bool, own: int = 0) -> int:
        """How many pdflatex runs share a render's pages: one per core that neither
        another render of this process nor another program is using, at least
        SHARE_PAGES pages each; CONVANIM_TEX_JOBS=N says N. A share's set-up is repeated
        CPU, so a busy machine gets one run. Merging the shares into one PDF (``whole``)
        needs pdfunite (poppler), which a PDF-only user may lack. ``own``: this render's
        pdflatex runs already started (still loading their format, they are not another
        program). Every claim is released with :meth:`release`."""
        asked = _jobs()
        cores = self.cores()
        with self._lock:
            self.renders += 1
            free = min(cores // self.renders, cores - max(0, self.busy() - own))
        shares = min(asked, pages) if asked else max(1, min(free, pages // SHARE_PAGES))
        if shares > 1 and whole and shutil.which("pdfunite") is None:
            return 1
        return shares

    def release(self) -> None:
        with self._lock:
            self.renders -= 1

    def start_early(self, cache_formats: Path) -> None:
        """Start one pdflatex on the preamble's format (in ``cache_formats``) now, for a
        figure command before Python imports, parses and draws: TeX's start-up then
        costs the command nothing. The first render takes it (:meth:`take_early`) and
        starts the other shares' runs before it draws, when this one's format is
        loaded: a second run loading beside the imports slowed them (three processes
        on two cores; the 4-frame animation ended 50-80 ms later). An unused run is
        stopped at exit, and one whose Python was killed ends by itself on the end of
        its input. Nothing starts without a built format, or when CONVANIM_TEX_JOBS is
        not a positive number."""
        try:
            _jobs()
        except SpecError:
            return  # the render refuses it, in words
        fmt = texformat.ready(cache_formats)
        if fmt is None or shutil.which("pdflatex") is None:
            return
        work = files.work_folder()
        self.early = (fmt, work, [start_pdflatex(work, fmt)])
        atexit.register(self.drop_early)

    def take_early(self, fmt: Path | None) -> tuple[Path, list[subprocess.Popen]]:
        """The work folder and the pdflatex runs :meth:`start_early` started for this
        format, once; else a new folder and no run."""
        if self.early is not None:
            early_fmt, work, runs = self.early
            if early_fmt == fmt and all(run.poll() is None for run in runs):
                self.early = None
                return work, runs
            self.drop_early()
        return files.work_folder(), []

    def drop_early(self) -> None:
        taken, self.early = self.early, None
        if taken is not None:
            for run in taken[2]:
                discard(run)
            tools.remove_tree(taken[1])


def _jobs() -> int | None:
    """CONVANIM_TEX_JOBS, the pdflatex runs a render is to use, or None: as many as fit."""
    asked = os.environ.get("CONVANIM_TEX_JOBS", "").strip()
    if asked and not (asked.isdigit() and int(asked) >= 1):
        raise SpecError(f"CONVANIM_TEX_JOBS must be a whole number >= 1, got {asked!r}")
    return int(asked) if asked else None


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def busy_elsewhere(loadavg: str = "/proc/loadavg") -> int:
    """Tasks running or ready to run at this instant besides this one (the fourth field of
    /proc/loadavg; the load averages would count this very command's last minute)."""
    try:
        with open(loadavg) as f:
            return max(0, int(f.read().split()[3].split("/")[0]) - 1)
    except (OSError, ValueError, IndexError):
        return 0


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
                raise tools.failed("pdfunite", err)
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
    :func:`start_pdflatex` per folder, or nothing. The first failure, in page order,
    is raised once every run has stopped."""
    work = folders[0]
    parts = share_frames(tex, pages, len(folders)) if len(folders) > 1 else None
    if parts is None:
        for proc in started[1:]:
            discard(proc)
        pdf = compile_pdf(tex, work, pages, progress, fmt, started[0] if started else None,
                          check_page=check_page)
        return Typeset([(pdf, pages)], work)
    bar = tools.bar(pages, "typesetting", progress)
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
                discard(proc)
            while any(thread.is_alive() for thread in others):
                tools.stop_tools(work)
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
    numbers are the full document's; ``started`` is a :func:`start_pdflatex` of
    that format in ``work``, to use instead of starting one. Should pdflatex refuse
    the format itself (no TeX error in the log), the format is dropped and the
    document compiled in full; should it leave a macro undefined that the full document
    defines, the format is foreign (another program's under our name) and dropped too. ``check_page(width, height)`` (PDF points) sees the first page's size as soon
    as TeX ships it out; a reason it returns (a :class:`SpecError`, or its text) stops
    TeX and is raised. ``bar``, a progress bar shared with other runs, counts the pages
    instead of one of its own.
    """
    body = texformat.split(tex) if fmt is not None else None
    if body is not None:
        lines = texformat.preamble().count("\n")
        head = f"% convanim: the preamble is preloaded from {fmt.name}" + "\n" * lines
        try:
            if run_pdflatex(head + body, work, pages, progress, fmt, started, check_page, bar):
                return work / "figure.pdf"
        except ToolError as e:
            if "Undefined control sequence" not in str(e):
                raise  # the document's own error: one run tells it
            # ours defines every macro the document uses: a format that leaves one undefined
            # is foreign or broken, and would fail every figure. Without it, the document
            # decides: made, the format goes; a TeX error again is the document's own.
            run_pdflatex(tex, work, pages, progress, None, None, check_page, bar)
            texformat.forget(fmt)
            return work / "figure.pdf"
        texformat.forget(fmt)
    elif started is not None:
        discard(started)
    run_pdflatex(tex, work, pages, progress, None, None, check_page, bar)  # a failure raises
    return work / "figure.pdf"


#: TeX reads and writes only below its work folder and its own tree, never a file a
#: template value might name (defence in depth: values are TeX-escaped already).
_TEX_ENV = {"openin_any": "p", "openout_any": "p"}


def _pdflatex_command(fmt: Path | None) -> list[str]:
    # -no-parse-first-line: TeX would read the document's first line for a %& format
    # name, then open the file again (a FIFO's data is gone once read)
    return ["pdflatex", "-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error",
            "-no-parse-first-line", *([f"-fmt={fmt}"] if fmt is not None else [])]


def start_pdflatex(work: Path, fmt: Path) -> subprocess.Popen:
    """pdflatex in ``work`` on ``fmt``, typesetting ``figure.tex``, a FIFO that
    :func:`feed` fills once the document is drawn: TeX loads its format now, which it
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
                                env={**os.environ, **_TEX_ENV},
                                preexec_fn=tools.dies_with_this_process())
    except BaseException:
        os.close(hold)
        raise
    proc.fifo = hold  # the FIFO's descriptor until feed or discard takes it
    return proc


def feed(proc: subprocess.Popen, fd: int, data: bytes) -> None:
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


def discard(proc: subprocess.Popen) -> None:
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


def run_pdflatex(tex: str, work: Path, pages: int, progress: bool, fmt: Path | None,
              started: subprocess.Popen | None = None, check_page=None, shared_bar=None) -> bool:
    """One pdflatex run: True when it made the PDF; False when, from ``fmt``, it failed
    with no TeX error (the format's fault); else a ToolError."""
    bar = shared_bar if shared_bar is not None else tools.bar(pages, "typesetting", progress)
    feeder = None
    if started is not None:
        proc = started
        fd, proc.fifo = proc.fifo, None
        feeder = threading.Thread(target=feed, args=(proc, fd, tex.encode("utf-8")),
                                  daemon=True)
        feeder.start()
    else:
        (work / "figure.tex").unlink(missing_ok=True)  # a discarded run's FIFO
        (work / "figure.tex").write_text(tex, encoding="utf-8")
        proc = subprocess.Popen(_pdflatex_command(fmt) + ["figure.tex"], cwd=work,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                env={**os.environ, **_TEX_ENV},
                                preexec_fn=tools.dies_with_this_process())
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
                    raise reason if isinstance(reason, SpecError) else SpecError(reason)
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
    error = first_error(log)
    if fmt is not None and error == "pdflatex failed":
        for leftover in (log, pdf):
            leftover.unlink(missing_ok=True)
        return False
    raise ToolError(f"LaTeX failed: {error} (log: {log})")


def first_error(log: Path) -> str:
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


#: The pool of this process's renders.
POOL = TexPool()
