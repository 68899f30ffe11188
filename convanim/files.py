"""Atomic file placement: a reader never sees a half-written output, nor half a set.

Placement replaces only regular files: a symlink is followed to the file it names
(the link stays a link), and a folder, device or pipe at a destination is refused
before any work, so ``--csv /dev/full`` can never turn a device into a file.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
import threading
from pathlib import Path

from .errors import SpecError


_UMASK_LOCK = threading.Lock()


def _umask() -> int:
    """The process umask, read without changing it where the system allows.

    os.umask can only be read by setting it; ``build`` places files from several
    threads, and two interleaved set-and-restore pairs could leave the umask at 0.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:
        mask = os.umask(0)
        os.umask(mask)
    return mask


def _what(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a pipe"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path | str, limit: int, shown: str | None = None):
    """``path`` opened for reading (binary) when it is a regular file of at most ``limit``
    bytes; else a one-line :class:`SpecError` naming the file (``shown``, as the user
    spelled it, and the path tried where they differ), never its content.

    Opened without blocking, as a FIFO's open would wait for a writer forever, and
    checked before a byte is read, as /dev/zero never ends.
    """
    shown = str(path) if shown is None else shown
    name = shown if shown == str(path) else f"{shown} ({path})"
    try:
        f = open(path, "rb", opener=lambda p, flags: os.open(p, flags | os.O_NONBLOCK))
    except OSError as e:
        raise SpecError(f"cannot read {name}: {e.strerror or e}") from None
    st = os.fstat(f.fileno())
    if not stat.S_ISREG(st.st_mode):
        f.close()
        raise SpecError(f"cannot read {name}: it is {_what(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        f.close()
        raise SpecError(f"cannot read {name}: it is {st.st_size:,} bytes, more than the "
                        f"{limit:,} read")
    return f


def read_regular(path: Path | str, limit: int, shown: str | None = None) -> bytes:
    """The bytes of ``path``, checked as :func:`open_regular` does. Read in pieces to the
    limit: a file that grows while read, or a /proc file that says it has 0 bytes, is
    cut there and refused."""
    chunks, size = [], 0
    with open_regular(path, limit, shown) as f:
        while size <= limit:
            chunks.append(f.read(min(1 << 20, limit + 1 - size)))
            if not chunks[-1]:
                break
            size += len(chunks[-1])
    if size > limit:
        shown = str(path) if shown is None else shown
        raise SpecError(f"cannot read {shown}: it is more than the {limit:,} bytes read")
    return b"".join(chunks)


def target(dest: Path | str) -> Path:
    """The file to write for ``dest``; :class:`SpecError` if placing there would be wrong.

    Checked before any work so bad destinations exit 2 with nothing written: an
    empty path, a destination that is not a regular file, a symlink to nothing, a
    folder on the way that is really a file.
    """
    if str(dest) == "":
        raise SpecError("an output path is empty")
    dest = Path(dest)
    real = dest
    if dest.is_symlink():
        real = Path(os.path.realpath(dest))
        if not real.exists():
            raise SpecError(f"{dest} is a symlink to {real}, which does not exist")
    try:
        mode = real.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):  # the folders below say which
        mode = None
    except OSError as e:
        raise SpecError(f"cannot use {dest}: {e.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise SpecError(f"{dest} exists and is {_what(mode)}; refusing to replace it")
    for parent in real.parents:  # the nearest existing folder on the way must be a folder
        if parent.exists():
            if not parent.is_dir():
                raise SpecError(f"cannot write {dest}: {parent} is a file, not a folder")
            break
    return real


def inside(root: Path | str, path: Path | str) -> bool:
    """Whether ``path``, symlinks followed, lies in the folder ``root`` (symlinks followed)."""
    base, real = os.path.realpath(root), os.path.realpath(path)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def check_relative(root: Path | str, given: str, what: str) -> None:
    """Refuse a path from an untrusted config that would leave ``root``: absolute, through
    ``..``, or through a symlink that points outside; :class:`SpecError` says which."""
    if os.path.isabs(given):
        raise SpecError(f"{what} {given!r} is an absolute path; paths are relative to the "
                        f"output root {root}, and nothing is written outside it")
    if os.path.normpath(given).split(os.sep)[0] == os.pardir:
        raise SpecError(f"{what} {given!r} leaves the output root {root} (..); nothing is "
                        f"written outside it")
    if not inside(root, os.path.join(root, given)):
        raise SpecError(f"{what} {given!r} leads outside the output root {root} through a "
                        f"symlink (to {os.path.realpath(os.path.join(root, given))}); nothing "
                        f"is written outside it")


def check_output_inside(root: Path | str, dest: Path | str) -> None:
    """Refuse an output whose file, symlinks followed, is outside ``root``."""
    if not inside(root, dest):
        raise SpecError(f"{dest} leads to {os.path.realpath(dest)}, outside the output root "
                        f"{root} (a symlink); nothing is written outside it")


#: Age after which a leftover of ours is known dead: a ``kill -9`` left it, as no
#: render takes this long (TeX's own limit is 10 minutes).
STALE_S = 3600
#: The file inside every work folder this program makes (:func:`engine.tools.work_folder`):
#: a sweep of the shared temp folder removes only folders that carry it.
MARKER = ".convanim-work"


def _mine(st: os.stat_result) -> bool:
    getuid = getattr(os, "getuid", None)
    return getuid is None or st.st_uid == getuid()


def is_ours(path: Path | str) -> bool:
    """A work folder this program made: a real folder owned by this user, holding our
    marker (a user's own ``/tmp/convanim-notes`` has none, another user's is not ours)."""
    try:
        st, mark = os.lstat(path), os.lstat(os.path.join(path, MARKER))
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and _mine(st) and stat.S_ISREG(mark.st_mode) and _mine(mark)


def work_folder(parent: Path | str | None = None, prefix: str = "convanim-") -> Path:
    """A new temporary work folder (in the temp folder by default), marked inside as
    ours, so that :func:`sweep` may remove it after a ``kill -9``, and nothing else of
    that name."""
    work = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    try:
        (work / MARKER).touch()
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return work


def sweep(folder: Path | str, pattern: str, age_s: float = STALE_S,
          by_name: bool = False) -> None:
    """Remove what a killed run of ours left in ``folder`` (``pattern``, older than
    ``age_s``): work folders that :func:`is_ours` proves ours; with ``by_name``, in a
    folder of our own (an output's, the cache's), whatever matches and is owned by this
    user (``.convanim-*.tmp`` beside an output, a name only :func:`place_all` makes).
    Anything else matching is someone else's, and stays."""
    import time

    limit = time.time() - age_s
    try:
        leftovers = list(Path(folder).glob(pattern))
    except OSError:
        return
    for path in leftovers:
        try:
            st = path.lstat()
            if st.st_mtime >= limit or not _mine(st):
                continue
            if not (by_name or is_ours(path)):
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink()
        except OSError:
            continue


def make_folders(folders) -> list[Path]:
    """Create missing folders; on failure remove those created. Returns the created ones."""
    made: list[Path] = []
    try:
        for folder in sorted(folders):
            missing = [p for p in [folder, *folder.parents] if not p.exists()]
            folder.mkdir(parents=True, exist_ok=True)
            made += reversed(missing)
    except OSError:
        remove_folders(made)
        raise
    return made


def remove_folders(made: list[Path]) -> None:
    """Best effort: a folder someone else filled meanwhile stays (and hides no error)."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            pass


def _temp_beside(dest: Path) -> Path:
    try:
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".convanim-", suffix=".tmp")
    except OSError as e:
        raise OSError(e.errno, f"cannot write {dest}: {e.strerror}") from None
    os.close(fd)
    return Path(tmp)


def place_all(files: list[tuple[Path | bytes, Path]]) -> list[Path]:
    """Put each source (a file or bytes) at its destination, all or none.

    Every source is first copied to a temporary file beside its destination; only
    when all copies succeeded are they renamed into place, each rename atomic. If
    a rename fails, the ones done are undone (earlier files restored), so on any
    failure nothing new is left: no temporary file, no folder this call created.
    Returns the destinations as given.
    """
    reals = [target(dest) for _, dest in files]
    if len(set(reals)) != len(reals):
        raise SpecError("two outputs name the same file: "
                        + ", ".join(str(d) for _, d in files))
    temps: list[Path] = []
    backups: list[tuple[Path, Path | None]] = []  # (destination, its old content or None)
    made: list[Path] = []
    try:
        made = make_folders({real.parent for real in reals})
        for folder in {real.parent for real in reals}:
            sweep(folder, ".convanim-*.tmp", by_name=True)
        for (src, _), real in zip(files, reals):
            tmp = _temp_beside(real)
            temps.append(tmp)
            try:
                with open(tmp, "wb") as f:
                    if isinstance(src, bytes):
                        f.write(src)
                    else:
                        with open(src, "rb") as s:
                            shutil.copyfileobj(s, f)
            except OSError as e:  # a full disk says nothing of where: name the file
                if e.filename is None:
                    raise OSError(e.errno, e.strerror, str(real)) from None
                raise
            os.chmod(tmp, 0o666 & ~_umask())
        for tmp, real in zip(temps, reals):
            old = None
            if real.exists():  # keep its content until the whole set is placed
                old = _temp_beside(real)
                backups.append((real, old))
                shutil.copy2(real, old)
            else:
                backups.append((real, None))
            os.replace(tmp, real)
    except BaseException:
        done = {tmp for tmp in temps if not tmp.exists()}  # renamed into place
        for (real, old), tmp in reversed(list(zip(backups, temps))):
            try:
                if tmp not in done:
                    if old is not None:
                        old.unlink(missing_ok=True)
                elif old is None:
                    real.unlink(missing_ok=True)
                else:
                    os.replace(old, real)
            except OSError:
                pass
        for tmp in temps:
            tmp.unlink(missing_ok=True)
        remove_folders(made)
        raise
    for _, old in backups:
        if old is not None:
            old.unlink(missing_ok=True)
    return [Path(dest) for _, dest in files]
