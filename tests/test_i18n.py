"""Korean and Japanese: choosing the language, the catalogues, the translated report and compare
pages, and the fonts of translated figures.

* the language: --lang wins over TRAINLAB_LANG, default English, anything else a usage error (exit 2)
  that lists the accepted values, on every command that has --lang;
* the catalogues (Babel, a test dependency): each committed ``.mo`` is what Babel compiles from its
  ``.po`` now; every message has a non-empty translation with the same {placeholders}; the messages
  Babel's extractor finds in src/trainlab are exactly those of each catalogue, and it finds every
  ``_("...")`` call (one hidden in an f-string, invisible to Babel on Python 3.11, fails here);
  the wheel's package data takes the ``.mo`` files;
* the pages: ``<html lang>``, the headings and labels translated, English unchanged;
* figures: the ko/ja font's cmap (fontTools) covers every character of the figure labels, and a
  Korean figure drawn with it raises no missing-glyph warning while one drawn with DejaVu Sans does.
"""

from __future__ import annotations

import ast
import fnmatch
import io
import re
import tomllib
import warnings
from pathlib import Path

import pytest
import runs_factory as fab
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from trainlab import i18n
from trainlab.cli import main
from trainlab.report import build_html

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "trainlab"
TRANSLATED = ("ko", "ja")
PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def po_path(lang: str) -> Path:
    return SRC / "locale" / lang / "LC_MESSAGES" / "trainlab.po"


def catalogue(lang: str):
    with po_path(lang).open("rb") as f:
        return read_po(f, locale=lang, domain="trainlab")


def extracted(path: Path = SRC) -> set[str]:
    """The messages Babel's Python extractor finds (keyword ``_`` and gettext's others)."""
    if path.is_file():
        return {m[1] for m in extract_from_file("python", str(path))}
    return {m[2] for m in extract_from_dir(str(path))}


def marked_by_ast(root: Path = SRC) -> dict[str, list[str]]:
    """Every ``_("literal")`` and ``N_("literal")`` call, wherever it is, f-strings included: msgid → places."""
    out: dict[str, list[str]] = {}
    for p in root.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "N_")
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                out.setdefault(node.args[0].value, []).append(f"{p.relative_to(ROOT)}:{node.lineno}")
    return out


# -- choosing the language ------------------------------------------------------------------------------
def test_the_flag_wins_over_the_variable_and_english_is_the_default():
    assert i18n.LANGS == ("en", "ko", "ja")
    assert i18n.resolve(None, {}) == "en"
    assert i18n.resolve(None, {"TRAINLAB_LANG": ""}) == "en"
    assert i18n.resolve(None, {"TRAINLAB_LANG": "ja"}) == "ja"
    assert i18n.resolve("ko", {"TRAINLAB_LANG": "ja"}) == "ko"
    assert i18n.resolve("en", {"TRAINLAB_LANG": "ko"}) == "en"
    assert i18n.resolve(" KO ", {}) == "ko"


@pytest.mark.parametrize("flag, env, where", [("fr", {}, "--lang"), (None, {"TRAINLAB_LANG": "kr"}, "TRAINLAB_LANG"),
                                              ("", {"TRAINLAB_LANG": "ko"}, "--lang")])
def test_an_unknown_language_names_where_it_came_from_and_lists_the_accepted_values(flag, env, where):
    with pytest.raises(i18n.LanguageError) as err:
        i18n.resolve(flag, env)
    assert str(err.value).startswith(f"{where}: unknown language") and "accepted values: en, ko, ja" in str(err.value)


def test_using_sets_the_language_for_the_block_only(monkeypatch):
    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    assert i18n.current() == "en" and i18n._("Summary") == "Summary"
    with i18n.using("ko"):
        assert i18n.current() == "ko" and i18n._("Summary") == "요약"
        with i18n.using("ja"):
            assert i18n._("Summary") == "概要"
        assert i18n._("Summary") == "요약"
    assert i18n._("Summary") == "Summary"
    monkeypatch.setenv("TRAINLAB_LANG", "ja")
    assert i18n._("Summary") == "概要"


def test_exported_sets_the_variable_for_worker_processes_and_restores_it(monkeypatch):
    monkeypatch.setenv("TRAINLAB_LANG", "ja")
    with i18n.exported("ko"):
        import os

        assert os.environ["TRAINLAB_LANG"] == "ko" and i18n.current() == "ko"
    assert os.environ["TRAINLAB_LANG"] == "ja"
    monkeypatch.delenv("TRAINLAB_LANG")
    with i18n.exported("ja"):
        pass
    assert "TRAINLAB_LANG" not in os.environ


@pytest.mark.parametrize("command", [["report", "RUNS"], ["run", "optimizer-race", "--out", "RUNS"],
                                     ["compare", "RUNS/train-a"]])
def test_every_command_with_lang_reports_a_bad_language_as_a_usage_error(command, tmp_path, capsys, monkeypatch):
    fab.train_run(tmp_path / "runs", "train-a")
    argv = [a.replace("RUNS", str(tmp_path / "runs")) for a in command]
    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(argv + ["--lang", "fr"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "usage: trainlab" in err and "--lang: unknown language 'fr'; accepted values: en, ko, ja" in err
    monkeypatch.setenv("TRAINLAB_LANG", "de")
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and "TRAINLAB_LANG: unknown language 'de'" in capsys.readouterr().err
    assert not (tmp_path / "runs" / "report.html").exists() and not (tmp_path / "runs" / "optimizer-race").exists()


# -- the catalogues -------------------------------------------------------------------------------------
@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_committed_mo_is_what_babel_compiles_from_the_po(lang):
    buf = io.BytesIO()
    write_mo(buf, catalogue(lang))
    mo = po_path(lang).with_suffix(".mo")
    assert mo.read_bytes() == buf.getvalue(), (
        f"{mo} is stale: run 'pybabel compile -d src/trainlab/locale -D trainlab' and commit it")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_has_a_translation_with_the_same_placeholders(lang):
    cat = catalogue(lang)
    assert not cat.fuzzy
    messages = [m for m in cat if m.id]
    assert len(messages) > 100
    for m in messages:
        assert isinstance(m.string, str) and m.string.strip(), f"{lang}: no translation for {m.id!r}"
        assert not m.fuzzy, f"{lang}: fuzzy translation of {m.id!r}"
        assert sorted(PLACEHOLDER.findall(m.id)) == sorted(PLACEHOLDER.findall(m.string)), (lang, m.id, m.string)
        assert m.string != m.id or m.id in ("TrainLab compare",), f"{lang}: {m.id!r} left in English"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_catalogue_holds_exactly_the_messages_the_code_marks(lang):
    ids = {m.id for m in catalogue(lang) if m.id}
    marked = extracted()
    assert marked - ids == set(), f"{lang}: marked in the code but missing from {po_path(lang)}"
    assert ids - marked == set(), f"{lang}: in {po_path(lang)} but no longer in the code"


def test_babel_sees_every_marked_message():
    """A ``_("...")`` inside an f-string is invisible to Babel's extractor on Python 3.11: it would
    never reach a catalogue, so every call has to stand outside f-strings."""
    marked, seen = marked_by_ast(), extracted()
    hidden = {k: v for k, v in marked.items() if k not in seen}
    assert hidden == {}, f"_() calls Babel cannot extract (move them out of the f-string): {hidden}"
    assert len(marked) == len(seen) > 100


def test_the_catalogues_are_read_by_the_standard_librarys_gettext():
    assert i18n.translation("en").gettext("Summary") == "Summary"
    assert i18n.translation("ko").gettext("Claims") == "주장"
    assert i18n.translation("ja").gettext("validation accuracy") == "検証データの認識精度"
    assert type(i18n.translation("ko")).__name__ == "GNUTranslations"


def test_the_wheel_ships_the_compiled_catalogues():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["trainlab"]
    for lang in TRANSLATED:
        for suffix in (".mo", ".po"):
            rel = po_path(lang).with_suffix(suffix).relative_to(SRC).as_posix()
            assert any(fnmatch.fnmatch(rel, p) for p in patterns), f"{rel} is not package data"


# -- the pages ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("i18n") / "runs"
    fab.train_run(root, "train-a")
    fab.experiment_run(root, "optimizer-mnist", reduced=True, book={"adam": {"loss at 2000": 0.1}},
                       claims=[{"name": "Adam ends below SGD", "passed": True, "detail": "0.12 < 0.45",
                                "values": {"adam": 0.12}}],
                       tables=[{"title": "book vs ours", "columns": ["e", "v"], "rows": [["200", "0.9"]]}])
    fab.search_run(root)
    return root


ENGLISH_FIXED = ("<h3>Summary</h3>", "<h3>Claims</h3>", "<h3>Figures</h3>", "<summary>Configuration</summary>",
                 "<th>claims passed</th>", "reduced size</span>", "<h3>Final metrics</h3>", "<h3>Trials</h3>",
                 "The book&#x27;s numbers beside ours", "status-ok\">completed<")


def test_the_english_report_is_unchanged_by_the_catalogues(runs, monkeypatch):
    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    page = build_html(runs)
    assert '<html lang="en">' in page and "<title>TrainLab report — chapter 6, measured</title>" in page
    for text in ENGLISH_FIXED:
        assert text in page, text


@pytest.mark.parametrize("lang, words", [
    ("ko", ("<h3>요약</h3>", "<h3>주장</h3>", "<h3>그림</h3>", "<summary>설정</summary>", "<th>성립한 주장</th>",
            "축소 크기</span>", "<h3>최종 지표</h3>", "<h3>시행</h3>", "책의 수치와 우리의 수치",
            "status-ok\">완료<", "<title>TrainLab 보고서 — 6장, 측정 결과</title>", "시드", "검증")),
    ("ja", ("<h3>概要</h3>", "<h3>主張</h3>", "<h3>図</h3>", "<summary>設定</summary>", "<th>成り立った主張</th>",
            "縮小サイズ</span>", "<h3>最終的な指標</h3>", "<h3>試行</h3>", "書籍の数値と私たちの数値",
            "status-ok\">完了<", "<title>TrainLab レポート — 6 章、測定結果</title>", "シード", "検証")),
])
def test_the_report_speaks_the_chosen_language(runs, lang, words, monkeypatch):
    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    page = build_html(runs, lang=lang)
    assert f'<html lang="{lang}">' in page
    for text in words:
        assert text in page, text
    for text in ENGLISH_FIXED:
        assert text not in page, text
    assert "Adam ends below SGD" in page  # what the run recorded stays as recorded


def test_the_report_command_takes_lang_and_the_variable(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRAINLAB_LANG", "ja")
    assert main(["report", str(runs), "--out", str(tmp_path / "ja.html")]) == 0
    assert '<html lang="ja">' in (tmp_path / "ja.html").read_text(encoding="utf-8")
    assert main(["report", str(runs), "--out", str(tmp_path / "ko.html"), "--lang", "ko"]) == 0
    page = (tmp_path / "ko.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "<h3>요약</h3>" in page
    assert i18n.current() == "ja"  # the command's language ended with it


def test_the_compare_command_writes_its_page_and_figure_labels_in_the_language(runs, tmp_path, monkeypatch):
    from trainlab import plots

    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    drawn = []
    real = plots.overlay_figure

    def spy(curves, metric, title=""):
        fig = real(curves, metric, title)
        drawn.append((fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel(), fig.axes[0].texts,
                      fig.axes[0].title.get_fontfamily()))
        return fig

    monkeypatch.setattr(plots, "overlay_figure", spy)
    out = tmp_path / "cmp"
    assert main(["compare", str(runs / "train-a"), "--metric", "val_acc", "--out", str(out), "--lang", "ko"]) == 0
    page = (out / "compare.html").read_text(encoding="utf-8")
    assert '<html lang="ko">' in page and "<h3>비교한 실행</h3>" in page and "서로 다른 설정 키" in page
    assert "<title>TrainLab 비교</title>" in page and "검증 정확도" in page
    xlabel, ylabel, _texts, family = drawn[0]
    assert (xlabel, ylabel) == ("에폭", "검증 정확도") and family[0] == "NanumGothic"


# -- figures --------------------------------------------------------------------------------------------
def figure_messages() -> set[str]:
    """The messages the shared figure helpers (plots.py) draw."""
    return extracted(SRC / "plots.py")


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_figure_font_has_a_glyph_for_every_character_of_the_figure_labels(lang):
    from fontTools.ttLib import TTFont

    from trainlab.fonts import font_path

    cmap = TTFont(str(font_path(lang)), fontNumber=0).getBestCmap()
    translation = i18n.translation(lang)
    labels = {translation.gettext(m) for m in figure_messages()}
    assert len(labels) >= 10 and all(label not in figure_messages() for label in labels)
    missing = {ch for label in labels for ch in label if not ch.isspace() and ord(ch) not in cmap}
    assert missing == set(), f"{font_path(lang).name} lacks {sorted(missing)}"
    assert ord("\uffff") not in cmap  # the check can tell a missing glyph


def _draw_png(fig) -> list[str]:
    """Draw ``fig`` to PNG; the missing-glyph warnings matplotlib gave."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        FigureCanvasAgg(fig)
        fig.savefig(io.BytesIO(), format="png")
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_translated_figure_is_drawn_without_missing_glyphs(lang, monkeypatch):
    import matplotlib

    from trainlab.plots import run_figure

    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    history = fab.history()
    family = list(matplotlib.rcParams["font.family"])
    with i18n.using(lang):
        fig = run_figure(history, title=i18n._("validation accuracy"))
    assert fig.axes[1].get_ylabel() == i18n.translation(lang).gettext("accuracy")
    assert fig.axes[1].yaxis.label.get_fontfamily()[0] == {"ko": "NanumGothic", "ja": "IPAexGothic"}[lang]
    assert list(matplotlib.rcParams["font.family"]) == family  # matplotlib's settings left as they were
    assert _draw_png(fig) == []
    fig_en = run_figure(history, title=i18n.translation(lang).gettext("validation accuracy"))  # DejaVu: tofu
    assert _draw_png(fig_en), "DejaVu Sans drew Hangul/Kana without a warning: this check could not fail"
    assert run_figure(history).axes[1].get_ylabel() == "accuracy"


def test_a_korean_or_japanese_page_carries_its_font_cut_to_its_characters(runs, monkeypatch):
    import base64

    from fontTools.ttLib import TTFont

    from trainlab.report.webfont import FAMILY, page_characters

    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    assert "@font-face" not in build_html(runs)  # English: no font, the page as before
    for lang, sample in (("ko", "요약"), ("ja", "概要")):
        page = build_html(runs, lang=lang)
        face = re.search(r'@font-face \{ font-family:"([^"]+)"; src:url\(data:font/ttf;base64,([A-Za-z0-9+/=]+)\)',
                         page)
        assert face and face.group(1) == FAMILY
        assert f'body {{ font-family:"{FAMILY}", ' in page  # first: the page waits for it
        font = TTFont(io.BytesIO(base64.b64decode(face.group(2))))
        cmap = font.getBestCmap()
        needed = page_characters(re.sub(r"<style>.*?</style>", "", page, flags=re.S))
        assert sample[0] in needed and all(ord(ch) in cmap for ch in needed)
        assert ord("A") not in cmap and len(cmap) < 3 * len(needed)  # no Latin, nothing the page does not use
        assert len(face.group(2)) < 200_000


def test_the_notes_about_a_damaged_run_are_english_strings_shown_in_the_pages_language(tmp_path, monkeypatch):
    from trainlab import files
    from trainlab.report import load_run

    monkeypatch.delenv("TRAINLAB_LANG", raising=False)
    root = tmp_path / "runs"
    run = fab.train_run(root, "train-a")
    manifest = files.read_json(run / "run.json")
    files.write_json(run / "run.json", {**manifest, "figures": ["curves", "lost"], "reduced": "yes"})
    notes = load_run(run, root).problems
    assert "figure 'lost' is listed in run.json but missing from figures/" in notes  # English, as before
    assert "run.json: 'reduced' should be true or false, got 'yes'" in notes
    ko = build_html(root, lang="ko")
    assert "그림 &#x27;lost&#x27;이(가) run.json에는 있지만 figures/에 없습니다" in ko
    assert "run.json: &#x27;reduced&#x27;는 true 또는 false여야 하는데 &#x27;yes&#x27;입니다" in ko
    assert "is listed in run.json but missing" not in ko
    ja = build_html(root, lang="ja")
    assert "図 &#x27;lost&#x27; は run.json にありますが figures/ にありません" in ja
    assert "figure &#x27;lost&#x27; is listed in run.json but missing from figures/" in build_html(root)
