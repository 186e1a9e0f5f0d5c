"""Activation memory of one forward pass, measured at the op-dispatch level (also on meta).

Every tensor an op returns is tracked by its storage: a new storage adds its bytes to the live
total, a view of a live storage adds nothing, and a weak reference on each tensor calls back to drop
the storage's bytes when its last tensor is freed. The peak of the live total is the most activation
memory the pass holds at once (inputs and weights not included; no gradients: inference).
Allocator rounding, workspaces and fragmentation are not seen: an estimate, labelled so.
"""

from __future__ import annotations

import weakref
from typing import Any, Iterable

import torch

from archcheck.observe.tree import tensors_in


class _Watched(weakref.ref):  # type: ignore[type-arg]
    """A weak reference to a tracked tensor that knows its storage, for the callback when it dies."""

    __slots__ = ("tensor_id", "key")


class LiveBytes:
    """``track(out)`` after each op; ``peak`` is the most bytes live at once."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self._tensors: dict[int, _Watched] = {}  # id(tensor) -> a weak reference that frees its bytes, while it lives
        self._storages: dict[int, list[int]] = {}  # storage key -> [tensors alive, bytes]
        self._known: set[int] = set()  # storages that existed before the pass: inputs, weights

    def exclude(self, tensors: Iterable[torch.Tensor]) -> None:
        """Storages that are not activations (the inputs, the parameters and buffers)."""
        for tensor in tensors:
            storage = _storage(tensor)
            if storage is not None:
                self._known.add(storage._cdata)

    def track(self, out: Any) -> None:
        for tensor in (out,) if isinstance(out, torch.Tensor) else tensors_in(out):
            if id(tensor) in self._tensors:
                continue  # an in-place op returns a tensor already tracked
            storage = _storage(tensor)
            if storage is None:
                continue
            key = storage._cdata  # the StorageImpl: shared by every view of it
            if key in self._known:
                continue
            entry = self._storages.get(key)
            if entry is None:
                entry = self._storages[key] = [0, storage.nbytes()]
                self.live += entry[1]
                self.peak = max(self.peak, self.live)
            entry[0] += 1
            watched = self._tensors[id(tensor)] = _Watched(tensor, self._dropped)
            watched.tensor_id, watched.key = id(tensor), key

    def _dropped(self, watched: _Watched) -> None:
        self._tensors.pop(watched.tensor_id, None)
        entry = self._storages.get(watched.key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self.live -= entry[1]
            del self._storages[watched.key]

    def close(self) -> None:
        """Forget the tensors still alive: a weak reference dropped calls back no more (the outputs may outlive the count)."""
        self._tensors.clear()


def _storage(tensor: torch.Tensor) -> torch.UntypedStorage | None:
    """The storage of a dense tensor; None for one without (sparse, nested, a subclass with none)."""
    try:
        return tensor.untyped_storage()
    except (RuntimeError, NotImplementedError):
        return None
