"""Import a spec's factory under the trust model (DESIGN.md, "Trust model").

A spec is data: ``model.factory: module:callable`` may run the code of a module
the user chose (like a conftest.py), but the YAML must not gain power of its
own. So the factory must be a plain function or class *defined in* the module it
names: never one from the standard library, builtins, torch, archcheck itself
(archcheck.zoo excepted) or any package that is installed because archcheck is
(PyYAML's ``unsafe_load`` would run a shell from the kwargs), never a re-export (``mymodule:system`` after ``from os
import system``), never a dotted path (``mymodule:subprocess.call``). The rules on
the module's name are checked before it is imported, the rest before anything is
called.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.machinery
import inspect
import re
import sys
import types
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterator

from torch import nn

from archcheck.errors import Diagnostic, Location, ModelError
from archcheck.spec import Spec

RULE = "the factory must be a callable defined in the named module"


@contextmanager
def importable_from(*folders: Path) -> Iterator[None]:
    """Let ``import`` find modules in ``folders`` (the spec's folder, the working directory), as ``python -m`` would."""
    added = [str(f.resolve()) for f in folders if str(f.resolve()) not in sys.path]
    sys.path.extend(added)
    try:
        yield
    finally:
        for folder in added:
            sys.path.remove(folder)


def import_factory(spec: Spec) -> Callable[..., nn.Module]:
    """``package.module:callable`` -> the callable, or a ModelError naming the rule it breaks.

    Modules are looked up on sys.path, then beside the spec file, then in the working directory.
    """
    where = spec.locations.get("model.factory")
    module_name, _, name = spec.factory.partition(":")
    _check_name(spec.factory, module_name, name, where)
    module = _import(module_name, spec, where)
    if not hasattr(module, name):
        close = difflib.get_close_matches(name, _defined_callables(module), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ModelError(Diagnostic(f"module {module_name!r} has no attribute {name!r}{hint}", where))
    target = getattr(module, name)
    _check_defined_in(spec.factory, target, module, where)
    _check_model_code(spec.factory, module, where)
    return target  # type: ignore[no-any-return]


def check_is_module(result: object, spec: Spec) -> nn.Module:
    """The factory's result, or a ModelError when it is not a torch.nn.Module."""
    if not isinstance(result, nn.Module):
        message = f"{spec.factory} returned {type(result).__name__}, not a torch.nn.Module"
        raise ModelError(Diagnostic(message, spec.locations.get("model.factory")))
    return result


def factory_source(spec: Spec) -> Path | None:
    """The file of the factory's module (an input that ``-o`` must not overwrite), found without importing it."""
    module_name = spec.factory.partition(":")[0]
    loaded = sys.modules.get(module_name)
    if loaded is not None:
        file = getattr(loaded, "__file__", None)
        return Path(file) if file else None
    parts = module_name.split(".")
    search: Any = None  # None: sys.path
    with importable_from(spec.path.parent, Path.cwd()):
        for index in range(len(parts)):
            try:
                found = importlib.machinery.PathFinder.find_spec(".".join(parts[: index + 1]), search)
            except (ImportError, ValueError):
                return None
            if found is None:
                return None
            search = found.submodule_search_locations
            if index < len(parts) - 1 and search is None:
                return None
    return Path(found.origin) if found.has_location and found.origin else None


# -- the rules ----------------------------------------------------------------


def forbidden_origin(module_name: str) -> str | None:
    """Why no factory may come from ``module_name`` (completing "..., not ___"), or None."""
    top = module_name.split(".")[0]
    if top == "builtins":
        return "Python's builtins"
    if top == "__main__":
        return "the running program (__main__)"
    if top in sys.stdlib_module_names:
        return "the standard library"
    if top == "torch":
        return "torch"
    if top == "archcheck":
        return None if module_name == "archcheck.zoo" or module_name.startswith("archcheck.zoo.") else "archcheck itself (only archcheck.zoo)"
    if top in _tool_modules():
        return f"{top}, which is installed for archcheck and its tools, not a model"
    return None


ALWAYS_TOOLS = frozenset({"pip", "setuptools", "pkg_resources", "wheel", "_distutils_hack", "pytest", "_pytest", "pluggy"})


@functools.cache
def _tool_modules() -> frozenset[str]:
    """Top-level modules of archcheck's dependencies (all extras, transitively) and of the packaging tools."""
    wanted: set[str] = set()

    def visit(distribution: str, extras: bool) -> None:
        key = _normal(distribution)
        if key in wanted:
            return
        wanted.add(key)
        try:
            requirements = metadata.requires(distribution) or []
        except metadata.PackageNotFoundError:
            return
        for requirement in requirements:
            if extras or "extra ==" not in requirement:
                found = re.match(r"[A-Za-z0-9_.\-]+", requirement)
                if found:
                    visit(found.group(0), extras=False)

    visit("archcheck", extras=True)
    wanted.discard("archcheck")
    modules = {module for module, distributions in metadata.packages_distributions().items() if any(_normal(d) in wanted for d in distributions)}
    return frozenset(modules | ALWAYS_TOOLS)


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _refuse(factory: str, reason: str, where: Location | None) -> ModelError:
    return ModelError(Diagnostic(f"model.factory {factory!r}: {reason}", where))


def _check_name(factory: str, module_name: str, name: str, where: Location | None) -> None:
    """The rules that need no import: a module name, an allowed origin, a plain attribute name."""
    if not all(part.isidentifier() for part in module_name.split(".")):
        raise _refuse(factory, f"{module_name!r} is not a module name; write 'package.module:callable'", where)
    origin = forbidden_origin(module_name)
    if origin:
        raise _refuse(factory, f"{RULE}, not {origin}", where)
    if "." in name:
        raise _refuse(factory, f"{RULE}, not a dotted attribute path", where)
    if not name.isidentifier():
        raise _refuse(factory, f"{name!r} is not a Python name", where)


def _import(module_name: str, spec: Spec, where: Location | None) -> Any:
    try:
        with importable_from(spec.path.parent, Path.cwd()):
            return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ModelError(Diagnostic(f"cannot import {module_name!r} for model.factory: {exc}", where)) from None
    except Exception as exc:  # the user's module raised while importing
        raise ModelError(Diagnostic(f"importing {module_name!r} failed: {type(exc).__name__}: {exc}", where)) from None


def _check_defined_in(factory: str, target: object, module: Any, where: Location | None) -> None:
    """A plain function, or an nn.Module class, whose ``__module__`` is the named module."""
    origin = getattr(target, "__module__", None)
    if origin != module.__name__:
        hint = ""
        if isinstance(origin, str) and not forbidden_origin(origin) and getattr(target, "__name__", None):
            hint = f"; write '{origin}:{target.__name__}'"  # type: ignore[attr-defined]
        raise _refuse(factory, f"{RULE}; it comes from {origin}, not {module.__name__}{hint}", where)
    if not (inspect.isfunction(target) or inspect.isclass(target)):
        raise _refuse(factory, f"{RULE}: a plain function or class, not {type(target).__name__}", where)
    if inspect.isclass(target) and not issubclass(target, nn.Module):
        raise _refuse(factory, f"a class factory must be a torch.nn.Module subclass, not {target.__name__}", where)


def _check_model_code(factory: str, module: Any, where: Location | None) -> None:
    """The module builds models: it imports torch, or holds an nn.Module class. A module that does
    neither (a shell helper, a YAML loader from some installed package) is not called from a spec."""
    for value in vars(module).values():
        if isinstance(value, types.ModuleType) and (value.__name__ == "torch" or value.__name__.startswith("torch.")):
            return
        if inspect.isclass(value) and issubclass(value, nn.Module):
            return
        if inspect.isfunction(value) and value.__module__.split(".")[0] == "torch":
            return
    raise _refuse(factory, f"{module.__name__} neither imports torch nor holds an nn.Module class, so it is not model code; name the module that builds the model", where)


def _defined_callables(module: Any) -> list[str]:
    """Public functions and classes defined in ``module``: the names worth suggesting."""
    return [
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and (inspect.isfunction(v) or inspect.isclass(v)) and getattr(v, "__module__", None) == module.__name__
    ]
