"""Specs as pytest items: ``pytest specs/`` verifies and fuzzes every archcheck spec.

A ``.yaml`` file is collected when it has a top-level ``archcheck:`` key (other
YAML is left alone). Each spec gives two items: ``verify`` (on ``meta`` unless
``--archcheck-devices`` says otherwise, e.g. ``meta,cpu`` or ``spec`` for the
spec's own devices) and ``fuzz`` (hypothesis across the claimed domain,
``--archcheck-examples`` cases). Failures print one line per problem, each
pointing at its spec line. Registered as the ``pytest11`` entry point ``archcheck``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from archcheck.errors import ArchcheckError
from archcheck.results import CheckResult
from archcheck.spec import Spec, load_spec

_SPEC_KEY = re.compile(r"^archcheck\s*:", re.MULTILINE)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("archcheck")
    group.addoption("--archcheck-devices", default="meta", help="devices for spec verify items: meta (default), e.g. meta,cpu, or 'spec' for each spec's own")
    group.addoption("--archcheck-examples", type=int, default=20, help="cases each spec fuzz item draws (default 20)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and _SPEC_KEY.search(file_path.read_text(encoding="utf-8", errors="replace")):
        return SpecFile.from_parent(parent, path=file_path)
    return None


class SpecFailed(Exception):
    def __init__(self, problems: tuple[CheckResult, ...], header: str = "") -> None:
        super().__init__(header)
        self.problems, self.header = problems, header


class SpecFile(pytest.File):
    def collect(self) -> Any:
        yield SpecItem.from_parent(self, name="verify", kind="verify")
        yield SpecItem.from_parent(self, name="fuzz", kind="fuzz")


class SpecItem(pytest.Item):
    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind

    def runtest(self) -> None:
        from archcheck.fuzzing import fuzz
        from archcheck.pipeline import verify

        spec: Spec = load_spec(self.path)
        if self.kind == "verify":
            devices = self.config.getoption("archcheck_devices")
            report = verify(spec, devices=None if devices == "spec" else devices.split(","))
            if not report.ok:
                count = len(report.problems)
                raise SpecFailed(report.problems, f"{spec.name}: {count} problem{'s' if count > 1 else ''} on {', '.join(report.devices)}")
        else:
            result = fuzz(spec, examples=self.config.getoption("archcheck_examples"))
            if not result.ok:
                raise SpecFailed(result.problems, f"{spec.name}: smallest failing case {result.failure}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, SpecFailed):
            return "\n".join([excinfo.value.header, *(p.headline() for p in excinfo.value.problems)])
        if isinstance(excinfo.value, ArchcheckError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"archcheck {self.kind}: {self.path.name}"
