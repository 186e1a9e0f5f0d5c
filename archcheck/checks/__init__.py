"""The checks, one kind per file, in an explicit registry.

Observation checks see one device's run of one case; model checks see the
built model once. Each yields CheckResults; none stops at the first failure.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from torch import nn

from archcheck.checks.context import ObservationContext
from archcheck.checks.crash import check_crash
from archcheck.checks.flops import check_flops
from archcheck.checks.params import check_params
from archcheck.checks.parity import check_parity
from archcheck.checks.shapes import check_modules, check_outputs
from archcheck.results import CheckResult
from archcheck.spec import Spec

ObservationCheck = Callable[[ObservationContext], Iterable[CheckResult]]
ModelCheck = Callable[[Spec, nn.Module], Iterable[CheckResult]]

OBSERVATION_CHECKS: dict[str, ObservationCheck] = {
    "crash": check_crash,
    "shape": check_modules,
    "output": check_outputs,
}
MODEL_CHECKS: dict[str, ModelCheck] = {
    "params": check_params,
    "flops": check_flops,
}
RUN_CHECKS: dict[str, Callable[[Spec, Sequence[Any]], Iterable[CheckResult]]] = {  # see every device's DeviceRun at once
    "parity": check_parity,
}

__all__ = ["MODEL_CHECKS", "OBSERVATION_CHECKS", "RUN_CHECKS", "ObservationContext"]
