import torch
from torch import nn
from toy import TwoScale

from archcheck.observe.trace import observe
from archcheck.spec.shapes import OtherValue, TensorInfo


def hooks_of(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in model.modules())


def test_records_every_module_call_and_output():
    model = TwoScale()
    observation = observe(model, (torch.randn(2, 3, 16, 16),), keep_tensors=True)
    assert observation.crash is None
    assert observation.output == TensorInfo((2, 4, 8, 8), "float32")
    assert observation.calls["down2"][0].output == TensorInfo((2, 8, 4, 4), "float32")
    assert observation.calls["down2"][0].inputs == (TensorInfo((2, 8, 8, 8), "float32"),)
    assert observation.calls[""][0].output == observation.output
    assert observation.tensors.shape == (2, 4, 8, 8)


def test_leaves_the_model_as_found():
    model = TwoScale()
    model.train()
    model.bn.eval()  # a mixed state must come back exactly
    before = {name: m.training for name, m in model.named_modules()}
    attributes = {name: set(vars(m)) for name, m in model.named_modules()}
    observe(model, (torch.randn(1, 3, 16, 16),))
    observe(model, (torch.randn(1, 3, 18, 16),))  # crashes inside
    assert {name: m.training for name, m in model.named_modules()} == before
    assert {name: set(vars(m)) for name, m in model.named_modules()} == attributes
    assert hooks_of(model) == 0


def test_a_crash_names_the_module_its_inputs_and_the_line():
    observation = observe(TwoScale(), (torch.randn(1, 3, 18, 16),))
    crash = observation.crash
    assert observation.output is None
    assert crash.module == "" and crash.module_type == "TwoScale"
    assert crash.inputs == (TensorInfo((1, 3, 18, 16), "float32"),)
    assert crash.error.startswith("RuntimeError: Sizes of tensors must match except in dimension 1.")
    assert crash.source == "toy.py:22: return self.bn(self.head(torch.cat([x, y], dim=1)))"
    # the modules that ran before the crash are still recorded
    assert observation.calls["down2"][0].output == TensorInfo((1, 8, 4, 4), "float32")


def test_a_crash_inside_a_submodule_names_it():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Linear(5, 2))
    crash = observe(model, (torch.randn(1, 3, 8, 8),)).crash
    assert crash.module == "1" and crash.module_type == "Linear"
    assert crash.inputs == (TensorInfo((1, 4, 6, 6), "float32"),)
    assert crash.error.startswith("RuntimeError: mat1 and mat2 shapes cannot be multiplied")


def test_works_on_meta_and_with_non_tensor_outputs():
    class Pair(nn.Module):
        def forward(self, x):
            return x, None

    observation = observe(Pair(), (torch.empty(2, 3, device="meta"),))
    assert observation.output == (TensorInfo((2, 3), "float32"), OtherValue("NoneType"))
