"""What the checks see: the spec, the built model, every device's run and the FLOPs count."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Iterator, Mapping

from archcheck.model import Fallback
from archcheck.observe.trace import Observation
from archcheck.runners.records import DeviceRun
from archcheck.spec import Case, Spec

if TYPE_CHECKING:
    from torch import nn

    from archcheck.counting.records import CaseCount


@dataclass(frozen=True)
class ObservationContext:
    """One device's observation of one case, with the spec's dims and defines bound."""

    spec: Spec
    device: str
    case: Case
    env: Mapping[str, Fraction]
    observation: Observation


@dataclass(frozen=True)
class Evidence:
    """Everything one verify run saw; each check judges the part it needs.

    ``model`` is the meta model (parameters); ``counted`` the FLOPs count at ``spec.flops.case``
    (or ``count_error`` when the model could not be counted); ``require`` makes a device this
    machine lacks a failure instead of a skip.
    """

    spec: Spec
    cases: tuple[Case, ...] = ()
    model: nn.Module | None = None
    runs: tuple[DeviceRun, ...] = ()
    counted: CaseCount | None = None
    count_error: str = ""
    require: bool = False
    build_fallbacks: tuple[Fallback, ...] = ()  # the meta model was built on the CPU, and why

    def observations(self) -> Iterator[ObservationContext]:
        """Every observation of every device that ran: replicas and ranks each on their own."""
        for run in self.runs:
            for device, case, observation in run.each():
                yield ObservationContext(self.spec, device, case, self.spec.env(case), observation)
