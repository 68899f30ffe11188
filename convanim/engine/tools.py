"""The programs a render runs: finding them, running them, stopping them.

A missing program is named with the fix; a failing one by the first line it wrote.
:class:`Cancel` and :func:`stop_tools` stop what runs in a work folder from another
thread, since an interrupt reaches the main thread only.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import ToolError

_INSTALL = {
    "pdflatex": "install TeX Live (Debian: sudo apt-get install texlive-latex-base "
                "texlive-latex-recommended texlive-pictures), or run `make setup`",
    "pdftoppm": "install poppler (Debian: sudo apt-get install poppler-utils), or run `make setup`",
}
_INSTALL["pdfinfo"] = _INSTALL["pdftocairo"] = _INSTALL["pdfunite"] = _INSTALL["pdftoppm"]


def require(tools) -> None:
    """Each program is on PATH, or a :class:`ToolError` says how to install the first missing."""
    for tool in dict.fromkeys(tools):
        if shutil.which(tool) is None:
            raise ToolError(f"{tool} not found: {_INSTALL[tool]}")


def run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if proc.returncode != 0:
        raise failed(cmd[0], proc.stderr)


def failed(tool: str, stderr: str) -> ToolError:
    """A tool's failure, in the first line it wrote."""
    return ToolError(f"{tool} failed: {(stderr.strip().splitlines() or ['no message'])[0]}")


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


def _prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl  # loaded here, not in the child
    except (OSError, AttributeError):
        return None


_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def dies_with_this_process():
    """A ``preexec_fn`` that has the child killed (SIGKILL) when this process ends,
    however it ends (Linux): a pdflatex waiting on its FIFO for a document that a
    killed Python will never write would otherwise wait forever, under init. None
    elsewhere. (The kernel ties it to the thread that starts the child, and renders
    start theirs on a thread that waits for them.)"""
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # died already, before the call above
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def remove_tree(path: Path) -> None:
    """Remove the work folder, again if a tool stopping just now added a file to it."""
    for _ in range(20):
        shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            return
        time.sleep(0.05)


def bar(total: int, desc: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="page", file=sys.stderr, leave=False)
