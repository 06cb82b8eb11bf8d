"""The study: Optuna storage, samplers, pruners, and the staged search loop with resume.

Storage: ``RUN_DIR/study.journal``, Optuna's ``JournalStorage`` over a ``JournalFileBackend``: an
append-only log, safe across processes (file lock) and against a kill at any moment (a torn last
record is ignored on replay).

The search process asks and tells. Each trial carries ``user_attrs`` ``stage`` and ``index`` (its
place in the stage's plan), its per-epoch validation/training accuracy, the epochs trained, the
epoch it was pruned at and, for a failed trial, ``fail_reason``.

Samplers (seeded):

* ``random`` (the book's): each stage's trials are drawn up front in the search process with
  ``RandomSampler(seed = f(seed, stage))`` over the stage's ranges and enqueued in plan order, so the
  same seed gives the same trials whatever the number of workers or executor, and after a resume.
* ``tpe``: ``TPESampler(seed)`` asked one trial at a time. With one worker the same seed gives the
  same trials (TPE depends only on the finished trials, which are deterministic); with several
  workers TPE sees whichever trials finished first (constant liar for the running ones), so the
  trials depend on timing; after a resume the sampler's random state starts afresh.

Where: ``RUN_DIR/study.journal`` for ``trainlab search``; in memory (no file) for the ``search``
experiment, whose seed is one search in one process. Trials run on any executor of
:mod:`trainlab.executor` as ``evaluate(task)`` (:mod:`.objective`); a pruner needs every epoch
reported to the study while the trial runs, which workers do through the journal file, so pruning
needs a journal and an executor whose workers share this machine's files (``shares_files``).

Resume: a trial that was RUNNING (or WAITING) when the search was killed is marked FAIL with
``fail_reason`` "interrupted …" and ``interrupted`` = True, and its plan slot runs again as a new
trial; finished trials (complete, pruned, or failed by divergence) are kept and never repeated.
Narrowed ranges are recomputed from the finished stages, which gives the same ranges.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .config import SearchConfig
from .narrowing import narrow
from .objective import evaluate
from .space import Param

__all__ = ["open_study", "make_pruner", "make_sampler", "Search", "STUDY_NAME", "JOURNAL_NAME", "trial_rows",
           "trial_row", "trial_seed", "plan_stage"]

STUDY_NAME = "trainlab-search"
JOURNAL_NAME = "study.journal"
_OPEN: dict = {}


def make_pruner(name: str, epochs: int):
    """Optuna pruners on the per-epoch validation accuracy; the first rung is epochs/10 (5 of 50).

    median: MedianPruner(5 startup trials, warm-up epochs/10); halving: SuccessiveHalvingPruner
    (reduction 3: rungs 5, 15, 45 of 50); hyperband: HyperbandPruner(5..epochs, reduction 4, two
    brackets; reduction 3 gives three brackets and trained 55% of the epochs of the full book search
    against 38% with 4, for the same best trial).
    """
    import optuna

    first = max(1, epochs // 10)
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=first)
    if name == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=first, reduction_factor=3)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=first, max_resource=max(epochs, first + 1),
                                              reduction_factor=4)
    return optuna.pruners.NopPruner()


def make_sampler(name: str, seed: int):
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)


def _storage(journal: str):
    import optuna
    from optuna.storages.journal import JournalFileBackend

    return optuna.storages.JournalStorage(JournalFileBackend(str(journal)))


def open_study(journal, study_name=STUDY_NAME, pruner="none", pruner_args=None, sampler=None, create=False):
    """The study in ``journal`` (created with ``create``); cached per process for worker reuse."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    key = (str(journal), study_name, pruner, tuple(sorted((pruner_args or {}).items())))
    if not create and sampler is None and key in _OPEN:
        return _OPEN[key]
    storage = _storage(journal)
    pr = make_pruner(pruner, **(pruner_args or {"epochs": 50}))
    if create:
        study = optuna.create_study(storage=storage, study_name=study_name, direction="maximize",
                                    sampler=sampler, pruner=pr, load_if_exists=True)
    else:
        study = optuna.load_study(storage=storage, study_name=study_name, sampler=sampler, pruner=pr)
    if sampler is None:
        _OPEN[key] = study
    return study


def _stage_seed(seed: int, stage: int) -> int:
    return int(np.random.SeedSequence([seed, stage]).generate_state(1)[0])


def trial_seed(seed: int, stage: int, index: int) -> int:
    """The training seed of plan slot (stage, index): every trial has its own initial weights and
    batch order, as in the book, and the same slot always gets the same seed (resume, workers)."""
    return int(np.random.SeedSequence([seed, stage, index]).generate_state(1)[0] % 2**31)


def plan_stage(space: dict[str, Param], n: int, seed: int, stage: int) -> list[dict]:
    """``n`` parameter sets drawn with Optuna's seeded RandomSampler over ``space``."""
    import optuna

    scratch = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=_stage_seed(seed, stage)))
    dists = {name: p.distribution() for name, p in space.items()}
    return [dict(scratch.ask(dists).params) for _ in range(n)]


def trial_row(t) -> dict:
    """One Optuna trial (FrozenTrial) as a plain dict: params, curves, state, stage, failure reason."""
    ua = t.user_attrs
    return {
        "number": t.number,
        "stage": ua.get("stage"),
        "index": ua.get("index"),
        "state": t.state.name,
        "value": t.value if t.state.name == "COMPLETE" else None,
        "params": dict(t.params),
        "val_curve": ua.get("val_curve", [t.intermediate_values[k] for k in sorted(t.intermediate_values)]),
        "train_curve": ua.get("train_curve", []),
        "epochs_trained": ua.get("epochs_trained", len(t.intermediate_values)),
        "pruned_epoch": ua.get("pruned_epoch"),
        "fail_reason": ua.get("fail_reason", ""),
        "interrupted": bool(ua.get("interrupted", False)),
        "seconds": ua.get("seconds"),
        "train_seed": ua.get("train_seed"),
    }


def trial_rows(study) -> list[dict]:
    """Every trial of the study as a plain dict (:func:`trial_row`)."""
    return [trial_row(t) for t in study.get_trials(deepcopy=False)]


class Search:
    """Runs the staged search of ``config`` on ``executor``; the study lives in ``journal`` (a file,
    for resume and for workers that report epochs) or, with ``journal=None``, in memory.

    ``on_trial(row)`` is called in this process as each trial ends (the run record writes it);
    ``log`` gets a line per stage and, with ``verbose``, per trial.
    """

    def __init__(self, config: SearchConfig, executor, journal=None, log=None, verbose=True, on_trial=None):
        self.config, self.executor = config, executor
        self.log = log or (lambda text: None)
        self.verbose, self.on_trial = verbose, on_trial
        self.journal = Path(journal) if journal is not None else None
        self.pruner_args = {"epochs": config.epochs}
        # epochs are reported while the trial runs only when a pruner needs them; otherwise the
        # search process records the whole curve when the trial ends (fewer journal writes)
        self.live_reports = config.pruner != "none"
        if self.live_reports and (self.journal is None or not executor.shares_files):
            raise ValueError(f"pruner {config.pruner!r} needs every epoch reported to the study while the trial "
                             f"runs: a journal file that the workers share ({executor.describe()} do not)")
        sampler = make_sampler(config.sampler, config.seed)
        if self.journal is not None:
            self.study = open_study(self.journal, pruner=config.pruner, pruner_args=self.pruner_args,
                                    sampler=sampler, create=True)
        else:
            import optuna

            optuna.logging.set_verbosity(optuna.logging.WARNING)
            self.study = optuna.create_study(direction="maximize", sampler=sampler,
                                             pruner=make_pruner(config.pruner, config.epochs))
        self.stages: list[dict] = []
        self.repaired: list[int] = []

    # -- resume -----------------------------------------------------------------------------------
    def repair(self) -> list[int]:
        """Mark trials left RUNNING/WAITING by a killed search as failed (their slots run again)."""
        from optuna.trial import TrialState

        storage = self.study._storage
        fixed = []
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
            storage.set_trial_user_attr(t._trial_id, "fail_reason",
                                        "interrupted: the search was killed while this trial ran; it ran again")
            storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            fixed.append(t.number)
        self.repaired = fixed
        return fixed

    def _finished(self, stage: int) -> dict[int, dict]:
        out = {}
        for row in trial_rows(self.study):
            if row["stage"] == stage and row["state"] in ("COMPLETE", "PRUNED", "FAIL") and not row["interrupted"]:
                out.setdefault(row["index"], row)
        return out

    # -- one trial ----------------------------------------------------------------------------------
    def _ask(self, stage: int, index: int, space: dict[str, Param], plan):
        if plan is not None:
            self.study.enqueue_trial(plan[index], user_attrs={"stage": stage, "index": index})
            trial = self.study.ask()
        else:
            trial = self.study.ask()
            trial.set_user_attr("stage", stage)
            trial.set_user_attr("index", index)
        trial.set_user_attr("train_seed", trial_seed(self.config.seed, stage, index))
        params = {name: p.suggest(trial) for name, p in space.items()}
        return trial, params

    def _task(self, trial, params) -> dict:
        """What a worker needs to train the trial: JSON only (it may travel to another machine)."""
        task = {"config": self.config.to_dict(), "params": params, "number": trial.number,
                "train_seed": trial.user_attrs["train_seed"]}
        if self.live_reports:
            task["report"] = {"journal": str(self.journal), "study_name": STUDY_NAME,
                              "pruner": self.config.pruner, "pruner_args": self.pruner_args,
                              "trial_id": trial._trial_id}
        return task

    def _tell(self, trial, result: dict) -> dict:
        from optuna.trial import TrialState

        if not self.live_reports:  # the curve was not reported while the trial ran: record it now
            for epoch, v in enumerate(result["val_curve"], start=1):
                if math.isfinite(v):
                    trial.report(v, step=epoch)
        for key in ("val_curve", "train_curve"):
            trial.set_user_attr(key, [float(v) for v in result[key]])
        trial.set_user_attr("epochs_trained", result["epochs"])
        trial.set_user_attr("seconds", round(result["seconds"], 3))
        if result["state"] == "complete" and not math.isfinite(result["value"]):
            result = {**result, "state": "failed", "reason": f"validation accuracy is {result['value']}"}
        if result["state"] == "complete":
            self.study.tell(trial, result["value"])
        elif result["state"] == "pruned":
            trial.set_user_attr("pruned_epoch", result["pruned_epoch"])
            self.study.tell(trial, state=TrialState.PRUNED)
        else:
            trial.set_user_attr("fail_reason", result["reason"])
            self.study.tell(trial, state=TrialState.FAIL)
        return result

    def _describe(self, number, stage, params, result) -> str:
        from .numbers import fmt
        from .results import format_params

        if result["state"] == "complete":
            head = f"val acc:{fmt(result['value'])}"
        elif result["state"] == "pruned":
            head = f"pruned at epoch {result['pruned_epoch']}"
        else:
            head = f"failed ({result['reason'][:60]})"
        return f"trial {number:3d} [stage {stage + 1}] {head} | {format_params(params)}"

    def _run_stage(self, stage: int, n: int, space: dict[str, Param]) -> None:
        config = self.config
        plan = plan_stage(space, n, config.seed, stage) if config.sampler == "random" else None
        done = self._finished(stage)
        todo = [i for i in range(n) if i not in done]
        if done:
            self.log(f"  {len(done)} trial(s) of this stage already finished; running {len(todo)}")
        in_flight = {}
        while todo or in_flight:
            while todo and len(in_flight) < self.executor.capacity:
                trial, params = self._ask(stage, todo.pop(0), space, plan)
                in_flight[self.executor.submit(evaluate, self._task(trial, params))] = (trial, params)
            for fut in self.executor.wait(list(in_flight)):
                trial, params = in_flight.pop(fut)
                try:
                    result = fut.result()
                except Exception as exc:  # a worker crash: the trial fails, the search goes on
                    result = {"state": "failed", "reason": f"worker error: {type(exc).__name__}: {exc}",
                              "value": None, "val_curve": [], "train_curve": [], "epochs": 0,
                              "pruned_epoch": None, "seconds": 0.0}
                result = self._tell(trial, result)
                if self.verbose:
                    self.log("  " + self._describe(trial.number, stage, params, result))
                if self.on_trial is not None:
                    self.on_trial(trial_row(self.study._storage.get_trial(trial._trial_id)))

    # -- the loop ---------------------------------------------------------------------------------------
    def run(self) -> list[dict]:
        """Run every stage (skipping the trials a resumed search has finished); returns every trial."""
        config = self.config
        space = dict(config.space)
        counts = config.stage_counts()
        for stage, n in enumerate(counts):
            self.log(f"stage {stage + 1}/{len(counts)}: {n} trials over " + "; ".join(p.describe() for p in space.values()))
            self._run_stage(stage, n, space)
            rows = [r for r in trial_rows(self.study) if r["stage"] == stage and not r["interrupted"]]
            record = {"stage": stage + 1, "n_trials": n, "ranges": {k: p.to_dict() for k, p in space.items()},
                      "trials": [r["number"] for r in rows]}
            if stage < len(counts) - 1:
                space, top = narrow(space, config.space, rows, config.top_fraction, config.margin)
                record["top_trials"] = top
                record["next_ranges"] = {k: p.to_dict() for k, p in space.items()}
            self.stages.append(record)
        return trial_rows(self.study)
