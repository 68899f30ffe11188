"""MkDocs plugin: ``plugins: [convanim: {config: figures.toml}]`` draws a build config's
figures into the built site.

.. code-block:: yaml

    plugins:
      - search
      - convanim:
          config: figures.toml      # relative to mkdocs.yml
          # pdf: true               # also publish each animation's all-frames PDF

Each figure lands in the site at its config path (``gif-dir``/``out-dir`` relative to the
site root), so ``![x](gif/stride2.gif)`` in a page works, and MkDocs checks those links
like any other. The figures are drawn by :func:`convanim.build.build` into a folder of
convanim's cache keyed by the config's path, never into ``docs/``: the same manifest and
figure cache as ``convanim build`` make a second build draw nothing, and MkDocs copies the
files from there. Nothing else of the config is published: not the config itself (even
when it sits in ``docs/``), nor its index page (the site has its own home page), nor the
manifest. ``mkdocs serve`` watches the config and redraws what changed. A config or a
figure that fails is a MkDocs warning naming it, so ``mkdocs build --strict`` fails.

A page can also declare a figure itself, in a fenced block whose body is a figure's
table of the config (``name`` and ``alt`` optional)::

    ```convanim
    kind = "arithmetic"
    input-size = 5
    stride = 2
    animation = true
    ```

The block becomes the figure (an image, a video, or the player in an iframe), drawn
through the same manifest into ``convanim/`` of the site.
"""
from __future__ import annotations

import hashlib
import html
import json
import logging
import os
import posixpath
import re
from pathlib import Path

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

from .engine import formats

log = logging.getLogger("mkdocs.plugins.convanim")


#: A figure declared in a page: a fenced block of language ``convanim``.
FENCE = re.compile(r"^(`{3,}|~{3,})[ \t]*convanim[ \t]*\n(.*?)^\1[ \t]*$", re.M | re.S)
#: Where page figures go, relative to the site root (unless the block says otherwise).
PAGE_DIR = "convanim"


class ConvanimConfig(Config):
    config = config_options.Optional(config_options.Type(str))
    pdf = config_options.Type(bool, default=False)
    jobs = config_options.Type(int, default=os.cpu_count() or 1)


def build_root(config_path: Path) -> Path:
    """Where a config's figures are drawn: in convanim's cache, one folder per config file,
    so two sites never share a manifest and neither site's sources are written to."""
    from .cache import cache_root

    digest = hashlib.sha256(str(config_path.resolve()).encode()).hexdigest()[:16]
    return cache_root() / "mkdocs" / f"{config_path.stem}-{digest}"


class ConvanimPlugin(BasePlugin[ConvanimConfig]):
    """Draws the figures at ``on_files`` and adds them to the site's files."""

    def on_config(self, config):
        base = Path(config.config_file_path or "mkdocs.yml").resolve().parent
        self.config_path = (base / self.config.config).resolve() if self.config.config \
            else None
        self.root = build_root(self.config_path or base / "mkdocs.yml")
        self.docs_dir = Path(config["docs_dir"]).resolve()  # what page blocks may read
        # page src_uri -> per block: (uri, suffix, alt, name) of what it shows, or None
        self.shown: dict[str, list] = {}
        return config

    def on_files(self, files: Files, /, *, config) -> Files:
        from . import build
        from .errors import SpecError

        for file in list(files):  # a config kept in docs/ is not published
            if self.config_path and file.abs_src_path \
                    and Path(file.abs_src_path).resolve() == self.config_path:
                files.remove(file)
        entries = []
        if self.config_path is not None:
            try:
                plan = build.load(self.config_path, self.root)
            except SpecError as e:
                log.warning("convanim: %s", e)
            else:
                entries += plan.entries
        entries += self._page_figures(files, {os.path.realpath(p): f"figure {e.name!r} of "
                                               f"{self.config_path.name}"
                                               for e in entries for p in e.figure.outputs()})
        if not entries:
            return files
        plan = build.Config(self.config_path or self.root, "", False, entries)
        # index = False: the site has its own home page, which index.md would replace
        written, failures = build.build(plan, self.root, self.config.jobs, echo=log.debug)
        for what, why in failures:
            log.warning("convanim: %s: %s", what, why)
        log.info("convanim: %d figures, %d files drawn, %d failed", len(plan.entries),
                 len(written), len(failures))
        failed = {what for what, _ in failures}
        for entry in plan.entries:
            if f"figure {entry.name!r}" in failed:
                for blocks in self.shown.values():  # the page keeps its block, not a hole
                    blocks[:] = [None if b and b[3] == entry.name else b for b in blocks]
                continue
            for product in entry.figure.products():
                if product.kind == "pdf" and entry.figure.options.animation \
                        and not self.config.pdf:
                    continue  # the print companion of an animation: not for a web page
                self._publish(files, config, product.dest)
            if entry.figure.options.json:
                self._publish(files, config, entry.figure.json_path())
        return files

    def _page_figures(self, files: Files, seen: dict) -> list:
        """Plan the figures declared in the pages' ``convanim`` blocks; a bad block, or
        one writing a file that ``seen`` (real path -> who) already has, is a warning
        naming its page, and stays in the page as it is."""
        from . import build, files as files_
        from .errors import SpecError

        entries = []
        folder = self.root / "pages"
        for page in files.documentation_pages():
            try:
                text = page.content_string
            except (OSError, UnicodeDecodeError):
                continue
            blocks = self.shown[page.src_uri] = []
            slug = re.sub(r"[^A-Za-z0-9_-]+", "-", page.src_uri.rsplit(".", 1)[0]).strip("-")
            for n, match in enumerate(FENCE.finditer(text), 1):
                where = f"{page.src_uri}: convanim block {n}"
                blocks.append(None)
                try:
                    import tomllib
                except ModuleNotFoundError:  # Python 3.10
                    import tomli as tomllib
                try:
                    table = tomllib.loads(match.group(2))
                except tomllib.TOMLDecodeError as e:
                    log.warning("convanim: %s: %s", where, e)
                    continue
                except RecursionError:  # tomllib recurses once per [ or {
                    log.warning("convanim: %s: arrays or tables nested too deeply", where)
                    continue
                name = str(table.pop("name", f"{slug}-{n}"))
                alt = str(table.pop("alt", name))
                table.setdefault("gif-dir", PAGE_DIR)
                table.setdefault("out-dir", PAGE_DIR)
                lines = [f"[figures.{json.dumps(name)}]"]
                try:
                    lines += [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in table.items()]
                except (TypeError, ValueError):
                    log.warning("convanim: %s: only strings, numbers, booleans and lists", where)
                    continue
                path = folder / f"{slug}-{n}.toml"  # build.load reads a file
                blob = ("\n".join(lines) + "\n").encode()
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                    if not path.is_file() or path.read_bytes() != blob:
                        files_.place_all([(blob, path)])
                    # input = "photo.png": beside the page, and only from inside docs/
                    beside = Path(page.abs_src_path).parent if page.abs_src_path \
                        else self.docs_dir / Path(page.src_uri).parent
                    (entry,) = build.load(path, self.root,
                                          values_in=(beside, self.docs_dir)).entries
                except (SpecError, OSError) as e:
                    why = re.sub(re.escape(str(path)) + r"(:\d+)?: (figure '[^']*': )?", "",
                                 str(e))
                    log.warning("convanim: %s: %s", where, why)
                    continue
                if formats.of(entry.figure.products()[-1].kind).source == "source":
                    log.warning("convanim: %s: figure %r: type tex is TikZ source for a LaTeX "
                                "document, which a page cannot show; give png, svg or an "
                                "animation's format", where, name)
                    continue
                outputs = {os.path.realpath(p) for p in entry.figure.outputs()}
                clash = next((seen[o] for o in outputs if o in seen), None)
                if clash:
                    log.warning("convanim: %s: figure %r writes the files of %s", where,
                                name, clash)
                    continue
                seen.update({o: where for o in outputs})
                shown = next((p for p in entry.figure.products() if p.kind != "pdf"),
                             entry.figure.products()[0])
                uri = Path(os.path.relpath(shown.dest, self.root)).as_posix()
                blocks[-1] = (uri, shown.dest.suffix, alt, name)
                entries.append(entry)
        return entries

    def on_page_markdown(self, markdown: str, /, *, page, config, files) -> str:
        blocks = iter(self.shown.get(page.file.src_uri, []))

        def replace(match):
            block = next(blocks, None)
            if block is None:
                return match.group(0)
            uri, suffix, alt, _ = block
            # Markdown links are resolved by MkDocs from the source file; raw HTML is not,
            # so its path is relative to where the page is written (foo/index.html).
            rel = posixpath.relpath(uri, posixpath.dirname(page.file.dest_uri) or ".")
            if suffix in formats.VIDEO_SUFFIXES:
                return (f'<video src="{html.escape(rel)}" autoplay loop muted playsinline '
                        f'controls aria-label="{html.escape(alt)}"></video>')
            if suffix == ".html":
                from .engine.web import player_size

                try:
                    w, h = player_size((self.root / uri).read_text(encoding="utf-8"))
                except OSError:
                    w, h = 480, 480
                return (f'<iframe src="{html.escape(rel)}" title="{html.escape(alt)}" '
                        f'style="width: {w}px; max-width: 100%; height: {h}px; border: 0;">'
                        f'</iframe>')
            from .index import md_text

            rel = posixpath.relpath(uri, posixpath.dirname(page.file.src_uri) or ".")
            return f"![{md_text(alt)}]({rel})"

        return FENCE.sub(replace, markdown)

    def _publish(self, files: Files, config, path: Path) -> None:
        uri = Path(os.path.relpath(path, self.root)).as_posix()
        if files.get_file_from_path(uri) is not None:  # the user's own file wins
            log.warning("convanim: %s is both a file of docs/ and a figure of %s; the "
                        "site keeps the docs/ file", uri, self.config_path.name)
            return
        files.append(File.generated(config, uri, abs_src_path=str(path)))

    def on_serve(self, server, /, *, config, builder):
        server.watch(str(self.config_path))
        return server
