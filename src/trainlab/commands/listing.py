"""List what TrainLab can use: the optimizers with their defaults under both conventions,
initialisers (with the book's spellings and what they map to), activations, datasets, and the
chapter's experiments with the book's script each reproduces and the --set keys it declares.
"""

from __future__ import annotations

import argparse

HELP = "list the optimizers (with defaults), initialisers, activations, datasets and experiments"

EPILOG = """\
examples:
  trainlab list                 # everything
  trainlab list optimizers      # each optimizer's hyperparameters and defaults, torch and book
  trainlab list initializers    # names, aliases and the book's spellings ('he', 'xavier', ...)
  trainlab list experiments     # book script → experiment, section, figures, --set keys, defaults
  trainlab list experiments --markdown > docs/book-map.md   # the same as the docs' book map
"""

SECTIONS = ("optimizers", "initializers", "activations", "datasets", "experiments")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("what", nargs="?", choices=SECTIONS + ("all",), default="all",
                        help="which list (default all)")
    parser.add_argument("--markdown", action="store_true",
                        help="experiments only: print the book map as Markdown (docs/book-map.md)")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def optimizers_text() -> str:
    from ..hyperparameters import HYPERPARAMETERS
    from ..optim import CONVENTIONS, OPTIMIZERS

    lines = ["optimizers (--optimizer NAME; hyperparameter options with defaults per --convention):"]
    for name, cls in OPTIMIZERS.items():
        lines.append(f"  {name}")
        for conv in CONVENTIONS:
            text = "  ".join(f"{HYPERPARAMETERS[k].flag} {_fmt(v)}" for k, v in cls.DEFAULTS[conv].items())
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


def experiments_text() -> str:
    from ..book_map import experiments_text as text

    return text()


def run(args) -> int:
    what = getattr(args, "what", "all") or "all"
    if getattr(args, "markdown", False):
        if what != "experiments":
            from ..cli import UsageError

            raise UsageError("--markdown: only the experiments have a Markdown form; "
                             "use 'trainlab list experiments --markdown'")
        from ..book_map import book_map_markdown

        print(book_map_markdown(), end="")
        return 0
    parts = {
        "optimizers": optimizers_text,
        "initializers": initializers_text,
        "activations": activations_text,
        "datasets": datasets_text,
        "experiments": experiments_text,
    }
    chosen = SECTIONS if what == "all" else (what,)
    print("\n\n".join(parts[name]() for name in chosen))
    return 0
