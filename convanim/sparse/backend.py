"""Which machine runs the kernels: a real GPU, Numba's CUDA simulator, numpy, or PyTorch
(a second witness, not our kernels).

Numba decides between the GPU and its simulator once, when ``numba.cuda`` is first
imported, from ``NUMBA_ENABLE_CUDASIM``. So ``auto`` looks for a GPU through the CUDA
driver itself (ctypes, no numba) and sets that variable *before* the import; asking
for the other mode afterwards in the same process is an error that says why.
"""
from __future__ import annotations

import ctypes
import os
import sys

from ..errors import BackendError

BACKENDS = ("auto", "cuda", "simulator", "numpy", "torch")


def gpu_present() -> bool:
    """Whether the CUDA driver reports a device, asked without importing numba."""
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 \
        and count.value > 0


def _numba_mode() -> str | None:
    """'cuda' or 'simulator' once numba.cuda is imported in this process, else None."""
    if "numba.cuda" not in sys.modules:
        return None
    return "simulator" if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1" else "cuda"


def resolve(name: str) -> str:
    """The backend that will run: ``auto`` becomes cuda or simulator."""
    if name not in BACKENDS:
        raise BackendError(f"unknown backend {name!r}; choose from {', '.join(BACKENDS)}")
    if name in ("numpy", "torch"):
        if name == "torch":
            from . import torch_backend
            torch_backend.available()
        return name
    mode = _numba_mode()
    if name == "auto":
        return mode or ("cuda" if gpu_present() else "simulator")
    if mode and mode != name:
        raise BackendError(f"numba.cuda is already running as the {mode} in this process; "
                           f"the {name} backend needs a new process")
    if name == "cuda" and not mode and not gpu_present():
        raise BackendError("no CUDA GPU found (the driver reports none); "
                           "use --backend simulator or numpy")
    return name


#: numba-cuda 0.30.x (0.30.4 the newest) imports ``numpy.row_stack``, which numpy 2.5
#: removed: with numpy 2.5 or later ``import numba.cuda`` fails inside numba-cuda.
NUMPY_BELOW = (2, 5)


def _version(dist: str) -> str | None:
    """An installed distribution's version, read from its metadata (nothing imported)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _release(text: str | None) -> tuple:
    """(major, minor) of a version string: ``2.5.0rc1`` is (2, 5)."""
    import re

    return tuple(int(n) for n in re.findall(r"\d+", text or "")[:2])


def versions() -> str:
    """``numba X, numba-cuda Y, numpy Z``: what the backend would run on."""
    return ", ".join(f"{d} {_version(d) or 'not installed'}"
                     for d in ("numba", "numba-cuda", "numpy"))


def start_failure(name: str, error: BaseException) -> tuple[str, str]:
    """(what happened, the fix) when loading numba.cuda raised ``error``: one line
    each, the versions found in the first, a pip command in the second."""
    lines = str(error).strip().splitlines()
    why = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    if _version("numba") is None or _version("numba-cuda") is None:
        return (f"the {name} backend needs numba and numba-cuda ({versions()})",
                "pip install numba numba-cuda")
    what = f"the {name} backend cannot start: numba.cuda failed to load ({why}) " \
           f"with {versions()}"
    numpy = _version("numpy")
    if _release(numpy) >= NUMPY_BELOW and _release(_version("numba-cuda")) <= (0, 30):
        below = ".".join(map(str, NUMPY_BELOW))
        return what, f"numba-cuda {_version('numba-cuda')} supports numpy < {below}: " \
                     f"pip install 'numpy<{below}'"
    return what, "reinstall a matching set: pip install --upgrade numba numba-cuda"


_loaded = False


def _import_cuda():
    """numba.cuda, with (on a GPU) the CUDA target's typing and lowering registries
    loaded now rather than inside the first kernel's compilation, where numba-cuda
    0.30.4 under numpy 2.5 fails (its np.row_stack overload): importing alone succeeds.
    The simulator compiles nothing and loads none of them."""
    global _loaded
    from numba import cuda

    if not _loaded and os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
        from numba.cuda.descriptor import cuda_target

        cuda_target.target_context.refresh()
    _loaded = True
    return cuda


def cuda_module(name: str):
    """Import numba.cuda in the mode of backend ``name`` (cuda or simulator).

    Any failure of that import (a missing package, or numba-cuda breaking on a numpy
    it does not support) becomes one BackendError line with the versions found and
    the fix, never a traceback.
    """
    if _numba_mode() is None:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1" if name == "simulator" else "0"
    try:
        return _import_cuda()
    except Exception as e:  # noqa: BLE001 - whatever a third-party import raises
        what, fix = start_failure(name, e)
        error = BackendError(f"{what}; {fix}")
        error.what, error.fix = what, fix  # apart, for the doctor's columns
        raise error from None


def gpu_kernels(backend: str):
    """The kernels' host side (convanim.sparse.gpu), numba.cuda loaded in ``backend``'s
    mode first: the one way in for the 2-D calls and the volumes built on them."""
    cuda_module(backend)
    from . import gpu

    return gpu
