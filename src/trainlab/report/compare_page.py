"""The page of ``trainlab compare`` (:mod:`trainlab.compare`), in the report's style: the runs
compared, one figure per metric with its table of final and best values, the per-layer diagnostics
(when some curves have them) with each curve's last value per layer, and the configuration keys
that differ. Self-contained (PNG data URIs, inline CSS, no script); every text escaped."""

from __future__ import annotations

import base64
import datetime as _dt

from ..i18n import _
from ..plots import metric_label
from .html import FOOTER, badges_html, esc, figure_html, fmt_number, page, render_value, status_html

__all__ = ["render_compare"]


def _num(v) -> str:
    return f'<td class="num">{esc(fmt_number(v))}</td>' if isinstance(v, (int, float)) else "<td>–</td>"


def _runs_table(table: dict) -> str:
    n_curves: dict[str, int] = {}
    for c in table["curves"]:
        n_curves[c["run"]] = n_curves.get(c["run"], 0) + 1
    rows, seen, every = [], set(), _("all")
    for r in table["runs"]:
        key = (r["path"], r["pattern"])
        if key in seen:
            continue
        seen.add(key)
        rows.append(f"<tr><td>{esc(r['name'])}<br><code>{esc(r['path'])}</code></td>"
                    f"<td>{badges_html(r['kind'], r['reduced'])}</td><td>{status_html(r['status'])}</td>"
                    f"<td>{esc(r['title'])}</td>"
                    f"<td>{esc(r['pattern'] or every)}</td></tr>")
    head = "".join(f"<th>{esc(h)}</th>" for h in (_("run"), _("kind"), _("status"), _("title"),
                                                    _("curves selected (pattern)")))
    return ('<div class="scroll"><table class="overview"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _metric_section(table: dict, metric: str, png: bytes) -> str:
    label = metric_label(metric)
    at = _("at iteration") if metric == "iter_loss" else _("at epoch")
    best = _("best (largest)") if metric.endswith("_acc") else _("best (smallest)")
    rows = []
    for c in table["curves"]:
        v = c["values"].get(metric)
        if v is None:
            why = _("no finite value (diverged)") if metric in c["metrics"] else _("not recorded")
            rows.append(f'<tr><td>{esc(c["label"])}</td><td>{esc(c["kind"])}</td><td colspan="4">{esc(why)}</td></tr>')
            continue
        rows.append(f"<tr><td>{esc(c['label'])}</td><td>{esc(c['kind'])}</td>{_num(v['final'])}{_num(v['final_at'])}"
                    f"{_num(v['best'])}{_num(v['best_at'])}</tr>")
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return (f'<section class="run" id="metric-{esc(metric)}"><h2>{esc(label)} <code>{esc(metric)}</code></h2>'
            + figure_html(uri, _("{label}: {n} curve(s)").format(label=label, n=len(table["curves"])),
                          _("{label} of the compared curves").format(label=label))
            + '<div class="scroll"><table><thead><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in (_("curve"), _("kind"), _("final"), at, best, at))
            + "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div></section>")


def _diagnostics_text() -> dict[str, tuple[str, str]]:
    """Each per-layer diagnostics figure's title and explanation, in the active language."""
    return {
        "diagnostics_grad_norm": (_("Gradient norm per layer"), _(
            "‖∂L/∂W‖ of every weight matrix (W1 next to the input), the mean over each epoch's updates; the "
            "table holds each curve's last value. Norms that shrink toward the input layer are vanishing "
            "gradients.")),
        "diagnostics_saturation": (_("Dead or saturated units per layer"), _(
            "ReLU: the fraction of units that are 0 for every probe sample (dead); sigmoid and tanh: the fraction "
            "of activations within 0.01 of their bounds (saturated); the table holds each curve's last value.")),
    }


def _diagnostics_section(table: dict, name: str, png: bytes) -> str:
    title, text = _diagnostics_text().get(name, (name, ""))
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
            + figure_html(uri, _("{title}: {n} curve(s) with diagnostics").format(title=title, n=len(rows)), title)
            + '<div class="scroll"><table><thead><tr><th>' + esc(_("curve")) + "</th><th>" + esc(_("statistic"))
            + f"</th>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table></div></section>")


def _config_table(owners: list[str], keys: dict[str, dict]) -> str:
    cols, unset = "".join(f"<th>{esc(o)}</th>" for o in owners), esc(_("(not set)"))
    rows = "".join(f"<tr><td><code>{esc(k)}</code></td>"
                   + "".join(f"<td>{render_value(v[o], 2)}</td>" if o in v
                             else f'<td class="meta">{unset}</td>'
                             for o in owners) + "</tr>" for k, v in keys.items())
    return ('<div class="scroll"><table><thead><tr><th>' + esc(_("key"))
            + f"</th>{cols}</tr></thead><tbody>{rows}</tbody></table></div>")


def _config_section(table: dict) -> str:
    owners, differ, partial = table["configs"], table["config_differences"], table["config_set_by_some"]
    head = "<h2>" + esc(_("Configuration keys that differ")) + "</h2>"
    if len(owners) < 2:
        text = (_("Every curve comes from one configuration ({config}): they are its variants, seeds or "
                  "repeats.").format(config=owners[0]) if owners else _("No configuration recorded."))
        return f'<section class="run">{head}<p class="meta">{esc(text)}</p></section>'
    if differ:
        text = _("{n} key(s) of the {m} configurations, flattened to dotted names, whose values differ between "
                 "the configurations that set them.").format(n=len(differ), m=len(owners))
        body = f'<p class="meta">{esc(text)}</p>' + _config_table(owners, differ)
    else:
        text = _("No key differs between the {m} configurations that set it.").format(m=len(owners))
        body = f'<p class="meta">{esc(text)}</p>'
    if partial:
        text = _("{n} key(s) set by only some configurations, the same wherever set").format(n=len(partial))
        body += f"<details><summary>{esc(text)}</summary>" + _config_table(owners, partial) + "</details>"
    return f'<section class="run">{head}{body}</section>'


def render_compare(table: dict, pngs: dict[str, bytes]) -> str:
    """The page for compare.json's ``table`` with each metric's PNG (``{metric: bytes}``)."""
    from .. import __version__

    runs = {r["path"] for r in table["runs"]}
    generated = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z").strip()
    sub = (esc(_("{n} curve(s) from {m} run(s) · metrics: {metrics}").format(
        n=len(table["curves"]), m=len(runs), metrics=", ".join(table["metrics"]))) + "<br>"
           + esc(_("Generated {generated} by trainlab {version}.").format(generated=generated, version=__version__))
           + " " + esc(_("Final: the last finite value; best: the largest accuracy or the smallest loss; the "
                         "mini-batch loss as drawn (smoothed).")))
    body = ("<h3>" + esc(_("Runs compared")) + "</h3>" + _runs_table(table)
            + "".join(_metric_section(table, m, pngs[m]) for m in table["metrics"])
            + "".join(_diagnostics_section(table, name, pngs[name])
                      for name in (table.get("diagnostics") or {}).get("figures", []))
            + _config_section(table))
    return page(_("TrainLab compare"), sub, body, FOOTER())
