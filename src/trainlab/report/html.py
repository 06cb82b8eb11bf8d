"""The report's HTML: one self-contained page (inline CSS, images as data URIs, no JavaScript).

Every text that comes from a run directory goes through :func:`esc`.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from .load import Run

__all__ = ["render_page", "esc", "render_value"]

CSS = """
:root { --fg:#1d2228; --muted:#5b6570; --line:#d9dee3; --bg:#f6f7f9; --card:#fff;
        --ok:#1a7f37; --ok-bg:#e6f4ea; --bad:#c62828; --bad-bg:#fdecea; --accent:#2457a6; }
* { box-sizing:border-box; }
body { margin:0; background:var(--bg); color:var(--fg); line-height:1.45;
       font:15px/1.45 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width:1180px; margin:0 auto; padding:24px 20px 60px; }
h1 { font-size:1.7em; margin:0 0 4px; }
h2 { font-size:1.3em; margin:0 0 2px; }
h3 { font-size:1.02em; margin:18px 0 8px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
.sub { color:var(--muted); margin:0 0 16px; }
section.run { background:var(--card); border:1px solid var(--line); border-radius:8px;
              padding:18px 22px; margin:22px 0; }
.meta { color:var(--muted); font-size:.92em; margin-bottom:8px; }
table { border-collapse:collapse; margin:6px 0 10px; font-size:.92em; }
th, td { border:1px solid var(--line); padding:4px 9px; text-align:left; vertical-align:top; }
th { background:#eef1f4; font-weight:600; }
tbody tr:nth-child(even) td { background:#fafbfc; }
td.num { text-align:right; font-variant-numeric:tabular-nums; }
.overview td, .overview th { padding:6px 12px; }
.pill { display:inline-block; padding:1px 9px; border-radius:10px; font-weight:600; font-size:.9em; }
.pill.ok { background:var(--ok-bg); color:var(--ok); } .pill.bad { background:var(--bad-bg); color:var(--bad); }
.pill.none { background:#eceff1; color:var(--muted); }
ul.claims { list-style:none; padding:0; margin:0; }
ul.claims li { padding:7px 10px 7px 38px; margin:5px 0; border-radius:6px; position:relative; }
ul.claims li.ok { background:var(--ok-bg); } ul.claims li.bad { background:var(--bad-bg); }
ul.claims .mark { position:absolute; left:11px; top:6px; font-weight:700; font-size:1.1em; }
ul.claims li.ok .mark { color:var(--ok); } ul.claims li.bad .mark { color:var(--bad); }
.claim-name { font-weight:600; } .claim-detail { color:#333; font-size:.93em; }
.compare { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.compare > div { border:1px solid var(--line); border-radius:6px; padding:8px 12px; background:#fcfcfd; overflow-x:auto; }
.compare h4 { margin:2px 0 6px; font-size:.95em; }
@media (max-width:800px) { .compare { grid-template-columns:1fr; } }
figure { margin:12px 0; text-align:center; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; background:#fff; }
figcaption { color:var(--muted); font-size:.88em; margin-top:4px; }
details { margin:10px 0; } summary { cursor:pointer; color:var(--accent); font-weight:600; }
table.kv td:first-child { color:var(--muted); }
pre { background:#f3f4f6; border:1px solid var(--line); padding:10px; overflow-x:auto; font-size:.85em; }
.problems { background:#fff8e1; border:1px solid #f0d48a; border-radius:6px; padding:6px 12px; }
.status-crashed { color:var(--bad); font-weight:700; }
footer { color:var(--muted); font-size:.85em; margin-top:30px; }
"""

_MAX_LIST = 24  # longer lists are shortened in generic views
_MAX_DEPTH = 4


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _anchor(name: str) -> str:
    return "run-" + (re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "x")


def _fmt_number(x: float | int) -> str:
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return str(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return f"{x:.4g}"
    return f"{x:.3g}"


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def render_value(v: Any, depth: int = 0) -> str:
    """Any JSON value as escaped HTML: dicts as key/value tables, short lists inline."""
    if v is None:
        return "–"
    if isinstance(v, (int, float)):
        return esc(_fmt_number(v))
    if isinstance(v, str):
        return esc(v)
    if depth >= _MAX_DEPTH:
        return esc(json.dumps(v)[:200])
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        items = list(v)
        more = len(items) - _MAX_LIST
        items = items[:_MAX_LIST]
        if all(_scalar(x) for x in items):
            text = ", ".join(render_value(x, depth + 1) for x in items)
            return f"[{text}{esc(f', … ({more} more)') if more > 0 else ''}]"
        if all(isinstance(x, (list, tuple)) and all(_scalar(y) for y in x) for x in items):
            rows = "".join(f"<div>{render_value(x, depth + 1)}</div>" for x in items)
            return rows + (f"<div>{esc(f'… ({more} more)')}</div>" if more > 0 else "")
        return "".join(f"<div>{render_value(x, depth + 1)}</div>" for x in items) + (
            f"<div>{esc(f'… ({more} more)')}</div>" if more > 0 else "")
    if isinstance(v, dict):
        if not v:
            return "{}"
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{render_value(x, depth + 1)}</td></tr>" for k, x in v.items())
        return f'<table class="kv"><tbody>{rows}</tbody></table>'
    return esc(v)


def _table(t: dict) -> str:
    cols = t.get("columns") or []
    rows = t.get("rows") or []
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = ""
    for row in rows:
        cells = row if isinstance(row, (list, tuple)) else [row]
        body += "<tr>" + "".join(
            f'<td class="num">{esc(_fmt_number(c))}</td>' if isinstance(c, (int, float)) and not isinstance(c, bool)
            else f"<td>{render_value(c, 3)}</td>" for c in cells) + "</tr>"
    title = f"<h4>{esc(t['title'])}</h4>" if t.get("title") else ""
    return f'{title}<div style="overflow-x:auto"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _claims_html(run: Run) -> str:
    if not run.claims:
        return '<p class="meta">No claims recorded.</p>'
    items = []
    for c in run.claims:
        ok = bool(c.get("passed"))
        detail = c.get("detail")
        extra = ""
        items.append(
            f'<li class="{"ok" if ok else "bad"}"><span class="mark" aria-label="{"holds" if ok else "fails"}">'
            f'{"✓" if ok else "✗"}</span><span class="claim-name">{esc(c.get("name", "(unnamed claim)"))}</span>'
            + (f'<div class="claim-detail">{esc(detail)}</div>' if detail else "") + extra + "</li>")
    return '<ul class="claims">' + "".join(items) + "</ul>"


def _ours_values(run: Run) -> str:
    """Our numbers for the side-by-side box: each claim's values, one row per claim."""
    rows = []
    for c in run.claims:
        values = c.get("values")
        if isinstance(values, dict) and values:
            inline = "; ".join(f"{esc(k)} = {render_value(v, 2)}" for k, v in values.items())
            rows.append(f"<tr><td>{esc(c.get('name', ''))}</td><td>{inline}</td></tr>")
    return f'<table class="kv"><tbody>{"".join(rows)}</tbody></table>' if rows else ""


def _pill(run: Run) -> str:
    if run.result.get("status") not in (None, "completed"):
        return f'<span class="pill bad">{esc(run.result.get("status"))}</span>'
    if not run.n_claims:
        return '<span class="pill none">no claims</span>'
    cls = "ok" if run.n_passed == run.n_claims else "bad"
    return f'<span class="pill {cls}">{run.n_passed}/{run.n_claims}</span>'


def _seconds(v: Any) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{v:.1f} s" if v < 120 else f"{v / 60:.1f} min"
    return "–"


def _section(run: Run) -> str:
    r = run.result
    parts = [f'<section class="run" id="{esc(_anchor(run.name))}">',
             f"<h2>{esc(run.title)}</h2>"]
    meta = [f"<code>{esc(run.name)}</code>"]
    if r.get("book_section"):
        meta.append(f"book {esc(r['book_section'])}")
    status = r.get("status", "unknown")
    meta.append(f'status <span class="status-{esc(status)}">{esc(status)}</span>')
    meta.append(f"time {_seconds(r.get('elapsed_s'))}")
    seeds = r.get("seeds")
    if seeds is not None:
        meta.append(f"seeds {render_value(seeds)}")
    meta.append(f"claims {_pill(run)}")
    parts.append('<div class="meta">' + " · ".join(meta) + "</div>")
    if run.problems:
        parts.append('<div class="problems">' + "".join(f"<div>{esc(p)}</div>" for p in run.problems) + "</div>")
    if r.get("error"):
        parts.append(f'<details open><summary>error</summary><pre>{esc(r["error"])}</pre></details>')

    parts.append("<h3>Claims</h3>" + _claims_html(run))

    tables = (run.summary or {}).get("tables")
    book = r.get("book")
    if tables or book:
        parts.append("<h3>The book's numbers beside ours</h3>")
        if isinstance(tables, list):
            for t in tables:
                if isinstance(t, dict):
                    parts.append(_table(t))
        ours = _ours_values(run)
        if book or ours:
            parts.append('<div class="compare">'
                         f"<div><h4>Book / reference run</h4>{render_value(book) if book else '–'}</div>"
                         f"<div><h4>Ours (the claims' numbers)</h4>{ours or '–'}</div>"
                         "</div>")

    if run.figures:
        parts.append("<h3>Figures</h3>")
        for fig in run.figures:
            alt = f"{run.name}: {fig.name}"
            parts.append(f'<figure><img src="{fig.data_uri()}" alt="{esc(alt)}">'
                         f"<figcaption>{esc(fig.name)}</figcaption></figure>")
    if run.config is not None:
        parts.append("<details><summary>Configuration</summary>" + render_value(run.config) + "</details>")
    parts.append("</section>")
    return "\n".join(parts)


def _compute(result: dict):
    """Sum of the per-seed times (seeds may run in parallel, so this can exceed the wall time)."""
    times = result.get("seed_elapsed_s")
    if isinstance(times, list) and times and all(isinstance(t, (int, float)) for t in times):
        return sum(times)
    return None


def _overview(runs: list[Run]) -> str:
    rows = []
    for run in runs:
        r = run.result
        rows.append(
            f'<tr><td><a href="#{esc(_anchor(run.name))}">{esc(run.title)}</a><br><code>{esc(run.name)}</code></td>'
            f"<td>{esc(r.get('book_section') or '–')}</td>"
            f"<td>{esc(r.get('status', 'unknown'))}</td>"
            f"<td>{_pill(run)}</td>"
            f'<td class="num">{_seconds(r.get("elapsed_s"))}</td>'
            f'<td class="num">{_seconds(_compute(r))}</td></tr>')
    return ('<table class="overview"><thead><tr><th>experiment</th><th>book</th><th>status</th>'
            "<th>claims passed</th><th>time (wall)</th><th>seeds' compute</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>")


def render_page(runs: list[Run], runs_dir: str, generated: str, version: str) -> str:
    n_claims = sum(r.n_claims for r in runs)
    n_passed = sum(r.n_passed for r in runs)
    crashed = [r.name for r in runs if r.result.get("status") not in (None, "completed")]
    head = (f"{len(runs)} run(s) · {n_passed}/{n_claims} claims hold"
            + (f" · crashed: {', '.join(crashed)}" if crashed else ""))
    body = "\n".join(_section(r) for r in runs)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>TrainLab report — chapter 6, measured</title>
<style>{CSS}</style>
</head>
<body>
<main>
<h1>TrainLab report — chapter 6, measured</h1>
<p class="sub">{esc(head)}<br>Runs from <code>{esc(runs_dir)}</code>, generated {esc(generated)} by trainlab {esc(version)}.
Each claim is checked on our numbers; ✓ holds, ✗ does not (a failed claim is a finding, kept as measured).</p>
<h3>Summary</h3>
{_overview(runs)}
{body}
<footer>Self-contained page: figures are embedded, no external resources, no scripts.</footer>
</main>
</body>
</html>
"""
