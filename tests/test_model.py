import sys

import pytest
import torch

from archcheck.errors import ModelError
from archcheck.model import build
from archcheck.spec import parse_spec

SPEC = """\
archcheck: 1
name: toy
model:
  factory: {factory}
  kwargs: {kwargs}
inputs: {{x: [B, 3, H, W]}}
dims: {{B: {{values: [1]}}, H: {{values: [16]}}, W: {{values: [16]}}}}
"""


def spec(factory: str = "toy:two_scale", kwargs: str = "{}"):
    return parse_spec(SPEC.format(factory=factory, kwargs=kwargs), "s.yaml")


def test_builds_seeded_in_eval_mode():
    first, second = build(spec(), "cpu"), build(spec(), "cpu")
    assert not first.training
    assert torch.equal(first.stem.weight, second.stem.weight)


def test_meta_build_allocates_nothing():
    model = build(spec(), "meta")
    assert model.stem.weight.device.type == "meta"


def test_build_does_not_disturb_the_global_seed():
    torch.manual_seed(123)
    expected = torch.rand(1)
    torch.manual_seed(123)
    build(spec(), "cpu")
    assert torch.equal(torch.rand(1), expected)


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        ("nosuchpackage.models:net", "{}", "s.yaml:4:12: error: cannot import 'nosuchpackage.models' for model.factory: No module named 'nosuchpackage'"),
        ("toy:two_scal", "{}", "s.yaml:4:12: error: module 'toy' has no attribute 'two_scal'; did you mean 'two_scale'?"),
        ("toy:two_scale", "{depth: 3}", "s.yaml:5:3: error: toy:two_scale does not take these kwargs: got an unexpected keyword argument 'depth'"),
        ("toy:broken", "{}", "s.yaml:5:3: error: building the model with toy:broken(**{}) failed: RuntimeError: weights missing"),
        ("toy:not_a_module", "{}", "s.yaml:4:12: error: toy:not_a_module returned int, not a torch.nn.Module"),
    ],
)
def test_factory_faults_are_model_errors(factory, kwargs, message):
    with pytest.raises(ModelError) as error:
        build(spec(factory, kwargs), "cpu")
    assert str(error.value) == message


def test_factories_beside_the_spec_are_importable_and_sys_path_is_restored(tmp_path):
    (tmp_path / "beside_the_spec_net.py").write_text("from torch import nn\n\ndef net():\n    return nn.Conv2d(3, 4, 1)\n")
    path = tmp_path / "net.yaml"
    path.write_text(SPEC.format(factory="beside_the_spec_net:net", kwargs="{}"))
    before = list(sys.path)
    from archcheck.spec import load_spec

    model = build(load_spec(path), "meta")
    assert model.out_channels == 4
    assert sys.path == before
