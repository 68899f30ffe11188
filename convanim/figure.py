"""A figure request, validated and planned: what to draw, which frames, which files.

``figure(kind, name, **values)`` turns Python values into a kind's typed options;
:func:`plan` does every check before anything is written; :meth:`Figure.make`
verifies (if asked), renders and places the files. Every front end goes through
these three, and the benchmark and the tests use the same plan to get the exact
TeX a command would compile.
"""
from __future__ import annotations

import dataclasses
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import files, kinds
from .errors import VerifyError
from .kind import Kind
from .layout import fit
from .options import ANIMATION_FORMATS, COLUMNS, FORMATS, SINGLE_FORMATS, FigureOptions
from .engine.formats import SOURCE_WORDS, VIDEO_WORDS, listed
from .spec import ConvSpec, SpecError, format_pair, volume_given, volume_refusal

#: Frames one animation may have; beyond it TeX runs for minutes and the GIF is unwatchable.
MAX_FRAMES = 256
MAX_NAME = 200
#: Characters of --caption: about 15 wrapped lines under the widest figures; beyond it
#: the caption outgrows the figure it describes.
MAX_CAPTION = 1000
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")


def spec_of(options: FigureOptions) -> ConvSpec:
    """The conv the options give (:meth:`ConvSpec.from_options`)."""
    return ConvSpec.from_options(options)


def default_name(kind: str, spec: ConvSpec, extra: list[str]) -> str:
    parts = [kind, *extra] + (["transposed"] if spec.transposed else [])
    # a volume's sizes in full (i3x3x3), so its names never meet a 2-D figure's (i3)
    spell = (lambda v: "x".join(map(str, v)) if len(v) == 3 else format_pair(v))
    parts += [f"{flag}{spell(v).replace(',', '-')}" for flag, v in zip("ikspd", spec.args)]
    if spec.padding_mode != "zeros":
        parts.append(spec.padding_mode)
    if spec.output_padding_given is not None:
        parts.append(f"a{spell(spec.output_padding_given)}")
    return "_".join(parts)


@dataclass
class Figure:
    kind: Kind
    options: FigureOptions
    spec: ConvSpec
    steps: int                  # steps of the whole operation
    frames: list[int]           # the steps drawn
    name: str
    _scene: dict | None = field(default=None, repr=False)

    def scene(self) -> dict:
        if self._scene is None:
            self._scene = self.kind.scene(self.spec, self.frames, self.options)
        return self._scene

    def with_all_steps(self) -> "Figure":
        """The same figure over every step of its operation (for checks)."""
        return Figure(self.kind, self.options, self.spec, self.steps, list(range(self.steps)),
                      self.name)

    def tex(self) -> str:
        from . import tex

        return tex.render(self.kind.template_for(self.options), self.kind.template_source, scene=self.scene(),
                          style=self.style())

    def source(self) -> str:
        """The ``-y tex`` figure: its TikZ source, every frame, drawn by the same templates in
        their portable mode (base.tex.j2) for a document that uses convanim.sty."""
        from . import tex

        return tex.render(self.kind.template_for(self.options), self.kind.template_source,
                          scene=self.scene(), style={**self.style(), "portable": self.portable()})

    def portable(self) -> dict:
        """What the source's \\cvbegin says: the figure's name and steps, the width it is
        drawn for (TeX's, for columnwidth and textwidth), its smallest unit (text no larger
        beside its cells than 5 pt text in the PDF; none for a figure without text), frame
        rate, theme and background."""
        from .layout import MIN_TEXT_PT, smallest_text
        from .tex import real

        o, width = self.options, self.options.width
        if isinstance(width, str):
            tex_width, shown = "\\" + width, f"the document's \\{width}"
        elif self.width:
            tex_width, shown = f"{real(float(self.width))}cm", f"{self.width:g} cm"
        else:
            tex_width, shown = "", "its natural size"
        steps = len(self.frames)
        article = "an" if self.kind.name[0] in "aeiou" else "a"
        what = f"{article} {self.kind.name} figure" + (f", {steps} steps" if steps > 1 else
                                                f", step {self.frames[0]}")
        return {"name": self.name, "what": what, "shown": shown, "width": tex_width,
                "steps": steps, "fps": real(1000 / o.delay), "theme": o.theme,
                "min_scale": real(round(MIN_TEXT_PT / smallest_text(self.kind.name), 4)
                                  if self.kind.has_words(o) else 0),
                "background": int(o.theme != "print" and not o.transparent)}

    def style(self) -> dict:
        """How the figure looks, apart from what it shows: --theme, --transparent, --width."""
        from .shading import colours
        from .theme import palette

        o = self.options  # the diverging fill's colours too (--fill value)
        return {"colors": {**palette(o.theme), **colours(o.theme)}, "transparent": o.transparent,
                "width": self.width, "fit": fit(self.kind.name, self.width)}

    @property
    def width(self) -> float | None:
        """The page width asked, in cm: --width, or --column's (the layout's for a width
        read at TeX time, columnwidth or textwidth)."""
        return self.options.width_cm()

    def data(self) -> dict:
        """The ``--json`` figure data, from the same scene the template draws."""
        from .scenes import figure_data

        return {**figure_data(self.kind.name, self.spec, self.steps),
                **self.kind.data(self.spec, self.scene(), self.options)}

    def params(self) -> dict:
        """Everything that decides the picture, for the cache key (the package's own
        templates and code are in it already; a kind's own template text is added).

        The padding is the spec's, resolved: ``-p 1``, ``--padding-sides 1,1,1,1`` and
        ``-p same`` of a 3x3 kernel are one picture (a kind with its own spec, a stack,
        pads each layer from the options, so it keeps them)."""
        params = {"kind": self.kind.name, **self.options.picture(), "frames": self.frames}
        if self.kind.conv_spec(self.options) is None:
            for name in ("padding_sides", "causal"):
                params.pop(name)
            params["padding"] = list(self.spec.padding)
        if self.kind.template_source is not None:
            import hashlib

            params["template"] = hashlib.sha256(self.kind.template_source.encode()).hexdigest()
        return params

    def products(self):
        from .engine import Product, formats

        run = self.options.render_settings()
        out, gif = Path(run.out_dir), Path(run.gif_dir)
        fmt = formats.of_word(output_format(self.options), self.options.animation)
        if fmt.source == "source":
            return [Product(fmt.kind, out / f"{self.name}{fmt.suffix}")]
        if self.options.animation:
            return [Product("pdf", out / f"{self.name}.pdf"),
                    Product(fmt.kind, gif / f"{self.name}{fmt.suffix}")]
        return [Product(fmt.kind, out / f"{self.name}_{self.frames[0]:02d}{fmt.suffix}")]

    def json_path(self) -> Path | None:
        out = self.options.render_settings().out_dir
        return Path(out) / f"{self.name}.json" if self.options.json else None

    def captions(self) -> list[tuple[str, str]]:
        """The HTML player's line per frame and its frame's text alternative.

        The line: the step, numbered as ``-e`` numbers it (from 0), and its output cell;
        not the arithmetic, which the figure draws. The alternative (what a screen reader
        says for the picture) adds that arithmetic in words."""
        out = []
        for frame in self.scene()["frames"]:
            cell = ", ".join(map(str, frame["out"]))  # (y, x), or (z, y, x) of a volume
            what = "output slice" if frame.get("slice") else "output cell"
            line = (f"{step_words(frame['step'], self.steps)}: {what} ({cell})"
                    + self.kind.step_caption(frame, self.scene()))
            drawn = self.kind.step_arithmetic(frame, self.scene())
            out.append((line, f"{line}: {drawn}" if drawn else line))
        return out

    def settings(self):
        from .engine import Settings

        style, run = self.style(), self.options.render_settings()
        return Settings(dpi=run.quality, gif_dpi=run.quality_animation, delay_ms=run.delay,
                        transparent=style["transparent"],
                        background=style["colors"]["background"])

    def key(self) -> str:
        """The content key :meth:`make` caches under: equal keys, equal files."""
        from .engine import product_key

        return product_key(self.params(), self.products(), self.settings())

    def outputs(self) -> list[Path]:
        """Every path :meth:`make` writes, in its order."""
        return [p.dest for p in self.products()] + ([self.json_path()] if self.options.json
                                                    else []) + [p for p in [self.package_path()] if p]

    def package_path(self) -> Path | None:
        """Where ``-y tex`` writes convanim.sty: --tex-package, else beside the figure."""
        if output_format(self.options) not in SOURCE_WORDS:
            return None
        run = self.options.render_settings()
        return Path(run.tex_package or run.out_dir) / "convanim.sty"

    def shows_progress(self) -> bool:
        """A progress bar for an animation, unless --quiet or stderr is not a terminal (a
        log, a CI runner, a notebook), where a bar's redraws are only noise."""
        return (self.options.animation and not self.options.render_settings().quiet
                and sys.stderr.isatty())

    def checks(self, backends: list[str]) -> list:
        """The verify checks of every step of the figure, on each backend."""
        everything = self.with_all_steps()
        data, scene = everything.data(), everything.scene()
        return [c for backend in backends for c in self.kind.checks(data, backend, scene)]

    def make(self, cache: bool = True, progress: bool = False, cancel=None) -> list[Path]:
        """Verify (``--verify``), render and place every file (all or none); returns their
        paths. ``cache=False`` or ``--no-cache`` neither reads nor writes the cache;
        ``cancel`` (a :class:`engine.Cancel`) lets another thread stop it.

        First, before any TeX runs, a destination that must not be replaced (a folder,
        a device, a path through a file) raises :class:`SpecError`; here rather than in
        :func:`plan` so that one such figure of a ``build`` does not stop the others.
        """
        from .cache import Cache
        from .engine import TooManyPixels, render

        run = self.options.render_settings()
        for dest in self.outputs():
            files.target(dest)
        if run.verify:
            from .verify import format_checks

            checks = self.checks([run.backend])
            if not all(c.passed for c in checks):
                sys.stderr.write(format_checks(checks))
                raise VerifyError("the figure's numbers differ from the backend's; "
                                  "nothing written")
        extra = {}
        if self.options.json:
            extra[self.json_path()] = (json.dumps(self.data(), indent=1) + "\n").encode()
        use_cache = cache and not run.no_cache
        natural: list[float] = []
        try:
            paths = render(self.tex, len(self.frames), self.products(), self.settings(),
                           params=self.params(), cache=Cache() if use_cache else None,
                           progress=progress, extra=extra, captions=self.captions,
                           cancel=cancel, natural=natural, source=self.source)
        except TooManyPixels as e:
            raise SpecError(too_many_pixels(e)) from None
        package = self.package_path()
        if package is not None:
            from .tex import package as sty

            paths.append(package)
            text = sty().encode()
            if not (package.is_file() and package.read_bytes() == text):  # once, as it is
                files.place_all([(text, package)])
        if self.width and len(natural) == 2 and package is None:
            from .layout import warning

            line = warning(self.kind.name, tuple(natural), self.width)
            if line:
                sys.stderr.write(line + "\n")
        return paths


def step_words(step: int, steps: int) -> str:
    """A step as the player's caption names it: numbered as ``-e`` numbers it, from 0."""
    return f"Step {step} of 0\u2013{steps - 1}" if steps > 1 else f"Step {step}"


def too_many_pixels(e) -> str:
    """A render's pixel budget exceeded, with the options that lower it."""
    if e.product == "png":
        return (f"PNG too large: {e.w}x{e.h} px at -q {e.dpi} exceeds {e.limit_mpx} Mpx; "
                f"lower -q, or use -y pdf or svg")
    return (f"GIF too large: {e.pages} frames of {e.w}x{e.h} px at -qa {e.dpi} exceed "
            f"{e.limit_mpx} Mpx; lower -qa or draw fewer steps")


def output_format(options: FigureOptions) -> str:
    """The file type a command writes: ``-y``, or png for a step and gif for ``-a``.

    With ``-a``, ``-y png`` and ``-y pdf`` keep their old meaning (the GIF; the PDF
    of every page is always written), so commands written before ``-y`` named
    animation formats still draw what they drew.
    """
    given = options.type
    if not options.animation:
        return given or "png"
    return "gif" if given in (None, "png", "pdf") else given


#: Suffixes convanim writes: a NAME ending in one is a file name given for a base name.
_SUFFIXES = (*FORMATS, "json", "jpg", "jpeg", "tex")


def first_time_mistakes(name: str) -> None:
    """Refuse the NAMEs a first command gets wrong, with the command meant: a number
    (``-i 5 7`` takes 7 as NAME) or a file name (``fig.gif``: NAME is a base name)."""
    if re.fullmatch(r"\d+(x\d+)?", name):
        raise SpecError(f"NAME {name!r} looks like a size: a size is one argument, N or HxW "
                        f"(-i 5x7, not -i 5 7); to name the outputs so, start with a "
                        f"letter (fig{name})")
    stem, dot, suffix = name.rpartition(".")
    if dot and stem and suffix.lower() in _SUFFIXES:
        fmt = suffix.lower()
        animation = fmt not in SINGLE_FORMATS and fmt in ANIMATION_FORMATS
        how = (f"-a -y {fmt}" if animation else f"-y {fmt}" if fmt in FORMATS
               else "-y for the format")
        raise SpecError(f"NAME {name!r} has a file extension: NAME is the outputs' base "
                        f"name; give {stem} {how}")


def figure(kind: str | Kind, name: str | None = None, **values) -> tuple[Kind, FigureOptions]:
    """A kind and its typed options from Python values; raises :class:`SpecError`."""
    if not isinstance(kind, Kind):
        kind = kinds.get(kind)
    return kind, kind.options(name, **values)


def renamed(figure_: Figure, name: str) -> Figure:
    """The same planned figure under another output name."""
    return dataclasses.replace(figure_, options=dataclasses.replace(figure_.options, name=name),
                               name=name, _scene=None)


def plan(kind: Kind, options: FigureOptions) -> Figure:
    """Validate a figure request; raises :class:`SpecError` with the reason."""
    volume = volume_given(options)
    if volume and not kind.draws_volumes:
        raise volume_refusal(volume, kind.name)
    spec = kind.conv_spec(options) or spec_of(options)
    reason = kind.limits(spec, options)  # first: the kind's checks may build index maps
    if reason:
        raise SpecError(reason)
    kind.check(spec, options)
    low = kind.lowered(spec, options)
    if min(min(a.pad_lo, a.pad_hi) for a in low.axes) < 0:
        raise SpecError(
            f"cannot draw: with padding {format_pair(spec.padding)} greater than d(k-1) the "
            f"transposed conv crops its zero-inserted operand; figures need padding <= d(k-1)")
    steps = low.steps
    if options.animation:
        if steps > MAX_FRAMES:
            raise SpecError(f"animation too long: {steps} steps; at most {MAX_FRAMES} frames "
                            f"(draw single steps with -e instead)")
        frames = list(range(steps))
        if options.step is not None:
            raise SpecError("-e/--step draws one step and -a/--animation all of them: "
                            "give only one")
    else:
        step = 0 if options.step is None else options.step
        if not 0 <= step < steps:
            raise SpecError(f"step {step} out of range: this figure has {steps} steps "
                            f"(0 to {steps - 1})")
        frames = [step]
    fmt = output_format(options)
    if not options.animation and fmt not in SINGLE_FORMATS:
        raise SpecError(f"-y {fmt} is an animation format: add -a (a single step is "
                        f"{', '.join(SINGLE_FORMATS)})")
    if fmt == "gif" and options.animation and (options.delay % 10 or options.delay < 20):
        raise SpecError(f"--delay {options.delay}: a GIF stores delays in hundredths of a "
                        f"second and browsers play less than 20 ms as 100 ms; give a multiple "
                        f"of 10 from 20 (other formats take any delay)")
    if fmt in VIDEO_WORDS and options.transparent:
        alpha = [w for w in ANIMATION_FORMATS if w not in VIDEO_WORDS and w != "gif"]
        raise SpecError(f"--transparent: {fmt} video has no alpha channel; use "
                        f"{listed(alpha)}")
    name = options.name or default_name(kind.name, spec, kind.name_parts(options))
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise SpecError(f"NAME must be at most {MAX_NAME} letters, digits and . _ + - "
                        f"(no path), got {name[:40]!r}{'...' if len(name) > 40 else ''}")
    if options.name:
        first_time_mistakes(options.name)
    if isinstance(options.width, str) and fmt not in SOURCE_WORDS:
        raise SpecError(f"--width {options.width} is read when LaTeX runs: only with -y tex; "
                        f"give centimetres (or --column narrow or wide)")
    if options.tex_package is not None and fmt not in SOURCE_WORDS:
        raise SpecError("--tex-package is where -y tex writes convanim.sty: give -y tex")
    if isinstance(options.width, str) and options.column:
        raise SpecError(f"--width {options.width} and --column {options.column}: give one "
                        f"of them")
    if options.width and options.column and options.width != COLUMNS[options.column]:
        raise SpecError(f"--width {options.width:g} and --column {options.column} "
                        f"({COLUMNS[options.column]:g} cm) disagree; give one of them")
    if len(options.caption) > MAX_CAPTION:
        raise SpecError(f"--caption is {len(options.caption)} characters long; at most "
                        f"{MAX_CAPTION} (it is wrapped to the figure's width)")
    bad = sorted({ch for ch in options.caption if not " " <= ch <= "~"})
    if bad:
        raise SpecError(f"--caption must be printable ASCII (the TeX fonts used have no "
                        f"{''.join(bad)!r})")
    if options.verify:
        kind.require_checks("--verify: ")
    return Figure(kind=kind, options=options, spec=spec, steps=steps, frames=frames, name=name)


#: Figure data fields that are options of the figure (the rest is what it computed).
_DATA_OPTIONS = ("input_size", "kernel_size", "stride", "padding_sides", "padding_mode",
                 "dilation", "transposed")
#: Entries of these matrices are a cell ``[y, x]`` or null.
_CELL_MATRICES = ("matrix", "im2col")
#: The numbers a figure shows, which verify recomputes.
_VALUES = ("input", "kernel", "output", "partial_sums")


def from_data(kind: Kind, data) -> Figure:
    """The figure that figure data (``--json``) says it is, planned with every check and
    limit of its options, so a file is never trusted further than a command would be.

    Raises :class:`SpecError` for data no such figure could have written: a field of
    the wrong type or shape, sizes past the limits, a count that does not match.
    """
    if not isinstance(data, dict):
        raise SpecError(f"not {kind.name} figure data: a JSON object is expected, got "
                        f"{type(data).__name__}")
    values = {k: data[k] for k in _DATA_OPTIONS if k in data}
    if "padding_sides" not in data and "padding" in data:  # data written before sides
        values["padding"] = data["padding"]
    if data.get("transposed") is True and "output_padding" in data:
        values["output_padding"] = data["output_padding"]
    shared = {o.name for o in FigureOptions.options()}
    # the numbers (input, kernel: options too) are not options here: their shapes are
    # checked against the figure's below, with messages that say where they differ
    values.update({o.name: data[o.name] for o in kind.Options.options()
                   if o.name not in shared and o.name in data and o.name not in _VALUES})
    figure_ = plan(kind, kind.options(None, type="pdf", **values))
    expected = figure_.with_all_steps().data()
    for key, want in expected.items():
        if key not in data:
            raise SpecError(f"not {kind.name} figure data: no {key!r}")
        if key in _CELL_MATRICES or key in _VALUES:  # what is checked: its shape only
            _same_shape(key, data[key], want, key in _CELL_MATRICES)
        elif data[key] != want:
            raise SpecError(f"not {kind.name} figure data: {key} is {str(data[key])[:40]}, "
                            f"but its options give {want}")
    return figure_


def _same_shape(where: str, got, want, cells: bool) -> None:
    """``got`` has ``want``'s structure: the same nesting and lengths, numbers where it
    has numbers, and in a cell matrix a null or two non-negative integers per entry."""
    def bad(what):
        raise SpecError(f"not figure data: {where} {what}")

    def number(v):  # one a float32 holds: what the backends compute in
        return isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 3e38

    if cells and (want is None or (isinstance(want, list) and len(want) == 2
                                   and all(isinstance(v, int) for v in want))):
        if got is not None and not (isinstance(got, list) and len(got) == 2 and all(
                isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in got)):
            bad(f"should be null or a cell [y, x], got {str(got)[:40]}")
        return
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            bad(f"should be a list of {len(want)}, got {str(got)[:40]}")
        for i, (g, w) in enumerate(zip(got, want)):
            _same_shape(f"{where}[{i}]", g, w, cells)
    elif want is None:
        if got is not None:
            bad(f"should be null, got {str(got)[:40]}")
    elif not number(got):
        bad(f"should be a number (within float32), got {str(got)[:40]}")
