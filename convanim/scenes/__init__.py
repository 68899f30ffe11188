"""The figure kinds, one module each, and the scene helpers they share.

Each module holds one :class:`~convanim.kind.Kind`: its options, and how a
:class:`~convanim.spec.ConvSpec` becomes what its template draws (the scene: plain,
JSON-serialisable per-frame data) and what ``--json`` reports. A scene never
computes a size itself; that is geometry's job.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from .. import geometry
from ..options import Choice, FigureOptions, Flag, Pair, option
from ..spec import ConvSpec, SpecError, format_pair, resolve_padding

if TYPE_CHECKING:
    import numpy as np


def figure_data(kind: str, spec: ConvSpec, steps: int) -> dict:
    """The fields every figure's JSON shares (GUIDE, "Figure data")."""
    return {
        "kind": kind,
        **spec.to_dict(),
        "steps": steps,
    }


def canvas_kinds(low: geometry.Lowered, output_padding=(0, 0)) -> list[list[str]]:
    """Row by row, the names of the canvas cells: data, padding, inserted, outpad or copy.

    ``outpad`` marks the padding cells that only the transposed conv's output
    padding adds (the last ``a`` rows and columns). ``copy`` marks a padding cell of
    reflect, replicate or circular padding: it holds an operand cell's value, so no
    figure may draw it as a zero. Plain lists: a canvas has at most a few dozen cells
    a side, and the arithmetic figure needs no numpy.
    """
    h, w = low.canvas
    cy, cx = _per_axis(low, "reads_from")
    names = {geometry.DATA: "data", geometry.PADDING: "padding", geometry.INSERTION: "inserted"}

    def name(r: int, c: int) -> str:
        kind = low.kind_at(r, c)
        if kind != geometry.PADDING:
            return names[kind]
        if (output_padding[0] and r >= h - output_padding[0]) or \
                (output_padding[1] and c >= w - output_padding[1]):
            return "outpad"
        return "copy" if cy[r] >= 0 and cx[c] >= 0 else "padding"

    return [[name(r, c) for c in range(w)] for r in range(h)]


def _per_axis(low: geometry.Lowered, index_map: str) -> tuple[list[int], list[int]]:
    """An axis index map (``source``, ``reads_from``) at every canvas row, and column."""
    return ([getattr(low.rows, index_map)(r) for r in range(low.rows.canvas)],
            [getattr(low.cols, index_map)(c) for c in range(low.cols.canvas)])


def canvas_grid(low: geometry.Lowered, output_padding=(0, 0)) -> list[list[dict]]:
    """Row by row, each canvas cell's kind, the operand cell ``[y, x]`` it holds (or None)
    and, for a padding cell of reflect, replicate or circular padding, the operand cell
    ``copies`` whose value it holds (None for a zero)."""
    kinds = canvas_kinds(low, output_padding)
    h, w = low.canvas
    (ys, xs), (cy, cx) = _per_axis(low, "source"), _per_axis(low, "reads_from")
    return [[{"kind": kinds[r][c],
              "cell": [ys[r], xs[c]] if kinds[r][c] == "data" else None,
              "copies": ([cy[r], cx[c]]
                         if kinds[r][c] != "data" and cy[r] >= 0 and cx[c] >= 0 else None)}
             for c in range(w)] for r in range(h)]


def grid_kinds(canvas: list[list[dict]]) -> list[list[str]]:
    """The cell names of a :func:`canvas_grid` (its canvas_kinds, not computed again)."""
    return [[cell["kind"] for cell in row] for row in canvas]


def is_sequence(low: geometry.Lowered) -> bool:
    """A 1-D figure: one row of operand, canvas and output (``-i 1xN -k 1xK``), drawn as a
    sequence rather than as a flat 2-D slab."""
    return low.canvas[0] == 1 and low.out[0] == 1


def out_offset(low: geometry.Lowered) -> float:
    """Where a sequence's output row starts, in canvas cells: at stride 1 output t sits
    above input t (its window's last tap when causal), else the row is centred."""
    if low.cols.stride == 1 and low.cols.spacing == 1:
        return float(low.cols.pad_lo)
    return (low.canvas[1] - low.out[1]) / 2


def cells_by_kind(names: list[list[str]]) -> dict[str, list[list[int]]]:
    return {kind: [[r, c] for r, row in enumerate(names) for c, k in enumerate(row) if k == kind]
            for kind in ("data", "padding", "inserted", "outpad", "copy")}


def window(low: geometry.Lowered, step: int) -> dict:
    """The output cell of a step and the canvas cells its kernel taps cover."""
    rows, cols = low.window(step)
    return {
        "step": step,
        "out": list(low.step_cell(step)),
        "taps": [[int(r), int(c)] for r in rows for c in cols],
        "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
    }


def too_large(kind: str, what: str, size, limit: int) -> str | None:
    """The refusal for a figure whose ``what`` exceeds ``limit`` cells per axis."""
    if max(size) > limit:
        return (f"figure too large: the {what} is {size[0]}x{size[1]} cells; "
                f"{kind} figures draw at most {limit} cells per axis")
    return None


def format_number(value) -> str:
    """Integers without ".0"; others exact if two decimals hold them, else two decimals
    (two significant digits where two decimals would show a non-zero value as 0).

    An inexact value keeps both decimals (2.996 prints "3.00", not "3"), so a
    rounded number never looks exact.
    """
    q = Fraction(value).limit_denominator(10**6)
    if q.denominator == 1:
        return str(q.numerator)
    rounded = (Decimal(q.numerator) / Decimal(q.denominator)).quantize(Decimal("0.01"),
                                                                      rounding=ROUND_HALF_UP)
    if rounded == 0 and q != 0:  # 1/256 is not "0.00": two significant digits
        return f"{float(q):.2g}"
    text = str(rounded)
    if rounded == q:  # exact: drop the zeros that carry no information
        text = text.rstrip("0").rstrip(".")
    return {"-0": "0", "-0.00": "0.00"}.get(text, text)


def width(text: str) -> int:
    """A printed number's width in characters, its minus sign (wider than a digit) as two."""
    return len(text) + text.startswith("-")


def factor(text: str) -> str:
    """A printed number as a factor of a product: a negative one in parentheses, so
    ``2×(-1)`` never reads as a subtraction."""
    return f"({text})" if text.startswith("-") else text


def grid_lines(names: list[list[str]]) -> dict[str, list[list[int]]]:
    """The canvas grid as maximal straight runs of edges, by line style.

    An edge beside an operand cell is solid (the input keeps its outline), else
    dashed beside padding, else dotted (between inserted zeros). Each run is one
    path ``[x0, y0, x1, y1]`` in cell units (x = column, y = row counted down), so a
    dash pattern runs on evenly across cells instead of restarting in every cell.
    """
    h, w = len(names), len(names[0])

    def style(*kinds) -> str:
        if "data" in kinds:
            return "solid"
        return "dashed" if {"padding", "outpad", "copy"} & set(kinds) else "dotted"

    lines = {"solid": [], "dashed": [], "dotted": []}

    def runs(styles, make):
        start = 0
        for i in range(1, len(styles) + 1):
            if i == len(styles) or styles[i] != styles[start]:
                lines[styles[start]].append(make(start, i))
                start = i

    for r in range(h + 1):  # horizontal edges on row boundary r
        runs([style(*(names[rr][c] for rr in (r - 1, r) if 0 <= rr < h)) for c in range(w)],
             lambda a, b, r=r: [a, r, b, r])
    for c in range(w + 1):  # vertical edges on column boundary c
        runs([style(*(names[r][cc] for cc in (c - 1, c) if 0 <= cc < w)) for r in range(h)],
             lambda a, b, c=c: [c, a, c, b])
    return lines


# --- the user's own values (numerical, channels) --------------------------------------------

FILLS = ("auto", "kind", "value")


@dataclass(frozen=True)
class ValuesOptions(FigureOptions):
    """Options of the kinds that draw numbers: sizes that follow the values given, and
    how values are shown. A kind adds ``input`` and ``kernel`` (their dimensions
    differ) and calls :meth:`resolve_sizes` once its own fields are converted."""

    input_size: tuple | None = option(
        None, "-i", "--input-size", type=Pair(),
        help="the input's size, N or HxW (default: 5), or --input's size where given")
    kernel_size: tuple | None = option(
        None, "-k", "--kernel-size", type=Pair(),
        help="the kernel's size, N or HxW (default: 3), or --kernel's size where given")
    fill: str = option("auto", "--fill", type=Choice(FILLS),
                       help="cell fills: by kind of cell, or by value on a diverging scale, "
                            "blue above zero and red below (default auto: by value where "
                            "--input is given or with --no-numbers)")
    legend: bool = option(False, "--legend", type=Flag(),
                          help="with fills by value: the scale's key under the figure")
    no_numbers: bool = option(False, "--no-numbers", type=Flag(),
                              help="draw the fills only: no numbers in the cells")

    def resolve_sizes(self, operand: tuple | None, kernel: tuple | None) -> None:
        """-i and -k from the values' (h, w) where not given: the operand is the input,
        or for ``-t`` the transposed conv's input, of which -i is the output (its
        padding resolved as the spec resolves it; ``same`` depends on -i, so it is
        refused there at a stride > 1, where several -i give the values' size)."""
        k = self.kernel_size or (tuple(kernel) if kernel else (3, 3))
        i = self.input_size
        if i is None and operand:
            i = tuple(operand)
            if self.transposed:
                if self.padding == "same" and self.padding_sides is None and not self.causal \
                        and self.stride != (1, 1):
                    raise SpecError(
                        f"-p same with -t at stride {format_pair(self.stride)}: several input "
                        f"sizes give the transposed conv an operand of {format_pair(i)}; "
                        f"give -i")
                p = resolve_padding(self.padding, self.padding_sides, self.causal, i, k,
                                    self.stride, self.dilation)
                i = geometry.transposed_output_size(i, k, self.stride, p, self.dilation,
                                                    self.output_padding or (0, 0))
        object.__setattr__(self, "kernel_size", k)
        object.__setattr__(self, "input_size", i or (5, 5))

    def by_value(self) -> bool:
        """Whether cells are filled by value (``--fill``)."""
        if self.fill != "auto":
            return self.fill == "value"
        return getattr(self, "input", None) is not None or self.no_numbers


def values_or_seeded(given, seeded: np.ndarray) -> np.ndarray:
    """The user's values where given, else the ones drawn from the seed."""
    return seeded if given is None else given.array


def shape_mismatch(what: str, given, want, because: str) -> SpecError:
    from ..values import shape_text

    return SpecError(f"{what} is {shape_text(given.shape)}, but {because} "
                     f"{shape_text(want)}; give values of that shape, or drop the size "
                     f"options so they follow the values")


def image_hint(values) -> str:
    """What a figure too large for an image's pixels adds: how to make it fit."""
    if values is None or not values.image:
        return ""
    return ("; crop or resize the image first, e.g. with Pillow: "
            "Image.open(f).crop((x, y, x + 8, y + 8)) or .resize((8, 8))")


def _tex_pair(v) -> str:
    """One number for a square pair, ``h\\times w`` otherwise (TeX math)."""
    return str(v[0]) if v[0] == v[1] else f"{v[0]}\\times {v[1]}"


def equivalent_direct(spec: ConvSpec, low: geometry.Lowered) -> dict:
    """What a transposed figure draws, in Dumoulin & Visin's words: the transposed conv of
    the conv (i, k, s, p) is the direct conv (i', k' = k, s' = 1, p') over the
    zero-inserted operand, i' = o + (o - 1)(s - 1), p' = d(k - 1) - p per side, plus the
    output padding a after. Every value is read off the lowered geometry (its axes' span,
    kernel, stride and padding), so the words name what the picture draws."""
    axes = (low.rows, low.cols)
    a = list(spec.output_padding)
    values = {
        "i": list(spec.input_size),                           # the conv -t transposes
        "k": [ax.k for ax in axes],
        "s": [ax.spacing for ax in axes],
        "p": [lo for lo, _ in spec.padding.axes],
        "d": [ax.dilation for ax in axes],
        "i'": [ax.span for ax in axes],
        "k'": [ax.k for ax in axes],
        "s'": [ax.stride for ax in axes],
        "p'": [ax.pad_lo for ax in axes],
        "p'_after": [ax.pad_hi - x for ax, x in zip(axes, a)],
        "a": a,
    }
    v = {key.replace("'", "_"): _tex_pair(x) for key, x in values.items()}
    dil = values["d"] != [1, 1]
    after = "" if values["p'_after"] == values["p'"] else "/" + v["p__after"]
    forward = (f"$i={v['i']}$, $k={v['k']}$, $s={v['s']}$, $p={v['p']}$"
               + (f", $d={v['d']}$" if dil else ""))
    direct = (f"$i'={v['i_']}$, $k'={v['k_']}$, $s'={v['s_']}$, $p'={v['p_']}{after}$"
              + (f", $d'={v['d']}$" if dil else "") + (f", $a={v['a']}$" if a != [0, 0] else ""))
    return {"values": values, "forward": forward, "direct": direct}


def plane_labels(spec: ConvSpec, low, shown: set, copy: str | None = None) -> dict:
    """What --labels writes beside a slanted view's planes: sizes, and a key to every kind
    of cell the figure shows (and only those); ``copy`` names a copying padding's cells.
    A transposed plane figure also names the direct conv it draws (2-D)."""
    done = [what for what, kind in (("zeros inserted", "inserted"), ("padded", "padding"))
            if kind in shown]
    keys = [("padding", "padding"), ("inserted", "inserted zeros"), ("outpad", "output padding"),
            *([("copy", copy)] if copy else [])]
    labels = {
        "operand": {"name": "operand of the transposed conv" if spec.transposed else "input",
                    "size": list(low.operand), "note": ", ".join(done),
                    "canvas": list(low.canvas),
                    "kinds": [[kind, text] for kind, text in keys if kind in shown]},
        "output": {"size": list(low.out), "note": "transposed conv" if spec.transposed else ""},
    }
    if isinstance(low, geometry.Lowered):
        labels["equivalent"] = equivalent_direct(spec, low) if spec.transposed else None
    return labels


def slice_rows(count: int, per: int) -> list[list[int]]:
    """A volume's slices ``0..count-1`` in balanced rows of at most ``per``."""
    nrows = -(-count // per)
    per = -(-count // nrows)
    return [list(range(r * per, min(count, (r + 1) * per))) for r in range(nrows)]
