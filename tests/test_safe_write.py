"""Outputs never overwrite inputs, never end half-written, and a failing stdout is a clean error."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from archcheck.errors import UsageError
from archcheck.safe_write import check_output, write_atomic

ROOT = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "specs" / "yolov4.yaml"
    path.parent.mkdir()
    path.write_text("archcheck: 1\n")
    return path


def refusal(output: Path, inputs) -> str:
    with pytest.raises(UsageError) as error:
        check_output(output, inputs)
    return str(error.value)


def test_output_onto_the_spec_is_refused(spec, monkeypatch):
    monkeypatch.chdir(spec.parent.parent)
    output = Path("specs/yolov4.yaml")
    assert refusal(output, {spec: "the spec"}) == "error: -o specs/yolov4.yaml would overwrite an input (the spec); choose another file"
    assert spec.read_text() == "archcheck: 1\n"


def test_a_symlink_a_hard_link_and_a_roundabout_path_to_the_spec_are_refused(spec, tmp_path):
    (tmp_path / "link.json").symlink_to(spec)
    os.link(spec, tmp_path / "hard.json")
    for output in (tmp_path / "link.json", tmp_path / "hard.json", spec.parent / ".." / "specs" / "yolov4.yaml"):
        assert refusal(output, [spec]) == f"error: -o {output} would overwrite an input; choose another file"


def test_the_factory_module_is_an_input_too(spec, tmp_path):
    module = tmp_path / "net.py"
    module.write_text("")
    assert refusal(module, {spec: "the spec", module: "the factory's module"}) == (
        f"error: -o {module} would overwrite an input (the factory's module); choose another file"
    )


def test_a_new_file_in_a_new_folder_is_fine(spec, tmp_path):
    target = tmp_path / "out" / "deeper" / "report.json"
    assert check_output(target, {spec: "the spec", tmp_path / "missing.py": "the factory's module"}) is None
    write_atomic(target, "{}")
    assert [p.name for p in target.parent.iterdir()] == ["report.json"]  # the writability probe left nothing behind


def test_a_folder_as_output_is_refused(spec, tmp_path):
    assert refusal(tmp_path, [spec]) == f"error: -o {tmp_path} is a directory; name a file"


def test_an_output_below_a_file_is_refused(spec):
    output = spec / "report.json"
    assert refusal(output, [spec]) == f"error: -o {output}: {spec} is not a directory"


@pytest.mark.skipif(IS_ROOT, reason="root may write anywhere")
def test_an_unwritable_folder_is_refused_before_the_run(spec, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert refusal(locked / "sub" / "report.json", [spec]) == f"error: -o {locked / 'sub' / 'report.json'}: cannot write in {locked}: Permission denied"
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's /proc")
def test_an_unwritable_place_is_refused_before_the_run(spec):
    output = Path("/proc/archcheck/report.json")  # /proc takes no new files, not even root's
    assert refusal(output, [spec]) == f"error: -o {output}: cannot write in /proc: No such file or directory"


def test_write_atomic_leaves_the_whole_file_and_no_temporary(tmp_path):
    output = tmp_path / "new" / "report.json"
    write_atomic(output, "first")
    write_atomic(output, "second")
    assert output.read_text() == "second"
    assert os.listdir(output.parent) == ["report.json"]
    assert output.stat().st_mode & 0o777 == 0o666 & ~_umask()


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, monkeypatch):
    output = tmp_path / "report.json"
    output.write_text("old")
    output.chmod(0o640)

    def fail(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(UsageError) as error:
        write_atomic(output, "new")
    assert str(error.value) == f"error: cannot write {output}: No space left on device"
    assert output.read_text() == "old"
    assert os.listdir(tmp_path) == ["report.json"]


def test_write_atomic_keeps_permissions_and_writes_through_a_symlink(tmp_path):
    real = tmp_path / "real.json"
    real.write_text("old")
    real.chmod(0o640)
    (tmp_path / "link.json").symlink_to(real)
    write_atomic(tmp_path / "link.json", "new")
    assert (tmp_path / "link.json").is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o640


def test_write_atomic_to_a_device_writes_into_it():
    write_atomic(Path("/dev/null"), "nothing")
    assert Path("/dev/null").is_char_device()


WRITE = """\
import sys
from archcheck.errors import UsageError
from archcheck.safe_write import write_stdout
try:
    write_stdout("x" * 200_000)
except UsageError as error:
    sys.stderr.write(f"archcheck: {error}\\n")
    sys.exit(error.exit_code)
"""


def run_writer(stdout) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", WRITE], stdout=stdout, stderr=subprocess.PIPE, text=True, env=env, timeout=60)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_full_stdout_is_a_clean_usage_error():
    with open("/dev/full", "w") as full:
        done = run_writer(full)
    assert (done.returncode, done.stderr) == (2, "archcheck: error: cannot write the output to stdout: No space left on device\n")


def test_a_closed_pipe_is_a_clean_usage_error():
    read, write = os.pipe()
    os.close(read)  # the reader went away, as with `archcheck ... | head -1`
    try:
        done = run_writer(write)
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (2, "archcheck: error: cannot write the output: whatever read stdout has closed it\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
