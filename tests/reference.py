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


def pool2d(x, k, s, p, d, mode):
    """avg_pool2d(count_include_pad=True) / max_pool2d, by sliding the window."""
    oh = fitting_windows(x.shape[0], k[0], s[0], p[0], d[0])
    ow = fitting_windows(x.shape[1], k[1], s[1], p[1], d[1])
    out = np.zeros((oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            seen = []
            for ky in range(k[0]):
                for kx in range(k[1]):
                    y, x_ = oy * s[0] + ky * d[0] - p[0], ox * s[1] + kx * d[1] - p[1]
                    if 0 <= y < x.shape[0] and 0 <= x_ < x.shape[1]:
                        seen.append(x[y, x_])
                    elif mode == "average":
                        seen.append(0.0)
            out[oy, ox] = sum(seen) / (k[0] * k[1]) if mode == "average" else max(seen, default=-np.inf)
    return out


def conv_matrix(i, w, s, p, d):
    """Dense C with conv2d(x, w).ravel() == C @ x.ravel(), built by convolving unit images."""
    cols = []
    for n in range(i[0] * i[1]):
        e = np.zeros(i)
        e.flat[n] = 1.0
        cols.append(conv2d(e, w, s, p, d).ravel())
    return np.array(cols).T


def im2col(phase, i, k, s, p, d):
    """Unfolded operand per training phase by plain loops: (rows, cols) of cells or None.

    forward: rows = taps (ky, kx) of w, cols = outputs (oy, ox); reads x.
    loss: dX[y, x] = sum over (ky, kx) of dY[(y + p - ky*d)/s, ...] w[ky, kx]; rows are
          the taps of the flipped kernel, cols the cells of dX; reads dY.
    gradient: dW[ky, kx] = sum over taps (ty, tx) of the zero-inserted dY of
              x[ky*d + ty - p, ...]; rows = (ty, tx), cols = (ky, kx); reads x.
    """
    o = [fitting_windows(i[a], k[a], s[a], p[a], d[a]) for a in (0, 1)]
    table = []
    if phase == "forward":
        for ky in range(k[0]):
            for kx in range(k[1]):
                row = []
                for oy in range(o[0]):
                    for ox in range(o[1]):
                        y, x = oy * s[0] + ky * d[0] - p[0], ox * s[1] + kx * d[1] - p[1]
                        row.append((y, x) if 0 <= y < i[0] and 0 <= x < i[1] else None)
                table.append(row)
    elif phase == "loss":
        for fy in range(k[0]):
            for fx in range(k[1]):
                ky, kx = k[0] - 1 - fy, k[1] - 1 - fx  # row fy of the flipped kernel
                row = []
                for y in range(i[0]):
                    for x in range(i[1]):
                        ny, nx = y + p[0] - ky * d[0], x + p[1] - kx * d[1]
                        ok = ny % s[0] == 0 and nx % s[1] == 0 and 0 <= ny // s[0] < o[0] \
                            and 0 <= nx // s[1] < o[1] and ny >= 0 and nx >= 0
                        row.append((ny // s[0], nx // s[1]) if ok else None)
                table.append(row)
    else:
        hh = [(o[a] - 1) * s[a] + 1 for a in (0, 1)]
        for ty in range(hh[0]):
            for tx in range(hh[1]):
                row = []
                for ky in range(k[0]):
                    for kx in range(k[1]):
                        y, x = ky * d[0] + ty - p[0], kx * d[1] + tx - p[1]
                        row.append((y, x) if 0 <= y < i[0] and 0 <= x < i[1] else None)
                table.append(row)
    return table


def padded_index(j, n, mode):
    """The operand cell padded position ``j`` (relative to the operand) copies, by walking.

    Written from PyTorch's padding_mode documentation, step by step rather than in a
    closed form: reflect bounces off the edge cells, circular wraps, replicate stops.
    Returns None for a zero.
    """
    if 0 <= j < n:
        return j
    if mode == "zeros":
        return None
    if mode == "replicate":
        return 0 if j < 0 else n - 1
    if mode == "circular":
        while j < 0:
            j += n
        while j >= n:
            j -= n
        return j
    while not 0 <= j < n:  # reflect
        j = -j if j < 0 else 2 * (n - 1) - j
    return j


def conv2d_sides(x, w, s, sides, d, mode="zeros"):
    """conv2d of ``x`` padded by (top, bottom, left, right) in ``mode``, by loops."""
    t, b, l, r = sides
    full = (x.shape[0] + t + b, x.shape[1] + l + r)
    oh = (full[0] - d[0] * (w.shape[0] - 1) - 1) // s[0] + 1
    ow = (full[1] - d[1] * (w.shape[1] - 1) - 1) // s[1] + 1
    out = np.zeros((oh, ow))
    for oy in range(oh):
        for ox in range(ow):
            for ky in range(w.shape[0]):
                for kx in range(w.shape[1]):
                    y = padded_index(oy * s[0] + ky * d[0] - t, x.shape[0], mode)
                    x_ = padded_index(ox * s[1] + kx * d[1] - l, x.shape[1], mode)
                    if y is not None and x_ is not None:
                        out[oy, ox] += x[y, x_] * w[ky, kx]
    return out


def tf_same_padding(i, k, s, d):
    """TensorFlow's "SAME" padding of one axis, (before, after), as its docs give it."""
    k_eff = d * (k - 1) + 1
    total = max(k_eff - s, 0) if i % s == 0 else max(k_eff - i % s, 0)
    return total // 2, total - total // 2
