"""A DDP rank's model holds the launcher's tensors themselves: built on meta and given them, no init, no copy."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from archcheck.model import build
from archcheck.runners._rank import with_weights
from archcheck.spec import load_spec

SPEC = """\
archcheck: 1
name: tied
model:
  factory: ddp_models:tied
  kwargs: KWARGS
inputs:
  x: [B, 4]
dims:
  B: {values: [2]}
outputs: [B, 4]
"""


def spec_of(folder: Path, **kwargs):
    path = folder / "tied.yaml"
    path.write_text(SPEC.replace("KWARGS", "{" + ", ".join(f"{k}: {str(v).lower()}" for k, v in kwargs.items()) + "}"))
    return load_spec(path)


def tensors_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """What the launcher sends: every parameter and buffer, as ``DistributedRunner.run`` collects them."""
    return {name: t.detach().clone() for name, t in [*model.named_parameters(), *model.named_buffers()]}


def test_the_model_holds_the_given_tensors_and_ties_stay_tied(tmp_path):
    spec = spec_of(tmp_path)
    source = build(spec, "cpu", seed=7)  # other weights than the rank's own seeded build would have
    weights = tensors_of(source)
    model = with_weights(spec, weights)
    assert sorted(n for n, _ in model.named_parameters()) == ["embed.weight"]
    assert model.head.weight is model.embed.weight
    assert model.embed.weight.data_ptr() == weights["embed.weight"].data_ptr()  # the file's pages, not a copy
    assert model.offset.data_ptr() == weights["offset"].data_ptr()  # the buffer the state_dict leaves out
    x = torch.randn(2, 4)
    assert torch.equal(model(x), source(x))


def test_a_tensor_that_is_neither_parameter_nor_buffer_makes_the_rank_build_on_the_cpu(tmp_path):
    spec = spec_of(tmp_path, plain=True)
    source = build(spec, "cpu", seed=7)
    model = with_weights(spec, tensors_of(source))
    assert model.scale.device.type == "cpu" and float(model.scale) == 2.0  # on meta it would have had no value
    assert model.head.weight is model.embed.weight
    x = torch.randn(2, 4)
    assert torch.equal(model(x), source(x))


def test_tensors_that_do_not_fit_the_model_are_an_error(tmp_path):
    spec = spec_of(tmp_path)
    weights = tensors_of(build(spec, "cpu")) | {"extra": torch.zeros(1)}
    with pytest.raises(RuntimeError, match=r"^the rank built a model whose parameters and buffers differ from the launcher's$"):
        with_weights(spec, weights)
