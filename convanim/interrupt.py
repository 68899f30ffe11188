"""SIGTERM and SIGHUP end a command the way Ctrl-C does: clean-up runs, nothing is left.

Python turns Ctrl-C into ``KeyboardInterrupt``, which runs every ``finally`` that
stops our tools and removes the TeX work folder. ``timeout``, CI runners and
``make`` send SIGTERM (or SIGHUP) instead, which would kill the process on the
spot; :func:`terminating_like_ctrl_c` makes them raise ``KeyboardInterrupt`` too,
and the command line exits ``128 + signal``.
"""
from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _ignore(signum, frame) -> None:
    """Later signals wait for the clean-up the first one started.

    A Python handler, not SIG_IGN, which tools started during clean-up would inherit.
    """


def exiting_until_main() -> None:
    """SIGTERM and SIGHUP exit (128 + signal) through the clean-up, from now until
    :func:`terminating_like_ctrl_c` takes over: ``__main__`` starts pdflatex before it
    imports the command line, and a signal then must not kill Python on the spot,
    leaving the work folder (pdflatex dies with Python: tools.dies_with_this_process)."""
    def handler(signum, frame):
        for s in SIGNALS:
            signal.signal(s, _ignore)
        raise SystemExit(128 + signum)

    for s in SIGNALS:
        signal.signal(s, handler)


@contextmanager
def terminating_like_ctrl_c(received: list[int]):
    """Within the block, SIGTERM and SIGHUP raise KeyboardInterrupt.

    The signal number is appended to ``received``. Later signals (Ctrl-C included)
    are ignored, so a second one cannot cut the clean-up short. Outside the main
    thread, where Python cannot install handlers, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        for s in (*SIGNALS, signal.SIGINT):
            signal.signal(s, _ignore)
        received.append(signum)
        raise KeyboardInterrupt

    previous = {s: signal.getsignal(s) for s in (*SIGNALS, signal.SIGINT)}
    for s in SIGNALS:
        signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
