"""The ``trainlab`` command: a table of subcommands, each in ``trainlab.commands.<name>``.

Each subcommand module has ``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Usage errors exit with code 2 (argparse's convention); a failed run exits with 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "COMMANDS", "UsageError"]

#: subcommand name → module under trainlab.commands
COMMANDS = {
    "train": "train",
    "list": "listing",
    "run": "run",
    "report": "report",
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


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except UsageError as exc:
        args._parser.error(str(exc))  # prints usage and exits with 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
