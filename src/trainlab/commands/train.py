"""Train one MLP on MNIST (or any four-file IDX dataset) and write its results.

Shows a progress bar on a terminal (nothing off a terminal), prints a final summary (test
accuracy, time, status) and writes into --out:

  config.json     the resolved model spec, training configuration, optimizer hyperparameters
                  (defaults filled in) and data options
  history.json    per-iteration loss, per-epoch loss/accuracy per split, wall time, status
  history.csv     the per-epoch records as a table
  metrics.json    final metrics, status, message, wall time
  checkpoint.npz  parameters, BN statistics, optimizer state, random states, epoch, history
                  (written atomically after every epoch; --resume continues from it)

Exit codes: 0 completed; 1 diverged (loss became NaN/inf: training stops, the history so far is
kept and saved with status "diverged") or the data could not be read; 2 bad option or value;
130 interrupted (Ctrl-C: the outputs so far are written with status "interrupted").
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from datetime import datetime
from pathlib import Path

from ..checkpoint import CHECKPOINT_NAME, atomic_write_text
from ..cli import UsageError
from ..init import ALIASES, BOOK_ALIASES, INITIALIZERS, resolve_init
from ..layers import ACTIVATIONS, BN_CONVENTIONS, DROPOUT_CONVENTIONS
from ..model import WEIGHT_DECAY_KINDS, ModelSpec
from ..optim import CONVENTIONS, OPTIMIZERS

HELP = "train one MLP on MNIST with a progress bar; writes config, history, metrics, checkpoint"

EPILOG = """\
examples:
  trainlab train --optimizer adam --lr 0.001 --epochs 5 --batch-size 128 --out runs/adam5
  trainlab train --hidden 100,100 --activation sigmoid --init xavier --optimizer sgd --lr 0.1
  trainlab train --optimizer momentum --momentum 0.95 --convention book --batch-norm
  trainlab train --train-size 300 --epochs 200 --weight-decay 0.1 --dropout 0.2 --eval-samples 1000
  trainlab train --out runs/adam5 --resume --epochs 10      # continue a run (same options)
  trainlab list                                             # optimizers, defaults, initialisers

Only the hyperparameters of the chosen optimizer (and --convention) are accepted; omitted ones
take that optimizer's defaults ('trainlab list' shows them). --weight-decay is the model's
L2/L1 penalty (the book's ½λ‖W‖²); --opt-weight-decay is the optimizer's own (coupled, AdamW:
decoupled) decay. Nesterov momentum is its own optimizer: --optimizer nesterov.

--resume takes the options stored in --out and accepts only --epochs (which may grow) and the
output options as changes; any other option given with a different value is an error.
-q prints only the final summary; -v adds one line per epoch; -vv also prints the data sizes.
"""

#: optimizer hyperparameter (as in Optimizer.DEFAULTS) → command-line option
HP_OPTIONS = {
    "lr": "--lr",
    "momentum": "--momentum",
    "dampening": "--dampening",
    "b1": "--b1",
    "b2": "--b2",
    "eps": "--eps",
    "weight_decay": "--opt-weight-decay",
    "alpha": "--alpha",
    "amsgrad": "--amsgrad",
    "centered": "--centered",
    "lr_decay": "--lr-decay",
    "initial_accumulator_value": "--initial-accumulator-value",
}

#: option (argparse dest) → default; options default to None in argparse so that we know which
#: ones were given (for --resume)
DEFAULTS = {
    "hidden": (100, 100, 100, 100),
    "activation": "relu",
    "init": "he",
    "init_value": None,
    "batch_norm": False,
    "bn_convention": "torch",
    "dropout": 0.0,
    "dropout_convention": "inverted",
    "weight_decay": 0.0,
    "weight_decay_kind": "l2",
    "dtype": "float32",
    "optimizer": "adam",
    "convention": "torch",
    "epochs": 20,
    "batch_size": 100,
    "sampling": "epoch",
    "eval_samples": None,
    "seed": 0,
    "checkpoint_every": 1,
    "dataset": "mnist",
    "data_dir": None,
    "train_size": None,
    "val_fraction": 0.0,
}

#: optimizer hyperparameter → argparse dest (the model's --weight-decay owns "weight_decay")
HP_DESTS = {hp: ("opt_weight_decay" if hp == "weight_decay" else hp) for hp in HP_OPTIONS}

#: options that may change on --resume
RESUME_MAY_CHANGE = {"epochs"}

#: words in ModelSpec / TrainConfig / optimizer / split error messages → the option to name
MESSAGE_OPTIONS = [
    (r"^hidden_sizes\b", "--hidden"),
    (r"^unknown activation\b", "--activation"),
    (r"initialiser|^init\b", "--init"),
    (r"batch-norm convention", "--bn-convention"),
    (r"dropout convention", "--dropout-convention"),
    (r"^dropout\b", "--dropout"),
    (r"weight-decay kind", "--weight-decay-kind"),
    (r"^weight_decay\b", "--weight-decay"),
    (r"dtype", "--dtype"),
    (r"^epochs\b", "--epochs"),
    (r"^batch_size\b|batch_size=", "--batch-size"),
    (r"^checkpoint_every\b", "--checkpoint-every"),
    (r"optimizer convention", "--convention"),
    (r"^unknown optimizer\b", "--optimizer"),
    (r"^unknown sampling\b", "--sampling"),
    (r"^eval_samples\b", "--eval-samples"),
    (r"^seed\b", "--seed"),
    (r"^train_size\b", "--train-size"),
    (r"^val_fraction\b", "--val-fraction"),
]


# -- argument types ---------------------------------------------------------------------------
def hidden_sizes(text: str) -> tuple[int, ...]:
    """'100,100,100' → (100, 100, 100); '' or 'none' → () (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return ()
    parts = text.split(",")
    try:
        sizes = tuple(int(p) for p in parts)
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(
            f"expected comma-separated layer sizes >= 1 such as 100,100,100 (or 'none'), got {text!r}")
    return sizes


def _number(kind, low=None, low_open=False, high=None, high_open=False):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, "
                                             f"got {text!r}") from None
        bad = isinstance(value, float) and not math.isfinite(value)
        bad = bad or (low is not None and (value <= low if low_open else value < low))
        bad = bad or (high is not None and (value >= high if high_open else value > high))
        if bad:
            lo = "" if low is None else f"{'>' if low_open else '>='} {low}"
            hi = "" if high is None else f"{'<' if high_open else '<='} {high}"
            rng = " and ".join(x for x in (lo, hi) if x)
            raise argparse.ArgumentTypeError(f"must be a finite number {rng}, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


positive_float = _number(float, 0, low_open=True)
nonneg_float = _number(float, 0)
unit_float = _number(float, 0, high=1, high_open=True)
positive_int = _number(int, 1)
nonneg_int = _number(int, 0)


class _NesterovFlag(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        parser.error("--nesterov: Nesterov momentum is its own optimizer; use --optimizer nesterov")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    S = argparse.SUPPRESS

    m = parser.add_argument_group("model")
    m.add_argument("--hidden", type=hidden_sizes, metavar="N,N,...",
                   help="hidden layer sizes (default 100,100,100,100; 'none' for no hidden layer)")
    m.add_argument("--activation", choices=list(ACTIVATIONS), help="hidden activation (default relu)")
    inits = list(INITIALIZERS) + list(ALIASES) + list(BOOK_ALIASES)
    m.add_argument("--init", metavar="NAME|STD",
                   help=f"weight initialiser: {', '.join(inits)}, or a number = std of N(0, std²) "
                        f"(default he = he_normal)")
    m.add_argument("--init-value", type=nonneg_float, metavar="X",
                   help="the std of --init normal or the value of --init constant")
    m.add_argument("--batch-norm", action="store_const", const=True, help="batch normalisation after each hidden affine")
    m.add_argument("--bn-convention", choices=list(BN_CONVENTIONS), help="batch-norm eps/running-var convention (default torch)")
    m.add_argument("--dropout", type=unit_float, metavar="P", help="dropout probability in [0, 1) after each hidden activation (default 0)")
    m.add_argument("--dropout-convention", choices=list(DROPOUT_CONVENTIONS), help="inverted (torch, default) or classic (the book)")
    m.add_argument("--weight-decay", type=nonneg_float, metavar="λ",
                   help="the model's weight decay: L2 adds ½λ‖W‖² to the loss (the book's), L1 λ‖W‖₁ (default 0)")
    m.add_argument("--weight-decay-kind", choices=list(WEIGHT_DECAY_KINDS), help="l2 (default) or l1")
    m.add_argument("--dtype", choices=["float32", "float64"], help="parameter dtype (default float32)")

    o = parser.add_argument_group("optimizer (only the chosen optimizer's hyperparameters are accepted)")
    o.add_argument("--optimizer", choices=list(OPTIMIZERS), help="default adam")
    o.add_argument("--convention", choices=list(CONVENTIONS),
                   help="torch (default): torch.optim defaults and numerics; book: the book's code")
    o.add_argument("--lr", type=positive_float, help="learning rate (default: the optimizer's)")
    o.add_argument("--momentum", type=unit_float, help="momentum, nesterov, rmsprop (torch)")
    o.add_argument("--dampening", type=unit_float, help="momentum, nesterov (torch; nesterov needs 0)")
    o.add_argument("--b1", type=unit_float, help="adam, adamw")
    o.add_argument("--b2", type=unit_float, help="adam, adamw")
    o.add_argument("--eps", type=nonneg_float, help="adagrad, rmsprop, adam, adamw (torch)")
    o.add_argument("--alpha", type=unit_float, help="rmsprop's decay rate")
    o.add_argument("--opt-weight-decay", dest="opt_weight_decay", type=nonneg_float, metavar="λ",
                   help="the optimizer's own weight decay (coupled g+λθ; adamw: decoupled); not --weight-decay")
    o.add_argument("--amsgrad", action="store_const", const=True, help="adam, adamw (torch)")
    o.add_argument("--centered", action="store_const", const=True, help="rmsprop (torch)")
    o.add_argument("--lr-decay", type=nonneg_float, help="adagrad (torch)")
    o.add_argument("--initial-accumulator-value", type=nonneg_float, metavar="X", help="adagrad (torch)")
    o.add_argument("--nesterov", nargs=0, action=_NesterovFlag, help=S)

    t = parser.add_argument_group("training")
    t.add_argument("--epochs", type=nonneg_int, help="whole epochs (default 20)")
    t.add_argument("--batch-size", type=positive_int, help="mini-batch size (default 100)")
    t.add_argument("--sampling", choices=["epoch", "replacement"],
                   help="epoch: shuffled whole epochs (default); replacement: the book's np.random.choice batches")
    t.add_argument("--eval-samples", type=positive_int, metavar="K",
                   help="evaluate each split on its first K samples each epoch (default: all)")
    t.add_argument("--seed", type=nonneg_int, help="one seed for weights, batch order, dropout, split (default 0)")
    t.add_argument("--checkpoint-every", type=positive_int, metavar="E", help="checkpoint every E epochs (default 1)")

    d = parser.add_argument_group("data")
    from ..data import DATASETS

    d.add_argument("--dataset", choices=list(DATASETS), help="default mnist (bundled)")
    d.add_argument("--data-dir", metavar="DIR", help="a folder with the four IDX files (MNIST layout) instead")
    d.add_argument("--train-size", type=positive_int, metavar="N", help="train on the first N training samples")
    d.add_argument("--val-fraction", type=unit_float, metavar="F",
                   help="hold out this fraction of the training samples (seeded) as validation (default 0)")

    r = parser.add_argument_group("output")
    r.add_argument("--out", metavar="DIR", help="output folder (default runs/train-YYYYmmdd-HHMMSS)")
    r.add_argument("--resume", action="store_true", help="continue from --out's checkpoint")
    r.add_argument("-v", "--verbose", action="count", default=0, help="more output (-v: a line per epoch)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar: only the final summary")


# -- resolving options ------------------------------------------------------------------------
def _given(args) -> dict:
    """The options given on the command line (argparse defaults are None): model/training/data
    options by name, optimizer hyperparameters as ``"hp.<name>"``."""
    out = {key: getattr(args, key) for key in DEFAULTS if getattr(args, key, None) is not None}
    for hp, dest in HP_DESTS.items():
        if getattr(args, dest, None) is not None:
            out[f"hp.{hp}"] = getattr(args, dest)
    return out


def _option_name(key: str) -> str:
    if key.startswith("hp."):
        return HP_OPTIONS[key[3:]]
    return "--" + key.replace("_", "-")


def _resolve(given: dict) -> dict:
    """All options: DEFAULTS overlaid with the given ones (JSON-friendly values)."""
    opts = dict(DEFAULTS)
    opts["hp"] = {}
    for key, value in given.items():
        if key.startswith("hp."):
            opts["hp"][key[3:]] = value
        else:
            opts[key] = value
    opts["hidden"] = list(opts["hidden"])
    if opts["data_dir"] is not None:
        opts["data_dir"] = str(Path(opts["data_dir"]).expanduser().resolve())
    return opts


def _usage_from(exc: Exception, default_option: str | None = None) -> UsageError:
    msg = str(exc)
    for pattern, option in MESSAGE_OPTIONS:
        if re.search(pattern, msg):
            return UsageError(f"{option}: {msg}")
    return UsageError(f"{default_option}: {msg}" if default_option else msg)


def _optimizer_params(opts: dict) -> dict:
    """The chosen optimizer's hyperparameters, defaults filled in; unknown ones are usage errors."""
    name, convention = opts["optimizer"], opts["convention"]
    accepted = OPTIMIZERS[name].DEFAULTS[convention]
    for hp in opts["hp"]:
        if hp not in accepted:
            takers = [o if hp in cls.DEFAULTS["book"] else f"{o} (torch convention)"
                      for o, cls in OPTIMIZERS.items() if hp in cls.DEFAULTS["torch"]]
            ok = ", ".join(HP_OPTIONS[k] for k in accepted)
            raise UsageError(
                f"{HP_OPTIONS[hp]} is not a hyperparameter of {name} with --convention {convention} "
                f"(which accepts {ok}); {HP_OPTIONS[hp]} is accepted by: {', '.join(takers) or 'none'}")
    params = dict(accepted)
    params.update(opts["hp"])
    # check the values here, where we can name the option
    import numpy as np

    from ..optim import make_optimizer

    try:
        make_optimizer(name, (np.zeros(1), np.zeros(1)), convention, **params)
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        for hp in sorted(params, key=len, reverse=True):
            if msg.startswith(hp + " ") or f" {hp} " in msg:
                raise UsageError(f"{HP_OPTIONS[hp]}: {msg}") from None
        raise UsageError(f"--optimizer {name}: {msg}") from None
    return params


def _build_spec(opts: dict, input_size: int, output_size: int) -> ModelSpec:
    init = opts["init"]
    try:
        resolve_init(init)
        return ModelSpec(
            input_size=input_size, hidden_sizes=tuple(opts["hidden"]), output_size=output_size,
            activation=opts["activation"], init=init, init_value=opts["init_value"],
            batch_norm=bool(opts["batch_norm"]), bn_convention=opts["bn_convention"],
            dropout=float(opts["dropout"]), dropout_convention=opts["dropout_convention"],
            weight_decay=float(opts["weight_decay"]), weight_decay_kind=opts["weight_decay_kind"],
            dtype=opts["dtype"])
    except (ValueError, TypeError) as exc:
        raise _usage_from(exc) from None


def _build_config(opts: dict, optimizer_params: dict):
    from ..trainer import TrainConfig

    try:
        return TrainConfig(
            epochs=opts["epochs"], batch_size=opts["batch_size"], optimizer=opts["optimizer"],
            optimizer_params=optimizer_params, convention=opts["convention"], sampling=opts["sampling"],
            eval_samples=opts["eval_samples"], seed=opts["seed"], checkpoint_every=opts["checkpoint_every"])
    except (ValueError, TypeError) as exc:
        raise _usage_from(exc) from None


def _load_data(opts: dict):
    import numpy as np

    from ..data import DataError, load_mnist, split_train_val
    from ..trainer import Data

    try:
        (x_train, t_train), (x_test, t_test) = load_mnist(data_dir=opts["data_dir"])
    except DataError as exc:
        if opts["data_dir"] is not None:
            raise UsageError(f"--data-dir: {exc}") from None
        raise
    try:
        s = split_train_val(x_train, t_train, train_size=opts["train_size"],
                            val_fraction=float(opts["val_fraction"]), rng_or_seed=opts["seed"])
    except (ValueError, TypeError) as exc:
        raise _usage_from(exc) from None
    num_classes = int(max(t_train.max(), t_test.max())) + 1
    data = Data(s.x_train, s.t_train, s.x_val if s.has_val else None, s.t_val if s.has_val else None,
                x_test, t_test)
    info = {"dataset": opts["dataset"] if opts["data_dir"] is None else "idx", "data_dir": opts["data_dir"],
            "n_train": int(len(s.x_train)), "n_val": int(len(s.x_val)), "n_test": int(len(x_test)),
            "input_size": int(np.prod(x_train.shape[1:])), "num_classes": num_classes}
    return data, info


# -- outputs ------------------------------------------------------------------------------------
def _write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, allow_nan=True) + "\n")


def _metrics(trainer) -> dict:
    history = trainer.history
    last = history.last
    out = {
        "status": history.status,
        "message": history.message,
        "epochs_completed": max(len(history.epochs) - 1, 0),
        "iterations": len(history.iter_loss),
        "wall_time_s": trainer.elapsed(),
        "final": dict(last),
    }
    for key in ("train_acc", "val_acc", "test_acc", "train_loss", "val_loss", "test_loss"):
        if key in last:
            out[key] = last[key]
    if any("val_acc" in r for r in history.epochs):
        best = max(history.epochs, key=lambda r: r.get("val_acc", -1))
        out["best_val_acc"] = best["val_acc"]
        out["best_val_epoch"] = best["epoch"]
    return out


def _write_outputs(out: Path, trainer) -> dict:
    h = trainer.history
    atomic_write_text(out / "history.json", h.to_json() + "\n")
    atomic_write_text(out / "history.csv", h.to_csv())
    metrics = _metrics(trainer)
    _write_json(out / "metrics.json", metrics)
    return metrics


class _OutputWriter:
    """Rewrites history.json/.csv after every epoch, so a running or killed run can be inspected."""

    def __init__(self, out: Path):
        self.out = out

    def on_epoch_end(self, trainer, record):
        atomic_write_text(self.out / "history.json", trainer.history.to_json() + "\n")
        atomic_write_text(self.out / "history.csv", trainer.history.to_csv())


class _StepDelay:
    """Test hook: sleep after each step (env TRAINLAB_TRAIN_STEP_DELAY seconds), so a test can kill
    a small run mid-epoch. Changes no number."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_step_end(self, trainer, loss):
        time.sleep(self.seconds)


def _default_out() -> Path:
    base = Path("runs") / f"train-{datetime.now():%Y%m%d-%H%M%S}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def _stored_options(out: Path) -> dict | None:
    path = out / "config.json"
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())["options"]
    except (ValueError, KeyError, OSError) as exc:
        raise UsageError(f"--resume: {path} is unreadable ({exc})") from None


def _check_resume(stored: dict, opts: dict, given: dict) -> dict:
    """Options for a resumed run: the stored ones, with --epochs (and only that) changeable."""
    diffs = []
    for key in given:
        if key in RESUME_MAY_CHANGE:
            continue
        if key.startswith("hp."):
            theirs, ours = stored.get("hp", {}).get(key[3:]), opts["hp"].get(key[3:])
        else:
            theirs, ours = stored.get(key), opts.get(key)
        if theirs != ours:
            diffs.append(f"{_option_name(key)} (checkpoint: {_fmt(theirs)}, given: {_fmt(ours)})")
    if diffs:
        raise UsageError("--resume: these options differ from the checkpoint's: " + "; ".join(diffs)
                         + ". Resume with the original options (only --epochs may change), "
                           "or use another --out.")
    merged = dict(stored)
    for key in RESUME_MAY_CHANGE:
        if key in given:
            merged[key] = given[key]
    return merged


def _fmt(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, list):
        return ",".join(map(str, value))
    return str(value)


def _summary(metrics: dict, out: Path, resumed_from: int | None) -> str:
    lines = []
    status = metrics["status"]
    head = f"{status}: {metrics['epochs_completed']} epoch(s), {metrics['iterations']} updates, " \
           f"{metrics['wall_time_s']:.1f} s"
    if resumed_from is not None:
        head += f" (resumed from epoch {resumed_from})"
    lines.append(head)
    final = metrics["final"]
    parts = []
    for split in ("train", "val", "test"):
        if f"{split}_acc" in final:
            parts.append(f"{split} acc {final[f'{split}_acc']:.4f} loss {final[f'{split}_loss']:.4f}")
    if parts:
        lines.append(f"last evaluation (epoch {final['epoch']}): " + " | ".join(parts))
    if "test_acc" in final:
        lines.append(f"test accuracy: {100 * final['test_acc']:.2f}% (epoch {final['epoch']})")
    lines.append(f"wrote {out}: config.json history.json history.csv metrics.json {CHECKPOINT_NAME}")
    return "\n".join(lines)


# -- the command ----------------------------------------------------------------------------------
def run(args) -> int:
    from ..callbacks import progress_callbacks
    from ..data import DataError
    from ..trainer import Trainer

    given = _given(args)
    opts = _resolve(given)
    if args.out is None:
        if args.resume:
            raise UsageError("--resume needs --out DIR, the folder of the run to continue")
        out = _default_out()
    else:
        out = Path(args.out)
    ckpt = out / CHECKPOINT_NAME
    resumed_from = None
    if args.resume:
        stored = _stored_options(out)
        if stored is not None:
            opts = _check_resume(stored, opts, given)
        elif ckpt.exists():
            raise UsageError(f"--resume: {out} has a checkpoint but no config.json")
    if opts["optimizer"] not in OPTIMIZERS:  # from an edited config.json
        raise UsageError(f"--optimizer: unknown optimizer {opts['optimizer']!r}")

    # validate every option before loading data or writing anything
    params = _optimizer_params(opts)
    config = _build_config(opts, params)
    _build_spec(opts, 1, 2)  # the real sizes come from the data
    if not args.resume and ckpt.exists():
        raise UsageError(f"--out: {out} already holds a run ({CHECKPOINT_NAME}); "
                         f"add --resume to continue it or choose another --out")
    if args.resume and not ckpt.exists():
        print(f"trainlab train: no checkpoint in {out} yet; starting from the beginning", file=sys.stderr)
    try:
        data, info = _load_data(opts)
    except DataError as exc:  # the bundled data is damaged: not a usage error
        print(f"trainlab train: error: {exc}", file=sys.stderr)
        return 1
    spec = _build_spec(opts, info["input_size"], info["num_classes"])

    verbosity = 0 if args.quiet else min(1 + args.verbose, 2)
    callbacks = progress_callbacks(verbosity)
    delay = float(os.environ.get("TRAINLAB_TRAIN_STEP_DELAY", "0") or 0)
    if delay > 0:
        callbacks.append(_StepDelay(delay))
    callbacks.append(_OutputWriter(out))
    try:
        trainer = Trainer(spec, data, config, callbacks=callbacks, out_dir=out)
    except (ValueError, TypeError) as exc:
        raise _usage_from(exc, "--batch-size") from None

    if args.resume and ckpt.exists():
        try:
            trainer.restore(ckpt)
        except ValueError as exc:
            raise UsageError(f"--resume: {exc}") from None
        resumed_from = trainer.epoch

    out.mkdir(parents=True, exist_ok=True)
    from .. import __version__

    _write_json(out / "config.json", {
        "command": "train",
        "trainlab_version": __version__,
        "model": spec.to_dict(),
        "training": config.to_dict(),
        "data": info,
        "options": opts,
    })
    if args.verbose >= 2:
        print(f"data: {info['n_train']} train, {info['n_val']} validation, {info['n_test']} test samples; "
              f"model {'-'.join(map(str, spec.sizes))}; {trainer.iters_per_epoch} updates/epoch",
              file=sys.stderr)

    try:
        history = trainer.train()
    except KeyboardInterrupt:
        metrics = _write_outputs(out, trainer)
        print(_summary(metrics, out, resumed_from), file=sys.stderr)
        print(f"trainlab train: {trainer.history.message}; continue with: "
              f"trainlab train --out {out} --resume", file=sys.stderr)
        return 130
    metrics = _write_outputs(out, trainer)
    print(_summary(metrics, out, resumed_from))
    if history.status == "diverged":
        print(f"trainlab train: training diverged: {history.message}. The history up to that point is "
              f"saved in {out} with status 'diverged'; the checkpoint holds the last good epoch.",
              file=sys.stderr)
        return 1
    return 0
