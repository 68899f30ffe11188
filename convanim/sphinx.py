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
output is drawn. Files are drawn into the build's doctree folder, through the
figure cache, and Sphinx copies them to its image folder like any image. A figure
that cannot be drawn is a warning with the reason (an error under ``-W``).
"""
from __future__ import annotations

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
        uri = "/" + Path(os.path.relpath(path, self.env.srcdir)).as_posix()
        image = nodes.image(uri=uri, alt=self.options.get("alt", path.stem))
        if "width" in self.options:
            image["width"] = self.options["width"]
        if "caption" not in self.options:
            return [image]
        figure = nodes.figure("", image)
        text, messages = self.state.inline_text(self.options["caption"], self.lineno)
        figure += nodes.caption(self.options["caption"], "", *text)
        return [figure, *messages]

    def _draw(self) -> Path:
        """Render the figure (or take it from the cache); returns the file to show."""
        from . import api
        from .figure import plan

        kind, name = self.arguments[0], (self.arguments[1] if len(self.arguments) > 1 else None)
        options = dict(self.config.convanim_defaults)
        for key, value in self.options.items():
            if key in ("caption", "alt", "width"):
                continue
            options[key] = True if value is None else value  # a flag given
        latex = self.env.app.builder.format == "latex"
        folder = Path(self.env.app.doctreedir) / "convanim"
        options.update(out_dir=str(folder), gif_dir=str(folder))
        if latex:
            options["type"] = "pdf"
            if "step" not in options:
                options["step"] = plan(api.figure_args(kind, name, **options)).steps - 1
        else:
            options["animation"] = True
        written = api.make(api.figure_args(kind, name, **options))
        return next(p for p in written if p.suffix in (".pdf", ".gif") and
                    (latex or p.suffix == ".gif"))


def setup(app):
    app.add_config_value("convanim_defaults", {}, "env", types=[dict])
    app.add_directive("convanim", ConvanimDirective)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True}
