"""The pytest plugin: specs collected as verify and fuzz items, failures pointing at the spec line."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch._dynamo  # noqa: F401  (see below)
from sizes import SKIP_CONCAT_SPEC

# pytester's in-process runs forget the modules first imported inside them, and torch's compiler
# stack (imported lazily by the first meta-device op) cannot be imported a second time: import it
# before any in-process run, so that the tests after these do not depend on their order.

MODELS = Path(__file__).resolve().parent / "models"

SPEC = SKIP_CONCAT_SPEC


@pytest.fixture
def specs(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.syspathinsert(MODELS)
    pytester.makefile(".yaml", good=SPEC, bad=SPEC.replace("down: [B, 4, H/4, W/4]", "down: [B, 8, H/4, W/4]"), other="just: yaml\n")
    return pytester


def test_specs_run_as_items_and_failures_point_at_the_spec_line(specs: pytest.Pytester) -> None:
    result = specs.runpytest("-v", "--archcheck-examples", "5", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(["bad.yaml::verify FAILED*", "bad.yaml::fuzz FAILED*", "good.yaml::verify PASSED*", "good.yaml::fuzz PASSED*"])
    result.stdout.fnmatch_lines(
        [
            "skip: 1 problem on meta",
            f"{specs.path / 'bad.yaml'}:12:11: error: down [1, 4, 2, 2] != expected [B, 8, H/4, W/4] = [1, 8, 2, 2]: dim 1 is 4, expected 8 at B=1, H=8, W=8 on meta [shape]",
            "skip: smallest failing case B=1, H=8, W=8",
        ]
    )
    assert "other.yaml" not in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_a_broken_spec_is_one_message(specs: pytest.Pytester) -> None:
    specs.makefile(".yaml", broken=SPEC.replace("sizes:skip_concat", "sizes:nothing"))
    result = specs.runpytest("broken.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([f"{specs.path / 'broken.yaml'}:3:18: error: module 'sizes' has no attribute 'nothing'*"])


def test_devices_option_reaches_verify(specs: pytest.Pytester) -> None:
    result = specs.runpytest("good.yaml", "--archcheck-devices", "meta,cpu", "-k", "verify", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, deselected=1)
    result = specs.runpytest("good.yaml", "--archcheck-devices", "tpu", "-k", "verify", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["error: unknown device 'tpu'*"])
