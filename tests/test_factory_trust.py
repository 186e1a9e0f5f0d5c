"""The trust model: model.factory names a callable defined in the named module, nothing else.

Each attack below would create ``target`` if the factory were called with the
spec's kwargs; every one must be refused before anything runs.
"""

import json
import sys

import pytest

from archcheck.errors import ModelError
from archcheck.factory import check_is_module, factory_source, import_factory
from archcheck.spec import parse_spec

SPEC = """\
archcheck: 1
name: attack
model:
  factory: "{factory}"
  kwargs: {kwargs}
inputs: {{x: [B, 3]}}
dims: {{B: {{values: [1]}}}}
"""
RULE = "the factory must be a callable defined in the named module"

REEXPORTS = """\
import subprocess
from functools import partial
from os import system
from subprocess import call

from torch import nn

from toy import two_scale


class NotAModule:
    pass


class Net(nn.Module):
    pass


made = partial(nn.Conv2d, 3, 4, 1)


def net():
    return nn.Conv2d(3, 4, 1)
"""


def spec_for(factory: str, kwargs: dict | None = None, folder=None):
    file = str(folder / "attack.yaml") if folder else "s.yaml"
    return parse_spec(SPEC.format(factory=factory, kwargs=json.dumps(kwargs or {})), file)


def attempt(spec) -> str:
    """What build() does up to the call: import the factory, then call it. Returns the error."""
    with pytest.raises(ModelError) as error:
        factory = import_factory(spec)
        factory(**spec.kwargs)
    return str(error.value)


@pytest.fixture
def target(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "the factory ran"


@pytest.fixture
def reexports(tmp_path, monkeypatch):
    """A user module beside the spec that imports dangerous callables."""
    (tmp_path / "reexports_mod.py").write_text(REEXPORTS)
    monkeypatch.delitem(sys.modules, "reexports_mod", raising=False)
    return tmp_path


@pytest.mark.parametrize(
    ("factory", "kwargs", "origin"),
    [
        ("os:system", {"command": "touch {target}"}, "the standard library"),
        ("subprocess:call", {"args": ["touch", "{target}"]}, "the standard library"),
        ("subprocess:run", {"args": ["touch", "{target}"]}, "the standard library"),
        ("shutil:rmtree", {"path": "{target}"}, "the standard library"),
        ("os:remove", {"path": "{target}"}, "the standard library"),
        ("runpy:run_path", {"path_name": "{target}"}, "the standard library"),
        ("pathlib:Path.touch", {"self": "{target}"}, "the standard library"),
        ("builtins:eval", {"source": "open('{target}', 'w')"}, "Python's builtins"),
        ("builtins:exec", {"source": "open('{target}', 'w')"}, "Python's builtins"),
        ("torch:load", {"f": "{target}"}, "torch"),
        ("torch.hub:load", {"repo_or_dir": "{target}"}, "torch"),
        ("archcheck.distributed:subprocess.call", {"args": ["touch", "{target}"]}, "archcheck itself (only archcheck.zoo)"),
        ("archcheck.model:build", {}, "archcheck itself (only archcheck.zoo)"),
        ("__main__:main", {}, "the running program (__main__)"),
    ],
)
def test_callables_from_the_standard_library_builtins_torch_and_archcheck_are_refused(factory, kwargs, origin, target):
    kwargs = json.loads(json.dumps(kwargs).replace("{target}", str(target)))
    assert attempt(spec_for(factory, kwargs)) == f"s.yaml:4:12: error: model.factory {factory!r}: {RULE}, not {origin}"


def test_the_module_is_not_even_imported():
    for name in ("antigravity", "this"):  # importing either has effects of its own
        assert name not in sys.modules
        assert attempt(spec_for(f"{name}:x")) == f"s.yaml:4:12: error: model.factory '{name}:x': {RULE}, not the standard library"
        assert name not in sys.modules


@pytest.mark.parametrize(
    ("factory", "kwargs", "reason"),
    [
        ("reexports_mod:system", {"command": "touch {target}"}, f"{RULE}; it comes from posix, not reexports_mod"),
        ("reexports_mod:call", {"args": ["touch", "{target}"]}, f"{RULE}; it comes from subprocess, not reexports_mod"),
        ("reexports_mod:subprocess.call", {"args": ["touch", "{target}"]}, f"{RULE}, not a dotted attribute path"),
        ("reexports_mod:two_scale", {}, f"{RULE}; it comes from toy, not reexports_mod; write 'toy:two_scale'"),
        ("reexports_mod:made", {}, f"{RULE}; it comes from functools, not reexports_mod"),
        ("reexports_mod:NotAModule", {}, "a class factory must be a torch.nn.Module subclass, not NotAModule"),
        ("reexports_mod:__class__", {}, f"{RULE}; it comes from builtins, not reexports_mod"),
        ("reexports_mod:1net", {}, "'1net' is not a Python name"),
        ("a..b:c", {}, "'a..b' is not a module name; write 'package.module:callable'"),
    ],
)
def test_re_exports_and_dotted_paths_are_refused(factory, kwargs, reason, target, reexports):
    kwargs = json.loads(json.dumps(kwargs).replace("{target}", str(target)))
    spec = spec_for(factory, kwargs, reexports)
    assert attempt(spec) == f"{reexports / 'attack.yaml'}:4:12: error: model.factory {factory!r}: {reason}"


def test_a_re_export_from_the_zoo_points_at_where_it_is_defined():
    message = attempt(spec_for("archcheck.zoo:yolov4"))
    assert message == f"s.yaml:4:12: error: model.factory 'archcheck.zoo:yolov4': {RULE}; it comes from archcheck.zoo.yolov4, not archcheck.zoo; write 'archcheck.zoo.yolov4:yolov4'"


@pytest.mark.parametrize("name", ["net", "Net"])
def test_functions_and_module_classes_defined_in_the_module_are_allowed(name, reexports):
    factory = import_factory(spec_for(f"reexports_mod:{name}", folder=reexports))
    assert factory.__name__ == name and factory.__module__ == "reexports_mod"


def test_the_zoo_and_modules_on_sys_path_are_allowed():
    assert import_factory(spec_for("archcheck.zoo.yolov4:yolov4")).__name__ == "yolov4"
    assert import_factory(spec_for("toy:two_scale")).__name__ == "two_scale"


def test_a_misspelt_name_gets_a_hint_from_the_module_s_own_callables(reexports):
    message = attempt(spec_for("reexports_mod:nett", folder=reexports))
    assert message == f"{reexports / 'attack.yaml'}:4:12: error: module 'reexports_mod' has no attribute 'nett'; did you mean 'net'?"


def test_a_factory_must_return_a_module():
    with pytest.raises(ModelError) as error:
        check_is_module(3, spec_for("toy:not_a_module"))
    assert str(error.value) == "s.yaml:4:12: error: toy:not_a_module returned int, not a torch.nn.Module"


def test_factory_source_finds_the_file_without_importing(reexports):
    spec = spec_for("reexports_mod:net", folder=reexports)
    assert factory_source(spec) == reexports / "reexports_mod.py"
    assert "reexports_mod" not in sys.modules
    assert factory_source(spec_for("nosuchmodule_x:y")) is None


@pytest.mark.parametrize(
    ("factory", "kwargs", "origin"),
    [
        ("yaml:unsafe_load", {"stream": "!!python/object/apply:os.system ['touch {target}']"}, "yaml"),
        ("yaml:full_load", {"stream": "x"}, "yaml"),
        ("pip:main", {"args": ["download", "--dest", "{target}", "nothing"]}, "pip"),
        ("pytest:main", {"args": ["--basetemp", "{target}"]}, "pytest"),
        ("hypothesis:find", {"specifier": None, "condition": None}, "hypothesis"),
        ("numpy:save", {"file": "{target}", "arr": [1]}, "numpy"),
    ],
)
def test_archcheck_own_dependencies_are_not_factories(target, factory, kwargs, origin):
    """Functions defined in packages that are installed because archcheck is: PyYAML's unsafe_load runs a shell."""
    kwargs = json.loads(json.dumps(kwargs).replace("{target}", str(target)))
    message = attempt(spec_for(factory, kwargs))
    assert message.endswith(f"error: model.factory {factory!r}: {RULE}, not {origin}, which is installed for archcheck and its tools, not a model")


def test_a_module_that_is_not_model_code_is_not_called(target, tmp_path, monkeypatch):
    """A helper module with a shell in it (as third-party packages have): it neither imports torch nor holds a model."""
    (tmp_path / "shellish.py").write_text("import os\n\n\ndef run(command):\n    return os.system(command)\n")
    (tmp_path / "wrapper.py").write_text("from toy import TwoScale\n\n\ndef build():\n    return TwoScale(4)\n")
    for name in ("shellish", "wrapper"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    message = attempt(spec_for("shellish:run", {"command": f"touch {target}"}, folder=tmp_path))
    assert message.endswith("error: model.factory 'shellish:run': shellish neither imports torch nor holds an nn.Module class, so it is not model code; name the module that builds the model")
    assert import_factory(spec_for("wrapper:build", folder=tmp_path))().stem.out_channels == 4  # a model class imported from elsewhere is model code
