"""The Korean or Japanese font a page carries inside itself, so its text renders on any machine.

A Korean or Japanese page shown where no Hangul or Kana font is installed (many Linux machines,
containers, CI) would show empty boxes. The page stays self-contained (no external resource) by
embedding the figures' font (:mod:`trainlab.fonts`: NanumGothic for ko, IPAexGothic for ja; both
licences allow embedding in documents) as an ``@font-face`` data URI, cut down with fontTools'
subsetter to the characters the page uses outside Latin (some 10-40 KB). The family comes first
in the page's font stack — so the browser waits for it before shaping any text; after the Latin
fonts, Chromium shaped some text with a fallback's empty boxes before the font had loaded and kept
them — but it holds no Latin character, so Latin text still comes from the page's Latin fonts and
looks as in English. English pages carry no font.
"""

from __future__ import annotations

import base64
import io

__all__ = ["FAMILY", "font_face_css", "page_characters"]

#: the name the page's CSS gives the embedded font
FAMILY = "TrainLab CJK"

# tables some TrueType fonts carry for their authoring tools; the subsetter cannot cut them
_AUTHORING_TABLES = ["TSI0", "TSI1", "TSI2", "TSI3", "TSI5"]


def page_characters(text: str) -> str:
    """The characters of ``text`` beyond Latin, Greek and the common symbols (from U+2E80, the CJK
    blocks on): the ones the embedded font is for."""
    return "".join(sorted({ch for ch in text if ord(ch) >= 0x2E80}))


def font_face_css(text: str, lang: str) -> str:
    """An ``@font-face`` rule embedding ``lang``'s font cut to the characters of ``text`` it needs;
    empty for English or when ``text`` has no such character."""
    from ..fonts import font_path

    chars = page_characters(text)
    path = font_path(lang)
    if path is None or not chars:
        return ""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    options = subset.Options()
    options.hinting = False  # smaller; browsers render CJK outlines unhinted anyway
    options.notdef_outline = True
    options.drop_tables += _AUTHORING_TABLES
    font = TTFont(str(path), lazy=True)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=chars)
    subsetter.subset(font)
    buf = io.BytesIO()
    font.save(buf)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return (f'@font-face {{ font-family:"{FAMILY}"; src:url(data:font/ttf;base64,{data}) format("truetype"); }}\n'
            f':root {{ --cjk:"{FAMILY}"; }}\n')
