import pytest
import torch
from torch import nn

from archcheck.zoo import Involution, YOLOv4, yolov4, yolov4_involution

NECK_NAMES = [
    "backbone",
    "conv1",
    "SPP",
    "conv2",
    "upsample1",
    "conv_for_P4",
    "make_five_conv1",
    "upsample2",
    "conv_for_P3",
    "make_five_conv2",
    "yolo_head3",
    "down_sample1",
    "make_five_conv3",
    "yolo_head2",
    "down_sample2",
    "make_five_conv4",
    "yolo_head1",
]


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope="module")
def meta_yolov4() -> YOLOv4:
    with torch.device("meta"):
        return yolov4()


@pytest.fixture(scope="module")
def meta_yolov4_involution() -> YOLOv4:
    with torch.device("meta"):
        return yolov4_involution()


def test_parameter_counts(meta_yolov4):
    assert count_parameters(meta_yolov4) == 64_363_101
    assert count_parameters(meta_yolov4.backbone) == 26_617_184


def test_involution_parameter_counts(meta_yolov4_involution):
    model = meta_yolov4_involution
    assert count_parameters(model) == 64_715_733
    assert [count_parameters(getattr(model, f"involution{i}")) for i in (1, 2, 3)] == [17_096, 67_472, 268_064]


def test_attribute_names(meta_yolov4):
    names = {name for name, _ in meta_yolov4.named_children()}
    assert set(NECK_NAMES) <= names


def test_plain_model_has_no_involution(meta_yolov4):
    assert not any(isinstance(m, Involution) for m in meta_yolov4.modules())


def test_neck_activation_is_leaky_relu(meta_yolov4):
    act = meta_yolov4.conv_for_P4.act
    assert isinstance(act, nn.LeakyReLU)
    assert act.negative_slope == 0.1


@pytest.mark.parametrize(("height", "width"), [(416, 416), (608, 608), (320, 448)])
@pytest.mark.parametrize("model_name", ["meta_yolov4", "meta_yolov4_involution"])
def test_output_shapes_on_meta(request, model_name, height, width):
    model = request.getfixturevalue(model_name)
    out0, out1, out2 = model(torch.empty(2, 3, height, width, device="meta"))
    assert out0.shape == (2, 255, height // 32, width // 32)
    assert out1.shape == (2, 255, height // 16, width // 16)
    assert out2.shape == (2, 255, height // 8, width // 8)


def test_head_channels_follow_classes_and_anchors():
    with torch.device("meta"):
        model = yolov4(num_classes=20, anchors_per_head=2)
    outputs = model(torch.empty(1, 3, 416, 416, device="meta"))
    assert [o.shape[1] for o in outputs] == [50, 50, 50]


def test_involution_layers_keep_shape(meta_yolov4_involution):
    model = meta_yolov4_involution
    seen: dict[str, tuple[torch.Size, torch.Size]] = {}
    layers = {f"involution{i}": getattr(model, f"involution{i}") for i in (1, 2, 3)}
    assert all(isinstance(layer, Involution) for layer in layers.values())
    assert [layer.channels for layer in layers.values()] == [128, 256, 512]

    def record(name):
        return lambda module, inputs, output: seen.__setitem__(name, (inputs[0].shape, output.shape))

    handles = [layer.register_forward_hook(record(name)) for name, layer in layers.items()]
    try:
        model(torch.empty(1, 3, 416, 416, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    assert seen == {
        "involution1": ((1, 128, 52, 52), (1, 128, 52, 52)),
        "involution2": ((1, 256, 26, 26), (1, 256, 26, 26)),
        "involution3": ((1, 512, 13, 13), (1, 512, 13, 13)),
    }


@pytest.mark.parametrize("factory", [yolov4, yolov4_involution])
def test_small_cpu_forward_is_finite(factory):
    torch.manual_seed(0)
    model = factory(num_classes=3).eval()
    with torch.no_grad():
        outputs = model(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outputs] == [(1, 24, 2, 2), (1, 24, 4, 4), (1, 24, 8, 8)]
    assert all(torch.isfinite(o).all() for o in outputs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_classes": 0}, "num_classes=0 must be >= 1"),
        ({"anchors_per_head": 0}, "anchors_per_head=0 must be >= 1"),
    ],
)
def test_argument_validation(kwargs, message):
    with pytest.raises(ValueError) as error:
        yolov4(**kwargs)
    assert str(error.value) == message
