"""convanim.from_torch: a PyTorch layer drawn with its own hyper-parameters and weights.

Torch is optional and not in CI's install: there, from_torch must refuse with the way
to install it. Where torch is installed, the figure data of real layers is compared
with what the layers themselves compute on the same input.
"""
import importlib.util

import numpy as np
import pytest

import convanim
from convanim.errors import SpecError, ToolError
from convanim.figure import figure, plan
from convanim.layers import torch_options

HAS_TORCH = importlib.util.find_spec("torch") is not None


def _figure_data(layer, x, weights=True, **kw):
    kind, options = torch_options(layer, x, weights, **kw)
    return plan(*figure(kind, None, type="pdf", **options)).with_all_steps().data()


def refused_without_torch(tmp_path=None) -> bool:
    """Without torch (CI), from_torch refuses, saying how to install it, and writes
    nothing; the tests below then check that instead of the real layers."""
    if HAS_TORCH:
        return False
    with pytest.raises(ToolError, match="pip install torch"):
        convanim.from_torch(object(), out_dir=tmp_path or "out-never")
    with pytest.raises(ToolError, match="pip install torch"):
        torch_options(object())
    assert tmp_path is None or list(tmp_path.iterdir()) == []
    return True


def test_the_api_takes_numpy_arrays(tmp_path):
    """render(kind, input=array, kernel=array) goes through the options like the CLI."""
    x = np.array([[1.0, -2, 0], [0.5, 1, -3], [4, 0, 1]])
    d = plan(*figure("numerical", None, input=x, kernel=np.eye(2), type="pdf")).data()
    assert d["input"] == x.tolist() and d["output"] == [[2, -5], [0.5, 2]]


torch_cases = [
    ("Conv2d(1, 1, 3)", (1, 1, 5, 5), "numerical"),
    ("Conv2d(1, 1, (3, 2), stride=(2, 1), padding=1, dilation=(1, 2))", (1, 1, 6, 7),
     "numerical"),
    ("Conv2d(1, 1, 3, padding='same')", (1, 1, 4, 4), "numerical"),
    ("Conv2d(2, 4, 2, groups=2, bias=False)", (1, 2, 4, 4), "channels"),
    ("Conv2d(3, 2, 3, stride=2, padding=1)", (3, 5, 5), "channels"),
    ("ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)", (1, 1, 3, 3),
     "numerical"),
    ("ConvTranspose2d(2, 3, 2, stride=2)", (1, 2, 3, 3), "channels"),
    ("MaxPool2d(3, stride=2, padding=1)", (1, 1, 5, 5), "numerical"),
    ("MaxPool2d(2, dilation=2)", (5, 5), "numerical"),
    ("AvgPool2d(3, stride=1, padding=1)", (1, 1, 4, 4), "numerical"),
]


@pytest.mark.parametrize("layer_text,shape,kind", torch_cases)
def test_real_layers_against_the_figure_data(layer_text, shape, kind):
    if refused_without_torch():
        return
    import torch

    torch.manual_seed(0)
    layer = eval(f"torch.nn.{layer_text}")
    x = torch.randn(shape)  # negative and fractional values
    weights = hasattr(layer, "weight")
    assert torch_options(layer, x, weights, ignore_bias=True)[0] == kind
    d = _figure_data(layer, x, weights, ignore_bias=True)
    with torch.no_grad():
        if hasattr(layer, "bias") and layer.bias is not None:
            layer.bias.zero_()
        want = layer(x.reshape((1,) * (4 - x.dim()) + tuple(x.shape))).double().numpy()[0]
    got = np.array(d["output"])
    if kind == "numerical":
        got = got[None]
    assert got.shape == want.shape and np.allclose(got, want, atol=1e-5)
    if hasattr(layer, "weight"):
        w = layer.weight.detach().double().numpy()
        assert np.array_equal(np.array(d["kernel"]).reshape(w.shape), w)


def test_what_a_figure_cannot_show_is_refused():
    if refused_without_torch():
        return
    import torch

    nn = torch.nn
    for layer, message in [
        (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode"),
        (nn.AvgPool2d(3, padding=1, count_include_pad=False), "count_include_pad"),
        (nn.AvgPool2d(2, divisor_override=3), "divisor_override"),
        (nn.Conv2d(1, 1, 3, padding_mode="reflect"), "zero padding only"),
        (nn.Conv2d(1, 1, 2, padding="same"), "unevenly"),
        (nn.Conv1d(1, 1, 3), "got Conv1d"),
        (nn.Linear(3, 3), "got Linear"),
    ]:
        with pytest.raises(SpecError, match=message):
            torch_options(layer)
    with pytest.raises(SpecError, match="has a bias.*ignore_bias=True"):
        torch_options(nn.Conv2d(1, 1, 3), weights=True)
    with pytest.raises(SpecError, match="MaxPool2d has no weights"):
        torch_options(nn.MaxPool2d(2), weights=True)
    with pytest.raises(SpecError, match="a batch of 2"):
        torch_options(nn.Conv2d(1, 1, 3), torch.zeros(2, 1, 5, 5))
    with pytest.raises(SpecError, match="one plane"):
        torch_options(nn.MaxPool2d(2), torch.zeros(1, 3, 4, 4))
    with pytest.raises(SpecError, match="channels figures draw at most"):  # a real ResNet stem
        kind, options = torch_options(nn.Conv2d(3, 64, 7, stride=2, padding=3))
        plan(*figure(kind, None, **options))


def test_from_torch_draws_a_layer(tmp_path):
    """One small compile: the layer's own weights, and a tensor as render's input."""
    if refused_without_torch(tmp_path):
        return
    import torch

    layer = torch.nn.Conv2d(1, 1, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[[[1.0, -1.0], [0.5, 0.0]]]]))
    x = torch.tensor([[1.0, 2, 3], [4, 5, 6], [7, 8, -9]])
    paths = convanim.from_torch(layer, x, weights=True, quality=40, out_dir=tmp_path,
                                json=True, step=3)
    assert [p.suffix for p in paths] == [".png", ".json"]
    import json

    data = json.loads(paths[1].read_text())
    assert data["kernel"] == [[1, -1], [0.5, 0]] and data["output"][1][1] == 5 - 6 + 4
    d = plan(*figure("numerical", None, input=x, kernel=layer.weight[0, 0], type="pdf")).data()
    assert d == data
