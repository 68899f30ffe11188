"""The convolution as a matrix product: y = C x, and for ``-t`` the transposed c = Cᵀ b.

The matrix comes from the lowering the figure animates; for ``-t`` that is the
transposed conv sliding the flipped kernel, so its taps are mapped back to the
kernel entries they multiply, which makes it exactly the forward matrix transposed.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..kind import Kind
from ..options import ChannelOptions, has_channels
from ..spec import ConvSpec, SpecError, volume_given
from . import canvas_grid, grid_kinds, grid_lines, is_sequence, too_large, window
from .alphabet_channels import TEMPLATE as CHANNELS_TEMPLATE, channel_limits, channel_scene
from .channels import grouped

#: Rows or columns of C beyond which its entries are unreadable.
MAX_MATRIX = 64
MAX_CANVAS = 16
#: Output-vector entries shown around the current one when the vector is long.
CONTEXT = 3
#: Matrix columns and rows that still hold a label each at a legible size in a 16 cm
#: column; a larger matrix is drawn compact (entries shaded, the current row named).
LABELLED_COLUMNS = 20
LABELLED_ROWS = 30


def kernel_entries(spec: ConvSpec, matrix: list[list]) -> list[list]:
    """The kernel entry ``[ky, kx]`` each tap of ``matrix`` multiplies (None stays None):
    the transposed conv's kernel is flipped."""
    kh, kw = spec.kernel_size
    if spec.transposed:
        return [[[kh - 1 - e[0], kw - 1 - e[1]] if e else None for e in row] for row in matrix]
    return [[list(e) if e else None for e in row] for row in matrix]


def _elide(cells: list, shown: set) -> list:
    """Vector entries in order, each run of hidden ones replaced by one ``None`` (drawn ⋮)."""
    slots = []
    for i, cell in enumerate(cells):
        if i in shown:
            slots.append({"index": i, "cell": cell})
        elif not slots or slots[-1] is not None:
            slots.append(None)
    return slots


@dataclass(frozen=True)
class AlphabetOptions(ChannelOptions):
    """With channels, C holds a block per channel pair (alphabet_channels)."""


class Alphabet(Kind):
    """Every valid conv has a matrix; only its size is limited."""

    name = "alphabet"
    summary = "The convolution as a matrix product: y = C x, and for -t the transposed c = Cᵀ b."
    Options = AlphabetOptions
    template = "alphabet.tex.j2"
    draws_volumes = True  # tiny ones, one channel (scenes/alphabet3d.py)

    def template_for(self, options) -> str:
        if volume_given(options):
            return "alphabet3d.tex.j2"
        return CHANNELS_TEMPLATE if has_channels(options) else self.template

    def check(self, spec: ConvSpec, options) -> None:
        options.check_groups()
        if spec.is_volume and has_channels(options):
            raise SpecError("alphabet draws a volume's matrix for one channel; drop "
                            "--in-channels/--out-channels")
        if spec.padding_mode != "zeros":
            raise SpecError(f"--padding-mode {spec.padding_mode}: a copied padding cell adds "
                            f"a second tap to an entry of C, which holds one; alphabet figures "
                            f"need zero padding")

    def lowered(self, spec: ConvSpec, options):
        return grouped(spec, options) if has_channels(options) else spec.lowered()

    def name_parts(self, options) -> list[str]:
        if not has_channels(options):
            return []
        g = [f"g{options.groups}"] if options.groups != 1 else []
        return [f"{options.in_channels}to{options.out_channels}", *g]

    def limits(self, spec: ConvSpec, options) -> str | None:
        if has_channels(options):
            return channel_limits(spec, options, grouped(spec, options))
        low = spec.lowered()
        if spec.is_volume:
            from .alphabet3d import limits

            return limits(spec, low)
        rows, cols = low.steps, low.operand[0] * low.operand[1]
        if max(rows, cols) > MAX_MATRIX:
            return (f"figure too large: the matrix would be {rows}x{cols}; alphabet figures "
                    f"draw at most {MAX_MATRIX} rows and columns (e.g. an 8x8 input)")
        what = "zero-inserted, padded input" if spec.transposed else "padded input"
        return too_large("alphabet", what, low.canvas, MAX_CANVAS)

    def scene(self, spec: ConvSpec, steps: list[int], options) -> dict:
        if spec.is_volume:
            from .alphabet3d import scene

            return scene(spec, steps, options)
        low = spec.lowered()
        matrix = kernel_entries(spec, low.matrix())           # m rows of n entries
        if has_channels(options):
            return channel_scene(spec, options, grouped(spec, options), matrix,
                                 ["b", "c"] if spec.transposed else ["a", "b"], steps)
        m, n = len(matrix), len(matrix[0])
        nh, nw = low.operand
        oh, ow = low.out
        canvas = canvas_grid(low, spec.output_padding)
        kh, kw = spec.kernel_size
        weights = kernel_entries(spec, [[(ty, tx) for ty in range(kh) for tx in range(kw)]])[0]
        frames = []
        for step in steps:
            frame = window(low, step)
            frame["weights"] = weights
            used = {c for c, e in enumerate(matrix[step]) if e}
            frame["x_slots"] = _elide([[c // nw, c % nw] for c in range(n)], used)
            near = range(max(0, step - CONTEXT), min(m, step + CONTEXT + 1))
            shown = set(range(m)) if m <= 2 * CONTEXT + 3 else set(near)
            frame["y_slots"] = _elide([[r // ow, r % ow] for r in range(m)], shown)
            frames.append(frame)
        return {
            "transposed": spec.transposed,
            "inserted": spec.transposed and spec.stride != (1, 1),
            "symbols": ["b", "c"] if spec.transposed else ["a", "b"],  # operand, output
            "comma": max(nh, nw, oh, ow, *spec.kernel_size) > 10,     # subscripts need a comma
            "canvas_size": list(low.canvas),
            "sequence": is_sequence(low),
            "output_size": list(low.out),
            "canvas": canvas,
            "grid": grid_lines(grid_kinds(canvas)),
            "compact": n > LABELLED_COLUMNS or m > LABELLED_ROWS,
            "matrix": matrix,
            "slots": max(max(len(f["x_slots"]), len(f["y_slots"])) for f in frames),
            "frames": frames,
            "caption": options.caption,
        }

    def data(self, spec: ConvSpec, scene: dict, options) -> dict:
        """``matrix``: rows = output cells, columns = operand cells, entry [ky, kx] or null.

        With channels, rows and columns run plane by plane; the block of output plane q
        and operand plane j is the slice in ``blocks[q][j]`` (kernel tensor indices)."""
        if not has_channels(options):
            return {"matrix": scene["matrix"]}
        return {"in_channels": options.in_channels, "out_channels": options.out_channels,
                "groups": options.groups, "matrix": scene["matrix"], "blocks": scene["blocks"]}

    def checks(self, data: dict, backend: str, scene: dict) -> list:
        from ..verify import check_alphabet

        return check_alphabet(data, backend)

    def step_caption(self, frame: dict, scene: dict) -> str:
        if "plane" in frame:
            return f" of output plane {frame['plane']}, row {frame['step']} of the matrix"
        return f", row {frame['step']} of the matrix"

    def describe(self, options) -> list[str]:
        if not has_channels(options):
            return []
        c, d, g = options.in_channels, options.out_channels, options.groups
        return [f"{c} → {d} channels"] + ([f"{g} groups"] if g > 1 else [])
