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


def cuda_module(name: str):
    """Import numba.cuda in the mode of backend ``name`` (cuda or simulator)."""
    if _numba_mode() is None:
        os.environ["NUMBA_ENABLE_CUDASIM"] = "1" if name == "simulator" else "0"
    try:
        from numba import cuda
    except ImportError:
        raise BackendError("the cuda and simulator backends need numba and numba-cuda: "
                           "pip install numba numba-cuda") from None
    return cuda
