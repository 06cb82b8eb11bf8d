"""List what 'trainlab train' can use: optimizers with their defaults under both conventions,
initialisers (with the book's spellings and what they map to), activations and datasets.
"""

from __future__ import annotations

import argparse

HELP = "list the optimizers (with defaults), initialisers, activations and datasets"

EPILOG = """\
examples:
  trainlab list                 # everything
  trainlab list optimizers      # each optimizer's hyperparameters and defaults, torch and book
  trainlab list initializers    # names, aliases and the book's spellings ('he', 'xavier', ...)
"""

SECTIONS = ("optimizers", "initializers", "activations", "datasets")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("what", nargs="?", choices=SECTIONS + ("all",), default="all",
                        help="which list (default all)")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def optimizers_text() -> str:
    from ..optim import CONVENTIONS, OPTIMIZERS
    from .train import HP_OPTIONS

    lines = ["optimizers (--optimizer NAME; hyperparameter options with defaults per --convention):"]
    for name, cls in OPTIMIZERS.items():
        lines.append(f"  {name}")
        for conv in CONVENTIONS:
            hp = cls.DEFAULTS[conv]
            text = "  ".join(f"{HP_OPTIONS[k]} {_fmt(v)}" for k, v in hp.items())
            lines.append(f"    {conv:<6} {text}")
    lines.append("  (--opt-weight-decay is the optimizer's own decay; the model's ½λ‖W‖² is --weight-decay)")
    return "\n".join(lines)


def initializers_text() -> str:
    from ..init import ALIASES, BOOK_ALIASES, INITIALIZERS

    lines = ["initialisers (--init NAME, or a number = std of N(0, std²)):"]
    lines += [f"  {name}" for name in INITIALIZERS]
    lines.append("  aliases:")
    lines += [f"    {alias:<16} → {target}" for alias, target in ALIASES.items()]
    lines.append("  the book's spellings:")
    lines += [f"    {alias:<16} → {target}" for alias, target in BOOK_ALIASES.items()]
    lines.append(f"    {'0.01 (a number)':<16} → normal with that std")
    return "\n".join(lines)


def activations_text() -> str:
    from ..layers import ACTIVATIONS

    return "activations (--activation NAME):\n" + "\n".join(f"  {name}" for name in ACTIVATIONS)


def datasets_text() -> str:
    from ..data import DATASETS

    lines = ["datasets (--dataset NAME; or --data-dir DIR with four IDX files in MNIST's layout):"]
    lines += [f"  {name:<8} {desc}" for name, desc in DATASETS.items()]
    return "\n".join(lines)


def run(args) -> int:
    what = getattr(args, "what", "all") or "all"
    parts = {
        "optimizers": optimizers_text,
        "initializers": initializers_text,
        "activations": activations_text,
        "datasets": datasets_text,
    }
    chosen = SECTIONS if what == "all" else (what,)
    print("\n\n".join(parts[name]() for name in chosen))
    return 0
