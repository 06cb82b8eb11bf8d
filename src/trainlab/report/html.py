"""The HTML pieces the report and ``trainlab compare`` share: one self-contained page (inline CSS,
images as data URIs, no JavaScript, no external resource), values and tables rendered escaped.

Every text that comes from a run folder goes through :func:`esc` (``& < > " '``), in text and in
attributes alike; the page writes no tag built from a run's text.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from .. import i18n
from ..i18n import _

__all__ = ["CSS", "esc", "anchor", "fmt_number", "render_value", "table_html", "figure_html", "status_html",
           "badges_html", "seconds", "page", "FOOTER", "status_label", "kind_label"]

#: the page's Latin fonts; a Korean or Japanese page adds its embedded font after them (:mod:`.webfont`)
FONT_STACK = '-apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial'

CSS = """
:root { --fg:#1d2228; --muted:#5b6570; --line:#d9dee3; --bg:#f6f7f9; --card:#fff;
        --ok:#1a7f37; --ok-bg:#e6f4ea; --bad:#c62828; --bad-bg:#fdecea; --warn:#8a5a00; --warn-bg:#fff4d6;
        --accent:#2457a6; }
* { box-sizing:border-box; }
body { margin:0; background:var(--bg); color:var(--fg); line-height:1.45;
       font:15px/1.45 """ + FONT_STACK + """, sans-serif; }
main { max-width:1180px; margin:0 auto; padding:24px 20px 60px; }
h1 { font-size:1.7em; margin:0 0 4px; }
h2 { font-size:1.3em; margin:0 0 2px; overflow-wrap:anywhere; }
h3 { font-size:1.02em; margin:18px 0 8px; color:var(--muted); text-transform:uppercase; letter-spacing:.04em; }
a { color:var(--accent); text-decoration:none; } a:hover { text-decoration:underline; }
code { overflow-wrap:anywhere; }
.sub { color:var(--muted); margin:0 0 16px; }
section.run { background:var(--card); border:1px solid var(--line); border-radius:8px;
              padding:18px 22px; margin:22px 0; }
.meta { color:var(--muted); font-size:.92em; margin-bottom:8px; }
.shows { margin:6px 0 8px; font-style:italic; }
table { border-collapse:collapse; margin:6px 0 10px; font-size:.92em; }
th, td { border:1px solid var(--line); padding:4px 9px; text-align:left; vertical-align:top; }
th { background:#eef1f4; font-weight:600; }
tbody tr:nth-child(even) td { background:#fafbfc; }
td.num { text-align:right; font-variant-numeric:tabular-nums; white-space:nowrap; }
.scroll { overflow-x:auto; }
.overview td, .overview th { padding:6px 12px; }
.pill, .badge { display:inline-block; padding:1px 9px; border-radius:10px; font-weight:600; font-size:.9em;
                white-space:nowrap; }
.pill.ok { background:var(--ok-bg); color:var(--ok); } .pill.bad { background:var(--bad-bg); color:var(--bad); }
.pill.none { background:#eceff1; color:var(--muted); }
.badge.kind { background:#e8eef8; color:var(--accent); font-weight:500; }
.badge.reduced { background:var(--warn-bg); color:var(--warn); border:1px solid #f0d48a; }
.badge.legacy { background:#eceff1; color:var(--muted); }
.status-bad { color:var(--bad); font-weight:700; } .status-ok { color:var(--ok); }
.status-other { color:var(--warn); font-weight:600; }
ul.claims { list-style:none; padding:0; margin:0; }
ul.claims li { padding:7px 10px 7px 38px; margin:5px 0; border-radius:6px; position:relative; }
ul.claims li.ok { background:var(--ok-bg); } ul.claims li.bad { background:var(--bad-bg); }
ul.claims .mark { position:absolute; left:11px; top:6px; font-weight:700; font-size:1.1em; }
ul.claims li.ok .mark { color:var(--ok); } ul.claims li.bad .mark { color:var(--bad); }
ul.claims li.na { background:#eceff1; } ul.claims li.na .mark { color:var(--muted); }
.claim-name { font-weight:600; } .claim-detail { color:#333; font-size:.93em; }
.compare { display:grid; grid-template-columns:1fr 1fr; gap:16px; }
.compare > div { border:1px solid var(--line); border-radius:6px; padding:8px 12px; background:#fcfcfd; overflow-x:auto; }
h4 { margin:2px 0 6px; font-size:.95em; }
@media (max-width:800px) { .compare { grid-template-columns:1fr; } }
figure { margin:12px 0; text-align:center; }
figure img { max-width:100%; height:auto; border:1px solid var(--line); border-radius:4px; background:#fff; }
figcaption { color:var(--muted); font-size:.88em; margin-top:4px; }
details { margin:10px 0; } summary { cursor:pointer; color:var(--accent); font-weight:600; }
table.kv td:first-child { color:var(--muted); }
pre { background:#f3f4f6; border:1px solid var(--line); padding:10px; overflow-x:auto; font-size:.85em;
      white-space:pre-wrap; }
.statusbox { background:var(--bad-bg); border:1px solid #f1b8b3; border-radius:6px; padding:6px 12px; margin:8px 0; }
.problems { background:#fff8e1; border:1px solid #f0d48a; border-radius:6px; padding:6px 12px; margin:8px 0; }
footer { color:var(--muted); font-size:.85em; margin-top:30px; }
"""

_MAX_LIST = 24  # longer lists are shortened in generic views
_MAX_DEPTH = 4
#: statuses that mean the run did not end as planned (shown in red)
BAD_STATUSES = ("diverged", "crashed", "failed", "interrupted", "unreadable")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def anchor(key: str, prefix: str = "run-") -> str:
    """An id made of ``[A-Za-z0-9_-]`` only (callers keep keys unique)."""
    return prefix + (re.sub(r"[^A-Za-z0-9_-]+", "-", key).strip("-") or "x")


def fmt_number(x: float | int) -> str:
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
        return esc(fmt_number(v))
    if isinstance(v, str):
        return esc(v)
    if depth >= _MAX_DEPTH:
        return esc(json.dumps(v, default=str)[:200])
    if isinstance(v, (list, tuple)):
        if not v:
            return "[]"
        items = list(v)
        more = len(items) - _MAX_LIST
        items = items[:_MAX_LIST]
        tail = esc(f", … ({more} more)") if more > 0 else ""
        if all(_scalar(x) for x in items):
            return "[" + ", ".join(render_value(x, depth + 1) for x in items) + tail + "]"
        return "".join(f"<div>{render_value(x, depth + 1)}</div>" for x in items) + (
            f"<div>{esc(f'… ({more} more)')}</div>" if more > 0 else "")
    if isinstance(v, dict):
        if not v:
            return "{}"
        rows = "".join(f"<tr><td>{esc(k)}</td><td>{render_value(x, depth + 1)}</td></tr>" for k, x in v.items())
        return f'<table class="kv"><tbody>{rows}</tbody></table>'
    return esc(v)


def _cell(c: Any) -> str:
    if isinstance(c, (int, float)) and not isinstance(c, bool):
        return f'<td class="num">{esc(fmt_number(c))}</td>'
    return f"<td>{render_value(c, 3)}</td>"


def table_html(t: dict) -> str:
    """``{title, columns, rows}`` (as in ``summary.json["tables"]``) as an escaped table; a row that
    is not a list is one cell."""
    cols = t.get("columns") if isinstance(t.get("columns"), list) else []
    rows = t.get("rows") if isinstance(t.get("rows"), list) else []
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_cell(c) for c in (row if isinstance(row, (list, tuple)) else [row])) + "</tr>"
                   for row in rows)
    title = f"<h4>{esc(t['title'])}</h4>" if t.get("title") else ""
    return f'{title}<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def figure_html(data_uri: str, caption: str, alt: str) -> str:
    return (f'<figure><img src="{esc(data_uri)}" alt="{esc(alt)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def FOOTER() -> str:  # noqa: N802 - a constant text, in the active language
    """The footer of both pages."""
    return _("Self-contained page: figures are embedded, no external resources, no scripts.")


def status_label(status: str) -> str:
    """A status as shown: the statuses trainlab writes in the active language, others as recorded."""
    known = {"completed": _("completed"), "running": _("running"), "diverged": _("diverged"),
             "crashed": _("crashed"), "failed": _("failed"), "interrupted": _("interrupted"),
             "unreadable": _("unreadable"), "legacy": _("legacy")}
    return known.get(status, status)


def kind_label(kind: str) -> str:
    """A run's kind as shown (experiment, search, train, trial), others as recorded."""
    known = {"experiment": _("experiment"), "search": _("search"), "train": _("train"), "trial": _("trial")}
    return known.get(kind, kind) if kind else _("unknown kind")


def status_html(status: str) -> str:
    """A run's status, red when it did not end as planned."""
    if status in ("", "–"):
        return "–"
    cls = "ok" if status == "completed" else "bad" if status in BAD_STATUSES else "other"
    return f'<span class="status-{cls}">{esc(status_label(status))}</span>'


def badges_html(kind: str, reduced: bool) -> str:
    out = f'<span class="badge kind">{esc(kind_label(kind))}</span>' if kind != "legacy" else (
        '<span class="badge legacy">' + esc(_("older trainlab")) + "</span>")
    if reduced:
        tip = esc(_("a test-size run: fewer iterations, epochs or samples"))
        out += f' <span class="badge reduced" title="{tip}">' + esc(_("reduced size")) + "</span>"
    return out


def seconds(v: Any) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return f"{v:.1f} s" if v < 120 else f"{v / 60:.1f} min"
    return "–"


def page(title: str, sub_html: str, body_html: str, footer: str) -> str:
    """The whole page, in the active language; ``title`` and ``footer`` are escaped here,
    ``sub_html``/``body_html`` must be. A Korean or Japanese page embeds the font its text needs."""
    from .webfont import FAMILY, font_face_css

    lang = i18n.current()
    css = CSS
    face = font_face_css(title + sub_html + body_html + footer, lang)
    if face:
        # first in the stack: the page waits for it (no text shaped with a fallback and left so); it
        # holds only CJK characters, so Latin text still comes from the fonts after it
        css += (face + f'body {{ font-family:"{FAMILY}", {FONT_STACK}, sans-serif; }}\n'
                f'code, pre {{ font-family:"{FAMILY}", monospace; }}\n')
    return f"""<!DOCTYPE html>
<html lang="{esc(lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{css}</style>
</head>
<body>
<main>
<h1>{esc(title)}</h1>
<p class="sub">{sub_html}</p>
{body_html}
<footer>{esc(footer)}</footer>
</main>
</body>
</html>
"""
