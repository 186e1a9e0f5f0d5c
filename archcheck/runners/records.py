"""What a runner found, as facts: observations, kept outputs, replica and rank facts, failures.

A runner never judges; ``checks/`` turns these records into Results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from archcheck.model import Fallback
from archcheck.observe.difference import Difference
from archcheck.observe.trace import Observation
from archcheck.spec import Case

Tensors = Mapping[str, tuple[Any, ...]]  # module path (OUTPUT for the model) -> CPU copy of each call's output
Differences = Mapping[str, "Difference | None"]  # module path -> how far it is from the cpu's; None: no output there


@dataclass(frozen=True)
class ReplicaCase:
    """One real nn.DataParallel forward at one case: how the batch split and where the outputs gathered."""

    case: Case
    gpus: int
    rows: tuple[int, ...]  # rows of the batch per replica, in GPU order
    gathered: Observation  # the gathered output's shapes (or the crash)
    output_devices: tuple[str, ...]  # where the gathered output tensors were


@dataclass(frozen=True)
class StepReport:
    """One training step (train mode, forward, backward) under DDP, as one rank saw it."""

    case: Case | None = None
    rows: int = 0  # the rows of the batch this rank trained on
    error: str = ""
    unused: tuple[str, ...] = ()  # parameters that got no gradient
    never_called: tuple[str, ...] = ()  # modules with parameters that never ran in forward
    batchnorm: tuple[str, ...] = ()  # BatchNorm layers (not SyncBatchNorm): per-process statistics in train mode
    unequal: tuple[str, ...] = ()  # parameters whose gradient differs between ranks beyond rtol/atol
    worst_param: str = ""
    worst_abs: float = 0.0  # largest difference of one gradient element between two ranks
    worst_rel: float = 0.0


@dataclass(frozen=True)
class RankReport:
    """What one DDP rank saw (shapes, and how far its outputs are from the cpu's); sent from the rank to the launcher."""

    rank: int
    world_size: int
    device: str
    observations: tuple[tuple[Case, Observation], ...]
    differences: tuple[tuple[Case, Differences], ...]  # compared on the rank; empty without a cpu reference
    step: StepReport
    unmatched: tuple[tuple[int, tuple[str, ...]], ...] = ()  # (case index, paths) whose bits differ from the cpu's: saved for the launcher to compare


@dataclass(frozen=True)
class DeviceRun:
    """Everything one device showed: one Observation per case (per replica or rank: ``where``).

    ``tensors`` holds (where, case, outputs) for the parity check; ``differences`` (where, case,
    Differences) what a device compared with the cpu's outputs itself (DDP ranks), and
    ``compares_with_cpu`` says it would have, had there been a cpu run. ``unavailable`` says why the
    device did not run here; ``failure`` (with its ``failure_rule``) why it broke down (out of
    memory, a dead process). ``replicas``/``state_dict_problem`` are DataParallel's facts,
    ``ranks`` DDP's.
    """

    device: str
    observations: tuple[tuple[Case, Observation], ...] = ()
    where: tuple[str, ...] = ()  # per observation: "cuda:1" (a DataParallel replica), "rank 1"; empty: the device itself
    tensors: tuple[tuple[str, Case, Tensors], ...] = ()
    differences: tuple[tuple[str, Case, Differences], ...] = ()
    compares_with_cpu: bool = False
    unavailable: str = ""
    failure: str = ""
    failure_rule: str = ""  # the rule id a failure is reported under: memory, ddp-process
    replicas: tuple[ReplicaCase, ...] = ()
    state_dict_problem: str | None = None  # DataParallel: None when not checked, "" when the keys are as expected
    ranks: tuple[RankReport, ...] = ()
    fallbacks: tuple[Fallback, ...] = ()  # meta: the cases it could not tell, run on the CPU instead

    @property
    def ran(self) -> bool:
        return not self.unavailable and not self.failure

    def label(self, where: str) -> str:
        return f"{self.device} {where}" if where else self.device

    def each(self) -> Iterator[tuple[str, Case, Observation]]:
        """(device label, case, observation): ``dp cuda:1`` for a replica, ``ddp rank 1`` for a rank."""
        for index, (case, observation) in enumerate(self.observations):
            yield self.label(self.where[index] if self.where else ""), case, observation
