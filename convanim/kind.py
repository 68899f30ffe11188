"""A figure kind: one object that owns its options, template, checks, limits, scene and data.

A new kind is one module with a subclass of :class:`Kind` and its registration in
:mod:`convanim.kinds` (or ``convanim.kinds.register(MyKind())`` at run time); the
command line, ``build``, the Sphinx directive and the Python API then offer it with
its options, because they are all generated from the kind's declaration.
"""
from __future__ import annotations

from .errors import SpecError
from .options import FigureOptions
from .spec import ConvSpec


def format_torch(v) -> str:
    """A size as PyTorch takes it: 3, (3, 2) or, of a volume, (1, 3, 3)."""
    return str(v[0]) if len(set(v)) == 1 else f"({', '.join(map(str, v))})"


def torch_pad(spec: ConvSpec, fill: str | None = None) -> str:
    """``F.pad(x, (left, right, top, bottom), mode=...)`` (a volume's six values, last axis
    first, ``front, back`` at the end): the input padded as the spec says, for a module
    that cannot (one-sided padding, or pooling with a padding mode)."""
    pads = spec.padding.f_pad if spec.is_volume else (spec.padding[2], spec.padding[3],
                                                      spec.padding[0], spec.padding[1])
    mode = spec.padding_mode
    how = (f", mode='{mode}'" if mode != "zeros" else
           f", value={fill}" if fill is not None else "")
    return f"F.pad(x, ({', '.join(map(str, pads))}){how})"


def torch_conv(spec: ConvSpec, cin: int, cout: int, extra: str = "") -> str:
    """Conv2d / ConvTranspose2d (Conv3d / ConvTranspose3d of a volume) with the spec's
    padding: the module's own where it has one (``padding=p``, ``padding_mode=...``), else
    ``F.pad`` first (or, transposed, the output cropped by each side's padding)."""
    k, s, d = (format_torch(v) for v in (spec.kernel_size, spec.stride, spec.dilation))
    dil = f", dilation={d}" if d != "1" else ""
    nd = "3d" if spec.is_volume else "2d"
    pad = format_torch(spec.padding.triple if spec.is_volume else spec.padding.pair)
    if spec.transposed:
        a = format_torch(spec.output_padding)
        if spec.padding.symmetric:
            return (f"torch.nn.ConvTranspose{nd}({cin}, {cout}, kernel_size={k}, stride={s}, "
                    f"padding={pad}, output_padding={a}{extra}{dil})")
        crop = ", ".join(f"{lo}:{-hi}" if hi else f"{lo}:" for lo, hi in spec.padding.axes)
        return (f"torch.nn.ConvTranspose{nd}({cin}, {cout}, kernel_size={k}, stride={s}, "
                f"padding=0, output_padding={a}{extra}{dil})(x)[..., {crop}]")
    if spec.padding.symmetric:
        mode = (f", padding_mode='{spec.padding_mode}'" if spec.padding_mode != "zeros" else "")
        return (f"torch.nn.Conv{nd}({cin}, {cout}, kernel_size={k}, stride={s}, "
                f"padding={pad}{mode}{extra}{dil})")
    return (f"torch.nn.Conv{nd}({cin}, {cout}, kernel_size={k}, stride={s}{extra}{dil})"
            f"({torch_pad(spec)})")


class Kind:
    """What every figure kind provides; override what differs from a plain conv figure."""

    #: The command's name: ``python -m convanim NAME``.
    name: str = ""
    #: One line for the command's help.
    summary: str = ""
    #: Its options: a frozen dataclass over :class:`FigureOptions`.
    Options: type = FigureOptions
    #: The Jinja LaTeX template (convanim/templates/) that draws its scene, or its text in
    #: ``template_source`` for a kind defined outside the package.
    template: str = ""
    template_source: str | None = None
    #: Whether it draws a volume (a 3-D conv, ``-i DxHxW``); the others refuse one in a
    #: line (:func:`convanim.spec.volume_refusal`).
    draws_volumes: bool = False

    def template_for(self, options) -> str:
        """The template drawing these options' figure (one per kind unless it says otherwise)."""
        return self.template

    def options(self, name: str | None = None, **values) -> FigureOptions:
        """Options from Python values under any of their names (``input_size``,
        ``input-size``, ``format`` for ``type``); an unknown name is refused, so a typo
        never silently draws the default."""
        if name is not None and not isinstance(name, str):
            raise SpecError(f"NAME must be a string, got {name!r}")
        known = self.Options.by_name()
        given = {}
        for key, value in values.items():
            opt = known.get(key.replace("-", "_")) if isinstance(key, str) else None
            if opt is None or opt.name == "name":
                raise SpecError(f"unknown option {key!r} for {self.name} figures (known: "
                                f"{', '.join(sorted(self.keys()))})")
            given[opt.name] = value
        return self.Options(name=name, **given)

    def keys(self) -> list[str]:
        """Every name its options answer to in config files, dashed (``input-size``)."""
        return [n.replace("_", "-") for n, o in self.Options.by_name().items()
                if o.name != "name"]

    # --- planning -------------------------------------------------------------------------
    def check(self, spec: ConvSpec, options) -> None:
        """Raise :class:`SpecError` for what this kind cannot show (beyond the spec)."""

    def limits(self, spec: ConvSpec, options) -> str | None:
        """Why the figure is too large to draw, or None; checked before :meth:`check`."""
        return None

    def lowered(self, spec: ConvSpec, options):
        """The direct convolution the figure animates: one step per output cell."""
        return spec.lowered()

    def name_parts(self, options) -> list[str]:
        """What the default output name adds after the kind (``max``, ``loss``)."""
        return []

    # --- what is drawn and reported -------------------------------------------------------
    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        """The template's data for these steps: plain, JSON-serialisable."""
        raise NotImplementedError

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        """``--json``'s figure data beyond the fields every figure shares."""
        return {}

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        """Every number the figure shows, recomputed on ``backend`` (``--verify``)."""
        raise SpecError(f"{self.name} figures have no numbers to verify")

    def require_checks(self, prefix: str = "") -> None:
        """Refuse, before any work, a verify of a kind that shows no numbers."""
        if type(self).checks is Kind.checks:
            raise SpecError(f"{prefix}{self.name} figures have no numbers to verify")

    def step_caption(self, frame: dict, scene: dict) -> str:
        """What the HTML player adds to "Step n of 0–N: output cell (y, x)" (not the
        arithmetic the figure draws: that is :meth:`step_arithmetic`)."""
        return ""

    def step_arithmetic(self, frame: dict, scene: dict) -> str:
        """The arithmetic a step draws, in words: the player's text alternative of the
        frame (screen readers), never its visible caption, which would repeat the figure."""
        return ""

    def report(self, scene: dict) -> list[str]:
        """Lines a figure command prints on stderr before drawing (none by default)."""
        return []

    def conv_spec(self, options) -> ConvSpec | None:
        """The spec of a kind whose options are not one conv's (None: from -i -k -s -p -d)."""
        return None

    def parameters(self, options) -> str | None:
        """The index page's parameters of a kind that is not one conv (None: i k s p d)."""
        return None

    def describe(self, options) -> list[str]:
        """What the index page adds to the figure's parameters (``max pooling``)."""
        return []

    def has_words(self, options) -> bool:
        """Whether the figure sets any text: one without can shrink to any width, its
        cells having no text to stay legible beside (``-y tex``)."""
        return True

    def torch_call(self, spec: ConvSpec, options) -> str:
        """The PyTorch module computing what the figure shows, with its channel counts
        where the options have them (one channel otherwise)."""
        c, dd = getattr(options, "in_channels", 1), getattr(options, "out_channels", 1)
        g = getattr(options, "groups", 1)
        grp = f", groups={g}" if g != 1 else ""
        return torch_conv(spec, dd, c, grp) if spec.transposed else torch_conv(spec, c, dd, grp)
