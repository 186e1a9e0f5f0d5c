"""Children die with their parent, whatever signal ends it; DDP ranks rendezvous on loopback and import
only the parent's path. Real parents (the CLI in a subprocess), real children, real signals; Linux /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest

from archcheck import verify
from archcheck.runners.ddp import FOLDER_PREFIX, remove_stale_folders

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and uses PR_SET_PDEATHSIG")

SPEC = """\
archcheck: 1
name: napping
model:
  factory: ddp_models:tiny
  kwargs: {nap: NAP}
inputs:
  x: [B, 3, H, W]
dims:
  B: {values: [2]}
  H: {range: [1, 64], values: [8]}
  W: {values: [8]}
outputs: [B, 4, H, W]
"""


def napping(folder: Path, nap: float, on_meta: bool = False) -> Path:
    path = folder / "napping.yaml"
    path.write_text(SPEC.replace("NAP", f"{nap}, nap_on_meta: {str(on_meta).lower()}"))
    return path


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's zombie waits for whoever reaps it; it holds nothing)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    environment = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests" / "models")])}
    command = [sys.executable, "-P", "-m", "archcheck.cli", "--no-color", *args]
    return subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"not within {seconds:g} s: {what}")


def ddp_folders(pid: int) -> list[Path]:
    return list(Path(tempfile.gettempdir()).glob(f"{FOLDER_PREFIX}{pid}-*"))


def listening(pid: int) -> list[str]:
    """The local addresses (hex, as /proc/net/tcp writes them) of the listening TCP sockets ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                found.append(fields[1].rpartition(":")[0])
    return found


@contextmanager
def parent_running(args: list[str], cwd: Path) -> Iterator[subprocess.Popen]:
    """The CLI started with ``args``; killed on the way out, whatever the test did to it."""
    parent = start(args, cwd)
    try:
        yield parent
    finally:
        parent.kill()
        parent.wait()


def end_parent(parent: subprocess.Popen, signum: int, kids: list[int], what: str) -> int:
    """Send ``signum`` to the parent, wait until its ``kids`` are gone and it has ended; its exit code."""
    parent.send_signal(signum)
    wait_for(lambda: not any(running(k) for k in kids), 10, f"the {what} end after {signal.Signals(signum).name}")
    return parent.wait(10)


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_ddp_ranks_die_with_their_parent_and_leave_no_job_folder(tmp_path, signum):
    with parent_running(["verify", str(napping(tmp_path, 60)), "--devices", "ddp:gloo"], tmp_path) as parent:
        ranks = wait_for(lambda: [c for c in children(parent.pid) if listening(c)] and children(parent.pid), 60, "two ranks that rendezvoused")
        assert len(ranks) == 2 and ddp_folders(parent.pid)
        code = end_parent(parent, signum, ranks, "ranks")
    if signum == signal.SIGKILL:  # nothing in the parent ran: the folder stays, small, until the next launch removes it
        (folder,) = ddp_folders(parent.pid)
        assert sum(f.stat().st_size for f in folder.iterdir()) < 64 * 1024
        remove_stale_folders()
        assert not folder.exists()
    else:
        assert code == 128 + signum
        assert parent.stderr.read().decode().endswith(f"archcheck: terminated by {signal.Signals(signum).name}\n")
        assert ddp_folders(parent.pid) == []


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGKILL])
def test_resolution_workers_die_with_their_parent(tmp_path, signum):
    with parent_running(["resolutions", str(napping(tmp_path, 0.5, on_meta=True)), "--dim", "H", "--range", "1:64", "--jobs", "2"], tmp_path) as parent:
        workers = wait_for(lambda: len(children(parent.pid)) >= 2 and children(parent.pid), 60, "two workers")
        time.sleep(1)  # the workers are inside their first chunk
        code = end_parent(parent, signum, workers, "workers")
    assert code == (128 + signum if signum != signal.SIGKILL else -signum)
    if signum != signal.SIGKILL:  # one clear line, no traceback from the pool's manager thread
        err = parent.stderr.read().decode()
        assert "Traceback" not in err and err.endswith(f"archcheck: terminated by {signal.Signals(signum).name}\n")


@pytest.mark.slow
def test_ranks_rendezvous_on_loopback_only(tmp_path, monkeypatch):
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    with parent_running(["verify", str(napping(tmp_path, 60)), "--devices", "ddp:gloo"], tmp_path) as parent:
        ranks = wait_for(lambda: len([c for c in children(parent.pid) if listening(c)]) == 2 and children(parent.pid), 60, "two ranks listening")
        time.sleep(1)
        addresses = [address for rank in ranks for address in listening(rank)]
        assert addresses and set(addresses) <= {"0100007F", "0000000000000000FFFF00000100007F"}  # 127.0.0.1 (IPv4, or IPv4 in IPv6)
        for rank in ranks:  # sharing the cores, their OpenMP threads wait without spinning
            assert b"OMP_WAIT_POLICY=PASSIVE\0" in Path(f"/proc/{rank}/environ").read_bytes()


@pytest.mark.slow
def test_ranks_do_not_import_from_the_working_directory(tmp_path, monkeypatch):
    marker = tmp_path / "planted-module-ran"
    (tmp_path / "yaml.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise ImportError('planted')\n")
    spec = napping(tmp_path, 0)
    monkeypatch.chdir(tmp_path)
    report = verify(spec, devices=["cpu", "ddp:gloo"])
    assert report.ok, [p.headline() for p in report.problems]
    assert not marker.exists()
