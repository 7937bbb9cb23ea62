"""User-facing texts in Simplified Chinese and English, through gettext catalogs read with Babel.

Source strings are English msgids marked with `tr(lang, "...")` or `N_("...")`; the catalogs live
in `services/locales/<lang>/LC_MESSAGES/messages.po`. A text with a count has two msgids, the
singular and the plural, and `tr_n` picks by the count (Chinese translates both the same). A missing translation falls back to English,
and a test fails when any marked string lacks a translation in either catalog.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from babel.messages.pofile import read_po

LANGUAGES = ("zh-CN", "en")
_LOCALE_DIRS = {"zh-CN": "zh_CN", "en": "en"}


def N_(msgid: str) -> str:
    """Mark a string for translation without translating it now."""
    return msgid


def normalise_language(code: str | None, default: str = "zh-CN") -> str:
    """Map a Telegram language_code or setting value to one of LANGUAGES."""
    if not code:
        return default
    code = code.lower()
    if code.startswith("zh"):
        return "zh-CN"
    if code.startswith("en"):
        return "en"
    return default


@cache
def catalog(language: str) -> dict[str, str]:
    """The msgid -> text table of a language, read once from its .po file."""
    folder = _LOCALE_DIRS[language]
    path = resources.files("services") / "locales" / folder / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=folder)
    return {str(m.id): str(m.string) for m in po if m.id and m.string and not m.fuzzy}


def tr(language: str, msgid: str, /, **values: Any) -> str:
    """Translate `msgid` into `language` and fill its `{placeholders}`."""
    text = catalog(language if language in _LOCALE_DIRS else "en").get(msgid) or msgid
    return text.format(**values) if values else text


def tr_n(language: str, n: int, one: str, other: str, /, **values: Any) -> str:
    """Translate the singular `one` when `n` is 1, else the plural `other` (both marked with
    `N_`), and fill its placeholders."""
    return tr(language, one if n == 1 else other, **values)


_UNITS = (
    (86400, N_("{n} day"), N_("{n} days")),
    (3600, N_("{n} hour"), N_("{n} hours")),
    (60, N_("{n} minute"), N_("{n} minutes")),
)


def duration_text(language: str, seconds: int) -> str:
    """A whole number of days, hours, minutes or else seconds, in words: "2 hours", "2 小时"."""
    for size, one, other in _UNITS:
        if seconds >= size and seconds % size == 0:
            return tr_n(language, seconds // size, one, other, n=seconds // size)
    return tr_n(language, seconds, N_("{n} second"), N_("{n} seconds"), n=seconds)
