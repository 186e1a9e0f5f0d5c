"""Write a command's output without destroying an input or leaving half a file.

``check_output`` runs before the work: ``-o`` must not name the spec, the
factory's module or the weights (also through a symlink or a hard link), and its
folder must be writable, so that a long run does not end in "cannot write".
``write_atomic`` writes a temporary file beside the target and renames it over
the target, so that the target is either the old file or the whole new one.
``write_stdout`` turns a closed pipe or a full disk into one clear error.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from contextlib import suppress
from pathlib import Path
from typing import Iterable, Mapping

from archcheck.errors import UsageError


def check_output(path: Path, inputs: Iterable[Path] | Mapping[Path, str]) -> None:
    """UsageError when writing ``path`` would overwrite an input or cannot work.

    ``inputs`` may map each input to what it is ("the spec"), for the message.
    """
    labels = dict(inputs) if isinstance(inputs, Mapping) else dict.fromkeys(inputs, "")
    for source, label in labels.items():
        if _same_file(path, source):
            what = f" ({label})" if label else ""
            raise UsageError(f"-o {path} would overwrite an input{what}; choose another file")
    _check_writable(path)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all; a symlink is written through."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():  # /dev/null, a FIFO: nothing to replace
        _write_plain(path, target, text)
        return
    temp = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temp, _mode_for(target))
        os.replace(temp, target)
        temp = None
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if temp is not None:  # failed or interrupted: leave no temporary file behind
            with suppress(OSError):
                os.unlink(temp)


def write_stdout(text: str) -> None:
    """Write to stdout; a closed pipe (EPIPE) or a full device (ENOSPC) is a UsageError."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
        raise UsageError("cannot write the output: whatever read stdout has closed it") from None
    except OSError as exc:
        _silence_stdout()
        raise UsageError(f"cannot write the output to stdout: {exc.strerror or exc}") from None


# -- helpers --------------------------------------------------------------------


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file (symlinks followed, hard links included)."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist, so it cannot be the other
        return False


def _check_writable(path: Path) -> None:
    target = Path(os.path.realpath(path))
    if target.is_dir():
        raise UsageError(f"-o {path} is a directory; name a file")
    if target.exists() and not target.is_file():
        if not os.access(target, os.W_OK):
            raise UsageError(f"-o {path}: cannot write it")
        return
    folder = target.parent
    while not folder.exists():  # the output's folder is created when missing
        folder = folder.parent
    if not folder.is_dir():
        raise UsageError(f"-o {path}: {folder} is not a directory")
    try:  # try it: os.access says yes to root and knows nothing of read-only file systems
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"-o {path}: cannot write in {folder}: {exc.strerror or exc}") from None


def _write_plain(path: Path, target: Path, text: str) -> None:
    try:
        with open(target, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}") from None


def _mode_for(target: Path) -> int:
    """The permissions the new file gets: the old file's, or what open() would give."""
    if target.exists():
        return stat.S_IMODE(target.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's flush at exit does not fail a second time."""
    with suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
