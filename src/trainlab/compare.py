"""``trainlab compare``: the curves of any runs on one set of axes per metric.

A RUN is a run folder (:mod:`trainlab.record`), optionally followed by ``#PATTERN``: an
:func:`fnmatch.fnmatchcase` pattern on the labels of the run's curves (``RunRecord.histories()``:
a train run or trial by its own name, an experiment's ``variant/seed-K``, a search's trial names):

    runs/train-a  runs/optimizer-mnist#adam/*  runs/search#trial-000[12]

Every selected curve is drawn with :func:`trainlab.plots.overlay_figure`, one figure per metric
(default: the metrics all selected curves share among :data:`METRICS`). When several runs are
compared each label is prefixed with its run's name (``optimizer-mnist: adam/seed-0``; a train run
keeps its own name), and labels are made unique.

For each curve and metric the table holds the **final** value (the last finite one, with its epoch
or iteration) and the **best** (the largest accuracy, the smallest loss). ``iter_loss`` values are
those of the smoothed curve as drawn (the book's ``smooth_curve``). The configurations are
flattened to dotted keys (``training.lr``); only keys whose values differ between the compared
configurations are listed (a train run's or trial's own config, an experiment's config).

When some selected curves were recorded with diagnostics (:mod:`trainlab.diagnostics`), two more
figures show them per layer (:func:`trainlab.diagnostics_plots.compare_figures`): the gradient norm
of every weight matrix, and the dead (ReLU) or saturated (sigmoid, tanh) fraction of every hidden
layer, with a table of each curve's last value per layer.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import files
from .diagnostics_plots import COMPARE_FIGURES
from .plots import metric_series
from .record import RunError, RunRecord, is_run

__all__ = ["METRICS", "CompareError", "Source", "Curve", "parse_run_argument", "open_sources", "select_curves",
           "metrics_of", "choose_metrics", "curve_values", "flatten", "config_differences", "default_out",
           "prepare_out", "write_compare"]

#: the metrics a comparison can draw, in the order they are shown
METRICS = ("iter_loss", "train_loss", "val_loss", "test_loss", "train_acc", "val_acc", "test_acc")


class CompareError(ValueError):
    """A RUN, pattern, metric or output folder that cannot be used (the message says what exists)."""


@dataclass
class Source:
    """One RUN argument: the run it names and its pattern (None: every curve)."""

    argument: str
    record: RunRecord
    pattern: str | None
    name: str = ""  # how the run is named in labels and tables (unique among the compared runs)
    trials: dict[str, RunRecord] | None = field(default=None, repr=False)  # a search's, read once


@dataclass
class Curve:
    label: str  # unique, as shown
    source: Source
    curve: str  # the label within its run
    history: dict
    config_owner: str  # the configuration it was trained with (a key of the configs table)
    values: dict[str, dict] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """The curve's own kind: a search's curves are trials."""
        return "trial" if self.source.record.kind == "search" else self.source.record.kind


def parse_run_argument(argument: str) -> tuple[Path, str | None]:
    """``FOLDER`` or ``FOLDER#PATTERN``; a folder whose name holds '#' is taken whole when it exists."""
    if Path(argument).is_dir() or "#" not in argument:
        return Path(argument), None
    folder, _, pattern = argument.partition("#")
    while not Path(folder).is_dir() and "#" in pattern:  # a '#' in the folder's own name
        more, _, pattern = pattern.partition("#")
        folder += "#" + more
    return Path(folder), pattern or None


def open_sources(arguments: list[str]) -> list[Source]:
    """Every RUN opened; a missing folder, a folder that is no run, or an unreadable run.json raises."""
    sources = []
    for argument in arguments:
        path, pattern = parse_run_argument(argument)
        if not path.exists():
            raise CompareError(f"{path}: no such folder")
        if not path.is_dir():
            raise CompareError(f"{path} is a file, not a run folder")
        if not is_run(path):
            inside = [p.name for p in sorted(path.iterdir()) if is_run(p)][:8] if path.is_dir() else []
            hint = f"; the runs inside it: {', '.join(inside)}" if inside else ""
            try:
                RunRecord.open(path)
            except RunError as exc:
                raise CompareError(f"{exc}{hint}") from None
        try:
            sources.append(Source(argument, RunRecord.open(path), pattern))
        except RunError as exc:
            raise CompareError(str(exc)) from None
    _name_sources(sources)
    return sources


def _name_sources(sources: list[Source]) -> None:
    """A run's name, or its path where two different runs share a name."""
    by_path: dict[Path, str] = {}
    for s in sources:
        key = s.record.path.resolve()
        by_path.setdefault(key, s.record.name)
    same: dict[str, list[Path]] = {}
    for key, name in by_path.items():
        same.setdefault(name, []).append(key)
    for name, keys in same.items():
        for key in keys if len(keys) > 1 else ():
            by_path[key] = _short_path(key, keys)
    for s in sources:
        s.name = by_path[s.record.path.resolve()]


def _short_path(path: Path, others: list[Path]) -> str:
    """The fewest trailing parts of ``path`` that no other path in ``others`` ends with."""
    for n in range(1, len(path.parts) + 1):
        tail = Path(*path.parts[-n:])
        if all(o == path or Path(*o.parts[-n:]) != tail for o in others):
            return tail.as_posix()
    return path.as_posix()


def _clean(history: Any) -> dict | None:
    """The readable part of a history dict (numbers or null only), or None when it is not one."""
    if not isinstance(history, dict):
        return None
    iter_loss = history.get("iter_loss")
    epochs = history.get("epochs")
    iter_loss = [v if isinstance(v, (int, float)) and not isinstance(v, bool) else None
                 for v in iter_loss] if isinstance(iter_loss, list) else []
    records = [{k: v for k, v in r.items() if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))}
               for r in epochs if isinstance(r, dict)] if isinstance(epochs, list) else []
    return {"iter_loss": iter_loss, "epochs": records}


def _curves_of(source: Source) -> list[tuple[str, dict]]:
    try:
        return source.record.histories()
    except RunError as exc:
        raise CompareError(f"{source.record.path}: {exc}") from None


def _trials(source: Source) -> dict[str, RunRecord]:
    """A search's trial records by name (read once per run)."""
    if source.record.kind != "search":
        return {}
    if source.trials is None:
        try:
            source.trials = {t.name: t for t in source.record.children()}
        except RunError as exc:
            raise CompareError(f"{source.record.path}: {exc}") from None
    return source.trials


def select_curves(sources: list[Source]) -> list[Curve]:
    """The curves each RUN selects, labelled uniquely; a pattern that selects nothing raises."""
    several = len({s.name for s in sources}) > 1
    curves: list[Curve] = []
    seen: set[tuple[Path, str]] = set()
    for s in sources:
        available = _curves_of(s)
        if not available:
            raise CompareError(f"{s.record.path} ({s.record.kind or 'run'}) has no curves: no history.json, "
                               f"seeds/seed-K.json or trial histories")
        chosen = [(lbl, h) for lbl, h in available if s.pattern is None or fnmatch.fnmatchcase(lbl, s.pattern)]
        if not chosen:
            labels = [lbl for lbl, _ in available]
            shown = ", ".join(labels[:40]) + (f", … ({len(labels) - 40} more)" if len(labels) > 40 else "")
            raise CompareError(f"{s.argument}: the pattern {s.pattern!r} selects no curve of {s.record.path}; "
                               f"its curves are: {shown}")
        trials = _trials(s)
        for lbl, h in chosen:
            if (s.record.path.resolve(), lbl) in seen:
                continue
            seen.add((s.record.path.resolve(), lbl))
            clean = _clean(h)
            if clean is None:
                continue
            if lbl == s.record.name:  # a train run's or trial's own curve: its (unique) name
                shown = s.name
            else:
                shown = f"{s.name}: {lbl}" if several else lbl
            owner = f"{s.name}: {lbl}" if lbl in trials else s.name
            curves.append(Curve(shown, s, lbl, clean, owner))
    _unique_labels(curves)
    return curves


def _unique_labels(curves: list[Curve]) -> None:
    used: set[str] = set()
    for c in curves:
        base, k = c.label, 2
        while c.label in used:
            c.label, k = f"{base} ({k})", k + 1
        used.add(c.label)


def metrics_of(curves: list[Curve]) -> dict[str, int]:
    """How many of ``curves`` have each metric (in :data:`METRICS` order; absent ones left out)."""
    counts = {m: sum(len(metric_series(c.history, m)[1]) > 0 for c in curves) for m in METRICS}
    return {m: n for m, n in counts.items() if n}


def choose_metrics(curves: list[Curve], requested: list[str] | None) -> list[str]:
    """``requested`` checked against what the curves have, else every metric they all share."""
    have = metrics_of(curves)
    listing = ", ".join(f"{m} ({n} of {len(curves)} curves)" for m, n in have.items()) or "none"
    if requested:
        wanted = [m.strip() for r in requested for m in r.split(",") if m.strip()]
        for m in wanted:
            if m not in METRICS:
                raise CompareError(f"unknown metric {m!r}; the metrics are {', '.join(METRICS)}; the selected "
                                   f"curves have: {listing}")
            if m not in have:
                raise CompareError(f"no selected curve has {m!r}; the selected curves have: {listing}")
        return list(dict.fromkeys(wanted))
    shared = [m for m, n in have.items() if n == len(curves)]
    if not shared:
        raise CompareError(f"the selected curves share no metric; choose one with --metric; they have: {listing}")
    return shared


def curve_values(history: dict, metric: str) -> dict | None:
    """``{final, final_at, best, best_at}`` of one metric (None when it has no finite value)."""
    x, y = metric_series(history, metric)
    finite = [(float(a), float(b)) for a, b in zip(x, y) if math.isfinite(b)]
    if not finite:
        return None
    pick = max if metric.endswith("_acc") else min
    best = pick(finite, key=lambda p: p[1])
    return {"final": finite[-1][1], "final_at": int(finite[-1][0]), "best": best[1], "best_at": int(best[0])}


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """``{"training": {"lr": 0.1}}`` → ``{"training.lr": 0.1}``; lists and other values are kept whole."""
    if isinstance(config, dict) and config:
        out: dict[str, Any] = {}
        for k, v in config.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: config} if prefix else {}


def config_differences(configs: dict[str, dict]) -> tuple[dict[str, dict], dict[str, dict]]:
    """``(differ, partial)``, each ``{dotted key: {owner: value}}``: the keys whose values differ
    between the configurations that set them, and the keys that are the same wherever they are set
    but that some configurations do not set (a train run's ``training.lr`` beside an experiment)."""
    flat = {owner: flatten(c) for owner, c in configs.items()}
    keys = list(dict.fromkeys(k for f in flat.values() for k in f))
    differ, partial = {}, {}
    for k in keys:
        values = {owner: f[k] for owner, f in flat.items() if k in f}
        distinct = {json.dumps(files.jsonable(v), sort_keys=True, default=str) for v in values.values()}
        if len(distinct) > 1:
            differ[k] = values
        elif len(values) < len(flat):
            partial[k] = values
    return differ, partial


def configs_of(curves: list[Curve]) -> dict[str, dict]:
    """The configuration of each curve's owner: a trial's own, else its run's."""
    configs: dict[str, dict] = {}
    for c in curves:
        if c.config_owner in configs:
            continue
        record = c.source.record
        trial = _trials(c.source).get(c.curve) if c.config_owner != c.source.name else None
        configs[c.config_owner] = trial.config if trial is not None else record.config
    return configs


def default_out(now: _dt.datetime | None = None) -> Path:
    """``compare-YYYYmmdd-HHMMSS`` in the current folder (``-2``, ``-3``… if taken)."""
    base = Path(f"compare-{(now or _dt.datetime.now()):%Y%m%d-%H%M%S}")
    out, k = base, 2
    while out.exists():
        out, k = Path(f"{base}-{k}"), k + 1
    return out


def prepare_out(out: Path, sources: list[Source]) -> list[str]:
    """Check the output folder; returns the figures an earlier comparison wrote there."""
    if out.exists() and not out.is_dir():
        raise CompareError(f"--out: {out} is a file, not a folder")
    if is_run(out):
        raise CompareError(f"--out: {out} is a run folder; choose another folder for the comparison")
    resolved = out.resolve()
    for s in sources:
        if resolved == s.record.path.resolve() or s.record.path.resolve() in resolved.parents:
            raise CompareError(f"--out: {out} is inside the run {s.record.path}; choose another folder")
    if not out.exists() or not any(out.iterdir()):
        return []
    previous = out / "compare.json"
    if not previous.is_file():
        raise CompareError(f"--out: {out} holds other files; choose an empty or new folder")
    try:
        figures = files.read_json(previous).get("figures")
    except (OSError, ValueError, AttributeError):
        figures = None
    ours = METRICS + COMPARE_FIGURES
    return [f for f in figures if isinstance(f, str) and f in ours] if isinstance(figures, list) else []


def _legend_text(label: str) -> str:
    """A label as matplotlib shows it verbatim: '$' is not mathtext, a leading '_' is not hidden."""
    label = label.replace("$", r"\$")
    return " " + label if label.startswith("_") else label


def _diagnostics(curves: list[Curve]) -> dict:
    """The diagnostics figures of the curves that have them (``drawn``: {name: Figure}, removed
    before compare.json is written) and, per figure, each curve's last value of every layer."""
    from .diagnostics_plots import compare_figures, last_values

    pairs = [(_legend_text(c.label), c.history) for c in curves]
    drawn = compare_figures(pairs)
    labelled = [(c.label, c.history) for c in curves]
    return {"figures": list(drawn), "drawn": drawn, "last": {name: last_values(name, labelled) for name in drawn}}


def write_compare(out: Path, sources: list[Source], curves: list[Curve], metrics: list[str],
                  previous: list[str] = ()) -> dict:
    """compare.html, compare.json and ``METRIC.png|svg`` in ``out``; returns compare.json's content."""
    from .plots import overlay_figure
    from .report.compare_page import render_compare

    out.mkdir(parents=True, exist_ok=True)
    diagnostic = _diagnostics(curves)
    for m in previous:  # an earlier comparison's figures that this one does not redraw
        if m not in metrics and m not in diagnostic["figures"]:
            for ext in ("png", "svg"):
                (out / f"{m}.{ext}").unlink(missing_ok=True)
    for c in curves:
        c.values = {m: v for m in metrics if (v := curve_values(c.history, m)) is not None}
    pngs = {}
    for m in metrics:
        drawn = [(_legend_text(c.label), c.history) for c in curves if len(metric_series(c.history, m)[1])]
        fig = overlay_figure(drawn, m)
        files.save_figure(fig, out, m)
        pngs[m] = (out / f"{m}.png").read_bytes()
    for name, fig in diagnostic.pop("drawn").items():
        files.save_figure(fig, out, name)
        pngs[name] = (out / f"{name}.png").read_bytes()
    configs = configs_of(curves)
    differ, partial = config_differences(configs)
    table = {
        "runs": [{"argument": s.argument, "path": str(s.record.path), "name": s.name, "kind": s.record.kind,
                  "title": s.record.title, "status": s.record.status, "reduced": s.record.manifest.get("reduced") is True,
                  "pattern": s.pattern} for s in sources],
        "metrics": metrics,
        "curves": [{"label": c.label, "run": c.source.name, "curve": c.curve, "kind": c.kind,
                    "config": c.config_owner, "metrics": [m for m in metrics if len(metric_series(c.history, m)[1])],
                    "values": c.values} for c in curves],
        "configs": list(configs),
        "config_differences": differ,
        "config_set_by_some": partial,
        "diagnostics": diagnostic,
        "figures": metrics + diagnostic["figures"],
    }
    files.write_json(out / "compare.json", table)
    files.write_text(out / "compare.html", render_compare(table, pngs))
    return table
