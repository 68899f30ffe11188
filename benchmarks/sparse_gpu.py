"""Sparse convolution on the GPU: our CSR, BSR and dense kernels beside cuDNN.

Layers: the 3x3 convolutions of VGG16 and ResNet-50 at 224x224 (each distinct shape
once, weighted by how often the network uses it), batch 1 and 8. Weights: random,
then unstructured sparsity 0/50/80/90/95/99% (the smallest magnitudes zeroed) or 8x8
(COUT, CIN) block sparsity 50/75/90% (convanim.sparse.block_mask). ``ms`` is the
median of CUDA-event-timed launches after a warm-up launch (JIT compilation), input
already on the device: the GPU's time. ``e2e_ms`` is the median host wall time of a
launch up to its synchronisation: the GPU's time plus launch overhead (Numba's
argument marshalling, PyTorch's dispatch). cuDNN is torch.nn.functional.conv2d on
the same data (float32, TF32 off) when torch with CUDA is installed.

    python benchmarks/sparse_gpu.py [--csv FILE] [--repeat 20] [--networks vgg16]
                                    [--batches 1] [--methods csr,cudnn]
    python benchmarks/sparse_gpu.py --smoke     # one tiny layer on the CUDA simulator

Without a GPU it says so and times a reduced set on the numpy backend.
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import write_csv  # noqa: E402

from convanim import geometry, models, sparse  # noqa: E402

UNSTRUCTURED = [0.0, 0.5, 0.8, 0.9, 0.95, 0.99]
BLOCKED = [0.5, 0.75, 0.9]
METHODS = ["csr", "escoin", "bsr", "dense"]
ALL_METHODS = [*METHODS, "cudnn"]


def layer_shapes(network: str) -> list[tuple]:
    """Distinct 3x3 conv shapes (H, C, D, stride) with how often each occurs."""
    counts: dict[tuple, int] = {}
    for layer in models.MODELS[network]():
        if layer.kind == "conv" and layer.kernel == (3, 3):
            key = (layer.in_size[0], layer.in_channels, layer.out_channels, layer.stride[0])
            counts[key] = counts.get(key, 0) + 1
    return [(*k, n) for k, n in counts.items()]


def weights(rng, d, c, kind, sparsity):
    w = rng.standard_normal((d, c, 3, 3)).astype(np.float32)
    if kind == "unstructured" and sparsity:
        w[np.abs(w) < np.quantile(np.abs(w), sparsity)] = 0.0
    elif kind == "block":
        w *= sparse.block_mask(w, sparsity)
    return w


def _timed(call, sync, event, spin, repeat, rounds=5):
    """(GPU ms, end-to-end ms) of one call, medians.

    GPU: ``repeat`` launches queued behind ``spin`` (which keeps the GPU busy meanwhile),
    between two events, so the host's launch cost is hidden and only the kernels count.
    End-to-end: host wall time of one launch up to its synchronisation.
    """
    call()  # compiles, allocates, picks an algorithm
    sync()
    start, end = event(), event()
    gpu, wall = [], []
    for _ in range(rounds):
        spin()
        start.record()
        for _ in range(repeat):
            call()
        end.record()
        end.synchronize()
        gpu.append(start.elapsed_time(end) / repeat)
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        sync()
        wall.append(1e3 * (time.perf_counter() - t))
    return statistics.median(gpu), statistics.median(wall)


SPIN_US = 20000  # longer than queueing `repeat` launches takes on the host


def time_ours(plan, xp, out, repeat, simulator=False):
    from numba import cuda

    from convanim.sparse import kernels

    spin = (lambda: None) if simulator else (lambda: kernels.spin[1, 1](SPIN_US))
    return _timed(lambda: plan.launch(xp, out), cuda.synchronize, cuda.event, spin, repeat)


def time_cudnn(x, w, stride, repeat):
    import torch

    torch.backends.cudnn.allow_tf32 = False  # float32 products, as ours
    torch.backends.cudnn.benchmark = True
    xt, wt = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    return _timed(lambda: torch.nn.functional.conv2d(xt, wt, stride=stride, padding=1),
                  torch.cuda.synchronize, lambda: torch.cuda.Event(enable_timing=True),
                  lambda: torch.cuda._sleep(int(SPIN_US * 2000)), repeat)


def have_cudnn() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def gpu_rows(networks, batches, repeat, simulator=False, methods=ALL_METHODS,
             sparsities=None):
    from convanim.sparse import backend

    backend.cuda_module("simulator" if simulator else "cuda")
    from convanim.sparse.gpu import Conv2dPlan

    cudnn = "cudnn" in methods and not simulator and have_cudnn()
    rng = np.random.default_rng(0)
    rows = []
    configs = [("unstructured", s) for s in UNSTRUCTURED] + [("block", s) for s in BLOCKED]
    if sparsities is not None:
        configs = [c for c in configs if c[1] in sparsities]
    if simulator:
        configs = [("unstructured", 0.9), ("block", 0.5)]
    for network in networks:
        shapes = layer_shapes(network) if not simulator else [(6, 4, 4, 1, 1)]
        for batch in batches:
            for kind, sparsity in configs:
                for h, c, d, stride, count in shapes:
                    x = rng.standard_normal((batch, c, h, h)).astype(np.float32)
                    w = weights(rng, d, c, kind, sparsity)
                    base = dict(network=network, layer=f"{c}x{h}x{h}->{d} s{stride}",
                                count=count, batch=batch, structure=kind, sparsity=sparsity)
                    for method in [m for m in METHODS if m in methods]:
                        plan = Conv2dPlan(x.shape, w, stride, 1, 1, 1, method)
                        ms, e2e = time_ours(plan, plan.padded(x), plan.output(), repeat,
                                            simulator)
                        rows.append({**base, "method": method, "ms": ms, "e2e_ms": e2e,
                                     "macs": plan.macs})
                    if cudnn:
                        ms, e2e = time_cudnn(x, w, stride, repeat)
                        rows.append({**base, "method": "cudnn", "ms": ms, "e2e_ms": e2e,
                                     "macs": batch * d * c * 9 * math.prod(
                                         geometry.conv_output_size((h, h), (3, 3), (stride,) * 2,
                                                                   (1, 1), (1, 1)))})
    return rows


def cpu_rows(repeat):
    """No GPU: ResNet-50's distinct 3x3 shapes at batch 1 on the numpy backend."""
    rng = np.random.default_rng(0)
    rows = []
    for h, c, d, stride, count in layer_shapes("resnet50"):
        x = rng.standard_normal((1, c, h, h)).astype(np.float32)
        for sparsity in (0.0, 0.9):
            w = weights(rng, d, c, "unstructured", sparsity)
            sparse.conv2d(x, w, stride=stride, padding=1, backend="numpy")  # warm-up
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                sparse.conv2d(x, w, stride=stride, padding=1, backend="numpy")
                times.append(1e3 * (time.perf_counter() - t))
            rows.append(dict(network="resnet50", layer=f"{c}x{h}x{h}->{d} s{stride}",
                             count=count, batch=1, structure="unstructured", sparsity=sparsity,
                             method="numpy", ms=statistics.median(times),
                             e2e_ms=statistics.median(times), macs=0))
    return rows


def summary(rows) -> str:
    """Network time (ms, layers weighted by use) per method, and CSR's ratio to cuDNN."""
    groups: dict[tuple, dict] = {}
    for r in rows:
        key = (r["network"], r["batch"], r["structure"], r["sparsity"])
        groups.setdefault(key, {}).setdefault(r["method"], 0.0)
        groups[key][r["method"]] += r["ms"] * r["count"]
    methods = [m for m in [*ALL_METHODS, "numpy"]
               if any(m in g for g in groups.values())]
    head = ["network", "batch", "sparsity", *[f"{m} ms" for m in methods]]
    if "cudnn" in methods:
        head.append("cuDNN/CSR")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (network, batch, kind, sp), g in groups.items():
        label = f"{sp:.0%}" + (" 8x8 blocks" if kind == "block" else "")
        cells = [network, str(batch), label, *[f"{g[m]:.3f}" if m in g else "" for m in methods]]
        if "cudnn" in methods:
            cells.append(f"{g['cudnn'] / g['csr']:.2f}x" if "cudnn" in g else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def layer_table(rows, batch: int) -> str:
    """cuDNN time over CSR time for every layer and unstructured sparsity (> 1: CSR wins)."""
    times: dict[tuple, dict] = {}
    for r in rows:
        if r["batch"] == batch and r["structure"] == "unstructured":
            times.setdefault((r["network"], r["layer"]), {})[(r["sparsity"], r["method"])] = r["ms"]
    levels = sorted({r["sparsity"] for r in rows if r["structure"] == "unstructured"})
    head = ["network", "layer", "cuDNN ms", *[f"{s:.0%}" for s in levels]]
    lines = [f"cuDNN time / CSR time, batch {batch} (> 1: CSR is faster)",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (network, layer), t in times.items():
        cudnn = statistics.median(v for (s, m), v in t.items() if m == "cudnn")
        cells = [f"{t[(s, 'cudnn')] / t[(s, 'csr')]:.2f}" for s in levels]
        lines.append(f"| {network} | {layer} | {cudnn:.3f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--csv", type=Path)
    ap.add_argument("--smoke", action="store_true", help="one tiny layer on the simulator")
    ap.add_argument("--networks", default="vgg16,resnet50")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--methods", default=",".join(ALL_METHODS))
    ap.add_argument("--sparsity", help="comma-separated subset, e.g. 0,0.95")
    opts = ap.parse_args()

    if opts.smoke:
        rows = gpu_rows(["vgg16"], [1], 1, simulator=True)
        print("smoke run on the CUDA simulator: times mean nothing, the code paths ran")
    elif sparse.gpu_present():
        rows = gpu_rows(opts.networks.split(","), [int(b) for b in opts.batches.split(",")],
                        opts.repeat, methods=opts.methods.split(","),
                        sparsities=opts.sparsity and [float(v) for v in opts.sparsity.split(",")])
        print(f"GPU run; cuDNN {'beside' if have_cudnn() else 'absent (no torch with CUDA)'}")
    else:
        rows = cpu_rows(max(1, opts.repeat // 10))
        print("no GPU found: reduced set on the numpy backend (dense; sparsity changes "
              "nothing there); the GPU table is still owed")
    print(summary(rows))
    if any(r["method"] == "cudnn" for r in rows) and any(r["method"] == "csr" for r in rows):
        for batch in sorted({r["batch"] for r in rows}):
            print(layer_table(rows, batch))
    if opts.csv:
        write_csv(opts.csv, rows)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
