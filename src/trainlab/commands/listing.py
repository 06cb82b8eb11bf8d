"""List what TrainLab can use: the optimizers with their defaults under both conventions,
initialisers (with the book's spellings and what they map to), activations, datasets, and the
chapter's experiments with the book's script each reproduces and the --set keys it declares.
"""

from __future__ import annotations

import argparse
import json

HELP = "list the optimizers (with defaults), initialisers, activations, datasets and experiments"

EPILOG = """\
examples:
  trainlab list                 # everything
  trainlab list optimizers      # each optimizer's hyperparameters and defaults, torch and book
  trainlab list initializers    # names, aliases and the book's spellings ('he', 'xavier', ...)
  trainlab list experiments     # book script → experiment, section, figures, --set keys, defaults
"""

SECTIONS = ("optimizers", "initializers", "activations", "datasets", "experiments")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.add_argument("what", nargs="?", choices=SECTIONS + ("all",), default="all",
                        help="which list (default all)")


def _fmt(value) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def optimizers_text() -> str:
    from ..optim import CONVENTIONS, HYPERPARAMETERS, OPTIMIZERS

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


def _seconds(s: float) -> str:
    return f"~{s:.0f} s" if s >= 1 else "< 1 s"


def experiments_text() -> str:
    from ..experiments import get, names

    lines = ["experiments (trainlab run NAME; --set KEY=VALUE changes a key; the book's script → NAME):"]
    for name in names():
        exp = get(name)
        lines.append(f"\n  {name}: {exp.title}")
        lines.append(f"    book: {exp.book_script or '–'}, {exp.book_section}"
                     + (f", {exp.book_figures}" if exp.book_figures else ""))
        if exp.shows:
            lines.append(f"    shows: {exp.shows}")
        lines.append(f"    seeds: {exp.default_seeds} by default, {_seconds(exp.seed_seconds)} of one core each"
                     + ("; trains on --data-dir when given" if exp.uses_data else ""))
        lines.append("    keys:")
        width = max(len(k) for k in exp.config)
        for key, decl in exp.config.items():
            default = json.dumps(decl.default, ensure_ascii=False)
            lines.append(f"      {key:<{width}} = {default}  — {decl.help}; {decl.accepts()}")
    return "\n".join(lines)


def run(args) -> int:
    what = getattr(args, "what", "all") or "all"
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
