"""Workers die with their parent: SIGKILL (or SIGTERM) the command that started worker processes
and, within 10 seconds, none of its descendants is left (workers, forkserver, resource tracker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")

LAUNCH = [sys.executable, "-c", "import sys; from trainlab.cli import main; sys.exit(main())"]


def _parents() -> dict[int, int]:
    out = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
                out[int(p.name)] = int(stat.rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                pass
    return out


def descendants(pid: int) -> set[int]:
    parents = _parents()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":  # a zombie is dead, waiting for its (dead) parent's reaper
            alive.add(pid)
    return alive


def _wait_for_workers(proc, n: int, timeout: float = 60) -> set[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        kids = descendants(proc.pid)
        if len(kids) >= n:
            time.sleep(1.0)  # let the workers start their jobs
            return descendants(proc.pid)
        assert proc.poll() is None, proc.stderr.read().decode()
        time.sleep(0.05)
    raise AssertionError(f"no {n} worker processes after {timeout} s")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
@pytest.mark.parametrize("command", [
    ["run", "init-mnist", "--reduced", "--seeds", "4", "--workers", "2", "--set", "iterations=20000"],
    ["search", "--workers", "2", "--trials", "8", "--epochs", "30", "--train-size", "300", "-q"],
])
def test_killing_the_parent_leaves_no_worker_behind(tmp_path, command, signum):
    proc = subprocess.Popen([*LAUNCH, *command, "--out", str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    kids: set[int] = set()
    try:
        kids = _wait_for_workers(proc, 2)
        os.kill(proc.pid, signum)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while _alive(kids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(kids), f"left behind after {signum!r}: {sorted(_alive(kids))}"
    finally:  # whatever happened, leave nothing behind (the workers were reparented when their parent died)
        for pid in _alive(kids | descendants(proc.pid)) | _alive({proc.pid}):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()
