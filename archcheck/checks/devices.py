"""Rules ``device``, ``memory`` and ``fallback``: every device asked for ran, and where it ran instead.

PASS: ``devices: [meta, cpu]`` on any machine.
SKIP: ``cuda`` on a machine without GPUs (a failure with ``--require``): never a pass.
FAIL: ``memory``: the model does not fit on cuda:0.
PASS, with a note (``fallback``): a detector's NMS cannot run on meta: those cases ran on the CPU.
"""

from __future__ import annotations

from typing import Iterator

from archcheck.checks.evidence import Evidence
from archcheck.results import CheckResult
from archcheck.spec import Spec

IDS = ("device", "memory", "fallback")


def check(spec: Spec, evidence: Evidence) -> Iterator[CheckResult]:
    where = spec.locations.get("devices")
    for run in evidence.runs:
        if run.unavailable:
            status = "fail" if evidence.require else "skip"
            yield CheckResult("device", run.device, status, section="devices", message=f"device {run.device} did not run: {run.unavailable}", location=where, device=run.device)
        elif run.failure_rule == "memory":
            yield CheckResult("memory", run.device, "fail", section="devices", message=run.failure, location=where, device=run.device)
        for fallback in run.fallbacks:
            yield CheckResult("fallback", run.device, "pass", section="devices", message=str(fallback), location=where, device=run.device)
    for fallback in evidence.build_fallbacks:
        yield CheckResult("fallback", "model", "pass", section="devices", message=str(fallback), location=spec.locations.get("model.factory"))
