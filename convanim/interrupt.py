"""SIGTERM and SIGHUP end a command the way Ctrl-C does: clean-up runs, nothing is left.

Ctrl-C reaches the whole foreground process group, so pdflatex and pdftoppm stop
with us and Python's ``KeyboardInterrupt`` runs every ``finally`` that removes the
TeX work folder. ``timeout``, CI runners and ``make`` signal only our process, so
:func:`terminating_like_ctrl_c` passes the signal on to the tools we started and
then raises ``KeyboardInterrupt``; the command line exits ``128 + signal``.
"""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def child_pids() -> list[int]:
    """Our direct child processes, from /proc (Linux); elsewhere none are known."""
    me, pids = os.getpid(), []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return pids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 1 and int(fields[1]) == me:  # fields: state, ppid, ...
            pids.append(int(entry))
    return pids


def stop_children(signum: int = signal.SIGTERM) -> None:
    """Send ``signum`` to every child process (the tools this command started)."""
    for pid in child_pids():
        try:
            os.kill(pid, signum)
        except OSError:
            pass


def _ignore(signum, frame) -> None:
    """Later signals wait for the clean-up the first one started."""


@contextmanager
def terminating_like_ctrl_c(received: list[int]):
    """Within the block, SIGTERM/SIGHUP stop our tools and raise KeyboardInterrupt.

    The signal number is appended to ``received``. Later signals are ignored, so a
    second SIGTERM cannot cut the clean-up short. Outside the main thread (where
    Python cannot install handlers) this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        for s in (*SIGNALS, signal.SIGINT):  # not SIG_IGN: tools started later would inherit it
            signal.signal(s, _ignore)
        received.append(signum)
        stop_children(signum)
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    previous[signal.SIGINT] = signal.getsignal(signal.SIGINT)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
