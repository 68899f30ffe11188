"""A GPU backend that cannot start says so in one line, with the versions found and the
fix, from every door: `verify`, a figure's `--verify`, the Python API and `doctor`.

The failure is the one seen on the GPU machine: numba-cuda 0.30.4 under numpy 2.5 fails
inside its own import (``module 'numpy' has no attribute 'row_stack'``). In-process, the
import and the versions are replaced; in a fresh process, an import hook makes the
real ``import numba.cuda`` raise that error.
"""
import io
import os
import subprocess
import sys

import numpy as np
import pytest

from convanim.errors import BackendError
from convanim.sparse import backend

from helpers import PROJECT, files_under, run

ROW_STACK = "module 'numpy' has no attribute 'row_stack'"
FOUND = {"numba": "0.68.1", "numba-cuda": "0.30.4", "numpy": "2.5.0"}
WHAT = (f"the {{}} backend cannot start: numba.cuda failed to load (AttributeError: "
        f"{ROW_STACK}) with numba 0.68.1, numba-cuda 0.30.4, numpy 2.5.0")
FIX = "numba-cuda 0.30.4 supports numpy < 2.5: pip install 'numpy<2.5'"


@pytest.fixture
def broken(monkeypatch):
    """numba.cuda not yet imported, its import failing as under numpy 2.5, a GPU found."""
    def fail():
        raise AttributeError(ROW_STACK)

    # cuda_module sets the mode variable: keep it this test's own
    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", os.environ.get("NUMBA_ENABLE_CUDASIM", "1"))
    monkeypatch.setattr(backend, "_numba_mode", lambda: None)
    monkeypatch.setattr(backend, "gpu_present", lambda: True)
    monkeypatch.setattr(backend, "_import_cuda", fail)
    monkeypatch.setattr(backend, "_version", FOUND.get)


@pytest.mark.parametrize("name", ["cuda", "simulator", "auto"])
def test_verify_says_it_in_one_line(broken, capsys, name):
    status, out, err = run(capsys, "verify", "numerical", "-i", "5", "-k", "3",
                           "--backend", name)
    mode = "cuda" if name == "auto" else name  # auto found the (pretended) GPU
    assert (status, out) == (1, [])
    assert err == [f"convanim: error: {WHAT.format(mode)}; {FIX}"]


def test_a_figures_verify_says_it_and_writes_nothing(broken, capsys, workdir):
    status, out, err = run(capsys, "numerical", "f", "--verify", "--backend", "simulator",
                           "-y", "pdf", "--quiet")
    assert (status, out) == (1, [])
    assert err == [f"convanim: error: {WHAT.format('simulator')}; {FIX}"]
    assert files_under(workdir) == []


def test_the_api_raises_backend_error(broken, workdir):
    import convanim
    from convanim import sparse

    with pytest.raises(BackendError) as e:
        convanim.render("numerical", name="f", verify=True, backend="cuda")
    assert str(e.value) == f"{WHAT.format('cuda')}; {FIX}"
    assert files_under(workdir) == []
    x, w = np.ones((1, 1, 4, 4), np.float32), np.ones((1, 1, 3, 3), np.float32)
    with pytest.raises(BackendError, match=r"pip install 'numpy<2\.5'$"):
        sparse.conv2d(x, w, backend="simulator")
    # the numpy backend needs none of it
    assert sparse.conv2d(x, w, backend="numpy").sum() == 36


def test_doctor_reports_it_with_the_fix(broken, monkeypatch):
    from convanim import doctor

    check = doctor.numba_cuda()
    assert (check.ok, check.needed) == (False, False)
    assert check.detail == WHAT.format("cuda") + " (numpy works without)"
    assert check.fix == FIX
    monkeypatch.setattr(doctor, "checks", lambda: [check])
    out = io.StringIO()
    assert doctor.main(out) == 0  # optional: figures are still drawn
    lines = out.getvalue().splitlines()
    assert lines[0] == f"missing  numba/CUDA  {check.detail}"
    assert f"  {FIX}" in lines


def test_other_failures_name_the_versions_and_a_general_fix(monkeypatch):
    monkeypatch.setattr(backend, "_version", {**FOUND, "numpy": "2.4.6"}.get)
    what, fix = backend.start_failure("cuda", ImportError("libnvrtc.so.13: cannot open\nmore"))
    assert what == ("the cuda backend cannot start: numba.cuda failed to load (ImportError: "
                    "libnvrtc.so.13: cannot open) with numba 0.68.1, numba-cuda 0.30.4, "
                    "numpy 2.4.6")
    assert fix == "reinstall a matching set: pip install --upgrade numba numba-cuda"
    monkeypatch.setattr(backend, "_version", {"numpy": "2.4.6"}.get)
    what, fix = backend.start_failure("simulator", ModuleNotFoundError("No module 'numba'"))
    assert what == ("the simulator backend needs numba and numba-cuda (numba not installed, "
                    "numba-cuda not installed, numpy 2.4.6)")
    assert fix == "pip install numba numba-cuda"


#: a fresh ``python -m convanim`` whose ``import numba.cuda`` fails as under numpy 2.5
FRESH = f"""
import importlib.abc, sys
class NumpyTooNew(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numba.cuda":
            raise AttributeError({ROW_STACK!r})
sys.meta_path.insert(0, NumpyTooNew())
from convanim.cli import main
sys.exit(main())
"""


def _fresh(tmp_path, *argv):
    """The command in a new process (the versions named are this machine's real ones)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    return subprocess.run([sys.executable, "-c", FRESH, *argv], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300)


def test_a_fresh_process_prints_one_line_not_a_traceback(tmp_path):
    proc = _fresh(tmp_path, "verify", "numerical", "-i", "5", "-k", "3",
                  "--backend", "simulator")
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("convanim: error: the simulator backend cannot start: "
                                  f"numba.cuda failed to load (AttributeError: {ROW_STACK}) "
                                  f"with {backend.versions()}; ")
    doctor = _fresh(tmp_path, "doctor")
    assert "Traceback" not in doctor.stdout + doctor.stderr
    mark, name, detail = next(x for x in doctor.stdout.splitlines()
                              if "numba/CUDA" in x).split(None, 2)
    assert (mark, name) == ("missing", "numba/CUDA")
    assert detail.startswith("the simulator backend cannot start: ") and ROW_STACK in detail


def test_the_install_files_keep_numpy_below_what_numba_cuda_imports_with():
    """The GPU extra, the test extra and requirements.txt bound numpy where they bring
    numba-cuda, at the release ``start_failure`` names."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        import tomli as tomllib
    bound = "numpy<" + ".".join(map(str, backend.NUMPY_BELOW))
    extras = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    for extra in ("gpu", "test"):
        assert any(r.startswith("numba-cuda") for r in extras[extra])
        assert bound in extras[extra]
    assert bound in (PROJECT / "requirements.txt").read_text().splitlines()


LOAD = """
import numpy
if {remove}:
    del numpy.row_stack  # what numpy 2.5 removed
from convanim.sparse import backend
try:
    backend.cuda_module("cuda")
    print("started")
except backend.BackendError as e:
    print(e)
"""


@pytest.mark.parametrize("remove", [False, True])
def test_the_gpu_mode_loads_the_registries_where_numpy_2_5_breaks(remove):
    """Not mocked: ``import numba.cuda`` alone succeeds under numpy 2.5, and numba-cuda
    0.30 fails later, loading its CUDA registries (at the first compilation). The cuda
    backend loads them when it starts, with no GPU needed, so a numpy without
    ``row_stack`` fails there, as one line."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "NUMBA_ENABLE_CUDASIM": "0"}
    proc = subprocess.run([sys.executable, "-c", LOAD.format(remove=remove)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    if not remove:
        assert proc.stdout == "started\n"
        return
    assert proc.stdout.startswith("the cuda backend cannot start: numba.cuda failed to load "
                                  f"(AttributeError: {ROW_STACK}) with ")
    assert proc.stdout.count("\n") == 1
