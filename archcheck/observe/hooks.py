"""The one place archcheck adds hooks to a user's model, and restores it afterwards.

Everything that watches a forward pass (tracing, kept outputs, DataParallel replicas, graph
capture, counting) goes through ``watch``: hooks are removed and every module's train/eval
flag is restored in ``finally``, whatever the forward pass did.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from torch import nn

Before = Callable[[str, nn.Module, tuple[Any, ...]], None]
After = Callable[[str, nn.Module, tuple[Any, ...], Any], None]


@contextmanager
def preserved(model: nn.Module) -> Iterator[None]:
    """Restore every module's train/eval flag on the way out (``model.train()`` inside is fine)."""
    modes = [(module, module.training) for module in model.modules()]
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


@contextmanager
def watch(model: nn.Module, before: Before | None = None, after: After | None = None, paths: Iterable[str] | None = None, always_call: bool = False) -> Iterator[None]:
    """Call ``before(path, module, args)`` and ``after(path, module, args, output)`` around each module call.

    ``args`` are the positional arguments followed by the keyword arguments' values.
    ``paths`` limits the watch to those modules (default: every module, the model itself as "").
    ``always_call``: ``after`` also runs (with output None) when the module raised.
    Hooks live on the modules themselves, so they also fire in nn.DataParallel's replicas.
    """
    wanted = None if paths is None else set(paths)
    handles = []
    with preserved(model):
        try:
            for path, module in model.named_modules():
                if wanted is not None and path not in wanted:
                    continue
                if before is not None:
                    handles.append(module.register_forward_pre_hook(lambda m, args, kwargs, path=path: before(path, m, (*args, *kwargs.values()) if kwargs else args), with_kwargs=True))
                if after is not None:
                    handles.append(module.register_forward_hook(lambda m, args, kwargs, out, path=path: after(path, m, (*args, *kwargs.values()) if kwargs else args, out), with_kwargs=True, always_call=always_call))
            yield
        finally:
            for handle in handles:
                handle.remove()
