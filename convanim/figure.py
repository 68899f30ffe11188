"""A figure request, validated and planned: what to draw, which frames, which files.

:func:`plan` does every check before anything is written; :meth:`Figure.make`
renders and places the files. The benchmark and the tests use the same plan to
get the exact TeX a command would compile.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from . import files
from .spec import ConvSpec, SpecError, format_pair

#: Frames one animation may have; beyond it TeX runs for minutes and the GIF is unwatchable.
MAX_FRAMES = 256
MAX_NAME = 200
#: Characters of --caption: about 15 wrapped lines under the widest figures; beyond it
#: the caption outgrows the figure it describes.
MAX_CAPTION = 1000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
#: Options that change where or whether files are written, never what a figure shows.
_NOT_IN_PICTURE = {"name", "config", "out_dir", "gif_dir", "json", "no_cache", "quiet",
                   "func", "module", "type", "quality", "quality_animation", "delay",
                   "verify", "backend"}


def spec_from_args(args) -> ConvSpec:
    spec = ConvSpec(input_size=args.input_size, kernel_size=args.kernel_size,
                    stride=args.stride, padding=args.padding, dilation=args.dilation,
                    transposed=args.transposed, output_padding_given=args.output_padding)
    return spec.validate(expected_output=args.output_size)


def default_name(kind: str, spec: ConvSpec, extra: list[str]) -> str:
    parts = [kind, *extra] + (["transposed"] if spec.transposed else [])
    parts += [f"{flag}{format_pair(v)}" for flag, v in zip("ikspd", spec.args)]
    if spec.output_padding_given is not None:
        parts.append(f"a{format_pair(spec.output_padding_given)}")
    return "_".join(parts)


@dataclass
class Figure:
    args: object
    module: object
    spec: ConvSpec
    steps: int                  # steps of the whole operation
    frames: list[int]           # the steps drawn
    name: str
    _scene: dict | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        return self.args.kind

    def scene(self) -> dict:
        if self._scene is None:
            self._scene = self.module.scene(self.spec, self.frames, self.args)
        return self._scene

    def with_all_steps(self) -> "Figure":
        """The same figure over every step of its operation (for checks)."""
        return Figure(self.args, self.module, self.spec, self.steps, list(range(self.steps)),
                      self.name)

    def tex(self) -> str:
        from . import tex

        return tex.render(self.module.TEMPLATE, scene=self.scene(), style=self.style())

    def style(self) -> dict:
        """How the figure looks, apart from what it shows: --theme, --transparent, --width."""
        from .theme import palette

        return {"colors": palette(getattr(self.args, "theme", "light")),
                "transparent": getattr(self.args, "transparent", False),
                "width": getattr(self.args, "width", None)}

    def data(self) -> dict:
        """The ``--json`` figure data, from the same scene the template draws."""
        from .scenes import figure_data

        return {**figure_data(self.kind, self.spec, self.steps),
                **self.module.data(self.spec, self.scene(), self.args)}

    def params(self) -> dict:
        """Everything that decides the picture, for the cache key."""
        params = {k: v for k, v in vars(self.args).items() if k not in _NOT_IN_PICTURE}
        params["frames"] = self.frames
        return params

    def products(self):
        from .pipeline import ANIMATIONS, Product

        out, gif = Path(self.args.out_dir), Path(self.args.gif_dir)
        if self.args.animation:
            kind, suffix = ANIMATIONS[output_format(self.args)]
            return [Product("pdf", out / f"{self.name}.pdf"),
                    Product(kind, gif / f"{self.name}{suffix}")]
        kind = output_format(self.args)
        return [Product(kind, out / f"{self.name}_{self.frames[0]:02d}.{kind}")]

    def json_path(self) -> Path | None:
        return Path(self.args.out_dir) / f"{self.name}.json" if self.args.json else None

    def captions(self) -> list[str]:
        """The HTML player's line per frame: the step, its output cell (and arithmetic)."""
        from .web import step_captions

        return step_captions(self.kind, self.scene(), self.steps)

    def settings(self):
        from . import pipeline

        style = self.style()
        return pipeline.Settings(dpi=self.args.quality, gif_dpi=self.args.quality_animation,
                               delay_ms=self.args.delay, transparent=style["transparent"],
                               background=style["colors"]["background"])

    def key(self) -> str:
        """The content key :meth:`make` caches under: equal keys, equal files."""
        from . import pipeline

        return pipeline.product_key(self.params(), self.products(), self.settings())

    def outputs(self) -> list[Path]:
        """Every path :meth:`make` writes, in its order."""
        return [p.dest for p in self.products()] + ([self.json_path()] if self.args.json else [])

    def make(self, cache=None, progress: bool = False) -> list[Path]:
        """Render and place every file (all or none); returns their paths.

        First, before any TeX runs, a destination that must not be replaced (a folder,
        a device, a path through a file) raises :class:`SpecError`; here rather than in
        :func:`plan` so that one such figure of a ``build`` does not stop the others.
        """
        from . import pipeline

        for dest in self.outputs():
            files.target(dest)
        settings = self.settings()
        extra = {}
        if self.args.json:
            extra[self.json_path()] = (json.dumps(self.data(), indent=1) + "\n").encode()
        return pipeline.render(self.tex, len(self.frames), self.products(), settings,
                             params=self.params(), cache=cache, progress=progress, extra=extra,
                             captions=self.captions)


#: ``-y`` of a single step, and of an animation (``-a``); the first of each is the default.
SINGLE_FORMATS = ("png", "pdf", "svg")
ANIMATION_FORMATS = ("gif", "webp", "apng", "mp4", "webm", "html", "svg")
FORMATS = ("pdf", "png", "svg", "gif", "webp", "apng", "mp4", "webm", "html")


def output_format(args) -> str:
    """The file type a command writes: ``-y``, or png for a step and gif for ``-a``.

    With ``-a``, ``-y png`` and ``-y pdf`` keep their old meaning (the GIF; the PDF
    of every page is always written), so commands written before ``-y`` named
    animation formats still draw what they drew.
    """
    given = getattr(args, "type", None)
    if not args.animation:
        return given or "png"
    return "gif" if given in (None, "png", "pdf") else given


def plan(args) -> Figure:
    """Validate a parsed figure command; raises :class:`SpecError` with the reason."""
    module = args.module
    spec = spec_from_args(args)
    reason = module.limits(spec, args)  # first: the kind's checks may build index maps
    if reason:
        raise SpecError(reason)
    module.check(spec, args)
    low = module.lowered(spec, args)
    if min(low.rows.pad_lo, low.cols.pad_lo, low.rows.pad_hi, low.cols.pad_hi) < 0:
        raise SpecError(
            f"cannot draw: with padding {format_pair(spec.padding)} greater than d(k-1) the "
            f"transposed conv crops its zero-inserted operand; figures need padding <= d(k-1)")
    steps = low.steps
    if args.animation:
        if steps > MAX_FRAMES:
            raise SpecError(f"animation too long: {steps} steps; at most {MAX_FRAMES} frames "
                            f"(draw single steps with -e instead)")
        frames = list(range(steps))
        if args.step is not None:
            raise SpecError("-e/--step draws one step and -a/--animation all of them: "
                            "give only one")
    else:
        step = 0 if args.step is None else args.step
        if not 0 <= step < steps:
            raise SpecError(f"step {step} out of range: this figure has {steps} steps "
                            f"(0 to {steps - 1})")
        frames = [step]
    fmt = output_format(args)
    if not args.animation and fmt not in SINGLE_FORMATS:
        raise SpecError(f"-y {fmt} is an animation format: add -a (a single step is "
                        f"{', '.join(SINGLE_FORMATS)})")
    if fmt in ("mp4", "webm") and getattr(args, "transparent", False):
        raise SpecError(f"--transparent: {fmt} video has no alpha channel; use webp, apng, "
                        f"html or svg")
    name = args.name or default_name(args.kind, spec, module.name_parts(args))
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise SpecError(f"NAME must be at most {MAX_NAME} letters, digits and . _ + - "
                        f"(no path), got {name[:40]!r}{'...' if len(name) > 40 else ''}")
    if len(args.caption) > MAX_CAPTION:
        raise SpecError(f"--caption is {len(args.caption)} characters long; at most "
                        f"{MAX_CAPTION} (it is wrapped to the figure's width)")
    bad = sorted({ch for ch in args.caption if not " " <= ch <= "~"})
    if bad:
        raise SpecError(f"--caption must be printable ASCII (the TeX fonts used have no "
                        f"{''.join(bad)!r})")
    return Figure(args=args, module=module, spec=spec, steps=steps, frames=frames, name=name)
