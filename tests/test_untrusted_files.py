"""Issue #36, round three: only regular files are read, with a size cap, and a pipe or a
device is refused at once, in one line naming the file (never its content), exit 2."""
import os
import resource
import subprocess
import sys

import pytest

from helpers import PROJECT


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (6 << 30, 6 << 30))  # /dev/zero must not eat the box


def convanim(cwd, *argv, timeout=60):
    """``python -m convanim ARGV``, bounded in time and memory: (status, stdout, stderr)."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT), "XDG_CACHE_HOME": str(cwd / "cache")}
    proc = subprocess.Popen([sys.executable, "-m", "convanim", *argv], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_limit_memory)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        pytest.fail(f"convanim {' '.join(argv)} still ran after {timeout} s")
    return proc.returncode, out, err


@pytest.mark.parametrize("argv", [
    ["stats", "--onnx", "SOURCE"],
    ["verify", "numerical", "--from-json", "SOURCE"],
    ["arithmetic", "-c", "SOURCE"],
    ["stats", "--config", "SOURCE"],
    ["arithmetic", "-cSOURCE"],
    ["numerical", "--config=SOURCE"],
])
@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
def test_a_pipe_or_device_given_as_a_file_is_refused_at_once(tmp_path, argv, source):
    if source == "fifo":
        os.mkfifo(tmp_path / "fifo")
    argv = [a.replace("SOURCE", source) for a in argv]
    status, out, err = convanim(tmp_path, *argv, timeout=30)
    lines = err.strip().splitlines()
    assert status == 2 and out == "" and len(lines) == 1, err
    assert lines[0].startswith("convanim: error:") and source in lines[0], err
    assert "not a regular file" in lines[0], err


def test_an_onnx_model_over_the_cap_is_refused_by_its_size(tmp_path, monkeypatch):
    from convanim import models
    from convanim.errors import SpecError

    (tmp_path / "big.onnx").write_bytes(b"\x08" * 4096)
    monkeypatch.setattr(models, "MAX_ONNX", 1024)
    with pytest.raises(SpecError, match=r"big.onnx: it is 4,096 bytes"):
        models.from_onnx(tmp_path / "big.onnx")


def test_figure_data_over_the_cap_is_refused_without_its_content(tmp_path):
    secret = '{"kind": "numerical", "input": [' + "1," * (9 << 20) + '1], "x": "SECRET"}'
    (tmp_path / "big.json").write_text(secret)
    status, out, err = convanim(tmp_path, "verify", "numerical", "--from-json", "big.json")
    assert status == 2 and len(err.strip().splitlines()) == 1 and "big.json" in err, err
    assert "SECRET" not in err and "1,1" not in err
