"""alphabet with channels: the grouped conv as one matrix, a block per channel pair.

y (D·O² cells, plane by plane) = C (D·O² x C·I²) · x (C·I² cells, plane by plane).
Block (q, j) is the one-plane matrix of the slice that output plane q applies to
operand plane j where both are in one group, and zero elsewhere: block-diagonal by
group. An entry is the tap ``[ky, kx]`` of that slice (row q's block j is weight
``kernel[q, j mod C/G]``; for ``-t``, ``kernel[j, q mod C/G]`` of the D x C/G tensor
that ``ConvTranspose2d(D, C, groups=G)`` stores, its taps flipped back), or null.
One step per row: output plane by plane, row-major within each, as channels draws.
"""
from __future__ import annotations

from .. import geometry
from . import canvas_grid, grid_kinds, grid_lines, too_large

TEMPLATE = "alphabet_channels.tex.j2"
#: Planes a side: one group colour each.
MAX_PLANES = 8
MAX_CANVAS = 16
#: Matrix columns of CELL cm that keep the figure's 7 pt names at 5 pt or more in a
#: 16 cm column (at most about 22 cm wide, measured with the legibility tool), and rows.
MAX_COLUMNS = 90
MAX_ROWS = 64
CELL = 0.2
LEFT = 0.8          # room for the row blocks' names
PLANE_CELL = 0.4
PLANE_GAP = 0.45


def largest(per_plane: int, limit: int, groups: int) -> int:
    """The most planes (a multiple of the groups) whose blocks stay within ``limit``."""
    n = min(limit // per_plane, MAX_PLANES)
    return n - n % groups


def channel_limits(spec, options, g: geometry.Grouped) -> str | None:
    low = g.plane
    for what, n in (("input", options.in_channels), ("output", options.out_channels)):
        if n > MAX_PLANES:
            return (f"figure too large: {n} {what} channels; alphabet figures draw at most "
                    f"{MAX_PLANES} planes a side (one group colour each)")
    what = "zero-inserted, padded input" if spec.transposed else "padded input"
    reason = too_large("alphabet", what, low.canvas, MAX_CANVAS)
    if reason:
        return reason
    ins, outs = low.operand[0] * low.operand[1], low.steps
    # the operand's planes are the conv's input channels, or for -t its output channels
    flag_in, flag_out = (("--out-channels", "--in-channels") if spec.transposed
                         else ("--in-channels", "--out-channels"))
    rows, cols = g.planes_out * outs, g.planes_in * ins
    for n, limit, flag, per, what in ((cols, MAX_COLUMNS, flag_in, ins, "columns"),
                                      (rows, MAX_ROWS, flag_out, outs, "rows")):
        if n > limit:
            best = largest(per, limit, options.groups)
            fits = (f"the largest {flag} that fits is {best}" if best else
                    f"no {flag} fits: a smaller input or output")
            return (f"figure too large: the matrix would be {rows}x{cols} ({g.planes_out}·"
                    f"{outs} x {g.planes_in}·{ins}); beyond {limit} {what} its names fall "
                    f"below 5 pt in a 16 cm column; {fits}")
    return None


def channel_scene(spec, options, g: geometry.Grouped, one: list[list], symbols, steps) -> dict:
    """The scene; ``one``: one plane's matrix of kernel entries, O² rows of I²."""
    low = g.plane
    m, n = len(one), len(one[0])
    per = options.in_channels // options.groups
    blank = [None] * n
    matrix, blocks = [], []
    for q in range(g.planes_out):
        same = [g.group_of_input(j) == g.group_of_output(q) for j in range(g.planes_in)]
        for r in range(m):
            matrix.append([e for j in range(g.planes_in) for e in (one[r] if same[j] else blank)])
        # the weight slice of each block: indices into the kernel tensor, or None
        blocks.append([(([j, q % per] if spec.transposed else [q, j % per]) if same[j] else None)
                       for j in range(g.planes_in)])
    canvas = canvas_grid(low, spec.output_padding)
    kinds = grid_kinds(canvas)
    frames = []
    for step in steps:
        q, oy, ox = g.step_cell(step)
        rows, cols = g.window(step)
        frames.append({
            "step": step, "plane": q, "out": [oy, ox],
            "taps": [[int(r), int(c)] for r in rows for c in cols],
            "window": [int(rows[0]), int(cols[0]), int(rows[-1]), int(cols[-1])],
            "inputs": list(g.inputs_of(q)),
        })
    return {
        "transposed": spec.transposed, "channelled": True,
        "inserted": spec.transposed and spec.stride != (1, 1),
        "symbols": list(symbols),
        "channels": [options.in_channels, options.out_channels], "groups": options.groups,
        "planes": [g.planes_in, g.planes_out],
        "in_group": [g.group_of_input(j) for j in range(g.planes_in)],
        "out_group": [g.group_of_output(q) for q in range(g.planes_out)],
        "block": [m, n],
        "blocks": blocks,
        "canvas_size": list(low.canvas), "output_size": list(low.out),
        "canvas": [[c["kind"] for c in row] for row in canvas],
        "grid": grid_lines(kinds),
        "matrix": matrix,
        "nonzeros": sum(e is not None for row in matrix for e in row),
        "layout": _layout(g, m, n),
        "frames": frames,
        "caption": options.caption,
    }


def _layout(g: geometry.Grouped, m: int, n: int) -> dict:
    """In cm, from the top-left corner: the planes in a row (operand, then output), the
    matrix below them."""
    h, w = g.plane.canvas
    oh, ow = g.plane.out
    width = max(LEFT + g.planes_in * n * CELL + 0.3, 7.0)
    cells = g.planes_in * w + g.planes_out * ow
    gaps = (g.planes_in + g.planes_out - 2) * PLANE_GAP + 1.0    # 1 cm for the arrow
    cs = min(PLANE_CELL, (width - gaps) / cells)
    xs_in = [j * (w * cs + PLANE_GAP) for j in range(g.planes_in)]
    arrow = xs_in[-1] + w * cs + 0.5
    xs_out = [arrow + 0.5 + q * (ow * cs + PLANE_GAP) for q in range(g.planes_out)]
    planes_top = -0.55
    matrix_top = planes_top - max(h, oh) * cs - 0.5 - 0.5
    return {"cell": CELL, "plane_cell": cs, "in_x": xs_in, "out_x": xs_out, "arrow": arrow,
            "planes_top": planes_top, "matrix_top": matrix_top, "left": LEFT,
            "bottom": matrix_top - g.planes_out * m * CELL - 0.3,
            "width": max(width, xs_out[-1] + ow * cs)}
