"""Where a case runs: on meta, or on the CPU when meta cannot tell.

On the meta device tensors have shapes but no values, so an op whose output shape depends on
the values (``nonzero``, a boolean-mask index, ``unique``, NMS-style post-processing), or that
reads a value (``.item()``, ``.tolist()``), cannot run there. Such a case runs again on the CPU,
and the fallback says which op, in which module, at which line of the model forced it.
``count``, ``graph``, ``fuzz`` and ``resolutions`` all decide here, so ``resolutions`` never calls
a size rejected because meta could not tell.
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager
from typing import Any, Callable, Iterable, Iterator, TypeVar

from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from archcheck.errors import UsageError, first_line
from archcheck.inputs import Inputs, make_inputs
from archcheck.model import Builds, Fallback
from archcheck.observe.fastmeta import FastMeta
from archcheck.observe.memo import MetaMemo
from archcheck.observe.trace import Crash, Observation, observe, observer
from archcheck.spec import Case

DEVICES = ("meta", "cpu")
T = TypeVar("T")

# How meta says it has no values (torch 2.x messages; matched on the error's first line).
_NO_VALUES = (
    "register_meta function",  # nonzero (and a boolean-mask index, which calls it)
    "with meta tensors, but there was no fake impl or meta kernel",  # unique, masked_select, ...
    "cannot be called on meta tensors",  # .item()
    "cannot copy out of meta tensor",  # .tolist(), .numpy()
    "data-dependent",
    "data dependent",
    "dynamicoutputshape",
    "datadependentoutput",
    "found at least two devices, meta and cpu",  # a tensor made on the CPU inside forward
    "found at least two devices, cpu and meta",
)


def meta_cannot_tell(error: BaseException | str) -> bool:
    """The error of a meta run that a CPU run would not have: meta has no values to give."""
    text = (error if isinstance(error, str) else first_line(error)).lower()
    return any(marker in text for marker in _NO_VALUES)


def check_device(device: str | None) -> None:
    if device is not None and device not in DEVICES:
        raise UsageError(f"--device {device!r}: expected meta or cpu")


class _FailedOp(TorchDispatchMode):
    """Remembers the aten op that raised, to name it in the fallback."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:  # never traced by dynamo: don't import it to say so
        return False

    def __init__(self) -> None:
        super().__init__()
        self.op = ""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        try:
            return func(*args, **(kwargs or {}))
        except Exception:
            self.op = self.op or str(getattr(func, "overloadpacket", func))
            raise


def why(crash: Crash, op: str = "") -> str:
    """``aten.index in the model's forward (Detector) at detr.py:26: kept = boxes[confident]: NotImplementedError: ...``"""
    where = f"{crash.module} ({crash.module_type})" if crash.module else f"the model's forward ({crash.module_type})"
    source = crash.source.split("  #")[0]  # the line without its comment
    line = f" at {source}" if source else ""
    error = crash.error.split(". ")[0]  # torch's first sentence says it; the rest is advice for torch.compile
    return f"{op + ' in ' if op else ''}{where}{line}: {error}"


def locate(model: nn.Module, inputs: Inputs | Iterable[Any]) -> str:
    """Run ``inputs`` on meta once more, to say where and in which op meta stopped."""
    failed = _FailedOp()
    with failed:
        observation = observe(model, inputs)
    return why(observation.crash, failed.op) if observation.crash else "the forward pass needs values"


class CaseRunner:
    """Runs cases of one spec on meta, and each case meta cannot tell on the CPU (one build of each).

    ``device`` forces one: "meta" (a data-dependent op is then a crash) or "cpu" (every case).
    ``fallbacks``: the build's, then one per distinct reason, with the number of cases.
    """

    def __init__(self, builds: Builds, device: str | None = None) -> None:
        check_device(device)
        self.builds = builds
        self.forced = device
        self._runs: dict[str, Fallback] = {}

    @property
    def fallbacks(self) -> tuple[Fallback, ...]:
        return (*self.builds.fallbacks, *self._runs.values())

    def model(self, device: str) -> nn.Module:
        return self.builds.on(device)

    def inputs(self, case: Case, device: str) -> Inputs:
        return make_inputs(self.builds.spec, case, device)

    def _fell_back(self, reason: str) -> None:
        known = self._runs.get(reason)
        self._runs[reason] = Fallback("run", "cpu", reason, known.cases + 1 if known else 1)

    def attempt(self, case: Case, work: Callable[[nn.Module, Inputs, str], T]) -> T:
        """``work(model, inputs, device)`` on meta; again on the CPU when meta cannot tell."""
        device = self.forced or "meta"
        model = self.model(device)
        inputs = self.inputs(case, device)
        try:
            return work(model, inputs, device)
        except Exception as exc:
            if self.forced or not any(meta_cannot_tell(e) for e in _chain(exc)):
                raise
        self._fell_back(locate(model, inputs))
        return work(self.model("cpu"), self.inputs(case, "cpu"), "cpu")

    def device_for(self, case: Case) -> str:
        """Where ``case`` runs: one observed meta pass decides (and records the fallback)."""
        if self.forced:
            return self.forced
        model, inputs = self.model("meta"), self.inputs(case, "meta")
        failed = _FailedOp()
        with failed:
            crash = observe(model, inputs).crash
        if crash is None or not meta_cannot_tell(crash.error):
            return "meta"
        self._fell_back(why(crash, failed.op))
        return "cpu"

    @contextmanager
    def observing(self, paths: Iterable[str] | None = None) -> Iterator[Callable[[Inputs | None, Case], Observation]]:
        """``run(meta_inputs, case)`` observes on meta (hooks added once, shapes memoised), and the
        cases meta cannot tell on the CPU; ``meta_inputs`` None: make them here.
        ``paths``: record only those modules' calls (``observer``); default every module."""
        paths = None if paths is None else tuple(paths)
        with ExitStack() as stack:
            first = self.forced or "meta"
            runs: dict[str, Callable[..., Observation]] = {first: stack.enter_context(observer(self.model(first), paths))}
            fast = FastMeta(MetaMemo()) if first == "meta" else None  # the memo remembers what FastMeta leaves to torch

            def on(device: str) -> Callable[..., Observation]:
                if device not in runs:
                    runs[device] = stack.enter_context(observer(self.model(device), paths))
                return runs[device]

            def run(inputs: Inputs | None, case: Case) -> Observation:
                inputs = inputs if inputs is not None else self.inputs(case, first)
                with fast or ExitStack():
                    observation = runs[first](inputs)
                crash = observation.crash
                if self.forced or crash is None or not meta_cannot_tell(crash.error):
                    return observation
                self._fell_back(locate(self.model(first), inputs))  # once more, to name the op (only for these cases)
                return on("cpu")(self.inputs(case, "cpu"))

            yield run


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or seen.__context__

