"""How a history and a run record show themselves in Jupyter (``_repr_html_``): small HTML tables,
every string escaped, and an inline SVG sparkline of one curve (no matplotlib, no files).

* :func:`history_html` — status, epochs and updates, then one row per split (train, validation,
  test) with its last loss and accuracy, and the best accuracy with its epoch;
* :func:`record_html` — a run record's kind, name, status and time, a few configuration values
  (optimizer, lr, epochs, sizes…), its final metrics (train run, trial), best trial (search) or
  claims ✓/✗ (experiment), figure names, and its curve as a sparkline when it has one of its own.

A record that is damaged shows what could be read; rendering never raises on the record's content.
"""

from __future__ import annotations

import html
import json
import math

__all__ = ["history_html", "record_html", "sparkline_svg"]

SPLITS = (("train", "train"), ("val", "validation"), ("test", "test"))
#: configuration values a card shows first, when the run has them (leaf names of the config)
HIGHLIGHTS = ("optimizer", "lr", "convention", "epochs", "batch_size", "hidden_sizes", "activation", "init",
              "batch_norm", "dropout", "weight_decay", "train_size", "val_fraction", "trials", "sampler", "seed")
_STYLE = ("font-family:system-ui,sans-serif;font-size:13px;border-collapse:collapse;"
          "margin:2px 0 6px 0")
_CELL = "padding:1px 8px;text-align:{};border-bottom:1px solid #ddd"
_STATUS_COLOURS = {"completed": "#1a7f37", "running": "#9a6700"}


def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _num(value, digits: int = 4) -> str:
    if isinstance(value, bool) or value is None:
        return "–" if value is None else str(value).lower()
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        if isinstance(value, int):
            return str(value)
        return f"{value:.{digits}g}"
    return str(value)


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _status(status: str) -> str:
    colour = _STATUS_COLOURS.get(status, "#cf222e")
    return f'<b style="color:{colour}">{_esc(status)}</b>'


def sparkline_svg(values, width: int = 160, height: int = 32, label: str = "") -> str:
    """An inline SVG polyline of ``values`` (NaN, inf and None leave gaps); '' for fewer than 2
    finite values. ``label`` becomes its tooltip and accessible name."""
    points = [(i, float(v)) for i, v in enumerate(values) if _finite(v)]
    if len(points) < 2:
        return ""
    n = max(len(values) - 1, 1)
    lo, hi = min(v for _, v in points), max(v for _, v in points)
    span = hi - lo or 1.0
    pad = 2.0

    def xy(i, v):
        return (f"{pad + (width - 2 * pad) * i / n:.1f},"
                f"{pad + (height - 2 * pad) * (1.0 - (v - lo) / span):.1f}")

    runs, current, previous = [], [], None
    for i, v in points:  # a gap (a non-finite value) starts a new line
        if previous is not None and i != previous + 1:
            runs.append(current)
            current = []
        current.append(xy(i, v))
        previous = i
    runs.append(current)
    lines = "".join(f'<polyline fill="none" stroke="#0969da" stroke-width="1.3" points="{" ".join(r)}"/>'
                    for r in runs if len(r) > 1)
    title = f"<title>{_esc(label)}</title>" if label else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="{_esc(label)}" style="vertical-align:middle">{title}{lines}</svg>')


def _curve(history: dict) -> tuple[str, list]:
    """The curve a sparkline shows: validation accuracy, else test accuracy, else train loss, else
    the mini-batch loss."""
    epochs = history.get("epochs") or []
    for key, label in (("val_acc", "validation accuracy"), ("test_acc", "test accuracy"),
                       ("train_loss", "train loss")):
        values = [r.get(key) for r in epochs if isinstance(r, dict)]
        if sum(_finite(v) for v in values) >= 2:
            return label + " per epoch", values
    return "mini-batch loss per update", list(history.get("iter_loss") or [])


def _metrics_table(rows: list[tuple[str, ...]], head: tuple[str, ...]) -> str:
    cells = "".join(f'<th style="{_CELL.format("left" if i == 0 else "right")}">{_esc(h)}</th>'
                    for i, h in enumerate(head))
    body = "".join("<tr>" + "".join(f'<td style="{_CELL.format("left" if i == 0 else "right")}">{c}</td>'
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f'<table style="{_STYLE}"><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>'


def history_html(history: dict) -> str:
    """A history (``History.to_dict()``) as a compact table."""
    epochs = [r for r in history.get("epochs") or [] if isinstance(r, dict)]
    updates = len(history.get("iter_loss") or [])
    status = str(history.get("status", ""))
    done = max(len(epochs) - 1, 0)
    head = (f"<b>History</b> {_status(status)}: {done} epoch{'' if done == 1 else 's'}, "
            f"{updates} update{'' if updates == 1 else 's'}")
    parts = [f"<div>{head}</div>"]
    rows = []
    for split, name in SPLITS:
        if not any(f"{split}_acc" in r or f"{split}_loss" in r for r in epochs):
            continue
        last = epochs[-1]
        accs = [(r.get(f"{split}_acc"), r.get("epoch", i)) for i, r in enumerate(epochs)]
        finite = [(a, e) for a, e in accs if _finite(a)]
        best = max(finite, key=lambda p: p[0]) if finite else None
        rows.append((_esc(name), _esc(_num(last.get(f"{split}_loss"))), _esc(_num(last.get(f"{split}_acc"))),
                     _esc(f"{_num(best[0])} (epoch {best[1]})") if best else "–"))
    if rows:
        parts.append(_metrics_table(rows, ("split", "last loss", "last accuracy", "best accuracy")))
    elif updates:
        losses = [v for v in history.get("iter_loss") or [] if _finite(v)]
        if losses:
            parts.append(f"<div>last mini-batch loss {_esc(_num(losses[-1]))}</div>")
    label, values = _curve(history)
    spark = sparkline_svg(values, label=label)
    if spark:
        parts.append(f"<div>{spark} <small>{_esc(label)}</small></div>")
    notes = [str(history.get("message") or "")]
    for key, what in (("stopped_epoch", "stopped after epoch"), ("restored_epoch", "weights of epoch")):
        if history.get(key) is not None and what not in notes[0]:
            notes.append(f"{what} {history[key]}")
    notes = [n for n in notes if n]
    if notes:
        parts.append(f"<div><small>{_esc('; '.join(notes))}</small></div>")
    return '<div class="trainlab-history">' + "".join(parts) + "</div>"


def _leaves(config, prefix: str = ""):
    """(dotted key, value) of every non-dict value of a nested configuration."""
    if not isinstance(config, dict):
        return
    for key, value in config.items():
        if isinstance(value, dict) and value:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _short(value, limit: int = 48) -> str:
    if isinstance(value, list) and len(value) >= 3 and len(set(map(repr, value))) == 1:
        text = f"{json.dumps(value[0], ensure_ascii=False)} × {len(value)}"
    else:
        try:
            text = json.dumps(value, ensure_ascii=False)
        except (TypeError, ValueError):
            text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def config_highlights(config: dict, limit: int = 8) -> list[tuple[str, str]]:
    """A few ``(key, value)`` of a run's configuration: the usual training choices first (optimizer,
    lr, epochs, …), then its other keys in order, at most ``limit``."""
    leaves = [(k, v) for k, v in _leaves(config) if v is not None and v != {} and k.rsplit(".", 1)[-1] != "data_dir"]
    by_leaf = {}
    for k, v in leaves:
        by_leaf.setdefault(k.rsplit(".", 1)[-1], (k, v))
    chosen = [by_leaf[name] for name in HIGHLIGHTS if name in by_leaf]
    if len(chosen) < 3:  # an experiment's own keys
        chosen += [kv for kv in leaves if kv not in chosen]
    return [(k.rsplit(".", 1)[-1], _short(v)) for k, v in chosen[:limit]]


def _record_results(record) -> list[str]:
    """What the run achieved, as HTML parts, read from its files (anything unreadable is skipped)."""
    from .record import RunError

    parts = []
    try:
        summary = record.read_json("summary.json")
    except RunError:
        summary = None
    summary = summary if isinstance(summary, dict) else {}
    kind = record.kind
    if kind in ("train", "trial"):
        final = summary.get("final") if isinstance(summary.get("final"), dict) else summary
        rows = [(_esc(name), _esc(_num(final.get(f"{split}_loss"))), _esc(_num(final.get(f"{split}_acc"))))
                for split, name in SPLITS if f"{split}_acc" in final or f"{split}_loss" in final]
        if rows:
            parts.append(_metrics_table(rows, ("split", "final loss", "final accuracy")))
    best = summary.get("best")
    if kind == "search" and isinstance(best, dict):
        params = best.get("params") if isinstance(best.get("params"), dict) else {}
        text = ", ".join(f"{k} {_num(v)}" for k, v in params.items())
        parts.append(f"<div>best trial: validation accuracy {_esc(_num(best.get('val_acc')))}"
                     + (f" ({_esc(text)})" if text else "") + "</div>")
    try:
        claims = record.read_json("claims.json")
    except RunError:
        claims = None
    if isinstance(claims, list) and claims:
        good = [c for c in claims if isinstance(c, dict)]
        passed = sum(c.get("passed") is True for c in good)
        items = "".join(f'<li>{"✓" if c.get("passed") is True else "✗"} {_esc(c.get("name", ""))}</li>'
                        for c in good[:12])
        more = f"<li>… {len(good) - 12} more</li>" if len(good) > 12 else ""
        parts.append(f"<div>claims: {passed} of {len(good)} hold<ul style=\"margin:2px 0\">{items}{more}</ul></div>")
    if kind in ("train", "trial"):
        try:
            history = record.read_json("history.json")
        except RunError:
            history = None
        if isinstance(history, dict):
            label, values = _curve(history)
            spark = sparkline_svg(values, label=label)
            if spark:
                parts.append(f"<div>{spark} <small>{_esc(label)}</small></div>")
    return parts


def record_html(record) -> str:
    """A run record (:class:`trainlab.record.RunRecord`) as a small card."""
    m = record.manifest
    head = f"<b>{_esc(record.kind or 'run')}</b> <code>{_esc(record.name)}</code> {_status(record.status)}"
    elapsed = m.get("elapsed_s")
    if _finite(elapsed):
        head += f" in {_esc(_num(float(elapsed), 3))} s"
    if m.get("reduced") is True:
        head += " <small>(reduced size)</small>"
    parts = [f"<div>{head}</div>"]
    if record.title != record.name:
        parts.append(f"<div>{_esc(record.title)}</div>")
    where = [str(m[k]) for k in ("book_section",) if isinstance(m.get(k), str) and m.get(k)]
    where.append(str(record.path))
    parts.append(f"<div><small>{_esc(' · '.join(where))}</small></div>")
    if m.get("message"):
        parts.append(f"<div><small>{_esc(m['message'])}</small></div>")
    highlights = config_highlights(record.config)
    if highlights:
        parts.append("<div>" + ", ".join(f"{_esc(k)} = <code>{_esc(v)}</code>" for k, v in highlights) + "</div>")
    try:
        parts += _record_results(record)
    except OSError as exc:  # a folder that vanished or cannot be read while shown
        parts.append(f"<div><small>{_esc(exc)}</small></div>")
    figures = m.get("figures")
    if isinstance(figures, list) and figures:
        parts.append(f"<div><small>figures: {_esc(', '.join(map(str, figures)))}</small></div>")
    return '<div class="trainlab-run">' + "".join(parts) + "</div>"
