"""Making a killed search's journal resumable, or saying why it cannot be.

Optuna's journal (``study.journal``) is an append-only log, one JSON record per line, each line
written whole. A kill or a full disk in the middle of a write leaves a *torn* last line: bytes with
no newline, which Optuna cannot parse, so every later resume would fail. :func:`recover` removes
that torn tail (it is a record that never finished being written: the trial it describes is left
running, so ``Search.repair`` marks it interrupted and runs its slot again) and says so.

A journal that is missing or empty while the run folder already holds finished trials is not
silently restarted: that would throw away the trials and run them again under the same numbers.
It is an error that says what happened and what to do. Only the holder of the run's lock may
call this (nobody else writes the journal then).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from ..record import RunError

__all__ = ["recover", "JournalError"]


class JournalError(RunError):
    """The journal cannot continue the search recorded beside it."""


def _recorded_trials(run_dir: Path) -> int:
    folder = run_dir / "trials"
    return sum(1 for p in folder.iterdir() if (p / "run.json").is_file()) if folder.is_dir() else 0


def recover(journal) -> str | None:
    """Prepare ``journal`` for a resume; returns a sentence to print when something was repaired."""
    journal = Path(journal)
    recorded = _recorded_trials(journal.parent)
    size = journal.stat().st_size if journal.is_file() else None
    if not size:
        if recorded:
            state = "missing" if size is None else "empty"
            raise JournalError(
                f"{journal} is {state}, but {recorded} finished trial(s) are recorded in "
                f"{journal.parent / 'trials'}: the study cannot continue without its journal. Restore "
                f"{journal.name} from a copy, or start the search again with --overwrite")
        return None  # killed before the first record: starting afresh loses nothing
    data = journal.read_bytes()
    end = data.rfind(b"\n") + 1  # everything after the last newline is an unfinished record
    body, torn = data[:end], data[end:]
    lines = body.splitlines()
    for number, line in enumerate(lines, start=1):
        try:
            json.loads(line)
        except ValueError:
            raise JournalError(f"{journal}: record {number} of {len(lines)} is damaged (not a torn last write, "
                               f"which would be repaired); the study cannot be read. Restore {journal.name} "
                               f"from a copy, or start the search again with --overwrite") from None
    if not torn:
        return None
    with open(journal, "r+b") as f:
        f.truncate(end)
        f.flush()
        os.fsync(f.fileno())
    return (f"resume: removed the torn last record of {journal.name} ({len(torn)} bytes a killed write left); "
            f"the trial it was recording runs again")
