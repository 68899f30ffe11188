"""Plain-loop definitions, written from PyTorch's documentation, to test geometry against.

Nothing here calls convanim; every size is an (h, w) pair.
"""
import numpy as np


def fitting_windows(n, k, s, p, d):
    """Count window positions by sliding one, not by the closed form."""
    count, start = 0, 0
    while start + d * (k - 1) <= n + 2 * p - 1:
        count += 1
        start += s
    return count


def conv2d(x, w, s, p, d):
    oh = fitting_windows(x.shape[0], w.shape[0], s[0], p[0], d[0])
    ow = fitting_windows(x.shape[1], w.shape[1], s[1], p[1], d[1])
    out = np.zeros((oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(w.shape[0]):
                for kx in range(w.shape[1]):
                    y, x_ = oy * s[0] + ky * d[0] - p[0], ox * s[1] + kx * d[1] - p[1]
                    if 0 <= y < x.shape[0] and 0 <= x_ < x.shape[1]:
                        out[oy, ox] += x[y, x_] * w[ky, kx]
    return out


def conv_transpose2d(x, w, s, p, d, a):
    """Scatter form: input cell (y, x) adds x*w[ky, kx] at (y*s + ky*d - p, ...)."""
    full = [(x.shape[ax] - 1) * s[ax] + d[ax] * (w.shape[ax] - 1) + 1 + a[ax] for ax in (0, 1)]
    out = np.zeros(full)
    for y in range(x.shape[0]):
        for x_ in range(x.shape[1]):
            for ky in range(w.shape[0]):
                for kx in range(w.shape[1]):
                    out[y * s[0] + ky * d[0], x_ * s[1] + kx * d[1]] += x[y, x_] * w[ky, kx]
    # padding p crops p cells on each side of the full scatter
    return out[p[0]:full[0] - p[0], p[1]:full[1] - p[1]]


def weight_gradient(x, dy, k, s, p, d):
    """dW[ky, kx] = sum over outputs of dY * the input cell that tap read."""
    dw = np.zeros(k)
    for oy in range(dy.shape[0]):
        for ox in range(dy.shape[1]):
            for ky in range(k[0]):
                for kx in range(k[1]):
                    y, x_ = oy * s[0] + ky * d[0] - p[0], ox * s[1] + kx * d[1] - p[1]
                    if 0 <= y < x.shape[0] and 0 <= x_ < x.shape[1]:
                        dw[ky, kx] += x[y, x_] * dy[oy, ox]
    return dw
