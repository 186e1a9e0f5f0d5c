"""archcheck.memo: replayed meta results equal real ones, crashes included; real tensors are never cached."""

from __future__ import annotations

from pathlib import Path

import torch

from archcheck.inputs import make_inputs
from archcheck.model import build
from archcheck.observe.memo import MetaMemo
from archcheck.observe.trace import observe
from archcheck.spec import Case, load_spec

ROOT = Path(__file__).resolve().parents[2]


def test_observations_with_and_without_the_memo_are_equal() -> None:
    spec = load_spec(ROOT / "specs/yolov4.yaml")
    model = build(spec, "meta")
    memo = MetaMemo()
    for size in (32, 31, 33, 64, 32, 33):  # repeats replay, 33 crashes
        inputs = make_inputs(spec, Case.of({"B": 1, "H": size, "W": 64}), "meta")
        with memo:
            remembered = observe(model, inputs)
        assert remembered == observe(model, inputs)
    assert memo.hits > memo.misses > 0


def test_views_inplace_ops_and_real_tensors_are_not_replayed() -> None:
    memo = MetaMemo()
    with memo:
        x = torch.empty(2, 6, device="meta")
        tail = x[:, 2:]
        y = torch.ones(3) * 2  # a real tensor made inside: its values matter
        y.add_(1)
        again = torch.ones(3) * 2
    assert tail.storage_offset() == 2
    assert y.tolist() == [3.0, 3.0, 3.0] and again.tolist() == [2.0, 2.0, 2.0]
    assert memo.hits == 0
