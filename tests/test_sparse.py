"""The CUDA kernels against the numpy backend, and the numpy backend against plain loops.

CI has no GPU: the kernels run on Numba's CUDA simulator, so shapes stay small. On a
machine with a GPU, CONVANIM_TEST_BACKEND=cuda runs the same tests on it.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convanim import geometry, sparse

import reference as ref

pytestmark = pytest.mark.gpu  # the kernels, on the simulator or a GPU

BACKEND = os.environ.get("CONVANIM_TEST_BACKEND", "simulator")
#: float32 sums of a few dozen products of values in [-1, 1]
TOL = dict(rtol=1e-5, atol=1e-5)
SLOW = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def layers(draw, transposed=False):
    groups = draw(st.integers(1, 2))
    c, dg = draw(st.integers(1, 2)) * groups, draw(st.integers(1, 2))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    n = draw(st.integers(1, 2))
    sparsity = draw(st.sampled_from([0.0, 0.5, 0.9]))
    if transposed:
        a = (draw(st.integers(0, max(s[0], d[0]) - 1)), draw(st.integers(0, max(s[1], d[1]) - 1)))
        out = geometry.transposed_output_size(size, k, s, p, d, a)
        assume(min(out) >= 1)
        return dict(n=n, c=c, d=dg * groups, size=size, k=k, s=s, p=p, dil=d, a=a,
                    groups=groups, sparsity=sparsity)
    assume(min(geometry.conv_output_size(size, k, s, p, d)) >= 1)
    return dict(n=n, c=c, d=dg * groups, size=size, k=k, s=s, p=p, dil=d, groups=groups,
                sparsity=sparsity)


def tensors(L, seed, transposed=False):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (L["n"], L["c"], *L["size"])).astype(np.float32)
    shape = (L["c"], L["d"] // L["groups"], *L["k"]) if transposed else \
        (L["d"], L["c"] // L["groups"], *L["k"])
    w = rng.uniform(-1, 1, shape).astype(np.float32)
    w[rng.random(shape) < L["sparsity"]] = 0.0
    return x, w


@pytest.mark.parametrize("method", ["csr", "escoin", "bsr", "dense"])
@SLOW
@given(L=layers(), seed=st.integers(0, 2**31))
@pytest.mark.slow
def test_conv2d_kernels_match_numpy(method, L, seed):
    x, w = tensors(L, seed)
    kw = dict(stride=L["s"], padding=L["p"], dilation=L["dil"], groups=L["groups"])
    got = sparse.run("conv2d", x, w, backend=BACKEND, method=method, **kw)
    assert got.backend == BACKEND
    np.testing.assert_allclose(got.output, sparse.conv2d(x, w, backend="numpy", **kw), **TOL)
    if method in ("csr", "escoin"):  # every non-zero weight once per output pixel, zeros never
        assert got.macs == got.output.shape[0] * got.output[0, 0].size * np.count_nonzero(w)


@SLOW
@given(L=layers(transposed=True), seed=st.integers(0, 2**31))
def test_transposed_gather_matches_numpy_and_skips_inserted_zeros(L, seed):
    x, w = tensors(L, seed, transposed=True)
    kw = dict(stride=L["s"], padding=L["p"], dilation=L["dil"], groups=L["groups"],
              output_padding=L["a"])
    got = sparse.run("conv_transpose2d", x, w, backend=BACKEND, **kw)
    np.testing.assert_allclose(got.output, sparse.conv_transpose2d(x, w, backend="numpy", **kw),
                               **TOL)
    # the gather does exactly one MAC per (real input cell, tap, channel pair): the scatter count
    n, c, h, wd = x.shape
    assert got.macs == n * c * (L["d"] // L["groups"]) * h * wd * L["k"][0] * L["k"][1] \
        - _scatter_outside(L)
    assert got.macs <= got.dense_macs


def _scatter_outside(L):
    """MACs of the scatter form that land in the cropped padding (computed by loops)."""
    h, w = L["size"]
    out = geometry.transposed_output_size(L["size"], L["k"], L["s"], L["p"], L["dil"], L["a"])
    lost = 0
    for y in range(h):
        for x in range(w):
            for ky in range(L["k"][0]):
                for kx in range(L["k"][1]):
                    ty = y * L["s"][0] + ky * L["dil"][0] - L["p"][0]
                    tx = x * L["s"][1] + kx * L["dil"][1] - L["p"][1]
                    lost += not (0 <= ty < out[0] and 0 <= tx < out[1])
    return lost * L["n"] * L["c"] * (L["d"] // L["groups"])


@pytest.mark.parametrize("op", ["avg_pool2d", "max_pool2d"])
@SLOW
@given(size=st.tuples(st.integers(2, 7), st.integers(2, 7)), k=st.integers(1, 3),
       s=st.integers(1, 2), seed=st.integers(0, 2**31))
def test_pooling_kernels_match_numpy(op, size, k, s, seed):
    x = np.random.default_rng(seed).uniform(-1, 1, (1, 2, *size)).astype(np.float32)
    p = k // 2
    assume(min(geometry.conv_output_size(size, (k, k), (s, s), (p, p), (1, 1))) >= 1)
    got = sparse.run(op, x, kernel_size=k, stride=s, padding=p, backend=BACKEND).output
    want = sparse.run(op, x, kernel_size=k, stride=s, padding=p, backend="numpy").output
    np.testing.assert_allclose(got, want, **TOL)


@settings(max_examples=60, deadline=None)
@given(L=layers(), seed=st.integers(0, 2**31))
def test_numpy_backend_matches_plain_loops(L, seed):
    x, w = tensors(L, seed)
    got = sparse.conv2d(x, w, L["s"], L["p"], L["dil"], L["groups"], backend="numpy")
    cg, dg = L["c"] // L["groups"], L["d"] // L["groups"]
    for n in range(L["n"]):
        for o in range(L["d"]):
            g = o // dg
            want = sum(ref.conv2d(x[n, g * cg + c].astype(float), w[o, c].astype(float),
                                  L["s"], L["p"], L["dil"]) for c in range(cg))
            np.testing.assert_allclose(got[n, o], want, **TOL)


@settings(max_examples=60, deadline=None)
@given(L=layers(transposed=True), seed=st.integers(0, 2**31))
def test_numpy_transposed_matches_plain_loops(L, seed):
    x, w = tensors(L, seed, transposed=True)
    got = sparse.conv_transpose2d(x, w, L["s"], L["p"], L["a"], L["dil"], L["groups"],
                                  backend="numpy")
    cg, dg = L["c"] // L["groups"], L["d"] // L["groups"]
    for o in range(L["d"]):
        g = o // dg
        want = sum(ref.conv_transpose2d(x[0, g * cg + c].astype(float),
                                        w[g * cg + c, o % dg].astype(float), L["s"], L["p"],
                                        L["dil"], L["a"]) for c in range(cg))
        np.testing.assert_allclose(got[0, o], want, **TOL)


@pytest.mark.parametrize("method", ["csr", "escoin"])
@pytest.mark.slow
def test_csr_kernels_on_planes_larger_than_a_block(method):
    """Pixels in several blocks, the four-per-thread tails, and CSR rows longer than
    the shared-memory stage (TILE entries)."""
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, (2, 40, 19, 23)).astype(np.float32)
    w = rng.uniform(-1, 1, (4, 20, 3, 3)).astype(np.float32)
    w[rng.random(w.shape) < 0.2] = 0.0
    assert min(np.count_nonzero(w.reshape(4, -1), axis=1)) > 128
    got = sparse.run("conv2d", x, w, stride=(1, 2), padding=1, groups=2, backend=BACKEND,
                     method=method)
    np.testing.assert_allclose(got.output, sparse.conv2d(x, w, (1, 2), 1, groups=2,
                                                         backend="numpy"), **TOL)


def test_csr_round_trip_and_offsets():
    w = np.zeros((2, 3, 2, 2), np.float32)
    w[0, 1, 1, 0], w[1, 2, 0, 1], w[1, 0, 1, 1] = 5, 7, 9
    csr = sparse.CSRWeights.from_dense(w)
    assert csr.nnz == 3 and list(csr.indptr) == [0, 1, 3]
    np.testing.assert_array_equal(csr.to_dense(), w)
    # offsets into a padded 6x7 plane, dilation 2: c*42 + ky*2*7 + kx*2
    assert list(csr.offsets((6, 7), (2, 2))) == [1 * 42 + 14, 0 * 42 + 14 + 2, 2 * 42 + 2]


def test_block_mask_reaches_the_target_without_emptying_a_row_or_column():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((32, 24, 3, 3)).astype(np.float32)
    for sparsity in (0.5, 0.75, 0.9):
        keep = sparse.block_mask(w, sparsity)
        tiles = keep[::8, ::8, 0, 0]                # one flag per 8x8 tile
        assert tiles.shape == (4, 3)
        assert tiles.any(axis=1).all() and tiles.any(axis=0).all()
        assert (~tiles).sum() <= int(sparsity * 12)
        assert (~tiles).sum() >= min(int(sparsity * 12), 12 - max(4, 3))
    # the lowest-variance tile goes first
    w[8:16, 8:16] *= 1e-3
    assert not sparse.block_mask(w, 0.1)[8, 8, 0, 0]  # 0.1 of 12 tiles: exactly one


def test_bsr_skips_zero_tiles():
    w = np.zeros((16, 16, 1, 1), np.float32)
    w[:8, 8:] = 1.0
    bsr = sparse.BSRWeights.from_dense(w)
    assert bsr.density == 0.25 and bsr.macs_per_pixel() == 64


@pytest.mark.parametrize("call,message", [
    (lambda: sparse.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((4, 2, 3, 3)), groups=2,
                           backend="numpy"), "not divisible by groups=2"),
    (lambda: sparse.conv2d(np.zeros((3, 5, 5)), np.zeros((4, 3, 3, 3)), backend="numpy"),
     "must be 4-D"),
    (lambda: sparse.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((1, 1, 3, 3)), backend="numpy"),
     "does not fit"),
    (lambda: sparse.conv_transpose2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 3)), stride=2,
                                     output_padding=2, backend="numpy"), "output_padding"),
    (lambda: sparse.conv2d(np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 1, 1)), backend="tpu"),
     "unknown backend"),
])
def test_bad_arguments_say_why(call, message):
    with pytest.raises((ValueError, sparse.BackendError), match=message):
        call()


def test_importing_sparse_does_not_import_numba():
    import subprocess
    import sys
    code = "import sys, convanim.sparse; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(__import__('helpers').PROJECT)})
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.slow
def test_gpu_benchmark_code_paths_run_on_the_simulator(tmp_path):
    """The GPU benchmark must not first break on the GPU machine: run it in smoke mode."""
    import subprocess
    import sys
    from helpers import PROJECT
    out = tmp_path / "b.csv"
    proc = subprocess.run([sys.executable, str(PROJECT / "benchmarks/sparse_gpu.py"), "--smoke",
                           "--csv", str(out), "--peak-tflops", "60", "--peak-gbs", "3000"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "| vgg16 | 1 | 90% |" in proc.stdout
    rows = out.read_text().splitlines()
    assert rows[0].startswith("network,layer,count,batch,structure,sparsity,method,ms,e2e_ms,macs")
    assert len(rows) == 1 + 2 * 6  # two configurations, six methods (two of them tiled)
    # every method's output was checked against numpy, and the roofline and host rows ran
    assert "WRONG OUTPUT" not in proc.stdout
    assert "| vgg16 | 4x6x6->4 s1 | 1 | 50% in 8×8 blocks | bsr_tiled |" in proc.stdout
    assert "| CSR tiled | 1 | 4 |" in proc.stdout and "| CSR | 1 | 15 |" in proc.stdout
    assert "Goals of issue 23" in proc.stdout


@pytest.mark.parametrize("op", ["conv2d", "conv_transpose2d"])
@settings(max_examples=25, deadline=None)
@given(data=st.data(), seed=st.integers(0, 2**31))
def test_torch_backend_agrees_with_the_numpy_reference(op, data, seed):
    """Where torch is installed (the GPU machine), PyTorch itself checks our reference;
    elsewhere the backend must refuse with the install command."""
    import importlib.util
    transposed = op == "conv_transpose2d"
    L = data.draw(layers(transposed=transposed))
    x, w = tensors(L, seed, transposed=transposed)
    kw = dict(stride=L["s"], padding=L["p"], dilation=L["dil"], groups=L["groups"])
    if transposed:
        kw["output_padding"] = L["a"]
    if importlib.util.find_spec("torch") is None:
        with pytest.raises(sparse.BackendError, match="pip install torch"):
            sparse.run(op, x, w, backend="torch", **kw)
        return
    got = sparse.run(op, x, w, backend="torch", **kw)
    assert got.backend == "torch"
    np.testing.assert_allclose(got.output, sparse.run(op, x, w, backend="numpy", **kw).output,
                               **TOL)
