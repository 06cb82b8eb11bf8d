"""One ``trainlab search`` from a checked configuration to its run record.

    RUN_DIR/run.json        kind "search": the resolved configuration, status, seed, data, executor, …
    RUN_DIR/summary.json    counts, best trial, Best-20, good ranges, epochs trained, stages, test,
                            the book's statistics and table (``per_seed``, ``tables``)
    RUN_DIR/claims.json     the book's claims (:func:`trainlab.search.book.claims`), marked not
                            applicable when the search is not the book's configuration (which
                            settings differ: :func:`trainlab.search.book.differences`)
    RUN_DIR/figures/        best_trials (the top 20's curves), scatter, and Optuna's own plots
                            (:mod:`.optuna_plots`), PNG and SVG; run.json's ``figure_captions`` say
                            what each shows, ``figures_skipped`` why a plot was not drawn
    RUN_DIR/trials/trial-NNNN/  each trial, a run record of kind "trial"
    RUN_DIR/study.journal   Optuna's journal: the study, which --resume continues
    RUN_DIR/trials.json|.csv, stages.json, best.txt, test.json   (:mod:`.results`)
    RUN_DIR/.lock           held while the search runs: a second search on the folder is refused

Every number printed goes through :func:`.numbers.fmt` (three significant figures). The last line
tells how to open the study in optuna-dashboard, which reads the journal file directly.

The record's lock is taken before anything is written; each trial's record is written as the
trial ends, so a killed search keeps every finished trial, and ``--resume`` continues it
(:meth:`trainlab.search.study.Search.repair`).
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

from ..record import RunRecord
from .book import BOOK, book_table, claims, differences, search_stats
from .numbers import fmt
from .results import best_k_lines, format_range, summarize, trial_label, write_tables, write_trial
from .journal import JournalError, recover
from .study import JOURNAL_NAME, Search

__all__ = ["open_record", "SearchRun", "TITLE", "BOOK_SECTION", "dashboard_line"]

TITLE = "Hyperparameter search (book §6.5) on Optuna"
BOOK_SECTION = "§6.5.3, Fig 6-24"


def open_record(out, config, arrays, *, resume: bool = False, overwrite: bool = False) -> RunRecord:
    """The search's run record in ``out``, locked (RunExists / RunLocked say why not)."""
    spec = config.data_spec()
    return RunRecord.create(out, "search", Path(out).name, config.to_dict(), overwrite=overwrite, resume=resume,
                            title=TITLE, book_section=BOOK_SECTION, book_script="hyperparameter_optimization.py",
                            book=BOOK, seeds=[config.seed], data=spec.describe(arrays))


def _remove_stale_journal_lock(folder: Path) -> bool:
    """A search killed while writing the journal leaves Optuna's lock file; the record's lock says
    nobody else uses the folder, so remove it rather than wait for Optuna's 30 s grace period."""
    lock = folder / f"{JOURNAL_NAME}.lock"
    if lock.is_symlink() or lock.exists():
        lock.unlink(missing_ok=True)
        return True
    return False


def dashboard_line(journal: Path) -> str:
    """How to open the study in optuna-dashboard (not a TrainLab dependency): given a path to an
    existing file that is not SQLite, optuna-dashboard opens it as a JournalStorage file."""
    return (f"open the study in optuna-dashboard: pip install optuna-dashboard && "
            f"optuna-dashboard {shlex.quote(str(journal))}")


def _states(states: dict) -> str:
    """``5 complete, 1 pruned, 0 failed`` from summary.json's ``states``."""
    words = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed"}
    return ", ".join(f"{states.get(state, 0)} {word}" for state, word in words.items())


class SearchRun:
    """Runs the search of ``config`` on ``executor`` into ``record`` (created by :func:`open_record`)."""

    def __init__(self, config, record: RunRecord, executor, arrays, log=print, verbose: bool = True):
        self.config, self.record, self.executor, self.arrays = config, record, executor, arrays
        self.log, self.verbose = log, verbose

    def _trial_done(self, row: dict) -> None:
        write_trial(self.record, row, self.config, self.arrays)

    def run(self, resume: bool = False) -> int:
        """0 when a trial completed, 1 when none did; Ctrl-C/SIGTERM finish the record as interrupted
        and propagate."""
        config, record, say = self.config, self.record, self.log
        say(f"search: {config.total_trials} trials, {config.stages} stage(s), {config.sampler} sampler, "
            f"pruner {config.pruner}, seed {config.seed}, on {self.executor.describe()}; run directory {record.path}")
        if resume:
            if _remove_stale_journal_lock(record.path):
                say(f"resume: removed the journal lock left by the stopped search ({JOURNAL_NAME}.lock)")
            try:
                repaired = recover(record.path / JOURNAL_NAME)
            except JournalError as exc:
                record.finish("interrupted", str(exc))  # as it was: nothing of it is changed
                raise
            if repaired:
                say(repaired)
        search = Search(config, self.executor, journal=record.path / JOURNAL_NAME, log=say, verbose=self.verbose,
                        on_trial=self._trial_done)
        record.update(executor=self.executor.describe(), workers=self.executor.capacity)
        try:
            if resume:
                fixed = search.repair()
                if fixed:
                    say(f"resume: trial(s) {fixed} were running when the search stopped; marked failed, run again")
            t0 = time.perf_counter()
            trials = search.run()
            search_s = time.perf_counter() - t0
        except KeyboardInterrupt:
            self._write_trials(search)
            record.finish("interrupted", f"interrupted; continue with: trainlab search --out {record.path} --resume")
            raise
        except BaseException as exc:
            record.finish("crashed", f"{type(exc).__name__}: {exc}")
            raise
        with record:  # an error from here on leaves the record 'crashed'
            return self._finish(search, trials, search_s)

    def _write_trials(self, search) -> list[dict]:
        """Every trial's tables and the records a kill may have missed (or left half written)."""
        from .study import trial_rows

        trials = trial_rows(search.study)
        for row in trials:
            if row["state"] in ("RUNNING", "WAITING"):
                continue
            folder = self.record.path / "trials" / trial_label(row["number"])
            done = RunRecord.open(folder).status if (folder / "run.json").is_file() else None
            if done in (None, "running") or (row["interrupted"] and done != "interrupted"):
                write_trial(self.record, row, self.config, self.arrays)
        write_tables(self.record, trials, search.stages)
        return trials

    def _test(self, best: dict) -> dict:
        """The best configuration retrained and evaluated once on the test set (kept across resumes)."""
        from .objective import retrain_and_test

        previous = self.record.read_json("test.json")
        if isinstance(previous, dict) and previous.get("params") == best["params"]:
            return previous  # evaluated once already
        test = retrain_and_test(self.config, best["params"], best["train_seed"])
        test["trial"] = best["number"]
        self.record.write_json("test.json", test)
        return test

    def _finish(self, search, trials, search_s: float) -> int:
        config, record, say = self.config, self.record, self.log
        self._write_trials(search)
        lines = best_k_lines(trials)
        say("\n".join(lines[:5]) if lines else "no trial completed")
        test = None
        if lines:
            best = summarize(config, trials, search.stages, None, {})["best"]
            test = self._test(best)
            say(f"best configuration (trial {best['number']}) retrained: val acc {fmt(test['val_acc'])}, "
                f"test acc {fmt(test['test_acc'])} (evaluated once on {test['n_test']} test samples)")
        stats = search_stats(trials, seed=config.seed)
        summary = summarize(config, trials, search.stages, test,
                            {"search_seconds": round(search_s, 2), "workers": self.executor.capacity,
                             "executor": type(self.executor).__name__, "per_seed": [stats],
                             "tables": [book_table(stats)] if stats["best"] else []})
        for name, rng in summary["good_ranges"].items():
            say(f"good range ({summary['good_ranges_from']}): {name} {format_range(rng)}")
        fraction = f" ({fmt(100 * summary['epoch_fraction'])}%)" if summary["epoch_fraction"] is not None else ""
        say(f"epochs trained: {summary['epochs_trained']} of {summary['epochs_full_search']}{fraction}; "
            f"trials {_states(summary['states'])}; search time {fmt(search_s)} s")
        differs = differences(config)
        summary["not_book_configuration"] = differs
        if differs:
            say("not the book's configuration, so the book's claims are not applicable: " + "; ".join(differs))
        found = claims([stats], test=test, differs=differs)
        for c in found:
            say(c.line(reason=False))
        record.write_json("summary.json", summary)
        record.write_claims(found)
        self._figures(trials, search)
        record.finish("completed" if lines else "failed", "" if lines else "no trial completed",
                      search_seconds=round(search_s, 2))
        say(f"wrote {record.path}")
        say(dashboard_line(record.path / JOURNAL_NAME))
        return 0 if lines else 1

    def _figures(self, trials, search) -> None:
        """The book's figures and Optuna's, their captions, and why any Optuna plot was not drawn."""
        from .figures import CAPTIONS, make_figures
        from .optuna_plots import CAPTIONS as OPTUNA_CAPTIONS, optuna_figures

        config = self.config
        figures = make_figures(config, trials, search.stages)
        varied = sum(1 for p in config.space.values() if not p.distribution().single())
        drawn, skipped = optuna_figures(search.study, varied)
        names = self.record.write_figures({**figures, **drawn})
        captions = {**CAPTIONS, **OPTUNA_CAPTIONS}
        self.record.update(figure_captions={n: captions[n] for n in names if n in captions},
                           figures_skipped=skipped)
        for name, why in skipped.items():
            self.log(f"figure {name} not drawn: {why}")
