"""Issue #36: no pdflatex outlives the command that started it, however the command ends:
SIGTERM before its handlers are installed, SIGKILL while it renders, or either at a
random moment. (TeX loading its format has not yet opened the FIFO its document comes
through; a parent gone then left it waiting for a writer forever, under init.)"""
import os
import random
import signal
import subprocess
import sys
import time

import pytest

from helpers import PROJECT
from test_shares import built_format  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.usefixtures("tex_tools"),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")]

COMMAND = ["arithmetic", "-i", "6", "-k", "3", "-a", "-qa", "30", "--quiet", "--out-dir", "{out}",
           "--gif-dir", "{out}", "--delay"]  # a new delay each run: never a cache hit
RUNS = iter(range(100, 10 ** 6, 10))


def our_pdflatex() -> list[int]:
    """Live pdflatex processes on this test's cache (its format's path names it)."""
    mark = os.fsencode(os.environ["XDG_CACHE_HOME"])
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                args = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if args and args[0].endswith(b"pdflatex") and any(mark in a for a in args) \
                and state != "Z":
            found.append(int(entry))
    return found


def no_orphans_after(sig: int, delay: float, after_tex: bool = False) -> None:
    """Start the command, send ``sig`` ``delay`` s after (``after_tex``: after its first
    pdflatex appeared), and wait (bounded) until no pdflatex of it is left."""
    out = os.environ["XDG_CACHE_HOME"] + "-out"
    argv = [a.format(out=out) for a in COMMAND] + [str(next(RUNS))]
    proc = subprocess.Popen([sys.executable, "-m", "convanim", *argv], cwd=PROJECT,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while after_tex and not our_pdflatex() and proc.poll() is None:
        assert time.monotonic() < deadline, "no pdflatex started"
    time.sleep(delay)
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        pytest.fail(f"the command outlived signal {sig} by 30 s")
    deadline = time.monotonic() + 5
    while our_pdflatex():
        if time.monotonic() > deadline:
            left = our_pdflatex()
            for pid in left:
                os.kill(pid, signal.SIGKILL)
            pytest.fail(f"pdflatex {left} outlived its command ({sig} after {delay:.3f} s)")
        time.sleep(0.05)


def test_sigterm_before_the_handlers_are_installed_leaves_no_pdflatex(built_format):
    """The early pdflatex starts before Python imports the command line (0.05-0.14 s in)."""
    for delay in (0, 0, 0.005, 0.01, 0.02):
        no_orphans_after(signal.SIGTERM, delay, after_tex=True)


def test_sigkill_while_tex_loads_or_typesets_leaves_no_pdflatex(built_format):
    for delay in (0, 0.01, 0.2, 0.5):
        no_orphans_after(signal.SIGKILL, delay, after_tex=True)


def test_a_kill_or_term_at_a_random_moment_leaves_no_pdflatex(built_format):
    rng = random.Random()  # a new draw every run; the failure message says which
    for _ in range(6):
        no_orphans_after(rng.choice([signal.SIGTERM, signal.SIGKILL]), rng.uniform(0, 1.0),
                         after_tex=rng.random() < 0.5)
