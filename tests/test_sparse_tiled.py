"""Round two's tiled kernels (bsr_tiled, csr_tiled) against the numpy reference, and the
host-side layouts they launch with.

Shapes stay small (the simulator runs every thread as a Python thread), but channel
counts go past one 8x8 block and the tile and block shapes are drawn too, so block
rows with several tiles, split rows, split channel sums and partial tiles at the
edges all occur.
"""
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convanim import geometry, sparse
from convanim.sparse import tiling

pytestmark = pytest.mark.gpu  # the kernels, on the simulator or a GPU

BACKEND = os.environ.get("CONVANIM_TEST_BACKEND", "simulator")
TOL = dict(rtol=1e-5, atol=1e-5)
SLOW = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def tiled_layers(draw):
    groups = draw(st.integers(1, 2))
    c, dg = draw(st.integers(1, 12)) * groups, draw(st.integers(1, 12))
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    s = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    d = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    p = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    size = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    assume(min(geometry.conv_output_size(size, k, s, p, d)) >= 1)
    return dict(n=draw(st.integers(1, 2)), c=c, d=dg * groups, size=size, k=k, s=s, p=p,
                dil=d, groups=groups, block=draw(st.booleans()),
                sparsity=draw(st.sampled_from([0.0, 0.5, 0.9])))


def tensors(L, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (L["n"], L["c"], *L["size"])).astype(np.float32)
    w = rng.uniform(-1, 1, (L["d"], L["c"] // L["groups"], *L["k"])).astype(np.float32)
    if L["block"] and L["sparsity"]:
        w *= sparse.block_mask(w, L["sparsity"], (4, 4))  # several tiles, some zero, per row
    else:
        w[rng.random(w.shape) < L["sparsity"]] = 0.0
    return x, w


def _check(method, L, seed, options):
    from convanim.sparse import backend
    backend.cuda_module(BACKEND)
    from convanim.sparse import gpu

    x, w = tensors(L, seed)
    args = (L["s"], L["p"], L["dil"], L["groups"])
    want = sparse.conv2d(x, w, *args, backend="numpy")
    got, macs = gpu.conv2d(x, w, *args, method=method, options=options)
    np.testing.assert_allclose(got, want, **TOL)
    plan = gpu.cached_plan(x.shape, w, *args, method=method, options=options)
    out = geometry.conv_output_size(L["size"], L["k"], L["s"], L["p"], L["dil"])
    if method == "csr_tiled":  # every non-zero weight once per output pixel, zeros never
        assert macs == L["n"] * out[0] * out[1] * np.count_nonzero(w)
    else:
        bsr = sparse.BSRWeights.from_dense(w, (8, 8), L["groups"])
        assert macs == L["n"] * out[0] * out[1] * bsr.macs_per_pixel() >= \
            L["n"] * out[0] * out[1] * np.count_nonzero(w)
    # one launch of four arrays, plus a zeroing one when partial sums meet by atomics
    assert [a[1:] for a in plan.launches][-1] == (4, 0)
    assert len(plan.launches) == 1 + plan.packed.atomic
    return plan


@SLOW
@given(L=tiled_layers(), seed=st.integers(0, 2**31), threads=st.sampled_from([4, 8, 16]),
       width=st.integers(1, 8), split_len=st.sampled_from([None, 1, 2]))
@pytest.mark.slow
def test_bsr_tiled_matches_numpy(L, seed, threads, width, split_len):
    plan = _check("bsr_tiled", L, seed, dict(threads=threads, width=width, split_len=split_len))
    tile = plan.packed.tile
    assert tile.th * tile.tw <= tiling.PIX * threads and tile.tw <= width


@SLOW
@given(L=tiled_layers(), seed=st.integers(0, 2**31), channels=st.integers(1, 3),
       lanes=st.sampled_from([2, 4, 8]), width=st.integers(1, 8),
       splits=st.sampled_from([None, 1, 2, 3]))
@pytest.mark.slow
def test_csr_tiled_matches_numpy(L, seed, channels, lanes, width, splits):
    plan = _check("csr_tiled", L, seed, dict(channels=channels, lanes=lanes, width=width,
                                             splits=splits))
    assert plan.packed.atomic == (plan.packed.grid[2] > 1)


@pytest.mark.parametrize("method", ["csr_tiled", "bsr_tiled"])
def test_tiled_methods_through_the_public_api(method):
    """Defaults (the simulator's block shapes), several channel blocks and 8x8 tiles."""
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, (2, 24, 9, 11)).astype(np.float32)
    w = rng.standard_normal((20, 12, 3, 3)).astype(np.float32)
    w *= sparse.block_mask(w, 0.5)
    got = sparse.run("conv2d", x, w, stride=(1, 2), padding=1, groups=2, backend=BACKEND,
                     method=method)
    assert got.backend == BACKEND
    np.testing.assert_allclose(got.output, sparse.conv2d(x, w, (1, 2), 1, groups=2,
                                                         backend="numpy"), **TOL)


def test_tiled_launches_marshal_fewer_arguments_than_the_first_kernels():
    """Host cost per launch grows with the arguments Numba marshals: the tiled plans
    pass 4 arrays and no scalars, the first kernels 5 arrays and 10 to 16 scalars.

    A csr_tiled plan whose layer has fewer thread blocks than the GPU wants (about two
    per SM) splits its input-channel sum and first zeroes the output (one more launch,
    of one array). This layer is one block: on a GPU it splits, on the simulator (no
    SMs, no target) it does not; ``splits`` forces either everywhere.
    """
    from convanim.sparse import backend
    backend.cuda_module(BACKEND)
    from convanim.sparse import gpu
    from convanim.sparse.gpu import Conv2dPlan

    w = np.ones((8, 8, 3, 3), np.float32)
    counts = {m: Conv2dPlan((1, 8, 6, 6), w, 1, 1, 1, 1, m).launches
              for m in ("csr", "escoin", "bsr", "csr_tiled", "bsr_tiled")}
    assert counts["csr"] == [("csr", 5, 10)] and counts["bsr"] == [("bsr", 5, 16)]
    # one 8x8 tile: nothing to split, on either machine
    assert counts["bsr_tiled"] == [("bsr_tiled", 4, 0)]
    zero = [("zero", 1, 0)]
    assert counts["csr_tiled"] == (zero if gpu._target_blocks() > 1 else []) + \
        [("csr_tiled", 4, 0)]
    for splits, first in ((1, []), (2, zero)):
        plan = Conv2dPlan((1, 8, 6, 6), w, 1, 1, 1, 1, "csr_tiled", options=dict(splits=splits))
        assert plan.launches == first + [("csr_tiled", 4, 0)]


@pytest.mark.parametrize("method,options", [("csr_tiled", dict(splits=2)),
                                            ("bsr_tiled", dict(split_len=1))])
def test_tiled_launches_pass_what_the_compiled_signature_takes(method, options):
    """The simulator runs a kernel on any arguments; a GPU's compiled kernel takes only
    its one signature's. So every launch of a plan is recorded: it goes through
    ``kernel[grid, block, stream]`` with the plan's grid and block and a stream object
    (never the integer 0 numba-cuda 0.30 refuses), and passes the signature's arrays,
    in order, of its dtype, rank and layout: the input and the output, then the plan's
    own ``meta`` and ``values``."""
    from numba.core import sigutils

    from convanim.sparse import backend
    cuda = backend.cuda_module(BACKEND)
    from convanim.sparse import gpu
    from convanim.sparse import kernels_tiled as KT

    calls = []

    class Recorder:
        def __init__(self, name, kernel):
            self.name, self.kernel = name, kernel

        def __getitem__(self, config):
            def launch(*args):
                calls.append((self.name, config, args))
                self.kernel[config](*args)
            return launch

    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (1, 16, 5, 6)).astype(np.float32)
    w = rng.uniform(-1, 1, (16, 16, 3, 3)).astype(np.float32)
    w *= sparse.block_mask(w, 0.25)
    plan = gpu.Conv2dPlan(x.shape, w, 1, 1, 1, 1, method, options=options)
    assert plan.packed.atomic  # the zeroing launch is recorded too
    for la in plan._run:
        la.kernel = Recorder(la.name, la.kernel)
    xp, out = plan.padded(x), plan.output()
    plan.launch(xp, out)
    assert [c[0] for c in calls] == ["zero", method]
    for (name, (grid, block, stream), args), la in zip(calls, plan._run):
        assert (grid, block) == (la.grid, la.block) and len(grid) == len(block) == 3
        assert stream is la.stream and isinstance(stream, type(cuda.default_stream()))
        types, _ = sigutils.normalize_signature(KT.SIGNATURES[name])
        assert len(args) == len(types) == la.arguments(1 if name == "zero" else 2)
        for a, t in zip(args, types):
            assert (a.dtype, a.ndim, t.layout) == (np.dtype(t.dtype.name), t.ndim, "C")
            assert a.is_c_contiguous()
    assert calls[0][2] == (out,) and calls[1][2][:2] == (xp, out)
    assert calls[1][2][2:] == la.fixed and la.fixed[0].size == plan.packed.meta.size
    got = out.copy_to_host().reshape(1, 16, 5, 6)
    np.testing.assert_allclose(got, sparse.conv2d(x, w, padding=1, backend="numpy"), **TOL)


def test_plans_are_cached_by_weight_content():
    from convanim.sparse import backend
    backend.cuda_module(BACKEND)
    from convanim.sparse import gpu

    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (1, 3, 5, 5)).astype(np.float32)
    w = rng.uniform(-1, 1, (4, 3, 3, 3)).astype(np.float32)
    first = gpu.cached_plan(x.shape, w, 1, 1, 1, 1, "csr_tiled")
    assert gpu.cached_plan(x.shape, w.copy(), 1, 1, 1, 1, "csr_tiled") is first
    w[0, 0, 0, 0] = 0.0  # changed in place: a new plan, and the result follows the change
    assert gpu.cached_plan(x.shape, w, 1, 1, 1, 1, "csr_tiled") is not first
    got, _ = gpu.conv2d(x, w, 1, 1, 1, 1, "csr_tiled")
    np.testing.assert_allclose(got, sparse.conv2d(x, w, padding=1, backend="numpy"), **TOL)


def test_balance_rows_puts_long_rows_first_and_splits_them_exactly():
    indptr = np.array([0, 2, 2, 9, 10])          # rows of 2, 0, 7 and 1 tiles
    items = tiling.balance_rows(indptr, 3)
    lengths = items[:, 2] - items[:, 1]
    assert list(lengths) == sorted(lengths, reverse=True)
    assert max(lengths) <= 3
    for row in range(4):                        # each row's tiles covered once, in pieces
        mine = items[items[:, 0] == row]
        covered = sorted(t for _, a, b, _ in mine for t in range(a, b))
        assert covered == list(range(indptr[row], indptr[row + 1]))
        assert set(mine[:, 3]) == {int(len(mine) > 1)}
    assert (items[:, 0] == 1).sum() == 1         # an empty row still writes its zeros


def test_choose_tile_fits_shared_memory_or_says_why():
    t = tiling.choose_tile((224, 224), (3, 3), (1, 1), (1, 1), 256, 32, 64, tiling.SX_CSR)
    assert (t.th, t.tw, t.wh, t.ww) == (8, 32, 10, 34)
    assert t.cc * t.wh * t.ww <= tiling.SX_CSR < (t.cc + 1) * t.wh * t.ww
    t = tiling.choose_tile((40, 40), (3, 3), (2, 2), (20, 20), 256, 32, 8, 2000)
    assert t.cc * t.wh * t.ww <= 2000
    with pytest.raises(ValueError, match="use csr"):
        tiling.choose_tile((4, 4), (7, 7), (1, 1), (20, 20), 256, 32, 8, 2000)
