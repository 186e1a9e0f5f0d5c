"""The DataParallel rules, judged from the runner's facts (no GPU needed)."""

from __future__ import annotations

import torch
from ddp_models import TINY_SPEC

from archcheck.checks import dataparallel
from archcheck.checks.evidence import Evidence
from archcheck.observe.trace import Observation, summarize
from archcheck.runners.records import DeviceRun, ReplicaCase
from archcheck.spec import load_spec

TINY = TINY_SPEC.replace("BATCH", "2")



def judge(spec, gpus, rows, output_devices=("cuda:0",), batch=2, state_dict_problem=None):
    output = torch.zeros(batch, 4, 8, 8)
    fact = ReplicaCase(spec.cases()[0], gpus, tuple(rows), Observation(summarize(output), {}), output_devices)
    run = DeviceRun("dp", replicas=(fact,), state_dict_problem=state_dict_problem)
    return list(dataparallel.check(spec, Evidence(spec, runs=(run,))))


def test_split_and_gather(write_spec):
    spec = load_spec(write_spec(TINY))
    assert [(r.rule, r.status, r.message) for r in judge(spec, 2, [1, 1])] == [
        ("dp-split", "pass", "a batch of 2 splits evenly over 2 GPUs as [1, 1]"),
        ("dp-gather", "pass", "outputs are gathered on cuda:0 (the loss and its memory land there)"),
        ("output", "pass", ""),
    ]
    idle = judge(spec, 2, [1])[0]
    assert (idle.status, idle.message) == ("skip", "a batch of 1 gives rows to 1 of 2 GPUs ([1]): nn.DataParallel leaves cuda:1 idle, so not checked there")
    uneven = judge(spec, 2, [2, 1])[0]
    assert (uneven.status, uneven.message) == ("pass", "a batch of 3 splits unevenly over 2 GPUs as [2, 1]: replicas see different batch sizes (BatchNorm statistics differ in training)")
    one = judge(spec, 1, [2])[0]
    assert (one.status, one.message) == ("skip", "only 1 GPU is visible: nn.DataParallel calls the module directly, with no scatter or gather")
    gather, shape = judge(spec, 2, [2, 1], ("cuda:1",), batch=3)[1:]
    assert (gather.status, gather.message) == ("fail", "the gathered outputs are on cuda:1, expected all on cuda:0")
    assert (shape.status, shape.message) == ("fail", "gathered output [3, 4, 8, 8]: dim 0 is 3, expected B = 2")


def test_state_dict_prefix(write_spec):
    spec = load_spec(write_spec(TINY))
    good = judge(spec, 2, [1, 1], state_dict_problem="")[0]
    assert (good.rule, good.status) == ("dp-state-dict", "pass")
    bad = judge(spec, 2, [1, 1], state_dict_problem="1 keys are not the model's keys prefixed with 'module.' (first: module.b)")[0]
    assert (bad.rule, bad.status, bad.message) == ("dp-state-dict", "fail", "state_dict of the DataParallel model: 1 keys are not the model's keys prefixed with 'module.' (first: module.b)")
