"""A pdflatex format with the figures' preamble (article, TikZ, graphicx) already loaded.

Loading TikZ is about half of a small figure's pdflatex time. ``pdflatex -ini``
reads ``convanim/templates/preamble.tex.j2`` once and ``\\dump``s the result; a figure whose
document starts with that preamble then runs ``pdflatex -fmt=<it>`` on the rest.
The format is stored uncompressed: pdftex writes it gzipped, and inflating its
18 MB costs more than loading TikZ would save (0.14 s against 0.03 s a run).

The format lives in the figure cache (``<cache>/formats``), one per TeX
installation, convanim version and preamble. Its name hashes those; its manifest
lists every file the dump read (from ``-recorder``) with size and mtime, so an
updated TikZ or pdflatex.fmt makes a new one. It is built under a file lock, into a
temporary folder and renamed into place, so concurrent first uses never see half a
format: one process builds it, the others use the plain preamble meanwhile. A dump
that fails (a TeX without ``-ini``, a read-only cache) leaves a marker, and figures
use the plain preamble until TeX changes or a day has passed.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

from .version import __version__

#: The probe compiled with a new format before it is trusted.
PROBE = "\\begin{document}\\tikz\\draw (0,0) -- (1,1);\\end{document}\n"
DUMP_TIMEOUT_S = 120
#: A failed dump is tried again after this long (TeX may have been repaired meanwhile).
RETRY_FAILED_S = 24 * 3600


@lru_cache(maxsize=1)
def preamble() -> str:
    """The figures' common preamble: base.tex.j2 includes this text verbatim."""
    from .tex import template_dir

    return (template_dir() / "preamble.tex.j2").read_text(encoding="utf-8")


def _pdflatex() -> Path | None:
    found = shutil.which("pdflatex")
    return Path(os.path.realpath(found)) if found else None


def name() -> str | None:
    """The format's file stem: the convanim version, the preamble, the pdflatex binary
    (path, size, mtime) and the TEX* variables that steer kpathsea's search."""
    exe = _pdflatex()
    if exe is None:
        return None
    st = exe.stat()
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("TEX"))
    blob = json.dumps([__version__, preamble(), str(exe), st.st_size, st.st_mtime_ns, env])
    return "preamble-" + hashlib.sha256(blob.encode()).hexdigest()[:20]


def _fresh(manifest: Path) -> dict | None:
    """The manifest, if every file it lists is unchanged."""
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
        for path, size, mtime in data["files"]:
            st = os.stat(path)
            if st.st_size != size or st.st_mtime_ns != mtime:
                return None
        return data
    except (OSError, ValueError, KeyError, TypeError):
        return None


def ready(folder: Path, stem: str | None = None) -> Path | None:
    """The format if it is built and current, without building one."""
    stem = stem or name()
    if stem is None:
        return None
    fmt = folder / f"{stem}.fmt"
    return fmt if _fresh(folder / f"{stem}.json") is not None and fmt.is_file() else None


def lookup(folder: Path, cancel=None) -> Path | None:
    """The format to compile with, built now if there is none; None: the plain preamble.

    Never raises for a problem with the format itself: a figure must not fail
    because its speed-up did. ``cancel`` (a ``engine.Cancel``) is told of the dump's
    folder, so a build stopped by a signal stops the dump too.
    """
    stem = name()
    if stem is None:
        return None
    from .files import STALE_S, sweep

    sweep(folder, ".tmp-*", STALE_S, by_name=True)  # a dump killed midway (14 MB each)
    fmt = ready(folder, stem)
    if fmt is not None:
        return fmt
    failed = folder / f"{stem}.failed"
    if _fresh(failed) is not None and _age_s(failed) < RETRY_FAILED_S:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock = open(folder / f"{stem}.lock", "a+b")
    except OSError:
        return None
    with lock:
        if not _try_lock(lock):
            return None  # another process is building it: this figure goes without
        fmt = ready(folder, stem)  # built while we waited for the lock?
        if fmt is not None:
            return fmt
        return _build(folder, stem, cancel)


def _age_s(path: Path) -> float:
    import time

    try:
        return time.time() - path.stat().st_mtime
    except OSError:
        return float("inf")


def _try_lock(f) -> bool:
    try:
        import fcntl
    except ImportError:  # no flock (Windows): the atomic renames alone keep it whole
        return True
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def forget(fmt: Path) -> None:
    """Drop a format that pdflatex refused, so the next figure builds a new one."""
    for ext in (".json", ".fmt"):
        fmt.with_suffix(ext).unlink(missing_ok=True)


def _build(folder: Path, stem: str, cancel=None) -> Path | None:
    """Dump, verify and place the format; on failure leave the ``.failed`` marker.

    An interrupt stops the running pdflatex (``_run``'s own clean-up) and propagates."""
    work = Path(tempfile.mkdtemp(dir=folder, prefix=".tmp-"))
    try:
        if cancel is not None:
            cancel.add(work)
        (work / "preamble.tex").write_text(preamble() + "\\dump\n", encoding="utf-8")
        ok = _run(["pdflatex", "-ini", f"-jobname={stem}", "-interaction=nonstopmode",
                   "-halt-on-error", "-no-shell-escape", "-recorder", "&pdflatex",
                   "preamble.tex"], work)
        dumped = work / f"{stem}.fmt"
        files = _inputs(work / f"{stem}.fls", work)
        if ok and dumped.is_file():
            raw = work / "raw.fmt"
            with gzip.open(dumped) as src, open(raw, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            for candidate in (raw, dumped):  # uncompressed if this pdftex reads it so
                if _probe(candidate, work):
                    os.replace(candidate, folder / f"{stem}.fmt")
                    _write_json(folder / f"{stem}.json", work, {"files": files})
                    (folder / f"{stem}.failed").unlink(missing_ok=True)
                    return folder / f"{stem}.fmt"
        log = work / f"{stem}.log"
        _write_json(folder / f"{stem}.failed", work,
                    {"files": files, "log": log.read_text(errors="replace")[-2000:]
                     if log.is_file() else ""})
        return None
    except (OSError, ValueError, EOFError, subprocess.SubprocessError):
        return None
    finally:
        if cancel is not None:
            cancel.discard(work)
        shutil.rmtree(work, ignore_errors=True)


def _run(cmd: list[str], cwd: Path) -> bool:
    proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        return proc.wait(DUMP_TIMEOUT_S) == 0
    except subprocess.TimeoutExpired:
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _probe(fmt: Path, work: Path) -> bool:
    """A TikZ page compiles with ``fmt``."""
    (work / "probe.tex").write_text(PROBE, encoding="utf-8")
    (work / "probe.pdf").unlink(missing_ok=True)
    return (_run(["pdflatex", f"-fmt={fmt}", "-interaction=nonstopmode", "-halt-on-error",
                  "-no-shell-escape", "probe.tex"], work)
            and (work / "probe.pdf").is_file())


def _inputs(fls: Path, work: Path) -> list:
    """Every file outside ``work`` the dump read, with its size and mtime, and pdflatex."""
    paths = []
    exe = _pdflatex()
    if exe is not None:
        paths.append(str(exe))
    if fls.is_file():
        for line in fls.read_text(errors="replace").splitlines():
            if line.startswith("INPUT "):
                p = os.path.abspath(os.path.join(work, line[6:]))
                if not p.startswith(str(work) + os.sep):
                    paths.append(p)
    out = []
    for p in dict.fromkeys(paths):
        st = os.stat(p)
        out.append([p, st.st_size, st.st_mtime_ns])
    return out


def _write_json(dest: Path, work: Path, data: dict) -> None:
    tmp = work / (dest.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, dest)


def split(tex: str) -> str | None:
    """The document after the common preamble, or None if it does not start with it."""
    head = preamble()
    return tex[len(head):] if tex.startswith(head) else None


if __name__ == "__main__":  # python -m convanim.texformat: build it and say where
    from .cache import cache_root

    print(lookup(cache_root() / "formats") or "no format: the plain preamble is used",
          file=sys.stdout)
