"""``python -m convanim build FILE``: many figures from one TOML file, in one process.

Every figure's table becomes its kind's typed options (the values TOML holds go
straight in, converted and checked by the same declarations as the command's
flags) and is planned before any is drawn, so a bad config writes nothing. Figures then render on a thread pool:
the work is pdflatex and pdftoppm subprocesses, which threads overlap as well as
processes would, without paying an interpreter start per figure. A manifest in
the output root records each output's content key (the figure cache's key) with
its size and mtime; a figure whose key and files are unchanged is skipped, so a
warm rebuild or ``--check`` only plans.

    title = "My figures"          # optional, heads the index page
    index = true                  # optional: also write index.md and index.html

    [defaults]                    # applies to every figure whose kind has the option
    animation = true

    [figures.stride2]             # the table name is the output NAME
    kind = "arithmetic"
    input-size = 5                # any option of the figure command, long name
    stride = 2
    description = "A stride-2 convolution."   # optional, for the index page
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from . import files, kinds, values
from .errors import BackendError, SpecError, ToolError, VerifyError
from .figure import figure, plan

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

GALLERY_DIR = Path(__file__).resolve().parent / "gallery"
MANIFEST = ".convanim-build.json"
LOCK = ".convanim-build.lock"
#: Bytes of a config: thousands of figures; a larger file is not a config.
MAX_CONFIG = 1 << 20
#: Keys of a figure table that are not options of the figure command.
FIGURE_KEYS = {"kind", "description"}
TOP_KEYS = {"title", "index", "defaults", "figures"}
#: Options a build sets itself.
BUILD_OWNS = {"name"}


def galleries() -> list[str]:
    return sorted(p.stem for p in GALLERY_DIR.glob("*.toml"))


@dataclass
class Entry:
    """One figure of a config, planned."""
    name: str
    kind: str
    options: dict               # as written (defaults applied), for the index's command
    description: str
    figure: object = None       # convanim.figure.Figure
    key: str = ""


@dataclass
class Config:
    path: Path
    title: str
    index: bool
    entries: list[Entry] = field(default_factory=list)


def _line_of(text: str, name: str) -> int | None:
    """The line of ``[figures.NAME]`` (tomllib does not report where a value was)."""
    pattern = re.compile(r"^\s*\[\s*figures\s*\.\s*(\"?)" + re.escape(name) + r"\1\s*\]")
    for n, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return n
    return None


def _read_config(path: Path) -> bytes:
    """The config's bytes: a regular file of at most MAX_CONFIG bytes (not a pipe that
    never ends, nor /dev/zero)."""
    return files.read_regular(path, MAX_CONFIG)


def load(path: Path, root: Path, fmt: str | None = None,
         values_in: tuple[Path, Path] | None = None) -> Config:
    """Read and plan every figure of a config; raises :class:`SpecError` naming the first
    bad figure (file, line, name, reason) and how many others are bad.

    ``fmt`` (``build --format``) is the file type of every animation, as if each
    animated figure set ``type = fmt``; single steps keep theirs. ``values_in`` is
    (folder, root): values files are named relative to the folder and read only from
    inside the root (a config is untrusted); by default both are the config's folder.
    """
    try:
        text = _read_config(path).decode("utf-8")
    except OSError as e:
        raise SpecError(f"cannot read {path}: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise SpecError(f"{path}: not UTF-8 text ({e.reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{path}: {e}") from None
    except RecursionError:  # tomllib recurses once per [ or {
        raise SpecError(f"{path}: arrays or tables nested too deeply") from None

    def where(name=None):
        line = _line_of(text, name) if name else None
        return f"{path}:{line}: figure {name!r}" if line else \
            (f"{path}: figure {name!r}" if name else str(path))

    unknown = sorted(set(data) - TOP_KEYS)
    if unknown:
        raise SpecError(f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(TOP_KEYS))})")
    title, index = data.get("title", path.stem), data.get("index", False)
    if not isinstance(title, str) or not isinstance(index, bool):
        raise SpecError(f"{path}: 'title' must be a string and 'index' true or false")
    defaults, figures = data.get("defaults", {}), data.get("figures", {})
    if not isinstance(defaults, dict) or not isinstance(figures, dict):
        raise SpecError(f"{path}: 'defaults' and 'figures' must be tables")
    if not figures:
        raise SpecError(f"{path}: no [figures.NAME] table")
    known = {name: kinds.get(name).Options.by_name() for name in kinds.names()}
    known_anywhere = {k for names in known.values() for k in names} | FIGURE_KEYS
    for key in defaults:
        if key.replace("-", "_") not in known_anywhere or key.replace("-", "_") in BUILD_OWNS:
            raise SpecError(f"{path}: [defaults]: unknown option {key!r}")

    config = Config(path, title, index)
    errors = []
    for name, table in figures.items():
        try:
            if not isinstance(table, dict):
                raise SpecError("must be a table of options")
            kind = table.get("kind", defaults.get("kind"))
            if kind is None:
                raise SpecError(f"no kind (one of {', '.join(kinds.names())})")
            kind = kinds.get(kind)
            options = known[kind.name]
            description = table.get("description", "")
            if not isinstance(description, str):
                raise SpecError("description must be a string")
            given = {k: v for k, v in defaults.items()
                     if k not in FIGURE_KEYS and k.replace("-", "_") in options}
            given.update({k: v for k, v in table.items() if k not in FIGURE_KEYS})
            for key in given:
                if key.replace("-", "_") in BUILD_OWNS:
                    raise SpecError(f"{key!r} is the table's name, [figures.NAME]")
            if fmt and given.get("animation") is True:  # replaces type (or format)
                given = {k: v for k, v in given.items()
                         if getattr(options.get(k.replace("-", "_")), "name", k) != "type"}
                given["type"] = fmt
            if not name:
                raise SpecError("a figure needs a name: [figures.NAME] with NAME not empty")
            with values.relative_to(*(values_in or (path.parent, path.parent))):
                kind, opts = figure(kind, name, **given)
            for what, rel in (("out-dir", opts.out_dir), ("gif-dir", opts.gif_dir)):
                files.check_relative(root, rel, what)
            opts = dataclasses.replace(opts, out_dir=str(root / opts.out_dir),
                                       gif_dir=str(root / opts.gif_dir))
            entry = Entry(name, kind.name, given, description, plan(kind, opts))
            for out in entry.figure.outputs():
                files.check_output_inside(root, out)
            entry.key = entry.figure.key()
            config.entries.append(entry)
        except SpecError as e:
            errors.append(f"{where(name)}: {e}")
    if not errors:  # one file, however reached (a symlinked folder too), has one writer
        seen = {os.path.realpath(root / MANIFEST): "the build's manifest"}
        if config.index:
            from . import index

            seen.update({os.path.realpath(p): "the index page" for p in index.paths(root)})
        shared = {os.path.realpath(p) for e in config.entries
                  for p in [e.figure.package_path()] if p}  # one text, whoever writes it
        for entry in config.entries:
            for out in entry.figure.outputs():
                same = os.path.realpath(out)
                if same in shared:
                    continue
                if same in seen:
                    other = seen[same]
                    errors.append(f"{where(entry.name)}: writes {os.path.normpath(out)}, as "
                                  + (other if other.startswith("the ") else f"figure {other!r}")
                                  + " does")
                seen[same] = entry.name
    if errors:
        more = f" ({len(errors) - 1} more bad figures)" if len(errors) > 1 else ""
        raise SpecError(errors[0] + more)
    return config


def _keyed(entry) -> list[tuple[list[Path], str]]:
    """An entry's outputs, each with the key the manifest records it under: the figure's
    own files its content key; convanim.sty (``-y tex``), which every source figure of
    its folder writes, its own text's hash, so that those figures never make one another
    stale."""
    package = entry.figure.package_path()
    own = [p for p in entry.figure.outputs() if p != package]
    return [(own, entry.key)] + ([([package], _package_key())] if package else [])


@lru_cache(maxsize=1)
def _package_key() -> str:
    from .tex import package

    return "convanim.sty:" + hashlib.sha256(package().encode()).hexdigest()


def _stale(manifest, entry) -> list[tuple[Path, str]]:
    return [s for paths, key in _keyed(entry) for s in manifest.stale(paths, key)]


class Manifest:
    """Content key, size and mtime of every output a build wrote, kept in the root.

    Saving merges this build's own changes into the file as it is then, under a lock,
    so builds running at once into one root each keep what the others recorded.
    """

    def __init__(self, root: Path):
        self.path = root / MANIFEST
        self.root = root
        self.outputs = self._read()
        self._changed: dict[str, dict | None] = {}  # name -> entry, None: forgotten

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        outputs = data.get("outputs") if isinstance(data, dict) else None
        if not isinstance(outputs, dict):  # a hand-edited or foreign file: start afresh
            return {}
        return {k: v for k, v in outputs.items() if isinstance(v, dict)}

    def _name(self, path: Path) -> str:
        try:
            return Path(path).relative_to(self.root).as_posix()
        except ValueError:
            return str(Path(path).resolve())

    def stale(self, paths: list[Path], key: str) -> list[tuple[Path, str]]:
        """The paths not written with ``key`` or changed since, each with why."""
        out = []
        for path in paths:
            entry = self.outputs.get(self._name(path))
            try:
                st = os.stat(path)
            except OSError:
                out.append((path, "missing"))
                continue
            if not entry or entry.get("key") != key:
                out.append((path, "out of date"))
            elif entry.get("size") != st.st_size or entry.get("mtime_ns") != st.st_mtime_ns:
                out.append((path, "changed since it was built"))
        return out

    def record(self, paths: list[Path], key: str) -> None:
        for path in paths:
            st = os.stat(path)
            entry = {"key": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
            self.outputs[self._name(path)] = self._changed[self._name(path)] = entry

    def forget(self, paths: list[Path]) -> None:
        for path in paths:
            self.outputs.pop(self._name(path), None)
            self._changed[self._name(path)] = None

    def _matches(self, name: str, entry: dict | None) -> bool:
        """``entry`` describes the file ``name`` as it is now (its size and mtime)."""
        try:
            st = os.stat(self.root / name)
        except OSError:
            return False
        return bool(entry) and entry.get("size") == st.st_size and \
            entry.get("mtime_ns") == st.st_mtime_ns

    def save(self) -> None:
        """Merge by content: under the lock, re-read the file and put in this build's
        entries, but keep another build's entry for a file it placed after this one did
        (the one matching the file on disk); last-writer-wins would leave ``--check``
        reporting a change that did not happen. Written atomically (place_all)."""
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            current = self._read()
            for name, entry in self._changed.items():
                if entry is None:
                    current.pop(name, None)
                elif not (self._matches(name, current.get(name))
                          and not self._matches(name, entry)):
                    current[name] = entry  # unless another build wrote the file since
            self.outputs = current
            blob = json.dumps({"outputs": current}, indent=0, sort_keys=True).encode()
            try:
                if self.path.read_bytes() == blob:
                    return  # untouched, so a file watcher (mkdocs serve) sees no change
            except OSError:
                pass
            files.place_all([(blob, self.path)])


def index_key(config: Config) -> str:
    from . import index

    h = hashlib.sha256(index.fingerprint().encode())
    h.update(json.dumps([config.title] + [[e.name, e.key, e.description, e.options]
                                          for e in config.entries], default=list).encode())
    return h.hexdigest()


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError):
        where = f": {e.filename}" if e.filename else ""
        return f"{e.strerror or e}{where}"
    if isinstance(e, (SpecError, ToolError, VerifyError, BackendError)):
        return str(e)
    return f"{type(e).__name__}: {e}"  # a bug: still report it and build the others


def _as_done(futures):
    """The futures as they finish, found by polling: a SIGTERM turned KeyboardInterrupt can
    land anywhere in this thread, and inside concurrent.futures' own waiting it can leave
    a future's lock held, so that the workers, and the exit, wait forever."""
    pending = list(futures)
    while pending:
        done = [f for f in pending if f.done()]
        if not done:
            time.sleep(0.02)
            continue
        for f in done:
            pending.remove(f)
            yield f


def build(config: Config, root: Path, jobs: int, cache: bool = True, progress: bool = False,
          echo=print) -> tuple[list[Path], list[tuple[str, str]]]:
    """Draw every stale figure of a planned config; returns (paths written, failures:
    ``(what, why)``, what being ``figure 'NAME'`` or ``the index page``)."""
    manifest = Manifest(root)
    todo = [e for e in config.entries if _stale(manifest, e)]
    todo.sort(key=lambda e: -len(e.figure.frames))  # longest first: the pool ends together
    bar = None
    if progress and todo:
        from tqdm import tqdm

        bar = tqdm(total=len(todo), desc="figures", unit="fig", file=sys.stderr, leave=False)
        echo = lambda line: tqdm.write(line, file=sys.stdout)  # noqa: E731
    made: list[Path] = []  # the folders made here, removed at the end if left empty
    for entry in todo:  # here, not in the workers: a failed figure's rollback of a folder
        for folder in {p.parent for p in entry.figure.outputs()}:  # it made could race
            try:                                                     # another's placement
                made += files.make_folders([folder])
            except OSError:
                pass  # the figure fails with this error in its worker, and is named
    try:
        return _build(config, root, jobs, cache, manifest, todo, bar, echo)
    finally:
        files.remove_folders(made)  # a full disk failed every figure: no empty folder


def _build(config, root, jobs, cache, manifest, todo, bar, echo):
    """:func:`build` once its folders are made: the figures on a thread pool, the index,
    the manifest; each failure is a line of its own, the manifest's last."""
    written, failures = [], []
    from .engine import Cancel

    stop = Cancel()
    pool = ThreadPoolExecutor(max(1, min(jobs, len(todo) or 1)))
    try:
        jobs_ = {pool.submit(e.figure.make, cache, False, stop): e for e in todo}
        for job in _as_done(jobs_):
            entry = jobs_[job]
            try:
                paths = job.result()
            except Exception as e:  # noqa: BLE001 - one figure's failure never stops the rest
                failures.append((f"figure {entry.name!r}", _describe(e)))
                manifest.forget(_keyed(entry)[0][0])  # not the package the others share
            else:
                for own, key in _keyed(entry):
                    manifest.record([p for p in paths if p in own], key)
                paths = [p for p in paths if p not in written]  # a shared package once
                written += paths
                for path in paths:
                    echo(str(path))
            if bar is not None:
                bar.update(1)
    except BaseException:  # Ctrl-C, SIGTERM: stop the tools, place nothing more, and keep
        stop.cancel()      # what was placed before for next time
        pool.shutdown(wait=True, cancel_futures=True)
        manifest.save()
        raise
    finally:
        pool.shutdown(wait=True)
        if bar is not None:
            bar.close()
    if config.index:
        from . import index

        paths = index.paths(root)
        key = index_key(config)
        if written or failures or manifest.stale(paths, key):
            try:
                made = index.write(config, root)
            except (OSError, SpecError) as e:  # reported beside the figures' own failures
                failures.append(("the index page", _describe(e)))
                manifest.forget(paths)
            else:
                manifest.record(made, key)
                written += made
                for path in made:
                    echo(str(path))
    try:
        manifest.save()
    except OSError as e:  # a full disk: reported after the figures it failed, not instead
        failures.append(("the manifest", _describe(e)))
    return written, failures


def check(config: Config, root: Path) -> list[tuple[Path, str]]:
    """Every output missing or out of date, with why; builds nothing."""
    manifest = Manifest(root)
    stale = [s for e in config.entries for s in _stale(manifest, e)]
    stale = list({path: (path, why) for path, why in stale}.values())  # the package once
    if config.index:
        from . import index

        stale += manifest.stale(index.paths(root), index_key(config))
    return stale


def resolve(file: str | None, gallery: str | None, out: str | None) -> tuple[Path, Path]:
    """The config file and the output root of a build command."""
    if (file is None) == (gallery is None):
        raise SpecError("build needs a FILE or --gallery NAME (not both)")
    if gallery:
        path = GALLERY_DIR / f"{gallery}.toml"
        root = Path(out or "gallery")
    else:
        path = Path(file)
        root = Path(out) if out else path.parent
    if root.exists() and not root.is_dir():
        raise SpecError(f"{root} exists and is not a folder")
    return path, root


def main(file: str | None = None, gallery: str | None = None, out: str | None = None,
         jobs: int = 1, fmt: str | None = None, check_only: bool = False, cache: bool = True,
         quiet: bool = False) -> int:
    """``convanim build``: plan every figure, then draw the stale ones; the exit status."""
    start = time.perf_counter()
    path, root = resolve(file, gallery, out)
    config = load(path, root, fmt)
    if check_only:
        stale = check(config, root)
        for out_, why in stale:
            print(out_)
            print(f"convanim: {why}: {out_}", file=sys.stderr)
        n = len({out_ for out_, _ in stale})
        outputs = "output" if n == 1 else "outputs"
        print(f"convanim: {len(config.entries)} figures, {n} {outputs} missing or out of date",
              file=sys.stderr)
        return 1 if stale else 0
    progress = not quiet and sys.stderr.isatty()
    written, failures = build(config, root, jobs, cache=cache, progress=progress)
    for what, reason in failures:
        print(f"convanim: error: {what}: {reason}", file=sys.stderr)
    if not quiet:
        print(f"convanim: {len(config.entries)} figures, {len(written)} files written, "
              f"{len(failures)} failed, {time.perf_counter() - start:.2f} s", file=sys.stderr)
    return 1 if failures else 0
