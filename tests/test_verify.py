"""verify: the figures' numbers recomputed on a backend; a corrupted figure fails."""
import json
import os

import pytest

from convanim.scenes import numerical

from helpers import files_under, run

BACKEND = os.environ.get("CONVANIM_TEST_BACKEND", "simulator")


@pytest.mark.parametrize("args", [
    ["numerical", "-i", "6", "-k", "3", "-s", "2", "-p", "1"],         # the commands
    ["alphabet", "-t", "-i", "5", "-k", "3", "-s", "2", "-p", "1"],
    ["numerical", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t"],
    ["numerical", "-i", "6", "-k", "2", "-s", "2", "-m", "max"],
    ["numerical", "-i", "5", "-k", "3", "-p", "1", "-m", "average"],
    ["alphabet", "-i", "7", "-k", "3", "-d", "2"],
    ["im2col", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "--phase", "loss"],
    ["im2col", "-i", "6", "-k", "3", "-s", "2", "-p", "1", "--phase", "gradient"],
    ["arithmetic", "-i", "5x6", "-k", "3", "-s", "2", "-p", "1", "-t"],
    # an output padding under the automatic one: C's columns are a smaller output than -i
    ["alphabet", "-t", "-i", "4", "-k", "3", "-s", "2", "--output-padding", "0"],
    ["alphabet", "-t", "-i", "6x5", "-k", "3", "-s", "2", "--output-padding", "0x1"],
])
def test_verify_passes_on_correct_figures(workdir, capsys, args):
    status, _, err = run(capsys, "verify", *args, "--backend", BACKEND)
    assert status == 0, err
    assert files_under(workdir) == []


def test_verify_prints_the_table(capsys):
    from convanim.cli import main
    assert main(["verify", "numerical", "-i", "6", "-k", "3", "-s", "2", "-p", "1",
                 "--backend", BACKEND]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["check", "backend"]
    assert "numerical convolution output" in lines[2] and BACKEND in lines[2]
    assert lines[2].split()[-1] == "pass"


@pytest.mark.usefixtures("tex_tools")
def test_a_corrupted_figure_fails(workdir, capsys):
    run(capsys, "numerical", "f", "-i", "6", "-k", "3", "-s", "2", "-p", "1", "-y", "pdf",
        "--json", "--quiet")
    path = workdir / "out/f.json"
    assert run(capsys, "verify", "numerical", "--from-json", str(path),
               "--backend", BACKEND)[0] == 0
    data = json.loads(path.read_text())
    data["output"][1][2] += 1  # one wrong number in the figure
    path.write_text(json.dumps(data))
    from convanim.cli import main
    assert main(["verify", "numerical", "--from-json", str(path), "--backend", BACKEND]) == 1
    assert capsys.readouterr().out.splitlines()[2].split()[-1] == "FAIL"


@pytest.mark.usefixtures("tex_tools")
def test_a_corrupted_matrix_fails(workdir, capsys):
    run(capsys, "alphabet", "m", "-i", "4", "-k", "3", "-y", "pdf", "--json", "--quiet")
    path = workdir / "out/m.json"
    data = json.loads(path.read_text())
    data["matrix"][0][0] = [1, 1]  # the seed's dense-kernel fault, in one entry
    path.write_text(json.dumps(data))
    assert run(capsys, "verify", "alphabet", "--from-json", str(path), "--backend", "numpy")[0] == 1


@pytest.mark.usefixtures("tex_tools")
def test_figure_with_verify_renders_only_when_its_numbers_hold(workdir, capsys, monkeypatch):
    assert run(capsys, "numerical", "ok", "--verify", "--backend", "numpy", "-y", "pdf",
               "--quiet")[0] == 0
    real = numerical.compute

    def off_by_one(*a):
        out, values, reads = real(*a)
        return out + 1, values, reads

    monkeypatch.setattr(numerical, "compute", off_by_one)
    status, out, err = run(capsys, "numerical", "bad", "--verify", "--backend", "numpy",
                           "-y", "pdf", "--quiet")
    assert status == 1 and out == []
    assert err[-1] == "convanim: error: the figure's numbers differ from the backend's; " \
                      "nothing written"
    assert [p.name for p in files_under(workdir)] == ["ok_00.pdf"]


@pytest.mark.parametrize("args,message", [
    (["numerical", "--from-json", "nope.json"], "cannot read nope.json"),
    (["numerical", "--backend", "tpu"], "invalid choice: 'tpu'"),
])
def test_verify_bad_input(workdir, capsys, args, message):
    status, _, err = run(capsys, "verify", *args)
    assert status == 2 and message in err[-1]


def test_cuda_backend_without_a_gpu_says_so(capsys, monkeypatch):
    from convanim.sparse import backend
    monkeypatch.setattr(backend, "gpu_present", lambda: False)
    monkeypatch.setattr(backend, "_numba_mode", lambda: None)
    status, _, err = run(capsys, "verify", "numerical", "--backend", "cuda")
    assert status == 1 and "no CUDA GPU found" in err[-1]


def _torch_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("torch") is not None


@pytest.mark.parametrize("args", [
    ["numerical", "-i", "6", "-k", "3", "-s", "2", "-p", "1"],
    ["numerical", "-i", "5", "-k", "3", "-s", "2", "-p", "1", "-t"],
    ["numerical", "-i", "6", "-k", "2", "-s", "2", "-m", "max"],
    ["numerical", "-i", "5", "-k", "3", "-p", "1", "-m", "average"],
    ["alphabet", "-t", "-i", "5", "-k", "3", "-s", "2", "-p", "1"],
    ["im2col", "-i", "6", "-k", "3", "-s", "2", "-p", "1", "--phase", "gradient"],
    ["arithmetic", "-i", "7", "-k", "3", "-d", "2", "-t"],
])
def test_verify_against_torch_is_a_second_witness(workdir, capsys, args):
    """With torch: every check again on torch.nn.functional, in the same table. Without:
    one line that says how to get it, exit 1 (CI has no torch; the GPU machine has)."""
    from convanim.cli import main
    status = main(["verify", *args, "--backend", BACKEND, "--against", "torch"])
    out, err = capsys.readouterr()
    if not _torch_installed():
        assert status == 1 and out == ""
        assert err.strip() == "convanim: error: the torch backend needs PyTorch: " \
                              "pip install torch"
        return
    assert status == 0, out + err
    rows = out.splitlines()[2:]
    ours = [r for r in rows if f"  {BACKEND}  " in r]
    theirs = [r for r in rows if "  torch  " in r]
    assert len(ours) == len(theirs) >= 1 and len(rows) == 2 * len(ours)
    assert all(r.split()[-1] == "pass" for r in rows)


@pytest.mark.usefixtures("tex_tools")
def test_a_corrupted_figure_fails_against_torch_too(workdir, capsys):
    run(capsys, "numerical", "f", "-i", "5", "-k", "3", "-y", "pdf", "--json", "--quiet")
    path = workdir / "out/f.json"
    data = json.loads(path.read_text())
    data["output"][0][0] += 0.5
    path.write_text(json.dumps(data))
    from convanim.cli import main
    status = main(["verify", "numerical", "--from-json", str(path), "--backend", "numpy",
                   "--against", "torch"])
    out, err = capsys.readouterr()
    assert status == 1
    if _torch_installed():
        assert [r.split()[-1] for r in out.splitlines()[2:]] == ["FAIL", "FAIL"]
    else:
        assert "pip install torch" in err
