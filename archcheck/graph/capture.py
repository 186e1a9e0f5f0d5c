"""Capture a network's real data flow in one forward pass, folded to the modules that are drawn.

Module calls are seen through forward pre/post hooks, functional operations between them
(``torch.cat``, ``x + block(x)``, ``F.interpolate``...) through a ``TorchFunctionMode``. Every
tensor remembers which node produced it, so an edge joins the node that made a tensor to each
node that used it: the PANet's cross connections and the residual and CSP shortcuts come out as
they really run. Work inside a drawn module (its submodules and its own operations) folds into it.
Hooks come from ``observe.hooks.watch`` (removed, train/eval flags restored); the mode is exited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Literal, Mapping

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from archcheck.errors import first_line
from archcheck.inputs import Inputs, call
from archcheck.observe.hooks import watch
from archcheck.observe.tree import tensors_in as _tensors

NodeKind = Literal["module", "op", "input", "output"]

OP_LABELS = {"add": "+", "iadd": "+", "radd": "+", "sub": "−", "rsub": "−", "mul": "×", "imul": "×", "rmul": "×", "truediv": "÷", "matmul": "@", "getitem": "[ ]"}


@dataclass(frozen=True)
class Node:
    """A drawn module (all its calls), one call of a functional op, a model input or an output."""

    id: str  # "backbone.stages.2", "op3:cat", "input:x", "output:0"
    kind: NodeKind
    label: str
    type_name: str = ""  # the module's class or the op's function
    scope: str = ""  # ops: the module whose forward ran them ("" for the model's own forward)
    calls: int = 1


@dataclass(frozen=True)
class Edge:
    """A tensor that ``source`` produced and ``target`` consumed."""

    source: str
    target: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Dataflow:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    ran: frozenset[str]  # opened modules whose forward ran: the clusters worth drawing
    crash: str = ""  # why the forward pass stopped early, if it did


@dataclass(frozen=True)
class Folding:
    """Which modules are drawn as clusters of their parts, and which are left out."""

    expanded: frozenset[str]  # drawn as clusters; "" is the model itself
    hidden: frozenset[str] = frozenset()  # pass-throughs (nn.Identity) drawn as a plain edge

    def node_of(self, path: str) -> str | None:
        """The node a module's work folds into: its shallowest ancestor (or itself) not expanded."""
        for prefix in _prefixes(path):
            if prefix not in self.expanded:
                return prefix
        return None


def folding(model: nn.Module, depth: int | None, spec_paths: Iterable[str] = ()) -> Folding:
    """Fold ``model`` to ``depth`` path segments, or by default to the spec's own granularity.

    ``depth=N``: every module less than N segments deep that has submodules is opened.
    ``depth=None``: the ancestors of the modules that the spec names are opened.
    Containers without a forward of their own (``ModuleList``) are always opened, and an
    ``nn.Identity`` that the spec does not name is hidden.
    """
    spec_paths = set(spec_paths)
    modules = dict(model.named_modules())
    if depth is None:
        opened = {prefix for path in spec_paths for prefix in _prefixes(path) if prefix != path}
    else:
        opened = {path for path, module in modules.items() if _depth(path) < depth and any(True for _ in module.children())}
    opened |= {path for path, module in modules.items() if type(module).forward is nn.Module.forward}
    hidden = {path for path, module in modules.items() if isinstance(module, nn.Identity) and path not in spec_paths}
    return Folding(frozenset(opened | {""}), frozenset(hidden))


def capture(model: nn.Module, inputs: Inputs | Mapping[str, torch.Tensor], fold: Folding) -> Dataflow:
    """Run ``model(*inputs.args, **inputs.kwargs)`` once without gradients and record the folded data flow.

    A forward pass that raises is not an error here: the data flow up to the crash is returned,
    with the reason in ``crash``.
    """
    if not isinstance(inputs, Inputs):  # {name: tensor}, passed by position
        inputs = Inputs(tuple(inputs.values()), {}, tuple(inputs))
    recorder = _Recorder(model, fold)
    crash = ""
    with watch(model, recorder.before, recorder.after, always_call=True):
        for name, tensor in inputs.named().items():
            recorder.add_node(Node(f"(input {name})", "input", name), produced=[tensor])
        with torch.no_grad(), recorder:
            try:
                output = call(model, inputs)
            except Exception as exc:
                output = None
                crash = first_line(exc)
        for index, tensor in enumerate(_tensors(output)):
            recorder.add_node(Node(f"(output {index})", "output", f"output {index}"), consumed=[tensor])
    return Dataflow(tuple(recorder.nodes.values()), tuple(recorder.edges), frozenset(recorder.ran), crash)


class _Recorder(TorchFunctionMode):
    """Tracks the running modules and which node produced each tensor."""

    def __init__(self, model: nn.Module, fold: Folding) -> None:
        super().__init__()
        self.types = {name: type(module).__name__ for name, module in model.named_modules()}
        self.fold = fold
        self.stack: list[str] = []  # paths of the modules running now
        self.active: str | None = None  # the module whose call is a drawn node, while it runs
        self.ran: set[str] = set()
        self.producer: dict[int, str] = {}  # id(tensor) -> node id
        self.keep: list[torch.Tensor] = []  # every tensor seen stays alive, so no id is reused
        self.nodes: dict[str, Node] = {}
        self.edges: dict[Edge, None] = {}  # ordered set
        self.ops: dict[str, int] = {}

    def before(self, path: str, module: nn.Module, args: tuple[Any, ...]) -> None:
        self.stack.append(path)
        node = self.fold.node_of(path)
        if self.active is not None or path in self.fold.hidden:
            return
        if node is None:
            self.ran.add(path)
            return
        self.active = path
        seen = self.nodes.get(node)
        calls = seen.calls + 1 if seen else 1
        self.nodes[node] = Node(node, "module", node, self.types[node], calls=calls)
        self._consume(node, list(_tensors(args)))

    def after(self, path: str, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        self.stack.pop()
        if self.active == path:
            self.active = None
            self._produce(self.fold.node_of(path), _tensors(output))  # type: ignore[arg-type]

    def __torch_function__(self, func: Callable[..., Any], types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        output = func(*args, **kwargs)
        if self.active is not None:  # inside a drawn module: folded into it
            return output
        produced = list(_tensors(output))
        if not produced:  # .shape, .size(), .dim(): no tensor flows on
            return output
        name = getattr(func, "__name__", type(func).__name__).strip("_")
        self.ops[name] = self.ops.get(name, 0) + 1
        node = Node(f"({name} {self.ops[name]})", "op", OP_LABELS.get(name, name), _qualified(func), self.stack[-1] if self.stack else "")
        self.add_node(node, [*_tensors(args), *_tensors(kwargs)], produced)
        return output

    def add_node(self, node: Node, consumed: Iterable[torch.Tensor] = (), produced: Iterable[torch.Tensor] = ()) -> None:
        self.nodes[node.id] = node
        self._consume(node.id, consumed)
        self._produce(node.id, produced)

    def _consume(self, node_id: str, tensors: Iterable[torch.Tensor]) -> None:
        for tensor in tensors:
            source = self.producer.get(id(tensor))
            if source is not None:
                self.edges[Edge(source, node_id, tuple(tensor.shape))] = None

    def _produce(self, node_id: str, tensors: Iterable[torch.Tensor]) -> None:
        for tensor in tensors:
            self.keep.append(tensor)
            self.producer[id(tensor)] = node_id


def _prefixes(path: str) -> Iterator[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``."""
    parts = path.split(".") if path else []
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def _depth(path: str) -> int:
    return len(path.split(".")) if path else 0


def _qualified(func: Callable[..., Any]) -> str:
    """``torch.cat``, ``Tensor.__add__``, ``F.interpolate``: how users would write the op."""
    name = getattr(func, "__name__", type(func).__name__)
    qualname = getattr(func, "__qualname__", name)
    module = getattr(func, "__module__", None) or ""
    if "Tensor" in qualname:
        return f"Tensor.{name}"
    if module.startswith("torch.nn.functional"):
        return f"F.{name}"
    if module.startswith("torch") or "VariableFunctions" in qualname:
        return f"torch.{name}"
    return f"{module}.{qualname}" if module else qualname
