"""PyTorch layers as figure options, for ``convanim.from_torch(layer, input=None, weights=False)``.

A layer's own hyper-parameters become the figure's options, so the figure draws what
the layer computes: ``nn.Conv2d`` and ``nn.ConvTranspose2d`` (numerical for one
channel in and out, else channels), ``nn.MaxPool2d`` and ``nn.AvgPool2d`` (numerical
pooling). With ``weights=True`` the figure shows the layer's weights instead of
seeded ones; with ``input`` (a tensor or array) its values. What the figures cannot
show (ceil_mode, reflect padding, a bias, a batch) is refused with the reason, never
drawn approximately. Torch stays optional: it is imported only here, on first use.
"""
from __future__ import annotations

import numpy as np

from .errors import SpecError, ToolError

LAYERS = ("Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Conv3d", "ConvTranspose3d",
          "MaxPool3d", "AvgPool3d")


def _torch():
    try:
        import torch
    except ImportError:
        raise ToolError("convanim.from_torch needs PyTorch: pip install torch") from None
    return torch


def _pair(v, axes: int = 2) -> tuple[int, ...]:
    """A layer's size: an int or a tuple, as (h, w), or (d, h, w) of a 3-D layer."""
    return (int(v),) * axes if isinstance(v, int) else tuple(int(a) for a in v[:axes])


def _axes(layer, nn) -> int:
    """3 for a 3-D layer (Conv3d, ConvTranspose3d, MaxPool3d, AvgPool3d), else 2."""
    return 3 if isinstance(layer, (nn.Conv3d, nn.ConvTranspose3d, nn.MaxPool3d,
                                   nn.AvgPool3d)) else 2


def _array(t) -> np.ndarray:
    if hasattr(t, "detach"):
        t = t.detach().cpu()
        return t.double().numpy() if t.is_floating_point() else t.numpy()
    return np.asarray(t)


def _planes(x: np.ndarray, what: str, axes: int = 2) -> np.ndarray:
    """``input`` as C x H x W (C x D x H x W of a 3-D layer): a batch of one, one sample,
    or one plane."""
    if axes == 3:
        x = x[0] if x.ndim == 5 and x.shape[0] == 1 else x
        if x.ndim == 5:
            raise SpecError(f"input: a figure draws one sample, got a batch of {x.shape[0]}; "
                            f"pass input[:1]")
        x = x[None] if x.ndim == 3 else x
        if x.ndim != 4:
            raise SpecError(f"input: expected D x H x W, C x D x H x W or 1 x C x D x H x W "
                            f"for {what}, got {x.ndim}-D")
        return x
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise SpecError(f"input: a figure draws one sample, got a batch of {x.shape[0]}; "
                            f"pass input[:1]")
        x = x[0]
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3:
        raise SpecError(f"input: expected H x W, C x H x W or 1 x C x H x W for {what}, got "
                        f"{x.ndim}-D")
    return x


def torch_options(layer, input=None, weights: bool = False,
                  ignore_bias: bool = False) -> tuple[str, dict]:
    """The kind and options that draw ``layer``; raises :class:`SpecError` for what a
    figure cannot show."""
    torch = _torch()
    nn = torch.nn
    name = type(layer).__name__
    n = _axes(layer, nn)
    if isinstance(layer, (nn.MaxPool2d, nn.AvgPool2d, nn.MaxPool3d, nn.AvgPool3d)):
        return "numerical", _pooling(layer, name, input, weights, nn)
    if not isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Conv3d, nn.ConvTranspose3d)):
        raise SpecError(f"from_torch draws nn.{', nn.'.join(LAYERS)}; got {name}")
    transposed = isinstance(layer, (nn.ConvTranspose2d, nn.ConvTranspose3d))
    if layer.padding_mode != "zeros":
        raise SpecError(f"{name}: padding_mode={layer.padding_mode!r}; figures draw zero "
                        f"padding only")
    k, s, d = (_pair(v, n) for v in (layer.kernel_size, layer.stride, layer.dilation))
    padding = layer.padding
    if padding == "valid":
        padding = (0, 0)
    elif padding == "same":
        total = [d[a] * (k[a] - 1) for a in range(n)]
        if any(t % 2 for t in total):
            raise SpecError(f"{name}: padding='same' pads unevenly here (d(k-1) = "
                            f"{'x'.join(map(str, total))} is odd); figures pad both sides alike")
        padding = tuple(t // 2 for t in total)
    options = {"kernel_size": k, "stride": s, "padding": _pair(padding, n), "dilation": d,
               "transposed": transposed}
    if transposed:
        options["output_padding"] = _pair(layer.output_padding, n)
    # the figure's channels are the forward conv's: a ConvTranspose2d(Ct, Dt) is the
    # transposed conv of a Dt -> Ct conv, with the same weight tensor
    c, dd = layer.in_channels, layer.out_channels
    if transposed:
        c, dd = dd, c
    g = layer.groups
    one = c == dd == g == 1
    if weights:
        if layer.bias is not None and bool((layer.bias != 0).any()) and not ignore_bias:
            raise SpecError(f"{name} has a bias, which figures do not draw; pass "
                            f"ignore_bias=True to draw the convolution without it, or build "
                            f"the layer with bias=False")
        w = _array(layer.weight)
        if n == 3 and not one:
            raise SpecError(f"{name}: {c} -> {dd} channels, groups={g}; a volume is drawn "
                            f"with one channel in and out (numerical)")
        options["kernel"] = w[0, 0] if one else w
    if input is not None:
        x = _planes(_array(input), name, n)
        options["input"] = x[0] if one and x.shape[0] == 1 else x
    if one:
        return "numerical", {**options, "mode": "convolution"}
    return "channels", {**options, "in_channels": c, "out_channels": dd, "groups": g}


def _pooling(layer, name, input, weights, nn) -> dict:
    if weights:
        raise SpecError(f"{name} has no weights to draw")
    if layer.ceil_mode:
        raise SpecError(f"{name}: ceil_mode=True; figures draw PyTorch's default floor mode")
    average = isinstance(layer, (nn.AvgPool2d, nn.AvgPool3d))
    if average:
        if not layer.count_include_pad:
            raise SpecError(f"{name}: count_include_pad=False; figures average over the "
                            f"whole window, padding included (PyTorch's default)")
        if layer.divisor_override is not None:
            raise SpecError(f"{name}: divisor_override={layer.divisor_override}; figures "
                            f"divide by the window's size")
    n = _axes(layer, nn)
    k = _pair(layer.kernel_size, n)
    s = _pair(layer.stride if layer.stride is not None else layer.kernel_size, n)
    options = {"mode": "average" if average else "max", "kernel_size": k, "stride": s,
               "padding": _pair(layer.padding, n)}
    if not average:
        options["dilation"] = _pair(layer.dilation, n)
    if input is not None:
        x = _planes(_array(input), name, n)
        if x.shape[0] != 1:
            raise SpecError(f"input: pooling figures draw one plane, got {x.shape[0]} "
                            f"channels; pass one, input[:, c:c + 1]")
        options["input"] = x[0]
    return options
