"""The fonts figures use for Korean and Japanese text.

Matplotlib's own font, DejaVu Sans, has neither Hangul nor Kana: a Korean or Japanese label would
be drawn as empty boxes ("tofu"). So figures in those languages use a font of that language, each
shipped by a pip package (runtime dependencies of trainlab):

* ko: NanumGothic, from ``koreanize-matplotlib`` (SIL Open Font License);
* ja: IPAexGothic, from ``matplotlib-fontja`` (IPA Font License).

The packages are not imported (importing them changes matplotlib's settings, and
``koreanize_matplotlib`` imports ``distutils``, gone since Python 3.12): only their font files are
located and registered with ``matplotlib.font_manager.fontManager.addfont``. DejaVu Sans stays the
fallback for the symbols these fonts lack.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from .i18n import current

__all__ = ["FONTS", "font_path", "font_name", "language_font"]

#: language → (package holding the font, the font file inside it)
FONTS = {
    "ko": ("koreanize_matplotlib", "fonts/NanumGothic.ttf"),
    "ja": ("matplotlib_fontja", "fonts/ipaexg.ttf"),
}

def font_path(lang: str) -> Path | None:
    """The font file for ``lang``'s figures (None for English: matplotlib's default). Raises
    ``FileNotFoundError`` naming the package when it is not installed."""
    if lang not in FONTS:
        return None
    package, relative = FONTS[lang]
    spec = importlib.util.find_spec(package)  # finds the package without running it
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the {lang} figures need the font of the Python package {package!r}: "
                                f"pip install {package.replace('_', '-')}")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall {package.replace('_', '-')}")
    return path


@functools.lru_cache(maxsize=None)
def font_name(lang: str) -> str | None:
    """The family name of ``lang``'s font, registered with matplotlib (once per process)."""
    path = font_path(lang)
    if path is None:
        return None
    from matplotlib import font_manager

    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def language_font(lang: str | None = None):
    """A ``with`` block in which the texts of a figure created there use ``lang``'s font (default:
    the active language; English: matplotlib's settings as they are). Matplotlib's settings are
    restored after the block; the texts keep their font."""
    import matplotlib

    name = font_name(lang or current())
    return matplotlib.rc_context({"font.family": [name, "DejaVu Sans"]} if name else {})
