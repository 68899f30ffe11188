"""What the user asked for: sizes per axis, parsed and validated with PyTorch's rules.

A :class:`ConvSpec` always describes the *forward* conv (the seed's semantics);
``transposed`` says the figure shows that conv's transposed conv instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import geometry
from .errors import SpecError
from .geometry import Pair, Sides, Sides3, sides_of


#: ASCII digits only (``re.ASCII``): ``٥`` or ``5×7`` are refused, not silently read.
_SIZE = re.compile(r"\s*(-?[0-9]+)\s*(?:[xX]\s*(-?[0-9]+)\s*)?", re.ASCII)
#: A volume's size ``DxHxW`` (``stats`` counts it; figures refuse it in one line).
_SIZE3 = re.compile(r"\s*(-?[0-9]+)\s*[xX]\s*(-?[0-9]+)\s*[xX]\s*(-?[0-9]+)\s*", re.ASCII)
_INT = re.compile(r"\s*([-+]?[0-9]+)\s*", re.ASCII)
#: Sizes and counts fit in an int64, as in every framework; more digits are refused.
INT64_MAX = 2**63 - 1


def shown(text: str) -> str:
    """The user's text for a message, cut so a 5,000-digit value is not echoed whole."""
    return repr(text) if len(text) <= 30 else repr(text[:24]) + f"... ({len(text)} characters)"


def _int64(digits: str, text: str) -> int:
    if len(digits.lstrip("+-")) > 19 or abs(int(digits)) > INT64_MAX:
        raise SpecError(f"{shown(text)} is too large (at most {INT64_MAX})")
    return int(digits)


#: The kinds that draw a volume (a 3-D conv); the others refuse one (:func:`volume_refusal`).
VOLUME_KINDS = ("arithmetic", "numerical", "alphabet", "im2col", "channels")


def volume_refusal(given: str, kind: str | None = None) -> SpecError:
    """The one line a figure kind that draws no volume answers a 3-D size with (``given``
    as the user spelled it, e.g. ``-i 4x5x5``)."""
    given = given.strip() if len(given) <= 40 else shown(given)
    drawn = f"{', '.join(VOLUME_KINDS[:-1])} and {VOLUME_KINDS[-1]}"
    who = f"{kind} figures draw" if kind else "this figure draws"
    return SpecError(f"{given}: {who} 1-D and 2-D convolutions; a volume (3-D) is drawn by "
                     f"{drawn}, and counted by stats")


def parse_size(text: str) -> tuple[int, ...]:
    """A size as given, for ``stats``: ``"5"`` -> (5,), ``"5x7"`` -> (5, 7), ``"4x5x5"`` ->
    (4, 5, 5); a single N is spread over the layer's axes once they are known."""
    m = _SIZE3.fullmatch(text)
    if m:
        return tuple(_int64(v, text) for v in m.groups())
    m = _SIZE.fullmatch(text)
    if not m:
        raise SpecError(f"expected N, HxW or DxHxW (e.g. 5, 5x7 or 4x5x5), got {shown(text)}")
    return tuple(_int64(v, text) for v in m.groups() if v is not None)


def parse_pair(text: str) -> Pair:
    """``"5"`` -> (5, 5); ``"5x7"`` -> (5, 7) as (height, width); ``"4x5x5"`` -> (4, 5, 5),
    a volume's (depth, height, width): a figure's sizes are spread over its axes by
    :func:`spread_axes`."""
    size = parse_size(text)
    return size * 2 if len(size) == 1 else size


def parse_int(text: str) -> int:
    """An integer in ASCII digits that fits an int64."""
    m = _INT.fullmatch(text)
    if not m:
        raise SpecError(f"expected an integer, got {shown(text)}")
    return _int64(m.group(1), text)


def format_pair(v) -> str:
    """``5``, ``5x7``, or a padding's four sides ``0,0,2,0`` (:meth:`Sides.format`); of a
    volume ``3``, ``4x5x5`` or six sides (:meth:`Sides3.format`)."""
    return sides_of(v).format()


#: A figure's size options, with their flags, in the order messages name them.
SIZE_OPTIONS = (("input_size", "-i"), ("kernel_size", "-k"), ("stride", "-s"),
                ("padding", "-p"), ("dilation", "-d"), ("output_size", "-o"),
                ("output_padding", "--output-padding"))


def volume_given(options) -> str | None:
    """The first size of ``options`` that is a volume's (``-i 4x5x5``, ``--padding-sides``
    with six sides), as the command spells it, or None for a 1-D or 2-D figure."""
    for name, flag in SIZE_OPTIONS:
        v = getattr(options, name, None)
        if isinstance(v, tuple) and len(v) == 3:
            return f"{flag} {'x'.join(map(str, v))}"
    sides = getattr(options, "padding_sides", None)
    if sides is not None and len(sides) == 6:
        return "--padding-sides " + ",".join(map(str, sides))
    return None


def spread_axes(options) -> dict:
    """``options``' sizes over the figure's axes: three where any is a volume's
    (:func:`volume_given`), each ``N`` (held as ``(N, N)``) then spread to ``(N, N, N)``;
    a size of two different values beside a volume's, or four sides, is refused."""
    volume = volume_given(options)
    out = {name: getattr(options, name, None) for name, _ in SIZE_OPTIONS}
    out["padding_sides"] = getattr(options, "padding_sides", None)
    if volume is None:
        return out
    for name, flag in SIZE_OPTIONS:
        v = out[name]
        if isinstance(v, tuple) and len(v) == 2:
            if v[0] != v[1]:
                raise SpecError(f"{flag} {v[0]}x{v[1]} is 2-D but {volume} is 3-D: give N or "
                                f"DxHxW")
            out[name] = (v[0],) * 3
    sides = out["padding_sides"]
    if sides is not None and len(sides) == 4:
        raise SpecError(f"--padding-sides {','.join(map(str, sides))} gives four sides, but "
                        f"{volume} is 3-D: give six, F,B,T,B,L,R (front, back, top, bottom, "
                        f"left, right)")
    return out


def resolve_padding(given, sides, causal: bool, i: Pair, k: Pair, s: Pair,
                    d: Pair) -> Sides | Sides3:
    """The padding ``-p`` (N, HxW, ``same``, ``valid``), ``--padding-sides`` and
    ``--causal`` ask for, as :class:`Sides`; ``--padding-sides`` overrides ``-p``. The
    one place these forms are resolved: :meth:`ConvSpec.from_options` calls it, and a
    stack for each of its layers."""
    if causal:
        if len(i) == 3:
            raise SpecError("--causal pads a sequence (the width, on the left); a 3-D layer "
                            "has no such axis: give its sides with --padding-sides")
        if sides is not None or given != (0, 0):
            raise SpecError("--causal sets the padding (d(k-1) on the left): give no -p or "
                            "--padding-sides with it")
        return geometry.causal_sides(k, d)
    if sides is not None:
        return sides_of(sides)
    if given == "same":
        return geometry.same_sides(i, k, s, d)
    if given == "valid":
        return sides_of((0,) * len(i))
    return sides_of(given)


@dataclass(frozen=True)
class ConvSpec:
    input_size: Pair = (5, 5)
    kernel_size: Pair = (3, 3)
    stride: Pair = (1, 1)
    #: A pair (h, w) or four sides, held as :class:`Sides` (resolved: see from_options);
    #: of a volume (``stats`` only) a triple or six sides, held as :class:`Sides3`.
    padding: Sides | Sides3 = Sides(0, 0, 0, 0)
    dilation: Pair = (1, 1)
    transposed: bool = False
    #: None: chosen so the transposed conv's output is exactly ``input_size``.
    output_padding_given: Pair | None = field(default=None)
    #: What padding cells hold (geometry.PADDING_MODES).
    padding_mode: str = "zeros"

    def __post_init__(self):
        object.__setattr__(self, "padding", sides_of(self.padding))

    @classmethod
    def from_options(cls, options) -> "ConvSpec":
        """The spec figure options (or ``stats``' arguments, which have the same names)
        ask for, validated: the one place their padding is resolved."""
        o = spread_axes(options)  # N over three axes where a size is a volume's
        padding = resolve_padding(o["padding"], o["padding_sides"], options.causal,
                                  o["input_size"], o["kernel_size"], o["stride"],
                                  o["dilation"])
        spec = cls(o["input_size"], o["kernel_size"], o["stride"], padding, o["dilation"],
                   getattr(options, "transposed", False), o["output_padding"],
                   options.padding_mode)
        return spec.validate(expected_output=o["output_size"])

    def to_dict(self) -> dict:
        """The figure data's conv fields (GUIDE, "Figure data"): ``padding`` as PyTorch's
        ``(top, left)`` pair, ``padding_sides`` every side."""
        return {
            "transposed": self.transposed,
            "input_size": list(self.input_size),
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding.triple if self.is_volume else self.padding.pair),
            "padding_sides": list(self.padding),
            "padding_mode": self.padding_mode,
            "dilation": list(self.dilation),
            "output_padding": list(self.output_padding),
            "output_size": list(self.output_size),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "ConvSpec":
        """The spec of figure data (:meth:`to_dict`'s fields; data written before
        ``padding_sides`` has the pair only), validated."""
        a = tuple(data["output_padding"]) if data["transposed"] else None
        spec = cls(tuple(data["input_size"]), tuple(data["kernel_size"]),
                   tuple(data["stride"]), data.get("padding_sides") or data["padding"],
                   tuple(data["dilation"]), data["transposed"], a,
                   padding_mode=data.get("padding_mode", "zeros"))
        return spec.validate()

    @property
    def is_volume(self) -> bool:
        """A 3-D conv (depth, height, width)."""
        return len(self.input_size) == 3

    @property
    def args(self) -> tuple[Pair, Pair, Pair, Pair, Pair]:
        return (self.input_size, self.kernel_size, self.stride, self.padding, self.dilation)

    @property
    def forward_output(self) -> Pair:
        return geometry.conv_output_size(*self.args)

    @property
    def output_padding(self) -> Pair:
        if not self.transposed:
            return (0,) * len(self.input_size)
        if self.output_padding_given is not None:
            return self.output_padding_given
        return geometry.auto_output_padding(*self.args)

    @property
    def output_size(self) -> Pair:
        """Size of the output drawn: the transposed conv's for ``-t``."""
        if not self.transposed:
            return self.forward_output
        return geometry.transposed_output_size(self.forward_output, *self.args[1:],
                                               self.output_padding)

    def lowered(self) -> geometry.Lowered:
        """The direct convolution the figure animates (a :class:`geometry.Volume` of a 3-D conv)."""
        if self.is_volume:
            if self.transposed:
                return geometry.transposed_conv3(*self.args, self.output_padding)
            return geometry.forward_conv3(*self.args, self.padding_mode)
        if self.transposed:
            return geometry.transposed_conv(*self.args, self.output_padding)
        return geometry.forward_conv(*self.args, self.padding_mode)

    def validate(self, expected_output: Pair | None = None) -> "ConvSpec":
        """Raise :class:`SpecError` with PyTorch's reason for anything it would refuse."""
        n = len(self.input_size)
        if {len(self.kernel_size), len(self.stride), len(self.dilation),
                len(self.padding.axes)} != {n}:
            raise SpecError(f"sizes of different axes: input {format_pair(self.input_size)}, "
                            f"kernel {format_pair(self.kernel_size)}, stride "
                            f"{format_pair(self.stride)}, padding {self.padding.format()}, "
                            f"dilation {format_pair(self.dilation)}")
        for name, v, low in (("input size", self.input_size, 1), ("kernel size", self.kernel_size, 1),
                             ("stride", self.stride, 1), ("padding", self.padding, 0),
                             ("dilation", self.dilation, 1)):
            if min(v) < low:
                raise SpecError(f"{name} must be >= {low}, got {format_pair(v)}")
        i, k, s, p, d = self.args
        if min(self.forward_output) < 1:
            span = tuple(a.extent for a in geometry.forward_axes(*self.args))
            raise SpecError(
                f"kernel of size {format_pair(k)} with dilation {format_pair(d)} spans "
                f"{format_pair(span)} cells, more than the padded input "
                f"({format_pair(tuple(n + t for n, t in zip(i, p.total)))})")
        reason = geometry.padding_mode_error(i, p, self.padding_mode)
        if reason:
            raise SpecError(reason)
        if self.transposed and self.padding_mode != "zeros":
            raise SpecError(f"--padding-mode {self.padding_mode}: a transposed conv pads with "
                            f"zeros only (PyTorch's ConvTranspose2d supports padding_mode "
                            f"zeros only)")
        if self.output_padding_given is not None:
            a = self.output_padding_given
            if not self.transposed:
                raise SpecError("--output-padding applies to a transposed conv only (add -t)")
            for ax in range(len(a)):
                if not 0 <= a[ax] < max(s[ax], d[ax]):
                    raise SpecError(
                        f"output padding must be >= 0 and smaller than stride or dilation "
                        f"(< {max(s[ax], d[ax])}), got {format_pair(a)}")
        if min(self.output_size) < 1:
            raise SpecError(f"the transposed conv's output would be {format_pair(self.output_size)}")
        if expected_output is not None and tuple(expected_output) != self.forward_output:
            raise SpecError(
                f"output size {format_pair(expected_output)} does not match the computed "
                f"{format_pair(self.forward_output)} = (i + 2p - d(k-1) - 1) // s + 1")
        return self
