"""JUnit XML: golden, and read back through an XML parser as CI reporters read it."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from archcheck.report.junit import render_junit

GOLDEN = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="archcheck verify toy" tests="4" failures="1" errors="0" skipped="1" time="1.500">
  <testsuite name="archcheck verify toy: head" tests="1" failures="1" errors="0" skipped="0" time="0">
    <testcase name="head" classname="archcheck verify toy.head" time="0" file="toy.yaml" line="8">
      <failure message="toy.yaml:8:11: error: head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=16, W=16 on meta [shape]" type="shape">toy.yaml:8:11: error: head [1, 5, 8, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=16, W=16 on meta [shape]
toy.yaml:8:11: error: head [1, 5, 16, 8] != expected [B, 4, H/2, W/2]: dim 1 is 5, expected 4 at B=1, H=32, W=16 on meta [shape]</failure>
    </testcase>
  </testsuite>
  <testsuite name="archcheck verify toy: body" tests="1" failures="0" errors="0" skipped="0" time="0">
    <testcase name="stem" classname="archcheck verify toy.body" time="0" file="toy.yaml" line="10" />
  </testsuite>
  <testsuite name="archcheck verify toy: params" tests="1" failures="0" errors="0" skipped="0" time="0">
    <testcase name="params.total" classname="archcheck verify toy.params" time="0" file="toy.yaml" line="11" />
  </testsuite>
  <testsuite name="archcheck verify toy: devices" tests="1" failures="0" errors="0" skipped="1" time="0">
    <testcase name="cuda" classname="archcheck verify toy.devices" time="0">
      <skipped message="skipped: device cuda did not run: no CUDA GPU is visible [device]" />
    </testcase>
  </testsuite>
</testsuites>
"""


def render(report) -> str:
    return render_junit("archcheck verify toy", report.results, report.seconds, report.sections)


def test_golden(report):
    assert render(report) == GOLDEN


def test_parses_as_junit_with_consistent_counts(report):
    root = ET.fromstring(render(report).encode())
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    for suite in suites:
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        for case in cases:
            assert set(case.attrib) <= {"name", "classname", "time", "file", "line"}
    assert int(root.get("tests")) == sum(int(s.get("tests")) for s in suites)
    failure = root.find(".//testcase[@name='head']/failure")
    assert failure.get("message").startswith("toy.yaml:8:11: error: head")


def test_markup_in_messages_is_escaped(report):
    from archcheck.results import Result

    odd = Result("crash", "a<b>&\"c\"", "fail", section="forward", message="raised <ValueError> & \"quotes\"")
    root = ET.fromstring(render_junit("t", [odd]).encode())
    assert root.find(".//failure").get("message") == 'error: raised <ValueError> & "quotes" [crash]'
