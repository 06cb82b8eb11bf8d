"""The optimizers' hyperparameters as command-line options, built from :mod:`trainlab.optim`'s
declarations (one table: name, flag, help, type), shared by ``train`` and ``search``."""

from __future__ import annotations

import argparse

from ..cli import UsageError
from ..optim import OPTIMIZERS
from ..options import number

__all__ = ["add_arguments", "flags", "given", "check_accepted", "declarations"]

DEST = "hp."


def declarations():
    """``{name: Hyperparameter}`` for every hyperparameter of every optimizer (flag, help, type)."""
    from ..hyperparameters import HYPERPARAMETERS

    return HYPERPARAMETERS


def _takers(name: str) -> str:
    out = []
    for opt, cls in OPTIMIZERS.items():
        conventions = [c for c, d in cls.DEFAULTS.items() if name in d]
        if len(conventions) == len(cls.DEFAULTS):
            out.append(opt)
        elif conventions:
            out.append(f"{opt} ({', '.join(conventions)} convention)")
    return ", ".join(out) or "none"


def add_arguments(group) -> None:
    for name, h in declarations().items():
        kwargs = {"dest": DEST + name, "default": None, "help": f"{h.help}; {_takers(name)}"}
        if h.type == "bool":
            kwargs["action"] = argparse.BooleanOptionalAction
        elif h.type == "choice":
            kwargs["choices"] = list(h.choices)
        else:
            kwargs.update(type=number, metavar="X")
        group.add_argument(h.flag, **kwargs)


def flags() -> dict[str, str]:
    return {name: h.flag for name, h in declarations().items()}


def given(args) -> dict:
    return {name: getattr(args, DEST + name) for name in declarations()
            if getattr(args, DEST + name, None) is not None}


def check_accepted(values: dict, optimizer: str, convention: str) -> None:
    """A usage error naming the flag, what the chosen optimizer accepts and who takes the flag."""
    cls = OPTIMIZERS.get(str(optimizer).lower())
    if cls is None or convention not in cls.DEFAULTS:
        return  # the configuration class reports the bad optimizer or convention
    accepted = cls.DEFAULTS[convention]
    fl = flags()
    for name in values:
        if name not in accepted:
            raise UsageError(
                f"{fl[name]} is not a hyperparameter of {optimizer} with --convention {convention} "
                f"(which accepts {', '.join(fl[k] for k in accepted)}); {fl[name]} is accepted by: {_takers(name)}")
