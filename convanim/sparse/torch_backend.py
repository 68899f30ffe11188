"""PyTorch's own operations, as a second witness beside our kernels and the numpy reference.

Optional: only ``backend="torch"`` (and ``verify --against torch``) imports torch. It
runs on the GPU when torch sees one, with TF32 off, so products are float32 like ours.
"""
from __future__ import annotations

import numpy as np

from ..errors import BackendError


def _torch():
    try:
        import torch
    except ImportError:
        raise BackendError("the torch backend needs PyTorch: pip install torch") from None
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    return torch


def available() -> None:
    """Raises BackendError, saying how to install it, when torch cannot be imported."""
    _torch()


def run(op: str, x, w=None, *, stride, padding, dilation, groups=1, output_padding=(0, 0),
        kernel_size=None) -> np.ndarray:
    torch = _torch()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    F = torch.nn.functional
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(device)
    if op in ("conv3d", "conv_transpose3d", "avg_pool3d", "max_pool3d"):  # a volume's
        op, F = op.replace("3d", "2d"), _Volume(F)
    if op == "conv2d":
        y = F.conv2d(xt, torch.from_numpy(w).to(device), stride=stride, padding=padding,
                     dilation=dilation, groups=groups)
    elif op == "conv_transpose2d":
        y = F.conv_transpose2d(xt, torch.from_numpy(w).to(device), stride=stride,
                               padding=padding, output_padding=output_padding, groups=groups,
                               dilation=dilation)
    elif op == "avg_pool2d":
        y = F.avg_pool2d(xt, kernel_size, stride=stride, padding=padding,
                         count_include_pad=True)
    elif op == "max_pool2d":
        y = F.max_pool2d(xt, kernel_size, stride=stride, padding=padding, dilation=dilation)
    else:
        raise ValueError(f"unknown operation {op!r}")
    return y.cpu().numpy()


class _Volume:
    """torch.nn.functional with its 3-D operations under the 2-D names ``run`` calls."""

    def __init__(self, F):
        self.conv2d, self.conv_transpose2d = F.conv3d, F.conv_transpose3d
        self.avg_pool2d, self.max_pool2d = F.avg_pool3d, F.max_pool3d
