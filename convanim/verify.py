"""Recompute every number a figure shows on a real convolution backend.

The input is the figure data (what ``--json`` writes), built from the figure's
options or read from a file, so a figure in a document can be checked later.
numerical: the output against conv2d / conv_transpose2d / pooling. alphabet: C·x
against conv2d and Cᵀ·y against conv_transpose2d, with random x, y and weights.
im2col: the matrix's zeros against the closed-form statistics and against a count
made on the backend (a convolution of ones counts the taps that read a real cell).
arithmetic: every frame's taps on input cells, counted the same way. A volume's figure
(a 3-D conv) is checked the same ways with conv3d (:mod:`convanim.sparse.volume`),
anything the backend cannot pad itself padded here by numpy first.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from . import geometry
from .spec import ConvSpec

TOLERANCE = 1e-4  # float32 sums of a few small integers: exact in practice
#: Beyond it, per unit of the largest magnitude a sum can reach: float32 products of real
#: numbers round (about 6e-8 each), and the user's values may be pixels of 0-255.
RELATIVE = 2e-5


@dataclass
class Check:
    name: str
    backend: str
    error: float        # max abs difference (counts differ by whole numbers)
    macs: int
    dense_macs: int

    #: The largest magnitude the sums can reach (the largest input times the weights'
    #: total): float32 rounding grows with it.
    scale: float = 0.0

    @property
    def passed(self) -> bool:
        return self.error <= TOLERANCE + RELATIVE * self.scale


#: numpy.pad's names of PyTorch's padding modes: the backends are checked against
#: numpy's padding, not against the geometry's closed forms they verify.
NUMPY_PAD = {"zeros": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def _one_call(spec: ConvSpec) -> bool:
    """Whether the backend's own padding does it: zeros, the same on both sides."""
    return spec.padding.symmetric and spec.padding_mode == "zeros"


def prepad(x: np.ndarray, spec: ConvSpec, fill: float = 0.0) -> np.ndarray:
    """``x`` (N, C, H, W), or (N, C, D, H, W) of a volume, padded as the spec says, by
    numpy.pad (``fill`` for zeros)."""
    mode = NUMPY_PAD[spec.padding_mode]
    extra = {"constant_values": fill} if mode == "constant" else {}
    return np.pad(x, ((0, 0), (0, 0), *spec.padding.axes), mode=mode, **extra)


def _img(a) -> np.ndarray:
    return np.asarray(a, dtype=np.float32)[None, None]


def _error(got: np.ndarray, want: np.ndarray) -> float:
    """Max abs difference; infinite when the shapes differ (a figure of the wrong size)."""
    return float(np.abs(got - want).max()) if got.shape == want.shape else float("inf")


def _conv(op, x, w, spec: ConvSpec, backend: str, groups: int = 1):
    from . import sparse

    s, d = spec.stride, spec.dilation
    p = spec.padding.pair  # PyTorch's (h, w), where the sides are the same (else 0, below)
    if op == "conv2d":
        if not _one_call(spec):  # F.pad, then the conv
            return sparse.run("conv2d", prepad(x, spec), w, stride=s, padding=0, dilation=d,
                              groups=groups, backend=backend)
        return sparse.run("conv2d", x, w, stride=s, padding=p, dilation=d, groups=groups,
                          backend=backend)
    if not spec.padding.symmetric:  # the full transposed conv, cropped by each side's padding
        t, b, l, r = spec.padding
        full = sparse.run("conv_transpose2d", x, w, stride=s, padding=0, dilation=d,
                          output_padding=spec.output_padding, groups=groups, backend=backend)
        h, w_ = full.output.shape[-2:]
        return dataclasses.replace(full, output=full.output[..., t:h - b, l:w_ - r])
    return sparse.run("conv_transpose2d", x, w, stride=s, padding=p, dilation=d,
                      output_padding=spec.output_padding, groups=groups, backend=backend)


def check_numerical(data: dict, backend: str) -> list[Check]:
    from . import sparse

    spec, mode = ConvSpec.from_dict(data), data["mode"]
    if spec.is_volume:
        return check_numerical3(data, backend)
    x = _img(data["input"])
    if mode == "convolution":
        r = _conv("conv_transpose2d" if spec.transposed else "conv2d", x, _img(data["kernel"]),
                  spec, backend)
    else:
        k, s, d, p = spec.kernel_size, spec.stride, spec.dilation, spec.padding.pair
        if not _one_call(spec):  # F.pad (max pooling pads with -inf), then the pooling
            x, p = prepad(x, spec, 0.0 if mode == "average" else -np.inf), 0
        r = sparse.run(f"{'avg' if mode == 'average' else 'max'}_pool2d", x, kernel_size=k,
                       stride=s, padding=p, dilation=d, backend=backend)
    shown = np.asarray(data["output"], dtype=np.float32)
    got = r.output[0, 0]
    error = _error(got, shown)
    scale = _scale(x, _img(data["kernel"]) if mode == "convolution" else None)
    return [Check(f"numerical {mode} output", r.backend, error, r.macs, r.dense_macs, scale)]


def _scale(x: np.ndarray, w: np.ndarray | None) -> float:
    """A bound on any output's magnitude: the largest input times the weights' total."""
    top = float(np.abs(x).max()) if x.size else 0.0
    return top * (float(np.abs(w).sum(axis=tuple(range(1, w.ndim))).max()) if w is not None
                  and w.size else 1.0)


def check_alphabet(data: dict, backend: str, seed: int = 0) -> list[Check]:
    spec = ConvSpec.from_dict(data)
    if "blocks" in data:
        return _check_alphabet_channels(data, spec, backend, seed)
    if spec.is_volume:
        return check_alphabet3(data, spec, backend, seed)
    k = spec.kernel_size
    taps = np.array([[e if e is not None else (-1, -1) for e in row] for row in data["matrix"]])
    rng = np.random.default_rng(seed)
    w = rng.integers(-3, 4, k).astype(np.float32)
    matrix = np.where(taps[..., 0] >= 0, w[taps[..., 0], taps[..., 1]], 0.0)
    # the figure's matrix maps its operand to its output; orient it as the forward C
    forward = matrix.T if spec.transposed else matrix
    # C's columns are the transposed output's cells: the forward input unless an output
    # padding other than the automatic one made that output smaller
    size = tuple(spec.output_size) if spec.transposed else spec.input_size
    fwd_spec = ConvSpec(size, k, spec.stride, spec.padding, spec.dilation).validate()
    x = rng.integers(-3, 4, size).astype(np.float32)
    y = rng.integers(-3, 4, fwd_spec.forward_output).astype(np.float32)
    tr_spec = ConvSpec(*spec.args, transposed=True,
                       output_padding_given=spec.output_padding if spec.transposed else None)
    checks = []
    for name, op, operand, mat, sp in (("C x = conv2d(x)", "conv2d", x, forward, fwd_spec),
                                       ("Cᵀ y = conv_transpose2d(y)", "conv_transpose2d", y,
                                        forward.T, tr_spec)):
        r = _conv(op, _img(operand), _img(w), sp, backend)
        want = mat @ operand.ravel()
        got = r.output.ravel()
        error = _error(got, want)
        checks.append(Check(f"alphabet {name}", r.backend, error, r.macs, r.dense_macs))
    return checks


def check_channels(data: dict, backend: str) -> list[Check]:
    """Every output cell of every plane against conv2d / conv_transpose2d with groups, and
    every plane's partial sum against a depthwise conv on the same backend.

    The partial sum of operand plane j into output plane q is plane j convolved with one
    slice, so all of them at once are a conv with ``groups = planes_in`` and ``m =
    planes_out / G`` outputs per plane: output channel ``j*m + t`` is plane j's part of
    output plane ``(j // (planes_in/G)) * m + t``. For conv2d its weight gathers the
    slices; ConvTranspose2d's weight (in x out/G x kh x kw) already has that layout.
    """
    spec = ConvSpec.from_dict(data)
    if spec.is_volume:
        return check_channels3(data, spec, backend)
    G = data["groups"]
    op = "conv_transpose2d" if spec.transposed else "conv2d"
    x = np.asarray(data["input"], dtype=np.float32)[None]
    w = np.asarray(data["kernel"], dtype=np.float32)
    r = _conv(op, x, w, spec, backend, groups=G)
    scale = _scale(x, w)
    checks = [Check(f"channels output, {len(data['output'])} planes, groups={G}", r.backend,
                    _error(r.output[0], np.asarray(data["output"], dtype=np.float32)), r.macs,
                    r.dense_macs, scale)]
    pin = x.shape[1]
    shown = np.asarray(data["partial_sums"], dtype=np.float32)  # (out, in/G, oh, ow)
    pout, per_in = shown.shape[:2]
    m = pout // G
    channel = np.arange(pin * m)
    j, t = channel // m, channel % m
    q, jj = (j // per_in) * m + t, j % per_in
    if spec.transposed:
        wd = w
    else:
        wd = w[q, jj][:, None]
    r = _conv(op, x, wd, spec, backend, groups=pin)
    checks.append(Check("channels partial sums, every plane of every step", r.backend,
                        _error(r.output[0], shown[q, jj]), r.macs, r.dense_macs, scale))
    return checks


def _reads(phase: str, spec: ConvSpec, backend: str):
    """Non-zero entries of a phase's im2col, counted by convolving ones on the backend."""
    i, k, s, p, d = spec.args
    if phase == "forward":
        r = _conv("conv2d", _img(np.ones(i)), _img(np.ones(k)), spec, backend)
        return r, float(r.output.sum())
    if phase == "loss":
        if spec.padding_mode != "zeros":  # the gradient of the padded input (see geometry)
            total = p.total
            tr = ConvSpec((i[0] + total[0], i[1] + total[1]), k, s, (0, 0), d,
                          transposed=True).validate()
        else:
            tr = ConvSpec(*spec.args, transposed=True).validate()
        r = _conv("conv_transpose2d", _img(np.ones(spec.forward_output)), _img(np.ones(k)),
                  tr, backend)
        return r, float(r.output.sum())
    from . import sparse

    taps = geometry.gradient_conv(*spec.args).kernel  # dY with zeros inserted
    r = sparse.run("conv2d", prepad(_img(np.ones(i)), spec), _img(np.ones(taps)), stride=d,
                   padding=0, backend=backend)
    return r, float(r.output[0, 0, :k[0], :k[1]].sum())


def _check_alphabet_channels(data: dict, spec: ConvSpec, backend: str, seed: int) -> list:
    """The block matrix with random weights times random planes, against the grouped conv
    (conv_transpose2d for -t) on the backend: ``blocks[q][j]`` names each block's slice."""
    c, d, g = data["in_channels"], data["out_channels"], data["groups"]
    rng = np.random.default_rng(seed)
    w = rng.integers(-3, 4, (d, c // g, *spec.kernel_size)).astype(np.float32)
    low = spec.lowered()
    ins, outs = low.operand[0] * low.operand[1], low.steps
    operand = rng.integers(-3, 4, ((d if spec.transposed else c), *low.operand)).astype(np.float32)
    matrix = np.array([[w[(*data["blocks"][r // outs][col // ins], *e)] if e is not None else 0.0
                        for col, e in enumerate(row)] for r, row in enumerate(data["matrix"])],
                      dtype=np.float32)
    op = "conv_transpose2d" if spec.transposed else "conv2d"
    r = _conv(op, operand[None], w, spec, backend, groups=g)
    error = _error(r.output.ravel(), matrix @ operand.ravel())
    name = "Cᵀ x = conv_transpose2d(x)" if spec.transposed else "C x = conv2d(x)"
    return [Check(f"alphabet {name}, {c} → {d} channels, {g} groups", r.backend, error,
                  r.macs, r.dense_macs)]


def check_im2col(data: dict, backend: str) -> list[Check]:
    from . import models, stats

    spec, phase = ConvSpec.from_dict(data), data["phase"]
    matrix = data["im2col"]
    elements = len(matrix) * len(matrix[0])
    shown = sum(e is None for row in matrix for e in row)
    c, d = data.get("in_channels", 1), data.get("out_channels", 1)
    layer = models.Layer("x", "conv", spec.input_size, c, d, spec.kernel_size, spec.stride,
                         spec.padding, spec.dilation, data.get("groups", 1),
                         padding_mode=spec.padding_mode)
    closed = stats.layer_stats(layer)[f"{phase}_featuremap_zeros_after_im2col"]
    if spec.is_volume:
        backend_run, macs, dense, reads = _reads3(phase, spec, backend)
    else:
        r, reads = _reads(phase, spec, backend)
        backend_run, macs, dense = r.backend, r.macs, r.dense_macs
    counted = elements - (d if phase == "loss" else c) * reads  # every plane of the operand
    error = float(max(abs(shown - closed), abs(shown - counted)))
    return [Check(f"im2col {phase} zeros: figure {shown}, stats {closed}, counted {counted:.0f}",
                  backend_run, error, macs, dense)]


def check_arithmetic(data: dict, backend: str, windows: list) -> list[Check]:
    """``windows``: per step, how many of its taps the figure draws on input cells."""
    spec = ConvSpec.from_dict(data)
    if spec.is_volume:
        return check_arithmetic3(data, backend, windows)
    op = "conv_transpose2d" if spec.transposed else "conv2d"
    operand = spec.lowered().operand
    r = _conv(op, _img(np.ones(operand)), _img(np.ones(spec.kernel_size)), spec, backend)
    got = r.output[0, 0].ravel()
    want = np.asarray(windows, dtype=np.float32)
    error = _error(got, want)
    return [Check("arithmetic taps on input cells, every step", r.backend, error, r.macs,
                  r.dense_macs)]


# --- volumes (3-D convs): conv3d on the backend (sparse.volume) -------------------------

def conv3(x, w, spec: ConvSpec, backend: str, groups: int = 1):
    """conv3d, or conv_transpose3d for ``-t``, of the spec on ``backend``."""
    from .sparse.volume import run3d

    s, d = spec.stride, spec.dilation
    if not spec.transposed:
        if not _one_call(spec):
            return run3d("conv3d", prepad(x, spec), w, stride=s, padding=0, dilation=d,
                         groups=groups, backend=backend)
        return run3d("conv3d", x, w, stride=s, padding=spec.padding.triple, dilation=d,
                     groups=groups, backend=backend)
    if spec.padding.symmetric:
        return run3d("conv_transpose3d", x, w, stride=s, padding=spec.padding.triple,
                     dilation=d, output_padding=spec.output_padding, groups=groups,
                     backend=backend)
    full, name, macs, dense = run3d("conv_transpose3d", x, w, stride=s, padding=0, dilation=d,
                                    output_padding=spec.output_padding, groups=groups,
                                    backend=backend)
    crop = tuple(slice(lo, n - hi) for (lo, hi), n in zip(spec.padding.axes, full.shape[2:]))
    return full[(..., *crop)], name, macs, dense


def _reads3(phase: str, spec: ConvSpec, backend: str):
    """Non-zero entries of a volume's vol2col (as :func:`_reads`): conv3d of ones (forward),
    conv_transpose3d of ones over dY (loss), ones with dY's zero-inserted ones (gradient)."""
    from .sparse.volume import run3d

    i, k, s, p, d = spec.args
    if phase == "forward":
        y, name, macs, dense = conv3(_img(np.ones(i)), _img(np.ones(k)), spec, backend)
        return name, macs, dense, float(y.sum())
    if phase == "loss":
        if spec.padding_mode != "zeros":  # the gradient of the padded input (see geometry)
            padded = tuple(n + t for n, t in zip(i, p.total))
            tr = ConvSpec(padded, k, s, (0, 0, 0), d, transposed=True).validate()
        else:
            tr = ConvSpec(*spec.args, transposed=True).validate()
        y, name, macs, dense = conv3(_img(np.ones(spec.forward_output)), _img(np.ones(k)), tr,
                                     backend)
        return name, macs, dense, float(y.sum())
    taps = geometry.gradient_conv3(*spec.args).kernel  # dY with zeros inserted
    y, name, macs, dense = run3d("conv3d", prepad(_img(np.ones(i)), spec), _img(np.ones(taps)),
                                 stride=d, padding=0, backend=backend)
    return name, macs, dense, float(y[0, 0, :k[0], :k[1], :k[2]].sum())


def check_channels3(data: dict, spec: ConvSpec, backend: str) -> list[Check]:
    """A volume's channels figure as :func:`check_channels`: the outputs against conv3d /
    conv_transpose3d with groups, every partial sum against a conv3d with ``groups =
    planes_in`` (output channel ``j*m + t`` is channel j's part of output plane
    ``(j // (planes_in/G)) * m + t``)."""
    G = data["groups"]
    x = np.asarray(data["input"], dtype=np.float32)[None]
    w = np.asarray(data["kernel"], dtype=np.float32)
    y, name, macs, dense = conv3(x, w, spec, backend, G)
    scale = _scale(x, w)
    checks = [Check(f"channels output (3-D), {len(data['output'])} planes, groups={G}", name,
                    _error(y[0], np.asarray(data["output"], dtype=np.float32)), macs, dense,
                    scale)]
    pin = x.shape[1]
    shown = np.asarray(data["partial_sums"], dtype=np.float32)  # (out, in/G, od, oh, ow)
    pout, per_in = shown.shape[:2]
    m = pout // G
    channel = np.arange(pin * m)
    j, t = channel // m, channel % m
    q, jj = (j // per_in) * m + t, j % per_in
    y, name, macs, dense = conv3(x, w if spec.transposed else w[q, jj][:, None], spec, backend,
                                 pin)
    checks.append(Check("channels partial sums (3-D), every channel of every step", name,
                        _error(y[0], shown[q, jj]), macs, dense, scale))
    return checks


def check_numerical3(data: dict, backend: str) -> list[Check]:
    """A volume's output against conv3d / conv_transpose3d / 3-D pooling."""
    spec, mode = ConvSpec.from_dict(data), data["mode"]
    x = _img(data["input"])
    if mode == "convolution":
        w = _img(data["kernel"])
        y, name, macs, dense = conv3(x, w, spec, backend)
        scale = _scale(x, w)
    else:
        from .sparse.volume import run3d

        p = spec.padding.triple
        if not _one_call(spec):  # numpy pads (max pooling with -inf), then the pooling
            x, p = prepad(x, spec, 0.0 if mode == "average" else -np.inf), 0
        op = "avg_pool3d" if mode == "average" else "max_pool3d"
        y, name, macs, dense = run3d(op, x, kernel_size=spec.kernel_size, stride=spec.stride,
                                     padding=p, dilation=spec.dilation, backend=backend)
        scale = _scale(np.where(np.isfinite(x), x, 0), None)
    error = _error(y[0, 0], np.asarray(data["output"], dtype=np.float32))
    return [Check(f"numerical {mode} output (3-D)", name, error, macs, dense, scale)]


def check_alphabet3(data: dict, spec: ConvSpec, backend: str, seed: int = 0) -> list[Check]:
    """A volume's C with random weights: C x against conv3d(x) and Cᵀ y against
    conv_transpose3d(y) (``data["matrix"]`` maps the figure's operand to its output)."""
    k = spec.kernel_size
    rng = np.random.default_rng(seed)
    w = rng.integers(-3, 4, k).astype(np.float32)
    matrix = np.array([[w[tuple(e)] if e is not None else 0.0 for e in row]
                       for row in data["matrix"]], dtype=np.float32)
    forward = matrix.T if spec.transposed else matrix
    # -t with output padding: the transposed output is larger than the input, and C the
    # first rows of the conv of that size (its outputs past the forward output cut)
    size = tuple(spec.lowered().out) if spec.transposed else spec.input_size
    fwd = ConvSpec(size, k, spec.stride, spec.padding, spec.dilation).validate()
    tr = ConvSpec(*spec.args, transposed=True,
                  output_padding_given=spec.output_padding if spec.transposed else None)
    o = ConvSpec(spec.input_size, k, spec.stride, spec.padding, spec.dilation).forward_output
    x = rng.integers(-3, 4, size).astype(np.float32)
    y = rng.integers(-3, 4, o).astype(np.float32)
    checks = []
    for name, operand, mat, sp in (("C x = conv3d(x)", x, forward, fwd),
                                   ("Cᵀ y = conv_transpose3d(y)", y, forward.T, tr)):
        got, run, macs, dense = conv3(_img(operand), _img(w), sp, backend)
        if not sp.transposed:
            got = got[..., :o[0], :o[1], :o[2]]
        checks.append(Check(f"alphabet {name}", run, _error(got.ravel(), mat @ operand.ravel()),
                            macs, dense))
    return checks


def check_arithmetic3(data: dict, backend: str, windows: list) -> list[Check]:
    """``windows``: per step, how many of its taps the figure draws on input cells,
    against a conv3d of ones (each output counts the taps that read a real cell)."""
    spec = ConvSpec.from_dict(data)
    operand = spec.lowered().operand
    ones = _img(np.ones(operand))
    y, name, macs, dense = conv3(ones, _img(np.ones(spec.kernel_size)), spec, backend)
    error = _error(y[0, 0].ravel(), np.asarray(windows, dtype=np.float32))
    return [Check("arithmetic taps on input cells, every step (3-D)", name, error, macs, dense)]


def format_checks(checks: list[Check]) -> str:
    head = ["check", "backend", "max abs error", "MACs done / dense", "zeros skipped", "result"]
    rows = [[c.name, c.backend, f"{c.error:.3g}", f"{c.macs:,} / {c.dense_macs:,}",
             f"{c.dense_macs - c.macs:,}", "pass" if c.passed else "FAIL"] for c in checks]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths)) for r in rows]
    return "\n".join(lines) + "\n"
