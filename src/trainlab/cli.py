"""The ``trainlab`` command: a table of subcommands, each in ``trainlab.commands.<name>``.

Each subcommand module has ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Usage errors exit with code 2 (argparse's convention): a bad option, or an output folder that cannot
be used (a file, another run, a run in use by another process). A failed run exits with 1, so does
an output that cannot be written (read-only, disk full: one line, no traceback; what was written
stays). Ctrl-C and SIGTERM end a command the same way: its outputs are written as interrupted, 130.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import threading

__all__ = ["main", "COMMANDS", "UsageError"]

#: subcommand name → module under trainlab.commands
COMMANDS = {
    "train": "train",
    "list": "listing",
    "run": "run",
    "report": "report",
    "compare": "compare",
    "search": "search",
}


class UsageError(Exception):
    """A bad option value found after parsing; reported like argparse's errors (exit code 2)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trainlab",
        description="Neural-network training techniques (Deep Learning from Scratch, ch. 6), measured.",
        epilog="Run 'trainlab COMMAND --help' for the options and examples of each command.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"trainlab {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in COMMANDS.items():
        module = importlib.import_module(f".commands.{module_name}", __package__)
        p = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run, _parser=p)
    return parser


def _terminate(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    from .record import RunError

    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():  # SIGTERM ends a run like Ctrl-C
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args._run(args) or 0)
    except (UsageError, RunError) as exc:
        args._parser.error(str(exc))  # prints usage and exits with 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT, errno.ENOTDIR,
                             errno.EISDIR, errno.EEXIST):
            raise
        where = f" {exc.filename}" if exc.filename else ""
        print(f"trainlab {args.command}: error: cannot write{where}: {exc.strerror}; "
              f"what was written before is kept", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
