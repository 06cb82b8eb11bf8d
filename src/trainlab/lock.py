"""One process per run folder: an exclusive OS lock (``flock``) on ``FOLDER/.lock``.

The kernel drops the lock when its holder dies, however it dies, so a kill never leaves a stale
lock; the lock file says who holds it (pid, command, since when) so a refused process can name it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from pathlib import Path

__all__ = ["DirectoryLock", "LockHeld", "LOCK_NAME", "command_line", "now"]

LOCK_NAME = ".lock"


class LockHeld(Exception):
    """Another process holds the folder's lock (the message names it)."""


def command_line() -> str:
    """How this process was started: ``trainlab run all --seeds 5`` (the program's name, not its path)."""
    return " ".join([Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]])


def now() -> str:
    """The local time, ISO 8601 with its offset, to the second."""
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


class DirectoryLock:
    """An exclusive OS lock (``flock``) on ``FOLDER/.lock``, held until :meth:`release` or exit.

    The lock file says who holds it (pid, command, since when) so a refused process can name it.
    The kernel drops the lock when the holder dies, however it dies, so a kill never leaves a
    stale lock behind.
    """

    def __init__(self, folder):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.fd: int | None = None

    def acquire(self) -> "DirectoryLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = self._holder(fd)
            os.close(fd)
            raise LockHeld(f"{self.folder} is in use by {holder}; wait for it to finish, or stop it, "
                           f"then try again") from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "command": command_line(), "since": now()}).encode())
        self.fd = fd
        return self

    @staticmethod
    def _holder(fd: int) -> str:
        try:
            info = json.loads(os.pread(fd, 4096, 0) or b"{}")
            return f"process {info['pid']} ({info.get('command') or '?'}, since {info.get('since', '?')})"
        except (OSError, ValueError, KeyError, TypeError):
            return "another process"

    def release(self) -> None:
        if self.fd is not None:
            import fcntl

            try:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            finally:
                os.close(self.fd)
                self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
