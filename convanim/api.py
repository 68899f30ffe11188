"""The Python API: ``convanim.render(kind, name=None, **options)`` and
``convanim.from_torch(layer, input=None, weights=False, **options)``.

Options are the figure command's, by their long names, with Python values: ints or
numpy integers, ``(h, w)`` pairs, strings as the command spells them (``"5x7"``),
booleans for flags, :class:`pathlib.Path` folders, and for ``input``/``kernel`` numpy
arrays, nested lists or torch tensors. They go straight into the
kind's typed options (:mod:`convanim.options`), so the names, defaults, checks and
messages are the command's because both are made from one declaration.
"""
from __future__ import annotations

import base64
from pathlib import Path

from .figure import figure, plan
from .engine import formats

#: What a notebook shows of the files written, the first found: an animation (GIF first),
#: else the frame.
_INLINE = (".gif", *(s for s in formats.SHOWN_SUFFIXES if s not in (".gif", ".png")), ".png")


class Figures(list):
    """The paths written, as a list; a notebook shows the animation (or the frame) inline."""

    def _first(self, *suffixes) -> Path | None:
        return next((p for p in self if p.suffix in suffixes and p.is_file()), None)

    def _repr_html_(self) -> str | None:
        """The animation inline, needing no file beside the notebook: an image or a video
        as a data URI, or the HTML player as an ``<iframe srcdoc>``. Notebook front ends
        insert output HTML without running its scripts (JupyterLab and the classic
        notebook for an output they do not trust, GitHub, innerHTML anywhere); a
        document of its own in an iframe still runs its script, and keeps the
        player's styles and keys to itself."""
        path = self._first(*_INLINE)
        if path is None:
            return None
        if path.suffix == ".html":
            import html

            from .engine.web import player_size

            page = path.read_text(encoding="utf-8")
            w, h = player_size(page)
            return (f'<iframe class="convanim" srcdoc="{html.escape(page, quote=True)}" '
                    f'title="{html.escape(path.stem)}" style="width: {w}px; max-width: 100%; '
                    f'height: {h}px; border: 0;"></iframe>')
        mime = formats.mime(path.suffix)
        data = base64.b64encode(path.read_bytes()).decode()
        if path.suffix in formats.VIDEO_SUFFIXES:
            return (f'<video src="data:{mime};base64,{data}" autoplay loop muted playsinline '
                    f'controls></video>')
        return f'<img src="data:{mime};base64,{data}" alt="{path.name}">'

    def _repr_png_(self) -> bytes | None:
        path = self._first(".png")
        return path.read_bytes() if path else None


def render(kind: str, name: str | None = None, **options) -> Figures:
    """Draw one figure with the command's options as Python values; returns the paths.

    ``convanim.render("arithmetic", input_size=5, stride=2, animation=True)`` writes
    ``out/….pdf`` and ``gif/….gif`` like ``python -m convanim arithmetic -i 5 -s 2 -a``.
    Bad options raise :class:`convanim.errors.SpecError` (a ValueError) with the
    command's message; a missing tool or TeX failure raises ``ToolError``, a figure
    that ``verify=True`` finds wrong raises ``VerifyError``, and a ``backend`` that
    cannot start here raises ``BackendError`` (one line: the versions found, the fix).
    """
    planned = plan(*figure(kind, name, **options))
    return Figures(planned.make(progress=planned.shows_progress()))


def from_torch(layer, input=None, weights: bool = False, name: str | None = None,
               ignore_bias: bool = False, **options) -> Figures:
    """Draw a PyTorch layer (``nn.Conv2d``, ``nn.ConvTranspose2d``, ``nn.MaxPool2d``,
    ``nn.AvgPool2d``) with its own hyper-parameters; ``weights=True`` shows its weights,
    ``input`` (a tensor or array) its input's values. Other options are
    :func:`render`'s. What a figure cannot show raises ``SpecError`` with the reason;
    without torch installed it raises ``ToolError`` saying how to install it."""
    from .layers import torch_options

    kind, values = torch_options(layer, input, weights, ignore_bias)
    return render(kind, name, **{**values, **options})
