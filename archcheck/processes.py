"""Child processes die with their parent, whatever ends it.

A child calls ``die_with_parent(parent_pid)`` first thing: on Linux the kernel sends it
SIGKILL when the parent ends (PR_SET_PDEATHSIG), even if the parent was killed with
SIGKILL. The parent wraps the time its children run in ``stop_children_on_signals``:
SIGTERM and SIGHUP stop the children and unwind (``finally`` blocks remove temporary
folders) before the process ends with the usual 128 + signal status.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from contextlib import contextmanager
from typing import Callable, Iterator

PR_SET_PDEATHSIG = 1  # linux/prctl.h
SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(BaseException):
    """This process got SIGTERM or SIGHUP while it had children; raised to unwind, like KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when its parent ends; end now if it already has.

    Linux only (elsewhere a no-op). The parent may die between our start and the prctl:
    then our parent is already someone else, so look after setting it.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:
        os._exit(1)


@contextmanager
def stop_children_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP call ``stop()`` (end the children) and raise Terminated here.

    Only the main thread can take signals; elsewhere this does nothing (the children
    still die with the process, by die_with_parent).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        stop()
        # The process is ending: a helper thread that trips over the children it watched die (the
        # process pool's manager thread does) would print a traceback after our one clear line.
        threading.excepthook = lambda args: None
        raise Terminated(signum)

    saved = {signum: signal.signal(signum, handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)


def child_command(target: str, *args: str) -> list[str]:
    """The command line that runs ``function(*args)`` (``target``: "package.module:function") in a
    child that dies with this process and exits with the function's return value.

    ``-P``: the working directory (or this file's folder) is not put first on the child's
    sys.path, so a ``yaml.py`` lying there is not imported; pass the parent's sys.path in
    PYTHONPATH (``import_path``) to give the child the parent's imports.
    """
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []  # 3.10: the __main__ block below drops the folder itself
    return [sys.executable, *safe_path, os.path.abspath(__file__), str(os.getpid()), target, *args]


def import_path() -> str:
    """This process's sys.path as a PYTHONPATH, made absolute (relative entries would follow a child's cwd)."""
    return os.pathsep.join(dict.fromkeys(os.path.abspath(p) for p in sys.path if p))


def kill_all(pids: list[int]) -> None:
    """SIGKILL each of these processes (our own children) that still runs."""
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


if __name__ == "__main__":  # python -P processes.py PARENT_PID MODULE:FUNCTION ARGS...: FUNCTION(*ARGS), dying with PARENT_PID
    import importlib

    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # Python 3.10 has no -P: archcheck/'s own files must not shadow the user's modules
    die_with_parent(int(sys.argv[1]))  # before the module's imports (torch takes seconds)
    module, _, function = sys.argv[2].partition(":")
    # Imported, not run as __main__: run_module would execute a module its package had already imported a second time.
    sys.exit(getattr(importlib.import_module(module), function)(*sys.argv[3:]))
