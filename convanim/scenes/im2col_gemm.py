"""im2col with channels: the GEMM cuDNN's im2col runs for each training phase.

Every plane of the phase's operand is unfolded as one plane is (rows = taps, columns =
outputs), and the planes are stacked along the GEMM's inner dimension:

- forward: Y (D x OH·OW) = W (D x C·kh·kw) · X (C·kh·kw x OH·OW);
- loss: dX (C x IH·IW) = Wᵀ (C x D·kh·kw, the flipped taps) · dYcol (D·kh·kw x IH·IW);
- gradient: dW (D x C·kh·kw) = dY (D x T) · Xᵀ (T x C·kh·kw), T the taps of the
  zero-inserted dY; only the blocks of a filter's own group are dW.

W is block-diagonal by group: filter q's row holds weights only in the columns of its
group's planes. The figure draws W transposed (Wᵀ) left of X, row for row, so each entry
of X sits level with the weights it meets; the product below X, column for column; each
operand plane beside its block of X's rows (above its block of columns in the gradient's
Xᵀ). A drawn W whose columns line up under X's rows would leave a square as wide as X is
tall empty (about 40% of the page, #31 §4), and widen the page past a 8.25 cm column's
5 pt (§6).
"""
from __future__ import annotations

from .. import geometry
from . import grid_lines, too_large, window

GEMM_TEMPLATE = "im2col_gemm.tex.j2"
#: Rows and columns of any matrix drawn.
MAX_MATRIX = 64
#: Planes a side, as the channels figure draws: one group colour each.
MAX_PLANES = 8
MAX_CANVAS = 16
#: X's rows plus its columns, in matrix cells of CELL cm: its rows set the page's height
#: (54 of them about 20 cm with the title and caption, within 22 cm), its columns the
#: width; beyond this many the page no longer fits 16 x 22 cm at 5 pt (legibility tool).
MAX_SPAN = 54
CELL = 0.32
RIGHT = 1.0         # room for X's block names and the product's row names
GAP = 0.3
PLANE_GAP = 0.5
PLANE_CELL = 0.45   # an operand plane's cell at most
MIN_PLANE_CELL = 0.3  # smallest cell of a plane drawn beside its block of X
WCOL = 0.75         # a column of Wᵀ that holds names (w 0,1 in a block, w0 above it)
HEAD = 0.45         # names above X and Wᵀ
TITLE = 0.3         # below the title line


def shape(phase: str, low: geometry.Lowered, c: int, d: int) -> dict:
    """Planes and matrix sizes of a phase's GEMM: operand planes, X, W and the product."""
    taps, outs = low.kernel[0] * low.kernel[1], low.steps
    if phase == "forward":
        return {"planes": c, "x": (c * taps, outs), "w": (d, c * taps), "y": (d, outs)}
    if phase == "loss":
        return {"planes": d, "x": (d * taps, outs), "w": (c, d * taps), "y": (c, outs)}
    return {"planes": c, "x": (taps, c * outs), "w": (d, taps), "y": (d, c * outs)}


def gemm_limits(low: geometry.Lowered, options) -> str | None:
    c, d, phase = options.in_channels, options.out_channels, options.phase
    for what, n in (("input", c), ("output", d)):
        if n > MAX_PLANES:
            return (f"figure too large: {n} {what} channels; im2col figures draw at most "
                    f"{MAX_PLANES} planes a side (one group colour each)")
    sh = shape(phase, low, c, d)
    for name, (r, k) in (("unfolded operand X", sh["x"]), ("weight matrix", sh["w"]),
                         ("product", sh["y"])):
        if max(r, k) > MAX_MATRIX:
            return (f"figure too large: the {phase} GEMM's {name} would be {r}x{k}; im2col "
                    f"figures draw at most {MAX_MATRIX} rows and columns")
    span = sh["x"][0] + sh["x"][1]
    if span > MAX_SPAN:
        return (f"figure too large: the {phase} GEMM spans {sh['x'][0]} + {sh['x'][1]} = "
                f"{span} matrix cells across; beyond {MAX_SPAN} its labels fall below 5 pt "
                f"in a 16 cm column (fewer channels, a smaller input or kernel)")
    return too_large("im2col", "padded operand", low.canvas, MAX_CANVAS)


def gemm_scene(spec, options, low: geometry.Lowered, canvas, kinds, matrix, zero_kinds,
               copies, taps, steps, symbols) -> dict:
    """The scene of the GEMM figure; ``matrix``, ``zero_kinds``, ``copies`` (entries read
    from a padding cell holding a copy), ``taps``: one plane's."""
    phase, c, d, groups = options.phase, options.in_channels, options.out_channels, options.groups
    sh = shape(phase, low, c, d)
    K, N = len(matrix), len(matrix[0])
    # the operand's planes and the product's rows: the loss reads dY's D planes and
    # gives dX's C; forward and gradient read x's C planes, and dY / W have D rows
    g = geometry.Grouped(low, *((d, c) if phase == "loss" else (c, d)), groups)
    per_group = c // groups
    if phase == "gradient":
        # Xᵀ: one row per tap of dY, one column block of the k x k cells of dW per plane
        big = [[e for j in range(c) for e in row] for row in matrix]
        zk = [[z for j in range(c) for z in row] for row in zero_kinds]
        ck = [[z for j in range(c) for z in row] for row in copies]
        plane_of = [j for j in range(c) for _ in range(N)]
        weights = [[[q, *t] if t else None for t in taps] for q in range(d)]
        live = [[g.group_of_input(j) == g.group_of_output(q) for j in plane_of]
                for q in range(d)]
        kernel_zeros = d * low.kernel_zeros()
    else:
        big = [row for j in range(g.planes_in) for row in matrix]
        zk = [row for j in range(g.planes_in) for row in zero_kinds]
        ck = [row for j in range(g.planes_in) for row in copies]
        plane_of = [j for j in range(g.planes_in) for _ in range(K)]
        # weight [q, c mod C/G, ky, kx] of Conv2d's tensor where plane and row share a group
        weights = []
        for r in range(g.planes_out):
            row = []
            for j in range(g.planes_in):
                same = g.group_of_input(j) == g.group_of_output(r)
                q, cc = (r, j) if phase == "forward" else (j, r)
                row += [[q, cc % per_group, *t] if same else None for t in taps]
            weights.append(row)
        live = [[True] * N for _ in range(g.planes_out)]
        kernel_zeros = 0
    block_zeros = 0 if phase == "gradient" else sum(e is None for row in weights for e in row)
    elements = sh["x"][0] * sh["x"][1]
    zeros = g.planes_in * low.zeros()
    planes = sh["planes"]
    plane_group = [g.group_of_input(j) for j in range(g.planes_in)]
    row_group = [g.group_of_output(r) for r in range(g.planes_out)]
    frames = []
    for step in steps:
        frame = window(low, step)
        frame["columns"] = ([j * N + step for j in range(c)] if phase == "gradient"
                            else [step])
        frames.append(frame)
    # beside X first; the planes in a row on top, narrower where X is wide, for --width
    layouts = [_layout(phase, sh, low, planes, on_top) for on_top in (False, True)]
    # fills: an entry in its plane's group colour, a zero by its kind (as today)
    if phase == "gradient":
        x_fill = [[f"{'copy' if ck[r][col] else ''}group{plane_group[plane_of[col]]}" if e
                   else f"z{zk[r][col]}" for col, e in enumerate(row)] for r, row in enumerate(big)]
        w_fill = [[f"group{row_group[q]}" if e else "inserted" for e in row]
                  for q, row in enumerate(weights)]
    else:
        x_fill = [[f"{'copy' if ck[r][col] else ''}group{plane_group[plane_of[r]]}" if e
                   else f"z{zk[r][col]}" for col, e in enumerate(row)] for r, row in enumerate(big)]
        w_fill = [[f"group{row_group[q]}" if e else "padding" for e in row]
                  for q, row in enumerate(weights)]
    return {
        "phase": phase, "symbols": list(symbols),
        "canvas_size": list(low.canvas), "output_size": list(low.out),
        "canvas": canvas, "grid": grid_lines(kinds),
        "x_fill": x_fill, "w_fill": w_fill,
        "planes": planes, "plane_group": plane_group, "row_group": row_group,
        # X and W as the figure and --json hold them; a plane's block of X's rows
        # (its columns in the gradient's Xᵀ) is `block` wide
        "matrix": big, "zero_kinds": zk, "copies": ck, "block": K if phase != "gradient" else N,
        "weights": weights, "live": live,
        "sizes": {"x": list(sh["x"]), "w": list(sh["w"]), "y": list(sh["y"])},
        "channels": [c, d], "groups": groups,
        "counts": {"elements": elements, "zeros": zeros,
                   "sparsity": round(100 * zeros / elements, 1),
                   "kernel_zeros": kernel_zeros, "kernel_taps": d * len(taps),
                   "block_zeros": block_zeros},
        "layout": layouts[0], "layouts": layouts,
        "frames": frames,
        "caption": options.caption,
    }


def _layout(phase: str, sh: dict, low: geometry.Lowered, planes: int, on_top: bool) -> dict:
    """Where everything goes, in cm: x right, y up, from the top-left corner at y = 0.
    Wᵀ's columns are WCOL wide where they hold names, its rows X's; ``height``: with
    the title and two lines of caption (layout.arrange's measure)."""
    (xr, xc), (wr, _) = sh["x"], sh["w"]
    h, w = low.canvas
    grad = phase == "gradient"
    named = not grad and (xr // planes) * CELL >= 0.9
    wcol = WCOL if named or phase != "loss" else CELL
    head = HEAD if phase != "loss" else 0.0     # W's column names (and Xᵀ's block names)
    # each plane beside its block of X's rows (above its block of the gradient's Xᵀ
    # columns) where it fits at MIN_PLANE_CELL or more, else all in a row on top
    block = ((xc if grad else xr) // planes) * CELL
    cs = min(PLANE_CELL, (block - GAP) / w if grad else (block - 0.5) / h)
    aligned = cs >= MIN_PLANE_CELL and not on_top
    if not aligned:     # as wide as the matrices at most
        span = wr * wcol + GAP + xc * CELL + RIGHT
        cs = min(PLANE_CELL, (span - (planes - 1) * PLANE_GAP) / (planes * w))
    w_left = 0.0 if grad or not aligned else w * cs + 0.45
    x_left = w_left + wr * wcol + GAP
    planes_low = right = 0.0
    if not aligned:
        plane_x = [j * (w * cs + PLANE_GAP) for j in range(planes)]
        plane_y = [-TITLE] * planes
        x_top = -TITLE - h * cs - 0.5 - GAP - head
        right = plane_x[-1] + w * cs
    elif grad:
        plane_x = [x_left + (j + 0.5) * block - w * cs / 2 for j in range(planes)]
        plane_y = [-TITLE] * planes
        x_top = -TITLE - h * cs - 0.25 - head
    else:
        x_top = -TITLE - head
        slack = (block - h * cs - 0.4) / 2      # the plane and its name, centred
        plane_x = [0.0] * planes
        plane_y = [x_top - j * block - slack for j in range(planes)]
        planes_low = plane_y[-1] - h * cs - 0.5
    y_top = x_top - xr * CELL - GAP
    bottom = min(y_top - sh["y"][0] * CELL, planes_low) - 0.35
    width = max(x_left + xc * CELL + RIGHT, right, 6.0)
    return {"cell": CELL, "plane_cell": cs, "plane_x": plane_x, "plane_y": plane_y,
            "plane_names": not (grad and aligned), "named": named, "wcol": wcol,
            "x_top": x_top, "x_left": x_left, "w_left": w_left, "y_top": y_top,
            "bottom": bottom, "width": width, "height": 1.5 - bottom}
