"""Layer tables of whole networks: built in (torchvision's definitions) or read from ONNX.

A network is the list of its parametrised layers: convolutions (what ``stats``
analyses), batch norms and fully connected layers (which complete the parameter
count). Built-in tables are generated from the architectures as torchvision defines
them at 224x224; their parameter totals are tested against the published ones. One
3-D network, C3D, counts the conv3d layers of video networks on a 16x112x112 clip.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

from . import geometry
from .geometry import Pair


@dataclass(frozen=True)
class Layer:
    name: str
    kind: str                 # conv, bn or fc
    in_size: Pair             # spatial size of the input (conv): (h, w), or (d, h, w)
    in_channels: int
    out_channels: int
    kernel: Pair = (1, 1)
    stride: Pair = (1, 1)
    padding: Pair = (0, 0)
    dilation: Pair = (1, 1)
    groups: int = 1
    bias: bool = False
    #: What padding cells hold (geometry.PADDING_MODES); padding may be four sides.
    padding_mode: str = "zeros"

    @property
    def out_size(self) -> Pair:
        if self.kind != "conv":
            return self.in_size
        return geometry.conv_output_size(self.in_size, self.kernel, self.stride, self.padding,
                                         self.dilation)

    @property
    def params(self) -> int:
        if self.kind == "bn":
            return 2 * self.in_channels  # weight and bias; running stats are buffers
        weights = self.out_channels * self.in_channels // self.groups * prod(self.kernel)
        return weights + (self.out_channels if self.bias else 0)


class _Builder:
    """Follows the spatial size (two axes or three) and channels through a network as
    layers are added."""

    def __init__(self, size: Pair = (224, 224), channels: int = 3):
        self.size, self.channels, self.layers = tuple(size), channels, []

    def _axes(self, v) -> tuple[int, ...]:
        return (v,) * len(self.size) if isinstance(v, int) else tuple(v)

    def conv(self, name, out, k, s=1, p=0, groups=1, bias=False, at=None):
        size, channels = at if at else (self.size, self.channels)
        n = self._axes
        layer = Layer(name, "conv", size, channels, out, n(k), n(s), n(p), n(1),
                      groups=groups, bias=bias)
        self.layers.append(layer)
        self.size, self.channels = layer.out_size, out
        return self

    def bn(self, name):
        self.layers.append(Layer(name, "bn", self.size, self.channels, self.channels))
        return self

    def pool(self, k, s, p=0):
        n = self._axes
        self.size = geometry.conv_output_size(self.size, n(k), n(s), n(p), n(1))
        return self

    def fc(self, name, features_in, out):
        self.layers.append(Layer(name, "fc", (1, 1), features_in, out, bias=True))
        self.channels = out
        return self


def alexnet(size: Pair = (224, 224)) -> list[Layer]:
    b = _Builder(size)
    b.conv("features.0", 64, 11, 4, 2, bias=True).pool(3, 2)
    b.conv("features.3", 192, 5, 1, 2, bias=True).pool(3, 2)
    b.conv("features.6", 384, 3, 1, 1, bias=True)
    b.conv("features.8", 256, 3, 1, 1, bias=True)
    b.conv("features.10", 256, 3, 1, 1, bias=True).pool(3, 2)
    b.fc("classifier.1", 256 * 6 * 6, 4096).fc("classifier.4", 4096, 4096)
    b.fc("classifier.6", 4096, 1000)
    return b.layers


_VGG = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
              512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
}


def vgg(name: str, size: Pair = (224, 224)) -> list[Layer]:
    b = _Builder(size)
    for n, v in enumerate(_VGG[name]):
        if v == "M":
            b.pool(2, 2)
        else:
            b.conv(f"features.{n}", v, 3, 1, 1, bias=True)
    b.fc("classifier.0", 512 * 7 * 7, 4096).fc("classifier.3", 4096, 4096)
    b.fc("classifier.6", 4096, 1000)
    return b.layers


def resnet(blocks: list[int], bottleneck: bool, size: Pair = (224, 224)) -> list[Layer]:
    """torchvision's ResNet (v1.5: a bottleneck's stride sits in its 3x3 conv)."""
    b = _Builder(size)
    b.conv("conv1", 64, 7, 2, 3).bn("bn1").pool(3, 2, 1)
    expansion = 4 if bottleneck else 1
    for stage, count in enumerate(blocks, start=1):
        planes = 64 * 2 ** (stage - 1)
        for n in range(count):
            stride = 2 if stage > 1 and n == 0 else 1
            name = f"layer{stage}.{n}"
            entry = (b.size, b.channels)
            if bottleneck:
                b.conv(f"{name}.conv1", planes, 1).bn(f"{name}.bn1")
                b.conv(f"{name}.conv2", planes, 3, stride, 1).bn(f"{name}.bn2")
                b.conv(f"{name}.conv3", planes * 4, 1).bn(f"{name}.bn3")
            else:
                b.conv(f"{name}.conv1", planes, 3, stride, 1).bn(f"{name}.bn1")
                b.conv(f"{name}.conv2", planes, 3, 1, 1).bn(f"{name}.bn2")
            if stride != 1 or entry[1] != planes * expansion:
                after = (b.size, b.channels)
                b.conv(f"{name}.downsample.0", planes * expansion, 1, stride, at=entry)
                b.bn(f"{name}.downsample.1")
                b.size, b.channels = after
    b.fc("fc", 512 * expansion, 1000)
    return b.layers


def mobilenet_v2(size: Pair = (224, 224)) -> list[Layer]:
    b = _Builder(size)
    b.conv("features.0.0", 32, 3, 2, 1).bn("features.0.1")
    index = 1
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            name, hidden, part = f"features.{index}.conv", b.channels * t, 0
            if t != 1:
                b.conv(f"{name}.0.0", hidden, 1).bn(f"{name}.0.1")
                part = 1
            b.conv(f"{name}.{part}.0", hidden, 3, s if i == 0 else 1, 1, groups=hidden)
            b.bn(f"{name}.{part}.1")
            b.conv(f"{name}.{part + 1}", c, 1).bn(f"{name}.{part + 2}")
            index += 1
    b.conv(f"features.{index}.0", 1280, 1).bn(f"features.{index}.1")
    b.fc("classifier.1", 1280, 1000)
    return b.layers


def c3d(size=(16, 112, 112)) -> list[Layer]:
    """C3D (Tran et al., "Learning Spatiotemporal Features with 3D Convolutional Networks",
    2015) on a clip of ``size`` = frames x height x width: eight 3x3x3 conv3d layers
    (padding 1, with bias), pool1 1x2x2 and pool2-5 2x2x2 (pool5 padded 0x1x1, as the
    widely used PyTorch port has it: a 16x112x112 clip ends 512x1x4x4, fc6's 8192
    inputs), then fc6, fc7 and fc8 for Sports-1M's 487 classes."""
    b = _Builder(size)
    b.conv("conv1", 64, 3, 1, 1, bias=True).pool((1, 2, 2), (1, 2, 2))
    b.conv("conv2", 128, 3, 1, 1, bias=True).pool(2, 2)
    b.conv("conv3a", 256, 3, 1, 1, bias=True).conv("conv3b", 256, 3, 1, 1, bias=True).pool(2, 2)
    b.conv("conv4a", 512, 3, 1, 1, bias=True).conv("conv4b", 512, 3, 1, 1, bias=True).pool(2, 2)
    b.conv("conv5a", 512, 3, 1, 1, bias=True).conv("conv5b", 512, 3, 1, 1, bias=True)
    b.pool(2, 2, (0, 1, 1))
    b.fc("fc6", 512 * prod(b.size), 4096).fc("fc7", 4096, 4096).fc("fc8", 4096, 487)
    return b.layers


#: The 3-D networks: ``--model`` takes a clip DxHxW (frames x height x width) for them.
VOLUME_MODELS = {"c3d": (16, 112, 112)}

MODELS = {  # name -> layers(size=(224, 224)), or a clip's size (VOLUME_MODELS)
    "alexnet": alexnet,
    **{name: (lambda size=(224, 224), name=name: vgg(name, size)) for name in _VGG},
    "resnet18": lambda size=(224, 224): resnet([2, 2, 2, 2], False, size),
    "resnet34": lambda size=(224, 224): resnet([3, 4, 6, 3], False, size),
    "resnet50": lambda size=(224, 224): resnet([3, 4, 6, 3], True, size),
    "mobilenet_v2": mobilenet_v2,
    "c3d": c3d,
}

#: Parameter counts torchvision publishes for these models (its model docs and
#: ``sum(p.numel() for p in model.parameters())``), classifier included.
PUBLISHED_PARAMS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg13": 133_047_848,
    "vgg16": 138_357_544, "vgg19": 143_667_240, "resnet18": 11_689_512,
    "resnet34": 21_797_672, "resnet50": 25_557_032, "mobilenet_v2": 3_504_872,
    # C3D's (Sports-1M, 487 classes): the PyTorch port's sum(p.numel()), as summed by hand in
    # tests/test_stats.py from the paper's table
    "c3d": 79_991_015,
}


#: Bytes of an ONNX model: protobuf's own limit is 2 GiB.
MAX_ONNX = 2 << 30


def from_onnx(path) -> list[Layer]:
    """The Conv nodes of an ONNX model, with input sizes from ONNX shape inference; only
    a regular file up to MAX_ONNX is read (not /dev/zero, nor a FIFO that never ends)."""
    from .files import read_regular

    try:
        import onnx
        from onnx import numpy_helper, shape_inference
    except ImportError:
        raise ImportError("reading ONNX needs the onnx package: pip install onnx") from None
    data = read_regular(path, MAX_ONNX)
    model = shape_inference.infer_shapes(onnx.load_from_string(data))
    g = model.graph
    shapes = {}
    for value in [*g.input, *g.value_info, *g.output]:
        dims = value.type.tensor_type.shape.dim
        shapes[value.name] = [d.dim_value if d.HasField("dim_value") else None for d in dims]
    weights = {t.name: numpy_helper.to_array(t).shape for t in g.initializer}
    layers = []
    for n, node in enumerate(g.node):
        if node.op_type != "Conv":
            continue
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        x = shapes.get(node.input[0])
        w = weights.get(node.input[1]) or shapes.get(node.input[1])
        if x and len(x) == 3:
            raise ValueError(f"ONNX Conv node {node.name or n}: a 1-D conv (input N x C x L); "
                             f"stats counts 2-D and 3-D convs (a sequence: -i 1xL -k 1xK)")
        if not x or len(x) not in (4, 5) or None in x[1:] or not w:
            raise ValueError(f"ONNX Conv node {node.name or n}: input shape unknown after "
                             f"shape inference")
        axes = len(x) - 2  # 2 (conv2d) or 3 (conv3d: depth, height, width)
        # ONNX: every axis's start, then every axis's end (top, left, bottom, right in 2-D)
        pads = list(attrs.get("pads", [0] * 2 * axes))
        if attrs.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise ValueError(f"ONNX Conv node {node.name or n}: auto_pad is not supported")
        start, end = tuple(pads[:axes]), tuple(pads[axes:])
        layer = Layer(node.name or f"conv{n}", "conv", tuple(x[2:]), x[1], w[0],
                      tuple(w[2:]), tuple(attrs.get("strides", (1,) * axes)),
                      start if start == end else tuple(v for p in zip(start, end) for v in p),
                      tuple(attrs.get("dilations", (1,) * axes)),
                      groups=attrs.get("group", 1), bias=len(node.input) > 2)
        reason = invalid(layer)
        if reason:
            raise ValueError(f"ONNX Conv node {layer.name}: {reason}")
        layers.append(layer)
    return layers


def invalid(layer: Layer) -> str | None:
    """Why PyTorch would refuse this conv layer, or None: a file's numbers are not trusted."""
    pairs = (("input size", layer.in_size, 1), ("kernel size", layer.kernel, 1),
             ("stride", layer.stride, 1), ("padding", layer.padding, 0),
             ("dilation", layer.dilation, 1))
    axes = len(layer.in_size)
    for what, v, low in pairs:
        counts = (axes, 2 * axes) if what == "padding" else (axes,)
        if len(v) not in counts:
            return (f"{what} has {len(v)} values for a layer of {axes} axes (give "
                    f"{' or '.join(map(str, counts))}), got {list(v)}")
        if min(v) < low:
            return f"{what} must be >= {low}, got {list(v)}"
    if min(layer.in_channels, layer.out_channels, layer.groups) < 1:
        return (f"channels and group must be >= 1, got {layer.in_channels} in, "
                f"{layer.out_channels} out, group {layer.groups}")
    if layer.in_channels % layer.groups or layer.out_channels % layer.groups:
        return f"channels {layer.in_channels} -> {layer.out_channels} not divisible by group " \
               f"{layer.groups}"
    if min(layer.out_size) < 1:
        return (f"kernel {list(layer.kernel)} with dilation {list(layer.dilation)} is larger "
                f"than the padded input {list(layer.in_size)} + {list(geometry.padding_total(layer.padding))}")
    return None
