"""Keep CPU copies of chosen modules' outputs during a forward pass, or their fingerprints, for the parity check."""

from __future__ import annotations

import threading
from collections import defaultdict
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from torch import nn

from archcheck.observe.difference import Fingerprint, fingerprint
from archcheck.observe.hooks import watch
from archcheck.observe.tree import to_cpu

OUTPUT = ""  # the key of the model's own output among kept tensors (named_modules calls the model "")


@contextmanager
def keep_outputs(model: nn.Module, paths: Sequence[str], key: Callable[[], Any] = lambda: None) -> Iterator[dict[Any, dict[str, list[Any]]]]:
    """CPU copies of the outputs of the modules at ``paths``, per ``key()`` (a replica), per call.

    The hooks also fire in DataParallel's replicas (which share the hook dicts), from their threads.
    """
    kept: dict[Any, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    lock = threading.Lock()

    def after(path: str, module: nn.Module, args: Any, output: Any) -> None:
        copy = to_cpu(output, copy=True)
        with lock:
            kept[key()][path].append(copy)

    with watch(model, after=after, paths=paths):
        yield kept


@contextmanager
def fingerprints_of(model: nn.Module, paths: Sequence[str]) -> Iterator[dict[str, list[Fingerprint]]]:
    """The fingerprint of each call's output of the modules at ``paths``, taken as it is made: nothing is kept."""
    found: dict[str, list[Fingerprint]] = defaultdict(list)

    def after(path: str, module: nn.Module, args: Any, output: Any) -> None:
        found[path].append(fingerprint(output))

    with watch(model, after=after, paths=paths):
        yield found


def freeze_tensors(output: Any, modules: dict[str, list[Any]] | None) -> dict[str, tuple[Any, ...]]:
    """The model's output (under ``OUTPUT``) and each kept module's calls, as one mapping."""
    kept = {path: tuple(calls) for path, calls in (modules or {}).items()}
    return {OUTPUT: (output,)} | kept
