"""Sparse convolution on the GPU: our CSR, BSR and dense kernels beside cuDNN.

Layers: the 3x3 convolutions of VGG16 and ResNet-50 at 224x224 (each distinct shape
once, weighted by how often the network uses it), batch 1 and 8. Weights: random,
then unstructured sparsity 0/50/80/90/95/99% (the smallest magnitudes zeroed) or 8x8
(COUT, CIN) block sparsity 50/75/90% (convanim.sparse.block_mask). ``ms`` is the
median of CUDA-event-timed launches after a warm-up launch (JIT compilation), input
already on the device: the GPU's time. ``e2e_ms`` is the median host wall time of a
launch up to its synchronisation: the GPU's time plus launch overhead (Numba's
argument marshalling, PyTorch's dispatch); ``host_us`` is their difference. cuDNN is
torch.nn.functional.conv2d on the same data (float32, TF32 off) when torch with CUDA
is installed. Methods: csr, escoin, bsr, dense (round one), csr_tiled and bsr_tiled
(round two, convanim.sparse.kernels_tiled), cudnn. Every timed output is checked
against cuDNN's (or, on the simulator, numpy's): ``max_err``.

The roofline columns: achieved TFLOP/s (2 x the MACs the method does) and GB/s (the
padded input read once, the output written once, the compressed weights) against the
device's FP32 and memory peaks (from its attributes, or --peak-tflops/--peak-gbs).

    python benchmarks/sparse_gpu.py --csv gpu.csv --markdown gpu.md   # the whole table
    python benchmarks/sparse_gpu.py --batches 1 --csv b1.csv          # in pieces, then
    python benchmarks/sparse_gpu.py --from-csv b1.csv b8.csv --markdown gpu.md
    python benchmarks/sparse_gpu.py --smoke     # one tiny layer on the CUDA simulator
    python benchmarks/sparse_gpu.py --quick --budget 200 --csv quick.csv  # one device call

``--quick``: VGG16 at batch 1, unstructured 0/90/95/99 % and 90 % 8×8 blocks, every
method (and cuDNN where torch sees the GPU): under 3 minutes on an H100/H200, JIT
included. Each row is appended to the CSV (and flushed) as soon as it is measured, and
``--budget SECONDS`` stops before the next measurement once that time is spent, with
the tables of what it has: a run cut short by a time limit keeps every finished row.

Without a GPU it says so and times a reduced set on the numpy backend.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from convanim import geometry, models, sparse  # noqa: E402
from convanim.errors import BackendError  # noqa: E402

UNSTRUCTURED = [0.0, 0.5, 0.8, 0.9, 0.95, 0.99]
BLOCKED = [0.5, 0.75, 0.9]
METHODS = ["csr", "escoin", "bsr", "dense", "csr_tiled", "bsr_tiled"]
LABELS = {"csr": "CSR", "escoin": "Escoin", "bsr": "BSR 8×8", "dense": "dense",
          "csr_tiled": "CSR tiled", "bsr_tiled": "BSR tiled", "cudnn": "cuDNN",
          "numpy": "numpy"}
ALL_METHODS = [*METHODS, "cudnn"]
CONFIGS = [("unstructured", s) for s in UNSTRUCTURED] + [("block", s) for s in BLOCKED]
#: the set that fits one device call: VGG16, batch 1
QUICK = [("unstructured", s) for s in (0.0, 0.9, 0.95, 0.99)] + [("block", 0.9)]
#: the simulator's set: one tiny layer (H, C, D, stride, count), two configurations
SMOKE_SHAPES = [(6, 4, 4, 1, 1)]
SMOKE = [("unstructured", 0.9), ("block", 0.5)]
#: the CSV's columns, in order (a numpy row leaves the GPU's empty)
FIELDS = ["network", "layer", "count", "batch", "structure", "sparsity", "method", "ms",
          "e2e_ms", "macs", "bytes", "launches", "arguments", "max_err", "host_us"]
clock = time.monotonic


class Budget:
    """Seconds a run may spend measuring; asked before each measurement, so a run
    ends between two rows, never inside one. ``None``: no limit."""

    def __init__(self, seconds: float | None):
        self.start = clock()
        self.seconds = seconds
        self.spent = False

    def left(self) -> bool:
        if self.seconds is not None and clock() - self.start >= self.seconds:
            self.spent = True
        return not self.spent


class RowWriter:
    """The CSV, one row at a time: the header with the first row, each row flushed as
    it comes, so a run stopped from outside (a device call's time limit) keeps them."""

    def __init__(self, path: Path | None):
        self.path, self.file, self.writer = path, None, None

    def write(self, row: dict) -> None:
        if self.path is None:
            return
        if self.file is None:
            self.file = open(self.path, "w", newline="")
            self.writer = csv.DictWriter(self.file, FIELDS, restval="")
            self.writer.writeheader()
        self.writer.writerow(row)
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


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
    return _timed(lambda: plan.launch(xp, out), cuda.synchronize, cuda.event, spin, repeat,
                  rounds=1 if simulator else 5)  # the simulator's rounds only cost time


def time_cudnn(x, w, stride, repeat):
    """(GPU ms, end-to-end ms, output) of torch.nn.functional.conv2d, TF32 off."""
    import torch

    torch.backends.cudnn.allow_tf32 = False  # float32 products, as ours
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    xt, wt = torch.from_numpy(x).cuda(), torch.from_numpy(w).cuda()
    ms, e2e = _timed(lambda: torch.nn.functional.conv2d(xt, wt, stride=stride, padding=1),
                     torch.cuda.synchronize, lambda: torch.cuda.Event(enable_timing=True),
                     lambda: torch.cuda._sleep(int(SPIN_US * 2000)), repeat)
    return ms, e2e, torch.nn.functional.conv2d(xt, wt, stride=stride, padding=1).cpu().numpy()


def have_cudnn() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


def traffic(plan, x_shape) -> int:
    """Bytes a perfect kernel moves: the padded input once, the output once, and the
    compressed weights (CSR: value + offset a non-zero; BSR: the kept tiles; dense: all)."""
    n, c = x_shape[:2]
    oh, ow = plan.out
    inp = 4 * n * c * plan.hp * plan.wp
    outp = 4 * n * plan.dout * oh * ow
    per_pixel = plan.macs // max(1, n * oh * ow)   # weights used by one output pixel
    weights = {"csr": 8, "escoin": 8, "csr_tiled": 8}.get(plan.method, 4) * per_pixel
    return inp + outp + weights


def dense_traffic(x_shape, d, out) -> int:
    n, c, h, wd = x_shape
    return 4 * (n * c * (h + 2) * (wd + 2) + n * d * out[0] * out[1] + d * c * 9)


def _error(got, want) -> float:
    """Largest difference over the output's scale (float32 sums of hundreds of terms)."""
    return float(np.abs(got - want).max() / max(1.0, float(np.abs(want).max())))


def gpu_rows(networks, batches, repeat, simulator=False, methods=ALL_METHODS,
             configs=CONFIGS, options=None, budget=None, shapes=None):
    """Each row as soon as it is measured (a generator): one layer, configuration and
    method. Stops before the next measurement once ``budget`` is spent."""
    from convanim.sparse import backend

    backend.cuda_module("simulator" if simulator else "cuda")
    from convanim.sparse.gpu import Conv2dPlan

    budget = budget or Budget(None)
    cudnn = "cudnn" in methods and not simulator and have_cudnn()
    rng = np.random.default_rng(0)

    def done(row):
        if simulator:  # the simulator's events time nothing: its wall time stands in
            row["ms"] = row["e2e_ms"]
        row["host_us"] = 1e3 * (row["e2e_ms"] - row["ms"])
        return row

    for network in networks:
        for batch in batches:
            for kind, sparsity in configs:
                for h, c, d, stride, count in shapes or layer_shapes(network):
                    x = rng.standard_normal((batch, c, h, h)).astype(np.float32)
                    w = weights(rng, d, c, kind, sparsity)
                    out = geometry.conv_output_size((h, h), (3, 3), (stride,) * 2, (1, 1), (1, 1))
                    base = dict(network=network, layer=f"{c}x{h}x{h}->{d} s{stride}",
                                count=count, batch=batch, structure=kind, sparsity=sparsity)
                    want = None
                    if cudnn:
                        if not budget.left():
                            return
                        ms, e2e, want = time_cudnn(x, w, stride, repeat)
                        macs = batch * d * c * 9 * math.prod(out)
                        yield done({**base, "method": "cudnn", "ms": ms, "e2e_ms": e2e,
                                    "macs": macs, "bytes": dense_traffic(x.shape, d, out),
                                    "launches": 1, "arguments": "", "max_err": 0.0})
                    elif simulator:
                        want = sparse.conv2d(x, w, stride, 1, backend="numpy")
                    for method in [m for m in METHODS if m in methods]:
                        if not budget.left():
                            return
                        plan = Conv2dPlan(x.shape, w, stride, 1, 1, 1, method,
                                          options=(options or {}).get(method))
                        xp, y = plan.padded(x), plan.output()
                        ms, e2e = time_ours(plan, xp, y, repeat, simulator)
                        err = "" if want is None else \
                            _error(y.copy_to_host().reshape(want.shape), want)
                        yield done({**base, "method": method, "ms": ms, "e2e_ms": e2e,
                                    "macs": plan.macs, "bytes": traffic(plan, x.shape),
                                    "launches": len(plan.launches),
                                    "arguments": sum(a + b for _, a, b in plan.launches),
                                    "max_err": err})


def cpu_rows(repeat, budget=None):
    """No GPU: ResNet-50's distinct 3x3 shapes at batch 1 on the numpy backend, each row
    as it is measured (a generator)."""
    budget = budget or Budget(None)
    rng = np.random.default_rng(0)
    for h, c, d, stride, count in layer_shapes("resnet50"):
        x = rng.standard_normal((1, c, h, h)).astype(np.float32)
        for sparsity in (0.0, 0.9):
            if not budget.left():
                return
            w = weights(rng, d, c, "unstructured", sparsity)
            sparse.conv2d(x, w, stride=stride, padding=1, backend="numpy")  # warm-up
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                sparse.conv2d(x, w, stride=stride, padding=1, backend="numpy")
                times.append(1e3 * (time.perf_counter() - t))
            yield dict(network="resnet50", layer=f"{c}x{h}x{h}->{d} s{stride}",
                       count=count, batch=1, structure="unstructured", sparsity=sparsity,
                       method="numpy", ms=statistics.median(times),
                       e2e_ms=statistics.median(times), macs=0)


def device_peaks(tflops=None, gbs=None):
    """(FP32 TFLOP/s, memory GB/s, name) of device 0: SMs x 128 FP32 lanes x 2 x clock
    (sm_80 has 64 lanes), and 2 x memory clock x bus width (HBM and GDDR both report
    the clock so that this holds). Overrides win; None where nothing is known."""
    name = "unknown device"
    try:
        from numba import cuda
        dev = cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
        lanes = 64 if dev.compute_capability == (8, 0) else 128
        tflops = tflops or dev.MULTIPROCESSOR_COUNT * lanes * 2 * dev.CLOCK_RATE * 1e3 / 1e12
        gbs = gbs or 2 * dev.MEMORY_CLOCK_RATE * 1e3 * dev.GLOBAL_MEMORY_BUS_WIDTH / 8 / 1e9
    except Exception:  # the simulator, or no driver: only the overrides
        pass
    return tflops, gbs, name


def _group(rows, key=("network", "batch", "structure", "sparsity")):
    """Network totals per method: ms, e2e ms, MACs, bytes and host µs, weighted by use."""
    groups: dict[tuple, dict] = {}
    for r in rows:
        g = groups.setdefault(tuple(r[k] for k in key), {})
        t = g.setdefault(r["method"], dict(ms=0.0, e2e_ms=0.0, macs=0, bytes=0, host=[]))
        for f in ("ms", "e2e_ms"):
            t[f] += float(r[f]) * int(r["count"])
        t["macs"] += int(r["macs"] or 0) * int(r["count"])
        t["bytes"] += int(r.get("bytes") or 0) * int(r["count"])
        t["host"].append(float(r.get("host_us") or 0.0))
    return groups


def _label(kind, sp):
    return f"{float(sp):.0%}" + (" in 8×8 blocks" if kind == "block" else "")


def _methods(rows):
    present = {r["method"] for r in rows}
    return [m for m in [*ALL_METHODS, "numpy"] if m in present]


def summary(rows, field="ms", peaks=(None, None)) -> str:
    """Network time per method (the README's layout), cuDNN's ratio to each of our
    sparse methods, and the roofline of the fastest of ours."""
    groups = _group(rows)
    methods = _methods(rows)
    ours = [m for m in ("csr", "csr_tiled", "bsr_tiled") if m in methods]
    head = ["network", "batch", "sparsity", *[LABELS[m] for m in methods]]
    if "cudnn" in methods:
        head += [f"cuDNN / {LABELS[m]}" for m in ours]
    head.append("best of ours: TFLOP/s · GB/s")
    what = "kernel time" if field == "ms" else "end to end (host wall time to synchronisation)"
    lines = [f"Whole network's 3×3 layers, ms, {what}",
             "| " + " | ".join(head) + " |", "|---|---:|---|" + "---:|" * (len(head) - 3)]
    for (network, batch, kind, sp), g in groups.items():
        cells = [network, str(batch), _label(kind, sp),
                 *[f"{g[m][field]:.3f}" if m in g else "" for m in methods]]
        if "cudnn" in methods:
            cells += [f"{g['cudnn'][field] / g[m][field]:.2f}" if m in g and "cudnn" in g
                      else "" for m in ours]
        mine = [m for m in METHODS if m in g]
        cells.append(_roof(g[min(mine, key=lambda m: g[m][field])], field, peaks) if mine else "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _roof(t, field, peaks) -> str:
    sec = t[field] / 1e3
    if sec <= 0:
        return ""
    tf, gb = 2 * t["macs"] / sec / 1e12, t["bytes"] / sec / 1e9
    pt, pg = peaks
    return (f"{tf:.2f}" + (f" ({tf / pt:.1%})" if pt else "") + f" · {gb:.0f}"
            + (f" ({gb / pg:.1%})" if pg else ""))


def roofline_table(rows, peaks) -> str:
    """Per layer and method: achieved TFLOP/s and GB/s against the peaks, kernel time."""
    pt, pg = peaks
    head = ["network", "layer", "batch", "sparsity", "method", "µs", "TFLOP/s", "% FP32 peak",
            "GB/s", "% memory peak"]
    lines = [f"Roofline (peaks: {pt and f'{pt:.1f}'} TFLOP/s FP32, {pg and f'{pg:.0f}'} GB/s)",
             "| " + " | ".join(head) + " |", "|---|---|---:|---|---|" + "---:|" * 5]
    for r in rows:
        sec = float(r["ms"]) / 1e3
        if sec <= 0 or not r.get("bytes"):
            continue
        tf, gb = 2 * int(r["macs"]) / sec / 1e12, int(r["bytes"]) / sec / 1e9
        lines.append(f"| {r['network']} | {r['layer']} | {r['batch']} | "
                     f"{_label(r['structure'], r['sparsity'])} | {r['method']} | "
                     f"{1e3 * float(r['ms']):.1f} | {tf:.3f} | "
                     f"{f'{tf / pt:.1%}' if pt else ''} | {gb:.0f} | "
                     f"{f'{gb / pg:.1%}' if pg else ''} |")
    return "\n".join(lines)


def layer_table(rows, batch: int, method="csr", structure="unstructured") -> str:
    """cuDNN time over ``method``'s for every layer and sparsity (> 1: ours is faster)."""
    times: dict[tuple, dict] = {}
    for r in rows:
        if int(r["batch"]) == batch and r["structure"] == structure:
            times.setdefault((r["network"], r["layer"]), {})[
                (float(r["sparsity"]), r["method"])] = float(r["ms"])
    levels = sorted({float(r["sparsity"]) for r in rows if r["structure"] == structure})
    head = ["network", "layer", "cuDNN ms", *[_label(structure, s) for s in levels]]
    lines = [f"cuDNN time / {LABELS[method]} time, batch {batch} (> 1: ours is faster)",
             "| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for (network, layer), t in times.items():
        cudnn = [v for (s, m), v in t.items() if m == "cudnn"]
        if not cudnn:
            continue
        cells = [f"{t[(s, 'cudnn')] / t[(s, method)]:.2f}" if (s, method) in t and
                 (s, "cudnn") in t else "" for s in levels]
        lines.append(f"| {network} | {layer} | {statistics.median(cudnn):.3f} | "
                     + " | ".join(cells) + " |")
    return "\n".join(lines)


def host_table(rows) -> str:
    """Host overhead of one layer's launch (end to end minus kernel time), µs, with the
    launches and marshalled arguments behind it."""
    per: dict[str, list] = {}
    shape: dict[str, tuple] = {}
    for r in rows:
        per.setdefault(r["method"], []).append(float(r.get("host_us") or 0.0))
        shape[r["method"]] = (r.get("launches", ""), r.get("arguments", ""))
    lines = ["Host overhead per layer (end to end − kernel), µs; goal ≤ 20",
             "| method | launches | arguments | median µs | max µs |", "|---|---:|---:|---:|---:|"]
    for m in _methods(rows):
        v = per[m]
        lines.append(f"| {LABELS[m]} | {shape[m][0]} | {shape[m][1]} | "
                     f"{statistics.median(v):.1f} | {max(v):.1f} |")
    return "\n".join(lines)


def goals(rows, simulator=False) -> str:
    """The issue's three goals, each PASS, FAIL or not measured, from these rows (the
    simulator's times mean nothing: there every goal is not measured)."""
    def ratio(network, sp, kind, method, batch=1):
        g = _group(rows).get((network, batch, kind, sp), {})
        return g["cudnn"]["ms"] / g[method]["ms"] if "cudnn" in g and method in g else None

    def per_layer(sp, method):
        t = {}
        for r in rows:
            if (r["network"], int(r["batch"]), r["structure"], float(r["sparsity"])) == \
                    ("vgg16", 1, "unstructured", sp):
                t.setdefault(r["layer"], {})[r["method"]] = float(r["ms"])
        return [(layer, v["cudnn"] / v[method]) for layer, v in t.items()
                if "cudnn" in v and method in v]

    out = []
    b = ratio("vgg16", 0.9, "block", "bsr_tiled")
    out.append(("BSR tiled ≥ 2× cuDNN, VGG16 3×3, 90 % 8×8 blocks, batch 1",
                None if b is None else (b >= 2, f"{b:.2f}×")))
    for method in ("csr", "csr_tiled"):
        c = ratio("vgg16", 0.95, "unstructured", method)
        layers = per_layer(0.95, method)
        worst = min((v for _, v in layers[1:]), default=None)  # all but the first layer
        out.append((f"{LABELS[method]} ≥ 3× cuDNN at 95 %, VGG16 batch 1; every layer but "
                    "the first ≥ 1.5×", None if c is None or worst is None else
                    (c >= 3 and worst >= 1.5, f"{c:.2f}×, worst later layer {worst:.2f}×")))
    host = [] if simulator else [float(r["host_us"]) for r in rows
                                 if r["method"] in ("csr_tiled", "bsr_tiled")]
    out.append(("host overhead ≤ 20 µs per layer end to end (tiled methods)",
                (max(host) <= 20, f"max {max(host):.1f} µs") if host else None))
    lines = ["Goals of issue 23"]
    for what, res in out:
        lines.append(f"- {what}: " + ("not measured" if res is None else
                                      f"{'PASS' if res[0] else 'FAIL'} ({res[1]})"))
    return "\n".join(lines)


def read_csv(paths) -> list[dict]:
    rows = []
    for path in paths:
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                for k in ("ms", "e2e_ms", "host_us"):
                    r[k] = float(r[k]) if r.get(k) not in (None, "") else 0.0
                r["count"], r["batch"] = int(r["count"]), int(r["batch"])
                r["sparsity"] = float(r["sparsity"])
                rows.append(r)
    return rows


def report(rows, peaks, simulator=False) -> str:
    parts = [summary(rows, "ms", peaks)]
    if any(r["method"] != "numpy" for r in rows):
        parts.append(summary(rows, "e2e_ms", peaks))
        parts.append(host_table(rows))
    if any(r["method"] == "cudnn" for r in rows):
        for batch in sorted({int(r["batch"]) for r in rows}):
            for method in ("csr", "csr_tiled"):
                parts.append(layer_table(rows, batch, method))
            parts.append(layer_table(rows, batch, "bsr_tiled", "block"))
    if any(r.get("bytes") for r in rows):
        parts.append(roofline_table(rows, peaks))
    if any(r["method"] != "numpy" for r in rows):
        parts.append(goals(rows, simulator))
    return "\n\n".join(parts)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, help="launches per timing round (20; --quick 10)")
    ap.add_argument("--csv", type=Path, help="each row appended here as it is measured")
    ap.add_argument("--markdown", type=Path, help="write the tables here too")
    ap.add_argument("--from-csv", type=Path, nargs="+", help="tables from earlier runs' CSVs")
    ap.add_argument("--smoke", action="store_true", help="one tiny layer on the simulator")
    ap.add_argument("--quick", action="store_true",
                    help="VGG16 batch 1 at 0/90/95/99%% and 90%% 8x8 blocks, every method")
    ap.add_argument("--budget", type=float, metavar="SECONDS",
                    help="stop before the next measurement once this much time is spent")
    ap.add_argument("--networks", default="vgg16,resnet50")
    ap.add_argument("--batches", default="1,8")
    ap.add_argument("--methods", default=",".join(ALL_METHODS))
    ap.add_argument("--sparsity", help="comma-separated subset, e.g. 0,0.95")
    ap.add_argument("--options", type=json.loads, default=None,
                    help='tiled block shapes, e.g. \'{"csr_tiled": {"channels": 4}}\'')
    ap.add_argument("--peak-tflops", type=float)
    ap.add_argument("--peak-gbs", type=float)
    opts = ap.parse_args(argv)

    simulator = opts.smoke
    budget = Budget(opts.budget)
    networks, batches = opts.networks.split(","), [int(b) for b in opts.batches.split(",")]
    configs, repeat = CONFIGS, opts.repeat or 20
    if opts.quick:
        networks, batches, configs, repeat = ["vgg16"], [1], QUICK, opts.repeat or 10
    if opts.sparsity:
        configs = [c for c in configs if c[1] in {float(v) for v in opts.sparsity.split(",")}]
    methods = opts.methods.split(",")
    writer = RowWriter(opts.csv)
    try:
        if opts.from_csv:
            rows = read_csv(opts.from_csv)
            for r in rows:
                writer.write(r)
        else:
            if opts.smoke:
                source = gpu_rows(["vgg16"], [1], 1, simulator=True, methods=methods,
                                  configs=SMOKE, options=opts.options, budget=budget,
                                  shapes=SMOKE_SHAPES)
                print("smoke run on the CUDA simulator: times mean nothing, the code paths ran")
            elif sparse.gpu_present():
                source = gpu_rows(networks, batches, repeat, methods=methods, configs=configs,
                                  options=opts.options, budget=budget)
                print(f"GPU run; cuDNN {'beside' if have_cudnn() else 'absent (no torch with CUDA)'}")
            else:
                source = cpu_rows(max(1, repeat // 10), budget)
                print("no GPU found: reduced set on the numpy backend (dense; sparsity changes "
                      "nothing there); the GPU table is still owed")
            rows = []
            for row in source:
                writer.write(row)
                rows.append(row)
            elapsed = clock() - budget.start
            if budget.spent:
                print(f"budget of {opts.budget:g} s spent: stopped after {len(rows)} rows "
                      f"({elapsed:.0f} s); the tables below hold those")
            else:
                print(f"{len(rows)} rows in {elapsed:.0f} s")
    except BackendError as e:  # numba.cuda cannot start here: one line, not a traceback
        print(f"sparse_gpu: error: {e}", file=sys.stderr)
        return 1
    finally:
        writer.close()
    if simulator:
        bad = [r for r in rows if r["max_err"] != "" and r["max_err"] > 1e-4]
        if bad:
            print(f"WRONG OUTPUT: {[(r['method'], r['max_err']) for r in bad]}")
            return 1
    if not rows:
        print("no rows measured")
        return 1
    peaks = (None, None)
    if rows[0]["method"] != "numpy":
        pt, pg, name = device_peaks(opts.peak_tflops, opts.peak_gbs)
        peaks = (pt, pg)
        if not opts.from_csv:
            print(f"device: {name}")
    text = report(rows, peaks, simulator)
    print(text)
    if opts.markdown:
        opts.markdown.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
