"""Walk the nested outputs of a model (tensors in tuples, lists, dicts) with torch's pytree."""

from __future__ import annotations

from typing import Any

import torch
from torch.utils import _pytree as pytree


def tensors_in(value: Any) -> list[torch.Tensor]:
    """Every tensor in an output, in order."""
    return [leaf for leaf in pytree.tree_leaves(value) if isinstance(leaf, torch.Tensor)]


def to_cpu(value: Any, copy: bool = False) -> Any:
    """The same structure with every tensor detached and on the CPU.

    ``copy``: always a fresh tensor, for outputs that later in-place ops could still change.
    """
    return pytree.tree_map_only(torch.Tensor, lambda t: t.detach().to("cpu", copy=copy), value)
