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
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from mkdocs.config import config_options
from mkdocs.config.base import Config
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.plugins.convanim")


class ConvanimConfig(Config):
    config = config_options.Type(str, default="figures.toml")
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
        base = Path(config.config_file_path or ".").resolve().parent
        self.config_path = (base / self.config.config).resolve()
        self.root = build_root(self.config_path)
        return config

    def on_files(self, files: Files, /, *, config) -> Files:
        from . import build
        from .errors import SpecError

        for file in list(files):  # a config kept in docs/ is not published
            if file.abs_src_path and Path(file.abs_src_path).resolve() == self.config_path:
                files.remove(file)
        try:
            plan = build.load(self.config_path, self.root)
        except SpecError as e:
            log.warning("convanim: %s", e)
            return files
        plan.index = False  # the site has its own home page; index.md would replace it
        written, failures = build.build(plan, self.root, self.config.jobs, echo=log.debug)
        for what, why in failures:
            log.warning("convanim: %s: %s", what, why)
        log.info("convanim: %d figures, %d files drawn, %d failed", len(plan.entries),
                 len(written), len(failures))
        failed = {what for what, _ in failures}
        for entry in plan.entries:
            if f"figure {entry.name!r}" in failed:
                continue
            for product in entry.figure.products():
                if product.kind == "pdf" and entry.figure.options.animation \
                        and not self.config.pdf:
                    continue  # the print companion of an animation: not for a web page
                self._publish(files, config, product.dest)
            if entry.figure.options.json:
                self._publish(files, config, entry.figure.json_path())
        return files

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
