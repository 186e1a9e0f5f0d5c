"""The public face: every name in ``archcheck.__all__`` is what it says, even after every submodule is imported."""

from __future__ import annotations

import importlib
import pkgutil
import types

import archcheck


def test_public_names_are_never_shadowed_by_submodules():
    for info in pkgutil.walk_packages(archcheck.__path__, "archcheck."):
        if not info.name.endswith("_rank"):
            importlib.import_module(info.name)  # a submodule named like a function would replace it on the package
    for name in archcheck.__all__:
        assert not isinstance(getattr(archcheck, name), types.ModuleType), name
    assert callable(archcheck.verify) and callable(archcheck.fuzz) and callable(archcheck.resolutions) and callable(archcheck.summary)
