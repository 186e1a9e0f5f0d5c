"""Ways of grouping results that several renderers share."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable, Sequence

from archcheck.errors import Location
from archcheck.results import Result, Status


def by_section(results: Iterable[Result], order: Sequence[str] = ()) -> list[tuple[str, list[Result]]]:
    """Results per section: sections in ``order`` first, the rest as they come."""
    grouped: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        grouped[result.section].append(result)
    rank = {name: index for index, name in enumerate(order)}
    return sorted(grouped.items(), key=lambda item: rank.get(item[0], len(rank)))


def by_subject(results: Iterable[Result]) -> list[tuple[str, list[Result]]]:
    grouped: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        grouped[result.subject].append(result)
    return list(grouped.items())


def verdict(results: Sequence[Result]) -> Status:
    """fail if any failed; pass if any passed; else skip."""
    tally = Counter(r.status for r in results)
    return "fail" if tally["fail"] else ("pass" if tally["pass"] else "skip")


def repeats(problems: Iterable[Result]) -> list[tuple[Result, int]]:
    """The first of each (spec line, rule, subject) with how many times it failed in all."""
    first: dict[tuple[Location | None, str, str], Result] = {}
    count: Counter[tuple[Location | None, str, str]] = Counter()
    for problem in problems:
        key = (problem.location, problem.rule, problem.subject)
        first.setdefault(key, problem)
        count[key] += 1
    return [(first[key], count[key]) for key in first]
