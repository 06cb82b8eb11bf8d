"""The report page: a summary table of every run, then one section per run, shaped by its kind.

* every run: title, folder, kind, dataset, status (red when diverged, crashed, failed or
  interrupted, with the run's message and error), a "reduced size" badge for a test-size run, the
  notes about anything damaged, its figures and its configuration (collapsible);
* experiment: what it shows (``run.json["shows"]``) and its description (the experiment module's
  docstring, collapsible), each claim ✓/✗ with its detail, the book's numbers (``run.json["book"]``) beside ours
  (the claims' values) and every ``summary.json["tables"]`` table;
* search: the same, and how many trials ended in each state;
* train (and a lone trial): the final metrics of summary.json (accuracy and loss per split, epochs,
  iterations, the best validation accuracy and its epoch);
* a folder an older trainlab wrote: a note saying to run it again.
"""

from __future__ import annotations

from typing import Any

from ..i18n import _, shown
from .html import (FOOTER, anchor, badges_html, esc, figure_html, fmt_number, page, render_value, seconds,
                   status_html, table_html)
from .load import RunView

__all__ = ["render_page", "overview_html", "section_html"]


def _splits() -> tuple[tuple[str, str], ...]:
    """The data splits of a train run's metrics and their labels in the active language."""
    return (("train", _("train")), ("val", _("validation")), ("test", _("test")))


def _h3(text: str) -> str:
    return f"<h3>{esc(text)}</h3>"


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _num_cell(v: Any) -> str:
    return f'<td class="num">{esc(fmt_number(v))}</td>' if _number(v) else "<td>–</td>"


def _claims_pill(run: RunView) -> str:
    na = _(" + {n} not applicable").format(n=run.n_not_applicable) if run.n_not_applicable else ""
    if not run.n_claims:
        word = _("not applicable") if na else _("no claims")
        return f'<span class="pill none">{esc(word)}</span>'
    cls = "ok" if run.n_passed == run.n_claims else "bad"
    return f'<span class="pill {cls}">{run.n_passed}/{run.n_claims}{na}</span>'


def _final(run: RunView, key: str):
    """A final metric of a train run: summary.json's own key, else its last epoch record."""
    s = run.summary or {}
    if _number(s.get(key)):
        return s[key]
    last = s.get("final")
    return last.get(key) if isinstance(last, dict) and _number(last.get(key)) else None


def _headline(run: RunView) -> str:
    """One number for the summary table: a train run's test (else validation) accuracy, a search's best."""
    if run.kind in ("train", "trial"):
        for key, label in (("test_acc", _("test acc")), ("val_acc", _("val acc"))):
            v = _final(run, key)
            if v is not None:
                return f"{esc(label)} {esc(fmt_number(v))}"
    if run.kind == "search":
        best = (run.summary or {}).get("best")
        if isinstance(best, dict) and _number(best.get("val_acc")):
            return esc(_("best val acc")) + f" {esc(fmt_number(best['val_acc']))}"
    return "–"


def _compute(run: RunView):
    """Sum of the per-seed times (seeds may run in parallel, so this can exceed the wall time)."""
    times = run.manifest.get("seed_elapsed_s")
    if isinstance(times, list) and times and all(_number(t) for t in times):
        return sum(times)
    return None


def _also_named(run: RunView) -> str:
    """The run's name when its folder is called otherwise."""
    return " (" + esc(_("name")) + f" <code>{esc(run.name)}</code>)" if run.name != run.path.name else ""


def overview_html(runs: list[RunView]) -> str:
    rows = []
    for run in runs:
        rows.append(
            f'<tr><td><a href="#{run.anchor}">{esc(run.title)}</a><br><code>{esc(run.where)}</code>{_also_named(run)}</td>'
            f"<td>{badges_html(run.kind, run.reduced)}</td>"
            f"<td>{esc(run.dataset or '–')}</td>"
            f"<td>{esc(run.manifest.get('book_section') or '–')}</td>"
            f"<td>{status_html(run.status)}</td>"
            f"<td>{_claims_pill(run) if not run.legacy else '–'}</td>"
            f"<td>{_headline(run)}</td>"
            f'<td class="num">{seconds(run.manifest.get("elapsed_s"))}</td>'
            f'<td class="num">{seconds(_compute(run))}</td></tr>')
    head = "".join(f"<th>{esc(h)}</th>" for h in (
        _("run"), _("kind"), _("dataset"), _("book"), _("status"), _("claims passed"), _("result"),
        _("time (wall)"), _("seeds' compute")))
    return ('<div class="scroll"><table class="overview"><thead><tr>' + head + "</tr></thead><tbody>"
            + "".join(rows) + "</tbody></table></div>")


def _claims_html(run: RunView) -> str:
    if not run.claims:
        return '<p class="meta">' + esc(_("No claims recorded.")) + "</p>"
    items, unnamed = [], _("(unnamed claim)")
    for c in run.claims:
        ok = c.get("passed") is True
        detail = c.get("detail")
        cls, label, mark = ("ok", _("holds"), "✓") if ok else ("bad", _("fails"), "✗")
        na = c.get("not_applicable")
        if na:  # checked, but not on the book's configuration: neither holds nor fails
            cls, label, mark = "na", _("not applicable"), "–"
            here = _("here it would hold") if c.get("holds_here") else _("here it would not hold")
            detail = _("not applicable ({why}); {here}: {detail}").format(why=na, here=here, detail=detail or "")
        items.append(
            f'<li class="{cls}"><span class="mark" aria-label="{esc(label)}">'
            f'{mark}</span><span class="claim-name">{esc(c.get("name", unnamed))}</span>'
            + (f'<div class="claim-detail">{render_value(detail)}</div>' if detail else "") + "</li>")
    return '<ul class="claims">' + "".join(items) + "</ul>"


def _ours_values(run: RunView) -> str:
    """Our numbers for the side-by-side box: each claim's values, one row per claim."""
    rows = []
    for c in run.claims:
        values = c.get("values")
        if isinstance(values, dict) and values:
            inline = "; ".join(f"{esc(k)} = {render_value(v, 2)}" for k, v in values.items())
            rows.append(f"<tr><td>{esc(c.get('name', ''))}</td><td>{inline}</td></tr>")
    return f'<table class="kv"><tbody>{"".join(rows)}</tbody></table>' if rows else ""


def _book_beside_ours(run: RunView) -> str:
    """The book's numbers beside ours: the experiment's comparison table first (one row per quantity:
    the book's number and its source, ours over seeds, whether they agree), then its other tables;
    the reference numbers as recorded and the claims' own numbers stay one click away."""
    tables, book = run.tables, run.book
    if not tables and not book:
        return ""
    compared = [t for t in tables if isinstance(t.get("comparison"), list)]
    others = [t for t in tables if t not in compared]
    heading = _("The book's numbers beside ours") if (book or compared) else _("Tables")
    parts = [f"<h3>{esc(heading)}</h3>"]
    parts += [table_html(t) for t in compared + others]
    if book:
        ours, theirs = esc(_("Ours (the claims' numbers)")), esc(_("Book / reference run"))
        inner = ('<div class="compare">'
                 f"<div><h4>{theirs}</h4>{render_value(book)}</div>"
                 f"<div><h4>{ours}</h4>{_ours_values(run) or '–'}</div></div>")
        if compared:
            summary = esc(_("The reference numbers as recorded, and the claims' numbers"))
            parts.append(f"<details><summary>{summary}</summary>{inner}</details>")
        else:
            parts.append(inner)
    return "".join(parts)


def _train_metrics(run: RunView) -> str:
    s = run.summary
    if s is None:
        return (_h3(_("Final metrics")) + '<p class="meta">'
                + esc(_("No summary.json: the run wrote no final metrics.")) + "</p>")
    splits = _splits()
    head = "".join(f"<th>{esc(label)}</th>" for _split, label in splits)
    rows = "".join(f"<tr><th>{esc(what)}</th>"
                   + "".join(_num_cell(_final(run, f"{split}_{key}")) for split, _label in splits)
                   + "</tr>" for key, what in (("acc", _("accuracy")), ("loss", _("loss"))))
    facts = []
    for key, label in (("epochs_completed", _("epochs")), ("iterations", _("iterations"))):
        if _number(s.get(key)):
            facts.append(f"{esc(label)} {esc(fmt_number(s[key]))}")
    if _number(s.get("best_val_acc")):
        acc = esc(fmt_number(s["best_val_acc"]))
        if _number(s.get("best_val_epoch")):
            facts.append(esc(_("best validation accuracy {acc} at epoch {epoch}").format(
                acc=acc, epoch=fmt_number(s["best_val_epoch"]))))
        else:
            facts.append(esc(_("best validation accuracy {acc}").format(acc=acc)))
    return (_h3(_("Final metrics"))
            + f'<table class="metrics"><thead><tr><th></th>{head}</tr></thead><tbody>{rows}</tbody></table>'
            + (f'<div class="meta">{" · ".join(facts)}</div>' if facts else ""))


def _trials_html(run: RunView) -> str:
    t = run.trials
    if not t:
        return ""
    states = ", ".join(f"{esc(n)} {esc(state)}" for state, n in sorted(t["states"].items(), key=lambda kv: -kv[1]))
    return _h3(_("Trials")) + "<p>" + esc(_("{n} trial(s)").format(n=t["n"])) + f": {states}</p>"


def section_html(run: RunView) -> str:
    m = run.manifest
    parts = [f'<section class="run" id="{run.anchor}">', f"<h2>{esc(run.title)}</h2>"]
    meta = [f"<code>{esc(run.where)}</code>{_also_named(run)}", badges_html(run.kind, run.reduced)]
    if run.dataset:
        meta.append(esc(_("dataset")) + f" {esc(run.dataset)}")
    if m.get("book_section"):
        meta.append(esc(_("book")) + f" {esc(m['book_section'])}")
    meta.append(esc(_("status")) + f" {status_html(run.status)}")
    if not run.legacy:
        meta.append(esc(_("time")) + f" {seconds(m.get('elapsed_s'))}")
    if m.get("seeds") is not None:
        meta.append(esc(_("seeds")) + f" {render_value(m['seeds'])}")
    if run.kind in ("experiment", "search") or run.claims:
        meta.append(esc(_("claims")) + f" {_claims_pill(run)}")
    parts.append('<div class="meta">' + " · ".join(meta) + "</div>")
    if isinstance(m.get("shows"), str) and m["shows"]:
        parts.append('<p class="shows">' + esc(_("Shows:")) + f' {esc(m["shows"])}</p>')
    if isinstance(m.get("description"), str) and m["description"]:
        parts.append("<details><summary>" + esc(_("About this experiment")) + "</summary>"
                     f"<pre>{esc(m['description'])}</pre></details>")
    if run.reduced:
        note = _("a test-size run: fewer iterations, epochs or samples than the book's, so its numbers are "
                 "not the book's scale.")
        parts.append('<p class="meta"><span class="badge reduced">' + esc(_("reduced size"))
                     + f"</span> {esc(note)}</p>")
    if run.status != "completed" and run.message:
        parts.append(f'<div class="statusbox">{status_html(run.status)}: {esc(run.message)}</div>')
    if run.problems:
        parts.append('<div class="problems">' + "".join(f"<div>{esc(shown(p))}</div>" for p in run.problems) + "</div>")
    if run.error:
        parts.append("<details open><summary>" + esc(_("error")) + f"</summary><pre>{esc(run.error)}</pre></details>")
    if run.legacy:
        return "\n".join(parts + ["</section>"])
    if run.kind in ("train", "trial"):
        parts.append(_train_metrics(run))
    parts.append(_trials_html(run))
    if run.kind in ("experiment", "search", "") or run.claims:
        parts.append(_h3(_("Claims")) + _claims_html(run))
    parts.append(_book_beside_ours(run))
    if run.figures:
        parts.append(_h3(_("Figures")))
        captions = run.manifest.get("figure_captions")
        captions = captions if isinstance(captions, dict) else {}
        parts += [figure_html(f.data_uri(), str(captions.get(f.name) or f.name), f"{run.name}: {f.name}")
                  for f in run.figures]
    skipped = run.manifest.get("figures_skipped")
    if isinstance(skipped, dict) and skipped:  # a search's Optuna plots that its study could not support
        parts.append('<p class="meta">' + esc(_("Not drawn:")) + " "
                     + "; ".join(f"{esc(n)} ({esc(why)})" for n, why in skipped.items()) + "</p>")
    if run.config is not None:
        parts.append("<details><summary>" + esc(_("Configuration")) + "</summary>" + render_value(run.config)
                     + "</details>")
    parts.append("</section>")
    return "\n".join(p for p in parts if p)


def _safe_section(run: RunView) -> str:
    """The run's section; should a damaged value still break it, a section saying so (the page stays)."""
    try:
        return section_html(run)
    except Exception as exc:
        return (f'<section class="run" id="{run.anchor}"><h2>{esc(run.title)}</h2><div class="problems">'
                + esc(_("this run could not be shown")) + f": {esc(type(exc).__name__)}: {esc(exc)}</div></section>")


def _count(runs: list[RunView]) -> str:
    kinds: dict[str, int] = {}
    for r in runs:
        kinds[r.kind or "unknown"] = kinds.get(r.kind or "unknown", 0) + 1
    words = {"experiment": _("experiment(s)"), "search": _("search(es)"), "train": _("train run(s)"),
             "trial": _("trial(s)"), "legacy": _("from an older trainlab"), "unknown": _("of unknown kind")}
    return ", ".join(f"{n} {words.get(k, k)}" for k, n in kinds.items())


def render_page(runs: list[RunView], runs_dir: str, generated: str, version: str) -> str:
    used: set[str] = set()
    for r in runs:  # ids from folder names, made unique ("a b" and "a-b" give the same one)
        base = r.anchor = anchor(r.where)
        k = 2
        while r.anchor in used:
            r.anchor, k = f"{base}-{k}", k + 1
        used.add(r.anchor)
    n_claims = sum(r.n_claims for r in runs)
    n_passed = sum(r.n_passed for r in runs)
    unfinished = [f"{r.where} ({r.status})" for r in runs if not r.completed and not r.legacy]
    reduced = [r.where for r in runs if r.reduced]
    head = _("{n} run(s): {kinds} · {passed}/{claims} claims hold").format(
        n=len(runs), kinds=_count(runs), passed=n_passed, claims=n_claims)
    n_na = sum(r.n_not_applicable for r in runs)
    if n_na:
        head += _(" ({n} more not applicable: not the book's configuration)").format(n=n_na)
    if unfinished:
        head += " · " + _("not completed") + f": {', '.join(unfinished)}"
    if reduced:
        head += " · " + _("reduced size") + f": {', '.join(reduced)}"
    sub = (f"{esc(head)}<br>"
           + esc(_("Runs from {runs_dir}, generated {generated} by trainlab {version}.")).format(
               runs_dir=f"<code>{esc(runs_dir)}</code>", generated=esc(generated), version=esc(version))
           + " " + esc(_("Each claim is checked on our numbers; ✓ holds, ✗ does not (a failed claim is a finding, "
                         "kept as measured).")))
    body = _h3(_("Summary")) + "\n" + overview_html(runs) + "\n" + "\n".join(_safe_section(r) for r in runs)
    return page(_("TrainLab report — chapter 6, measured"), sub, body, FOOTER())
