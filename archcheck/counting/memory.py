"""Activation memory of one forward pass, measured at the op-dispatch level (also on meta).

Every tensor an op returns is tracked by its storage: a new storage adds its bytes to the live
total, a view of a live storage adds nothing, and a weakref finalizer on each tensor drops the
storage's bytes when its last tensor is freed. The peak of the live total is the most activation
memory the pass holds at once (inputs and weights not included; no gradients: inference).
Allocator rounding, workspaces and fragmentation are not seen: an estimate, labelled so.
"""

from __future__ import annotations

import weakref
from typing import Any

import torch

from archcheck.observe.tree import tensors_in


class LiveBytes:
    """``track(out)`` after each op; ``peak`` is the most bytes live at once."""

    def __init__(self) -> None:
        self.live = 0
        self.peak = 0
        self._tensors: dict[int, weakref.finalize] = {}  # id(tensor) -> its finalizer, while it lives
        self._storages: dict[int, list[int]] = {}  # storage key -> [tensors alive, bytes]
        self._known: set[int] = set()  # storages that existed before the pass: inputs, weights

    def exclude(self, tensors: Any) -> None:
        """Storages that are not activations (the inputs, the parameters and buffers)."""
        for tensor in _tensors(tensors):
            self._known.add(_key(tensor))

    def track(self, out: Any) -> None:
        for tensor in _tensors(out):
            if id(tensor) in self._tensors:
                continue  # an in-place op returns a tensor already tracked
            key = _key(tensor)
            if key in self._known:
                continue
            entry = self._storages.get(key)
            if entry is None:
                entry = self._storages[key] = [0, tensor.untyped_storage().nbytes()]
                self.live += entry[1]
                self.peak = max(self.peak, self.live)
            entry[0] += 1
            self._tensors[id(tensor)] = weakref.finalize(tensor, self._free, id(tensor), key)

    def _free(self, tensor_id: int, key: int) -> None:
        self._tensors.pop(tensor_id, None)
        entry = self._storages.get(key)
        if entry is None:
            return
        entry[0] -= 1
        if entry[0] == 0:
            self.live -= entry[1]
            del self._storages[key]

    def close(self) -> None:
        """Detach the finalizers (the outputs may outlive the count)."""
        for finalizer in self._tensors.values():
            finalizer.detach()
        self._tensors.clear()


def _key(tensor: torch.Tensor) -> int:
    return tensor.untyped_storage()._cdata  # the StorageImpl: shared by every view of it


def _tensors(value: Any) -> list[torch.Tensor]:
    return [t for t in tensors_in(value) if _plain(t)]


def _plain(tensor: torch.Tensor) -> bool:
    """A dense tensor with a storage (not sparse, nested or a tensor subclass without one)."""
    try:
        tensor.untyped_storage()
    except (RuntimeError, NotImplementedError):
        return False
    return True
