"""Train one MLP on MNIST (or any four-file IDX dataset) and write its run record.

Shows a progress bar on a terminal (nothing off a terminal), prints a final summary (test
accuracy, time, status) and writes the run record into --out (see 'trainlab report', 'compare'):

  run.json        kind train: the resolved model, training (every optimizer hyperparameter, defaults
                  filled in) and data options, status, times
  history.json    per-iteration loss, per-epoch loss/accuracy per split and lr (rewritten every
                  epoch); where early stopping stopped and which epoch's weights were restored
  history.csv     the per-epoch records as a table
  summary.json    final and best metrics, stopped_epoch, restored_epoch
  figures/curves.png|svg  loss and accuracy per epoch; with --diagnostics also diagnostics.png|svg
                  (per-layer heat maps) and, with hist:…, activation_histograms.png|svg
  checkpoint.npz  parameters, BN statistics, optimizer state, lr schedule and early-stopping state
                  (best weights), random states, epoch, history (written atomically after every
                  epoch; --resume continues from it)

Exit codes: 0 completed; 1 diverged (loss became NaN/inf: training stops, the history so far is
kept with status "diverged"), the data could not be read, or the output could not be written;
2 bad option or value (nothing written); 130 interrupted (Ctrl-C or SIGTERM: the outputs so far
are written with status "interrupted"; --resume continues).
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

from ..checkpoint import CHECKPOINT_NAME
from ..cli import UsageError
from ..data import DataSpec
from ..model import ModelSpec
from ..options import add_options, flags, given, usage_message
from ..trainer import TrainConfig
from ..validate import ConfigError
from . import hyperparameters as hp

HELP = "train one MLP on MNIST with a progress bar; writes a run record (history, curves, checkpoint)"

EPILOG = """\
examples:
  trainlab train --optimizer adam --lr 0.001 --epochs 5 --batch-size 128 --out runs/adam5
  trainlab train --hidden 100,100 --activation sigmoid --init xavier --optimizer sgd --lr 0.1
  trainlab train --optimizer momentum --momentum 0.95 --convention book --batch-norm
  trainlab train --train-size 300 --epochs 200 --weight-decay 0.1 --dropout 0.2 --eval-samples 1000
  trainlab train --data-dir ~/data/fashion-mnist --out runs/fashion      # any IDX dataset
  trainlab train --out runs/adam5 --resume --epochs 10      # continue a run (same options)
  trainlab train --optimizer momentum --lr 0.1 --lr-schedule step:10:0.1 --epochs 30
  trainlab train --lr-schedule multistep:30,60:0.1 --epochs 90
  trainlab train --lr-schedule cosine:1000:1e-5 --schedule-every iteration --warmup 100 --warmup-factor 0.01
  trainlab train --lr-schedule plateau:0.5:3 --val-fraction 0.1        # halve lr when val_loss stalls
  trainlab train --early-stop val_loss:5:0.001:restore --val-fraction 0.1 --epochs 100
  trainlab train --optimizer sgd --lr 0.5 --clip-grad-norm 1.0          # or --clip-grad-value 0.1
  trainlab train --activation sigmoid --init 1 --diagnostics hist:0,5 --epochs 5   # per-layer diagnostics
  trainlab compare runs/adam5 runs/sgd5                     # its curves beside another run's

Only the hyperparameters of the chosen optimizer are accepted; omitted ones take that optimizer's
defaults under --convention ('trainlab list optimizers' shows them). --weight-decay is the model's
L2/L1 penalty (the book's ½λ‖W‖²); --opt-weight-decay is the optimizer's own (coupled, AdamW:
decoupled) decay. Nesterov momentum is its own optimizer: --optimizer nesterov.

Schedules follow torch.optim.lr_scheduler to the last bit (stepped after every epoch, or every update
with --schedule-every iteration; a warm-up's N steps come first and the schedule counts from N):
  step:STEP_SIZE[:GAMMA]  multistep:M1,M2,…[:GAMMA]  exp:GAMMA  cosine:T_MAX[:ETA_MIN]
  plateau[:FACTOR[:PATIENCE]] with keys monitor=val_loss|val_acc|train_loss|train_acc, mode=min|max,
  threshold, threshold_mode=rel|abs, cooldown, min_lr, eps (e.g. plateau:0.5:3:monitor=val_acc)
--early-stop METRIC:PATIENCE[:MIN_DELTA][:restore] stops when METRIC has not improved by more than
MIN_DELTA for PATIENCE epochs; restore ends with the best epoch's weights. The run is 'completed';
the summary says where it stopped. --diagnostics [on[:PROBE][:hist=E1,…] | hist:E1,…] adds to every
epoch record, per hidden layer, the activations' mean and std on a probe batch (the first 500
training samples), the saturated (sigmoid z<0.01 or >0.99, tanh |z|>0.99) or dead (ReLU) fraction,
and per weight matrix the gradient norm (epoch mean) and ‖ΔW‖/‖W‖; it does not change the training. Each epoch record holds its lr (and, when clipping, the mean and
max pre-clip gradient norm). With --convention book, Momentum's velocity keeps the old lr in its
past steps (v ← μv − ηg), torch's form applies a new lr to the whole step.

--resume continues the run in --out with its stored options; options given again must have their
stored values, except --epochs, which may grow. --overwrite replaces the run in --out.
-q prints only the final summary; -v adds one line per epoch; -vv also prints the data sizes.
"""

TRAIN_OPTIMIZER_FIELDS = ("optimizer", "convention")


class _NesterovFlag(argparse.Action):
    def __call__(self, parser, namespace, values, option_string=None):
        parser.error("--nesterov: Nesterov momentum is its own optimizer; use --optimizer nesterov")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    add_options(parser.add_argument_group("model"), ModelSpec, prefix="model.")
    o = parser.add_argument_group("optimizer (only the chosen optimizer's hyperparameters are accepted)")
    add_options(o, TrainConfig, prefix="training.", only=TRAIN_OPTIMIZER_FIELDS)
    hp.add_arguments(o)
    o.add_argument("--nesterov", nargs=0, action=_NesterovFlag, help=argparse.SUPPRESS)
    add_options(parser.add_argument_group("training"), TrainConfig, prefix="training.", skip=TRAIN_OPTIMIZER_FIELDS)
    add_options(parser.add_argument_group("data"), DataSpec, prefix="data.")
    r = parser.add_argument_group("output")
    r.add_argument("--out", metavar="DIR", help="the run's folder (default runs/train-YYYYmmdd-HHMMSS)")
    r.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    r.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    r.add_argument("-v", "--verbose", action="count", default=0, help="more output (-v: a line per epoch)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar: only the final summary")


def _flags(section: str | None = None) -> dict[str, str]:
    """field → flag of one section's class (``weight_decay`` is --weight-decay in the model and
    --opt-weight-decay among the optimizer's hyperparameters), or of all but the model's."""
    by_section = {"model": flags(ModelSpec), "training": {**hp.flags(), **flags(TrainConfig)},
                  "data": flags(DataSpec)}
    if section is not None:
        return by_section[section]
    return {**by_section["data"], **by_section["training"]}


def _config_error(exc: Exception, section: str | None = None) -> UsageError:
    return UsageError(usage_message(exc, _flags(section)))


# -- resolving the options ------------------------------------------------------------------------
def _given(args) -> dict[str, dict]:
    return {"model": given(args, ModelSpec, prefix="model."),
            "training": given(args, TrainConfig, prefix="training."),
            "hp": hp.given(args),
            "data": given(args, DataSpec, prefix="data.")}


def _check_resume(stored: dict, g: dict) -> dict:
    """Stored options for a resumed run; a given option must have its stored value (--epochs may change)."""
    diffs = []
    for section in ("model", "training", "data"):
        flags = _flags(section)
        for key, value in g[section].items():
            if section == "training" and key == "epochs":
                continue
            theirs = stored.get(section, {}).get(key)
            ours = value
            if section == "model" and key == "hidden_sizes":
                ours = list(value)
            elif section == "data" and key == "data_dir":
                ours = DataSpec(data_dir=value).data_dir
            if theirs != ours:
                diffs.append(f"{flags.get(key, key)} (stored: {_show(theirs)}, given: {_show(ours)})")
    for key, value in g["hp"].items():
        theirs = stored.get("training", {}).get("optimizer_params", {}).get(key)
        if theirs != value:
            diffs.append(f"{hp.flags()[key]} (stored: {_show(theirs)}, given: {_show(value)})")
    if diffs:
        raise UsageError("--resume: these options differ from the stored run's: " + "; ".join(diffs)
                         + ". Resume with the original options (only --epochs may change), or use another --out.")
    merged = {s: dict(stored.get(s, {})) for s in ("model", "training", "data")}
    if "epochs" in g["training"]:
        merged["training"]["epochs"] = g["training"]["epochs"]
    return merged


def _show(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, (list, tuple)):
        return ",".join(map(str, value))
    return str(value)


def _build(sections: dict):
    """``(ModelSpec with placeholder sizes, TrainConfig, DataSpec)``; usage errors name the flag."""
    built = {}
    for section, make in (("data", lambda d: DataSpec(**d)), ("training", lambda d: TrainConfig(**d)),
                          ("model", lambda d: ModelSpec(**{**d, "input_size": 1, "output_size": 2}))):
        try:
            built[section] = make(sections[section])
        except ConfigError as exc:
            raise _config_error(exc, section) from None
    return built["model"], built["training"], built["data"]


# -- the command ----------------------------------------------------------------------------------
def _default_out() -> Path:
    base = Path("runs") / f"train-{datetime.now():%Y%m%d-%H%M%S}"
    out, k = base, 1
    while out.exists():
        k += 1
        out = base.with_name(f"{base.name}-{k}")
    return out


def run(args) -> int:
    from ..data import DataError
    from ..record import RunRecord

    g = _given(args)
    if args.out is None and args.resume:
        raise UsageError("--resume needs --out DIR, the folder of the run to continue")
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in --out and --overwrite replaces it: give one of them")
    if args.quiet and args.verbose:
        raise UsageError("-q (only the final summary) and -v (more output) contradict each other: give one")
    out = _default_out() if args.out is None else Path(args.out)
    stored = None
    if args.resume and (out / "run.json").is_file():
        try:
            previous = RunRecord.open(out)
        except Exception as exc:
            raise UsageError(f"--resume: {exc}") from None
        if previous.kind != "train":
            raise UsageError(f"--resume: {out} holds a {previous.kind or 'damaged'} run, not a train run; "
                             f"choose the folder of a train run")
        stored = previous.config
    if stored:
        sections = _check_resume(stored, g)
    else:
        training = dict(g["training"])
        hp.check_accepted(g["hp"], training.get("optimizer", TrainConfig.optimizer),
                          training.get("convention", "torch"))
        training["optimizer_params"] = g["hp"]
        sections = {"model": g["model"], "training": training, "data": g["data"]}
    spec, config, data_spec = _build(sections)
    if args.resume and stored is None and (out / CHECKPOINT_NAME).exists():
        raise UsageError(f"--resume: {out} has a checkpoint but no run.json")
    try:
        arrays = data_spec.load(config.seed)
    except ConfigError as exc:
        raise _config_error(exc) from None
    except DataError as exc:
        if data_spec.data_dir is not None:
            raise UsageError(f"--data-dir: {exc}") from None
        print(f"trainlab train: error: {exc}", file=sys.stderr)  # the bundled data is damaged
        return 1
    try:
        spec = spec.replace(input_size=arrays.input_size, output_size=arrays.num_classes)
    except ConfigError as exc:
        raise _config_error(exc, "model") from None
    from .training import TrainRun

    job = TrainRun(out, spec, config, data_spec, arrays, quiet=args.quiet, verbose=args.verbose)
    job.prepare()  # usage errors (shapes, memory) before anything is written
    record = job.open_record(resume=args.resume, overwrite=args.overwrite)
    return job.train(record)
