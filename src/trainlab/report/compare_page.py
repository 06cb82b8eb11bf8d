"""The page of ``trainlab compare`` (:mod:`trainlab.compare`), in the report's style: the runs
compared, one figure per metric with its table of final and best values, the per-layer diagnostics
(when some curves have them) with each curve's last value per layer, and the configuration keys
that differ. Self-contained (PNG data URIs, inline CSS, no script); every text escaped."""

from __future__ import annotations

import base64
import datetime as _dt

from ..plots import METRIC_LABELS
from .html import badges_html, esc, figure_html, fmt_number, page, render_value, status_html

__all__ = ["render_compare"]


def _num(v) -> str:
    return f'<td class="num">{esc(fmt_number(v))}</td>' if isinstance(v, (int, float)) else "<td>–</td>"


def _runs_table(table: dict) -> str:
    n_curves: dict[str, int] = {}
    for c in table["curves"]:
        n_curves[c["run"]] = n_curves.get(c["run"], 0) + 1
    rows, seen = [], set()
    for r in table["runs"]:
        key = (r["path"], r["pattern"])
        if key in seen:
            continue
        seen.add(key)
        rows.append(f"<tr><td>{esc(r['name'])}<br><code>{esc(r['path'])}</code></td>"
                    f"<td>{badges_html(r['kind'], r['reduced'])}</td><td>{status_html(r['status'])}</td>"
                    f"<td>{esc(r['title'])}</td>"
                    f"<td>{esc(r['pattern']) if r['pattern'] else 'all'}</td></tr>")
    return ('<div class="scroll"><table class="overview"><thead><tr><th>run</th><th>kind</th><th>status</th>'
            "<th>title</th><th>curves selected (pattern)</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div>")


def _metric_section(table: dict, metric: str, png: bytes) -> str:
    label = METRIC_LABELS.get(metric, metric)
    at = "iteration" if metric == "iter_loss" else "epoch"
    best = "largest" if metric.endswith("_acc") else "smallest"
    rows = []
    for c in table["curves"]:
        v = c["values"].get(metric)
        if v is None:
            why = "no finite value (diverged)" if metric in c["metrics"] else "not recorded"
            rows.append(f'<tr><td>{esc(c["label"])}</td><td>{esc(c["kind"])}</td><td colspan="4">{why}</td></tr>')
            continue
        rows.append(f"<tr><td>{esc(c['label'])}</td><td>{esc(c['kind'])}</td>{_num(v['final'])}{_num(v['final_at'])}"
                    f"{_num(v['best'])}{_num(v['best_at'])}</tr>")
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<section class="run" id="metric-{esc(metric)}"><h2>{esc(label)} <code>{esc(metric)}</code></h2>'
            + figure_html(uri, f"{label}: {len(table['curves'])} curve(s)", f"{label} of the compared curves")
            + '<div class="scroll"><table><thead><tr><th>curve</th><th>kind</th><th>final</th>'
            f"<th>at {at}</th><th>best ({best})</th><th>at {at}</th></tr></thead><tbody>" + "".join(rows)
            + "</tbody></table></div></section>")


_DIAGNOSTICS_TEXT = {
    "diagnostics_grad_norm": ("Gradient norm per layer", "‖∂L/∂W‖ of every weight matrix (W1 next to the input), "
                              "the mean over each epoch's updates; the table holds each curve's last value. "
                              "Norms that shrink toward the input layer are vanishing gradients."),
    "diagnostics_saturation": ("Dead or saturated units per layer", "ReLU: the fraction of units that are 0 for "
                               "every probe sample (dead); sigmoid and tanh: the fraction of activations within "
                               "0.01 of their bounds (saturated); the table holds each curve's last value."),
}


def _diagnostics_section(table: dict, name: str, png: bytes) -> str:
    title, text = _DIAGNOSTICS_TEXT.get(name, (name, ""))
    rows = table["diagnostics"]["last"].get(name, {})
    layers: list[str] = []
    for row in rows.values():
        layers += [layer for layer in row["values"] if layer not in layers]
    head = "".join(f"<th>{esc(layer)}</th>" for layer in layers)
    body = "".join(f"<tr><td>{esc(label)}</td><td>{esc(row['stat'])}</td>"
                   + "".join(_num(row["values"].get(layer)) for layer in layers) + "</tr>"
                   for label, row in rows.items())
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<section class="run" id="{esc(name)}"><h2>{esc(title)}</h2><p class="meta">{esc(text)}</p>'
            + figure_html(uri, f"{title}: {len(rows)} curve(s) with diagnostics", title)
            + f'<div class="scroll"><table><thead><tr><th>curve</th><th>statistic</th>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div></section>")


def _config_table(owners: list[str], keys: dict[str, dict]) -> str:
    cols = "".join(f"<th>{esc(o)}</th>" for o in owners)
    rows = "".join(f"<tr><td><code>{esc(k)}</code></td>"
                   + "".join(f"<td>{render_value(v[o], 2)}</td>" if o in v else '<td class="meta">(not set)</td>'
                             for o in owners) + "</tr>" for k, v in keys.items())
    return f'<div class="scroll"><table><thead><tr><th>key</th>{cols}</tr></thead><tbody>{rows}</tbody></table></div>'


def _config_section(table: dict) -> str:
    owners, differ, partial = table["configs"], table["config_differences"], table["config_set_by_some"]
    head = "<h2>Configuration keys that differ</h2>"
    if len(owners) < 2:
        text = (f"Every curve comes from one configuration ({esc(owners[0])}): they are its variants, seeds "
                "or repeats." if owners else "No configuration recorded.")
        return f'<section class="run">{head}<p class="meta">{text}</p></section>'
    if differ:
        body = (f'<p class="meta">{len(differ)} key(s) of the {len(owners)} configurations, flattened to dotted '
                "names, whose values differ between the configurations that set them.</p>"
                + _config_table(owners, differ))
    else:
        body = f'<p class="meta">No key differs between the {len(owners)} configurations that set it.</p>'
    if partial:
        body += (f"<details><summary>{len(partial)} key(s) set by only some configurations, the same "
                 "wherever set</summary>" + _config_table(owners, partial) + "</details>")
    return f'<section class="run">{head}{body}</section>'


def render_compare(table: dict, pngs: dict[str, bytes]) -> str:
    """The page for compare.json's ``table`` with each metric's PNG (``{metric: bytes}``)."""
    from .. import __version__

    runs = {r["path"] for r in table["runs"]}
    generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    sub = (f"{len(table['curves'])} curve(s) from {len(runs)} run(s) · metrics: "
           f"{esc(', '.join(table['metrics']))}<br>Generated {esc(generated)} by trainlab {esc(__version__)}. "
           "Final: the last finite value; best: the largest accuracy or the smallest loss; the mini-batch "
           "loss as drawn (smoothed).")
    body = ("<h3>Runs compared</h3>" + _runs_table(table)
            + "".join(_metric_section(table, m, pngs[m]) for m in table["metrics"])
            + "".join(_diagnostics_section(table, name, pngs[name])
                      for name in (table.get("diagnostics") or {}).get("figures", []))
            + _config_section(table))
    return page("TrainLab compare", sub, body,
                "Self-contained page: figures are embedded, no external resources, no scripts.")
