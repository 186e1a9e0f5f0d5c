from pathlib import Path

import pytest
import torch
from torch import nn
from toy import TwoScale

from archcheck.observe.fastmeta import FastMeta
from archcheck.observe.memo import MetaMemo
from archcheck.observe.trace import Crash, observe, observer
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


# A sweep watches only the spec's modules and locates a crash from its traceback: the same Crash
# as the hooks on every module give (module, type, inputs, error, source), wherever it happens.


class Mix(nn.Module):
    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        return torch.cat([x, skip], dim=1)


class Block(nn.Module):
    """Runs its children to the end, then fails in its own code: the children are not to blame."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Sequential(nn.Conv2d(4, 4, 1), nn.Sequential(nn.Identity(), nn.Conv2d(4, 4, 2, stride=2)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, self.inner(x)], dim=1)


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 4, 1)
        self.body = nn.Sequential(nn.ReLU(), Block())
        self.mix = Mix()
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(5, 2))

    def forward(self, x: torch.Tensor, mode: str) -> torch.Tensor:
        x = self.stem(x)
        if mode == "deep":  # a conv three levels down gets a 1-channel input
            return self.body[1].inner[1](x[:, :1])
        if mode == "block":
            return self.body(x)  # body.1's own torch.cat, after its children returned
        if mode == "kwargs":
            return self.mix(x, skip=x[:, :, :1])
        if mode == "model":
            return torch.cat([x, x[:, :, :1, :2]], dim=1)
        return self.head(x)  # Linear(5, 2) on a flattened 4*H*W


def crashes(model: nn.Module, inputs: tuple, paths: tuple[str, ...]) -> tuple[Crash, Crash]:
    """The crash as the hooks on every module see it, and as a watch of only ``paths`` does."""
    every = observe(model, inputs).crash
    with observer(model, paths) as run:
        fewer = run(inputs).crash
    assert hooks_of(model) == 0
    return every, fewer


def info(*shape: int) -> TensorInfo:
    return TensorInfo(shape, "float32")


CASES = {
    # mode: the crash's module, type and inputs; and the line of the model that raised
    "head": ("head.1", "Linear", (info(1, 16),), "return self.head(x)  # Linear(5, 2) on a flattened 4*H*W"),
    "deep": ("body.1.inner.1.1", "Conv2d", (info(1, 1, 2, 2),), "return self.body[1].inner[1](x[:, :1])"),
    "block": ("body.1", "Block", (info(1, 4, 2, 2),), "return torch.cat([x, self.inner(x)], dim=1)"),
    "kwargs": ("mix", "Mix", (info(1, 4, 2, 2), info(1, 4, 1, 2)), "return torch.cat([x, skip], dim=1)"),
    "model": ("", "Nested", (info(1, 3, 2, 2), OtherValue("str")), "return torch.cat([x, x[:, :, :1, :2]], dim=1)"),
}


@pytest.mark.parametrize("paths", [(), ("stem", "body"), ("stem", "body", "body.1", "body.1.inner", "mix", "head", "")], ids=["no module", "outer modules", "most modules"])
@pytest.mark.parametrize("mode", CASES)
@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_crash_is_located_alike_without_hooks_on_every_module(mode, paths, device):
    model = Nested().to(device)
    every, fewer = crashes(model, (torch.randn(1, 3, 2, 2).to(device), mode), paths)
    module, module_type, inputs, code = CASES[mode]
    line = next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if text.strip() == code)
    assert (every.module, every.module_type, every.inputs, every.source) == (module, module_type, inputs, f"test_trace.py:{line}: {code}")
    assert fewer == every


def test_the_crash_of_a_module_called_with_keywords_lists_their_values_after_the_positionals():
    every, fewer = crashes(Nested(), (torch.randn(1, 3, 2, 2), "kwargs"), ("stem",))
    assert fewer.inputs == every.inputs == (info(1, 4, 2, 2), info(1, 4, 1, 2))


def test_a_crash_in_the_models_own_forward_names_the_model_with_its_inputs():
    every, fewer = crashes(TwoScale(), (torch.randn(1, 3, 18, 16),), ())
    assert fewer == every
    assert (fewer.module, fewer.module_type, fewer.inputs) == ("", "TwoScale", (info(1, 3, 18, 16),))


def test_a_crash_remembered_by_the_memo_is_located_again():
    """The sweep's path: MetaMemo raises a crash it has seen with a fresh traceback, at each size."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Sequential(nn.ReLU(), nn.Linear(5, 2))).to("meta")
    x = torch.empty(1, 3, 8, 8, device="meta")
    every = observe(model, (x,)).crash
    assert (every.module, every.module_type, every.inputs) == ("1.1", "Linear", (info(1, 4, 6, 6),))
    memo = MetaMemo()
    with observer(model, ("0",)) as run:
        for _ in range(3):
            with FastMeta(memo):
                assert run((x,)).crash == every
    assert memo.hits == 2


def test_a_watch_of_some_modules_records_just_their_calls():
    model = TwoScale()
    x = torch.randn(2, 3, 16, 16)
    every = observe(model, (x,))
    with observer(model, ("down2", "head")) as run:
        assert hooks_of(model) == 4  # a pre-hook and a forward hook on each
        some = run((x,))
    assert hooks_of(model) == 0
    assert some.crash is None and some.output == every.output
    assert some.calls == {"down2": every.calls["down2"], "head": every.calls["head"]}


def test_a_crash_handled_inside_the_model_is_not_blamed():
    """A child's error that the model catches and recovers from is not the crash."""

    class Recovers(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.strict = nn.Linear(5, 2)
            self.head = nn.Conv2d(3, 4, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            try:
                self.strict(x)
            except RuntimeError:
                pass
            return self.head(x) + x

    with observer(Recovers(), ()) as run:
        crash = run((torch.randn(1, 3, 4, 4),)).crash
    assert (crash.module, crash.module_type) == ("", "Recovers")
    assert crash.error.startswith("RuntimeError: The size of tensor a (4) must match the size of tensor b (3) at non-singleton dimension 1")
