"""The language of the report, the compare page and the figures: English, Korean or Japanese.

    from trainlab import i18n
    lang = i18n.resolve(args.lang)          # --lang wins over TRAINLAB_LANG; default "en"
    with i18n.using(lang):
        html = build_html("runs")           # every _("...") inside speaks ``lang``

Messages are English in the code (the msgid is the English text, so English needs no catalogue)
and marked with :func:`_`. Their Korean and Japanese translations are gettext catalogues:
``locale/{ko,ja}/LC_MESSAGES/trainlab.po`` (the sources, edited by hand) compiled to ``.mo`` files
shipped beside them as package data and read by the standard library's :mod:`gettext`. After
editing a ``.po``, compile it: ``pybabel compile -d src/trainlab/locale -D trainlab``
(``tests/test_i18n.py`` fails while a ``.mo`` is stale, a message is untranslated, or a marked
message is missing from a catalogue).

The active language is a context variable, so a page is rendered in one language from start to end
without passing it through every function. Figures drawn in other processes take the language
from ``TRAINLAB_LANG``, which :func:`exported` sets for the child processes a command starts.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import gettext
import os
from pathlib import Path

__all__ = ["LANGS", "ENV_VAR", "DEFAULT", "LOCALE_DIR", "LanguageError", "resolve", "translation", "current",
           "using", "exported", "_", "N_", "Note", "shown", "add_argument", "from_args"]

#: the languages TrainLab speaks; English first (the default, and the text in the code)
LANGS = ("en", "ko", "ja")
DEFAULT = "en"
ENV_VAR = "TRAINLAB_LANG"
DOMAIN = "trainlab"
LOCALE_DIR = Path(__file__).parent / "locale"

_active: contextvars.ContextVar[str | None] = contextvars.ContextVar("trainlab_lang", default=None)


class LanguageError(ValueError):
    """A language TrainLab does not speak; the message names where it came from and lists :data:`LANGS`."""


def resolve(flag: str | None = None, environ=None) -> str:
    """The language to use: ``flag`` (``--lang``) if given, else ``$TRAINLAB_LANG`` if set and not
    empty, else English. Raises :class:`LanguageError` for anything not in :data:`LANGS`."""
    environ = os.environ if environ is None else environ
    if flag is not None:
        value, where = flag, "--lang"
    else:
        value, where = environ.get(ENV_VAR) or DEFAULT, ENV_VAR
    lang = value.strip().lower()
    if lang not in LANGS:
        raise LanguageError(f"{where}: unknown language {value!r}; accepted values: {', '.join(LANGS)}")
    return lang


@functools.lru_cache(maxsize=None)
def translation(lang: str) -> gettext.NullTranslations:
    """The catalogue of ``lang`` (English: the messages as written). A missing ``.mo`` for ko/ja is an
    error, not a silent fall back to English."""
    if lang not in LANGS:
        raise LanguageError(f"unknown language {lang!r}; accepted values: {', '.join(LANGS)}")
    if lang == DEFAULT:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[lang])


def current() -> str:
    """The active language: the innermost :func:`using`, else ``$TRAINLAB_LANG`` (if valid), else English."""
    lang = _active.get()
    if lang is not None:
        return lang
    try:
        return resolve(None)
    except LanguageError:  # a bad variable is reported by the command that reads it; drawing stays English
        return DEFAULT


@contextlib.contextmanager
def using(lang: str | None):
    """Speak ``lang`` inside the ``with`` block (``None``: leave the language as it is)."""
    if lang is None:
        yield current()
        return
    translation(lang)  # fails here, before anything is written, if the language is unknown
    token = _active.set(lang)
    try:
        yield lang
    finally:
        _active.reset(token)


@contextlib.contextmanager
def exported(lang: str):
    """Speak ``lang`` inside the block, in this process and in the worker processes it starts there
    (they draw figures): ``TRAINLAB_LANG`` is set for the block and restored after it."""
    before = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = lang
    try:
        with using(lang):
            yield lang
    finally:
        if before is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = before


def _(message: str) -> str:
    """``message`` (English) in the active language."""
    return translation(current()).gettext(message)


def N_(message: str) -> str:  # noqa: N802 - gettext's name for it
    """Mark ``message`` for the catalogues without translating it now (it is shown later, in the
    language of the page that shows it: see :class:`Note`)."""
    return message


class Note(str):
    """A text in English (it *is* that string: printed, compared, counted as before) that keeps its
    message and values, so a page can show it in the page's language with :func:`shown`::

        problems.append(Note(N_("figure {file} could not be read: {error}"), file=name, error=str(exc)))
    """

    def __new__(cls, message: str, **values):
        self = super().__new__(cls, message.format(**values))
        self.message, self.values = message, values
        return self

    def translated(self) -> str:
        return _(self.message).format(**self.values)


def shown(text: str) -> str:
    """A text as a page shows it: a :class:`Note` in the active language, anything else as it is."""
    return text.translated() if isinstance(text, Note) else text


def add_argument(parser) -> None:
    """The ``--lang`` option, shared by the commands that write pages or figures."""
    parser.add_argument("--lang", default=None, metavar="|".join(LANGS),
                        help=f"language of the page's own text and of the shared curve figures: {', '.join(LANGS)} "
                             f"(default: ${ENV_VAR}, else en)")


def from_args(args) -> str:
    """``resolve(args.lang)`` for a command: a bad value is a usage error (exit 2), like a bad option."""
    try:
        return resolve(getattr(args, "lang", None))
    except LanguageError as exc:
        from .cli import UsageError

        raise UsageError(str(exc)) from None
