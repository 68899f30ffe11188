"""Sphinx extension: ``extensions = ["convanim.sphinx"]`` adds a ``convanim`` directive.

.. code-block:: rst

    .. convanim:: arithmetic stride2
       :input-size: 5
       :stride: 2
       :caption: A stride-2 convolution.
       :width: 300px

The directive takes the figure command's options under their long names (flags
without a value), plus ``:caption:``, ``:alt:`` and ``:width:`` of the figure. HTML
and other builders get the animation (GIF); LaTeX builders get one step as a PDF
(a PDF cannot hold a GIF), ``:step:`` or by default the last, where the whole
output is drawn. Both are drawn into the build's doctree folder, through the
figure cache, and Sphinx copies the one its builder takes to its image folder. A figure
that cannot be drawn is a warning with the reason (an error under ``-W``).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from . import __version__

logger = logging.getLogger(__name__)

#: Figure options the directive decides itself (where files go, which file type).
_OWN = {"out_dir", "gif_dir", "animation", "type", "json", "quiet", "caption"}


def _option_spec() -> dict:
    """Every figure kind's options, as the command defines them, plus the figure's own."""
    from .api import figure_options, is_flag
    from .cli import _figure_kinds

    spec = {}
    for kind in _figure_kinds():
        for dest, action in figure_options(kind).items():
            if dest not in _OWN:
                spec[dest.replace("_", "-")] = (directives.flag if is_flag(action)
                                                else directives.unchanged)
    spec.update(caption=directives.unchanged, alt=directives.unchanged,
                width=directives.length_or_percentage_or_unitless)
    return spec


class ConvanimDirective(SphinxDirective):
    """``.. convanim:: KIND [NAME]`` with the figure command's options."""

    required_arguments = 1
    optional_arguments = 1
    has_content = False
    option_spec = _option_spec()

    def run(self) -> list[nodes.Node]:
        from .errors import BackendError, SpecError, ToolError, VerifyError

        try:
            path = self._draw()
        except (SpecError, ToolError, VerifyError, BackendError, OSError) as e:
            reason = f"{e.strerror}: {e.filename}" if isinstance(e, OSError) and e.strerror \
                else str(e)
            logger.warning("convanim: %s", reason, location=self.get_location(),
                           type="convanim")
            return []
        uri = "/" + Path(os.path.relpath(path, self.env.srcdir)).as_posix() + ".*"
        image = nodes.image(uri=uri, alt=self.options.get("alt", path.name))
        if "width" in self.options:
            image["width"] = self.options["width"]
        if "caption" not in self.options:
            return [image]
        figure = nodes.figure("", image)
        text, messages = self.state.inline_text(self.options["caption"], self.lineno)
        figure += nodes.caption(self.options["caption"], "", *text)
        return [figure, *messages]

    def _draw(self) -> Path:
        """Draw the GIF and the one-step PDF (or take them from the cache).

        Returns ``FOLDER/STEM``: ``STEM.gif`` and ``STEM.pdf`` both exist, and the
        image node's ``STEM.*`` lets each builder pick the type it supports. Both are
        drawn while reading because Sphinx reads a document once for all builders
        sharing a doctree folder (``make html latexpdf``).
        """
        from . import api, files
        from .figure import plan

        kind, name = self.arguments[0], (self.arguments[1] if len(self.arguments) > 1 else None)
        options = {k: v for k, v in self.config.convanim_defaults.items()
                   if k.replace("-", "_") not in _OWN}
        for key, value in self.options.items():
            if key in ("caption", "alt", "width"):
                continue
            options[key] = True if value is None else value  # a flag given
        folder = Path(self.env.app.doctreedir) / "convanim"
        step = options.pop("step", None)
        gif = api.figure_args(kind, name, **options, animation=True, out_dir=str(folder / "pages"),
                              gif_dir=str(folder))
        animation = plan(gif)
        last = animation.steps - 1
        one = api.figure_args(kind, name, **options, type="pdf", out_dir=str(folder / "step"),
                              step=last if step is None else step)
        single = plan(one)
        key = f"{animation.key()}{single.key()}"
        if name is None:  # options outside the default name (labels, seed...) must not collide
            name = f"{animation.name}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
        else:
            self._claim(name, key)
        gif.name = one.name = name
        api.make(gif)
        (pdf,) = api.make(one)
        files.place_all([(pdf, folder / f"{name}.pdf")])
        return folder / name

    def _claim(self, name: str, key: str) -> None:
        """Refuse a NAME that another directive of the project draws differently."""
        from .errors import SpecError

        names = getattr(self.env, "convanim_names", None)
        if names is None:
            names = self.env.convanim_names = {}
        other = names.get(name)
        if other is not None and other[0] != key:
            raise SpecError(f"NAME {name!r} is already drawn with other options at "
                            f"{other[1]}:{other[2]}")
        names[name] = (key, self.env.docname, self.lineno)


def _purge(app, env, docname) -> None:
    names = getattr(env, "convanim_names", {})
    for name in [n for n, (_, doc, _) in names.items() if doc == docname]:
        del names[name]


def _merge(app, env, docnames, other) -> None:
    names = getattr(env, "convanim_names", None)
    if names is None:
        names = env.convanim_names = {}
    names.update(getattr(other, "convanim_names", {}))


def setup(app):
    app.add_config_value("convanim_defaults", {}, "env", types=[dict])
    app.add_directive("convanim", ConvanimDirective)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
