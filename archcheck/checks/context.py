"""What a check sees: the spec and one device's observation of one case."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Mapping

from archcheck.spec import Case, Spec
from archcheck.trace import Observation


@dataclass(frozen=True)
class ObservationContext:
    spec: Spec
    device: str
    case: Case
    env: Mapping[str, Fraction]
    observation: Observation
