"""benchmarks/sparse_gpu.py fits a device call: every row is in the CSV as soon as it is
measured, ``--budget`` stops between two rows with the tables of what it has, ``--quick``
is VGG16 at batch 1 in five configurations, and a backend that cannot start is one line.

On the simulator, in-process, the smoke layer. The benchmark's clock is replaced by one
that reads one second later at each call, so a budget stops at a known row.
"""
import csv
import importlib.util
import os

import pytest

from helpers import PROJECT

pytestmark = pytest.mark.gpu  # the kernels, on the simulator or a GPU


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("sparse_gpu_benchmark",
                                                  PROJECT / "benchmarks/sparse_gpu.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_budget_stops_between_rows_and_each_row_is_written_before_the_next(
        bench, monkeypatch, tmp_path, capsys):
    ticks = iter(range(10**6))  # the budget starts at 0 s; each check is a second later
    monkeypatch.setattr(bench, "clock", lambda: float(next(ticks)))
    path = tmp_path / "rows.csv"
    on_disk = []  # data rows in the file when each measurement begins
    real = bench.time_ours

    def measure(*args, **kw):
        on_disk.append(len(_rows(path)) if path.exists() else 0)
        return real(*args, **kw)

    monkeypatch.setattr(bench, "time_ours", measure)
    # checks at 1, 2 and 3 s measure; the check at 4 s finds 4 s spent and stops
    assert bench.main(["--smoke", "--csv", str(path), "--budget", "4"]) == 0
    out = capsys.readouterr().out
    assert "budget of 4 s spent: stopped after 3 rows" in out
    assert on_disk == [0, 1, 2]
    rows = _rows(path)
    with open(path) as f:
        assert f.readline().strip() == ",".join(bench.FIELDS)
    assert [r["method"] for r in rows] == ["csr", "escoin", "bsr"]
    for r in rows:
        assert (r["network"], r["layer"], r["structure"], r["sparsity"]) == \
            ("vgg16", "4x6x6->4 s1", "unstructured", "0.9")
        assert float(r["max_err"]) < 1e-4 and float(r["ms"]) > 0 and int(r["macs"]) > 0
    # the tables hold the rows measured, and only those
    assert "| vgg16 | 1 | 90% |" in out and "| CSR | 1 | 15 |" in out
    assert "| CSR tiled |" not in out and "| BSR tiled |" not in out


def test_a_budget_not_spent_measures_everything(bench, tmp_path, capsys):
    path = tmp_path / "rows.csv"
    assert bench.main(["--smoke", "--csv", str(path), "--budget", "600",
                       "--methods", "csr_tiled"]) == 0
    assert "2 rows in" in capsys.readouterr().out
    rows = _rows(path)
    assert [(r["method"], r["structure"], r["sparsity"]) for r in rows] == \
        [("csr_tiled", "unstructured", "0.9"), ("csr_tiled", "block", "0.5")]
    assert all(float(r["max_err"]) < 1e-4 for r in rows)


def test_quick_is_vgg16_batch_1_in_five_configurations_every_method(bench, monkeypatch):
    asked = {}

    def rows(networks, batches, repeat, **kw):
        asked.update(networks=networks, batches=batches, repeat=repeat, **kw)
        return iter(())

    monkeypatch.setattr(bench.sparse, "gpu_present", lambda: True)
    monkeypatch.setattr(bench, "gpu_rows", rows)
    assert bench.main(["--quick", "--budget", "150"]) == 1  # nothing measured: says so
    assert (asked["networks"], asked["batches"], asked["repeat"]) == (["vgg16"], [1], 10)
    assert asked["configs"] == [("unstructured", 0.0), ("unstructured", 0.9),
                                ("unstructured", 0.95), ("unstructured", 0.99),
                                ("block", 0.9)]
    assert asked["methods"] == ["csr", "escoin", "bsr", "dense", "csr_tiled", "bsr_tiled",
                                "cudnn"]
    assert asked["budget"].seconds == 150


def test_a_backend_that_cannot_start_is_one_line(bench, monkeypatch, capsys, tmp_path):
    from convanim.sparse import backend

    def fail():
        raise AttributeError("module 'numpy' has no attribute 'row_stack'")

    monkeypatch.setenv("NUMBA_ENABLE_CUDASIM", os.environ.get("NUMBA_ENABLE_CUDASIM", "1"))
    monkeypatch.setattr(backend, "_numba_mode", lambda: None)
    monkeypatch.setattr(backend, "_import_cuda", fail)
    monkeypatch.setattr(bench.sparse, "gpu_present", lambda: True)
    assert bench.main(["--quick", "--csv", str(tmp_path / "q.csv")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(
        "sparse_gpu: error: the cuda backend cannot start: numba.cuda failed to load "
        "(AttributeError: module 'numpy' has no attribute 'row_stack')")
    assert not (tmp_path / "q.csv").exists()
