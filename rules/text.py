"""Text normalisation for ad detection.

`normalise(raw)` returns a `Normalised` value with two views of the same message and a map from
each of their characters back to the raw text, so that an explanation can quote what the sender
actually wrote:

- `folded`: NFKC, case folded, invisible and filler characters removed (format characters such as
  U+FEFF and U+200B-U+200F, variation selectors, combining marks, runic letters), full-width and
  mathematical letters and circled digits folded to plain ones, small capitals and Cherokee
  look-alikes mapped, and look-alike letters folded inside words that mix Latin with Cyrillic or
  Greek, towards the script the word is really written in. Word boundaries and punctuation are
  kept, so links and mentions can still be read from it.
- `text`: `folded` with the separators that ads put inside words removed: between Chinese
  characters ("拍.收.款.码" -> "拍收款码"), inside digit runs ("2744 7053" -> "27447053") and
  between single letters ("v x" -> "vx").

`is_command(text)` tells a command to a bot ("/stats") from conversation.

Promises: pure and deterministic; real Russian, Chinese and English words are left as they are
(look-alike folding only touches words that mix scripts); the same input always gives the same
output; no I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Normalised", "fold_char", "is_command", "normalise"]

# Cyrillic and Greek letters that look like Latin ones (lower case: folding runs after casefold).
_TO_LATIN = {
    "а": "a", "в": "b", "е": "e", "ё": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
    "с": "c", "т": "t", "у": "y", "х": "x", "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ү": "y", "һ": "h",
    "α": "a", "β": "b", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ζ": "z", "μ": "u", "ω": "w",
}  # fmt: skip
# Latin letters that stand in for Cyrillic ones inside Russian words ("пpивeт").
_TO_CYRILLIC = {
    "a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "k": "к", "m": "м", "o": "о", "p": "р",
    "t": "т", "x": "х", "y": "у", "n": "п", "r": "г", "u": "и",
}  # fmt: skip
# Letters NFKC leaves alone that stand in for Latin or Cyrillic ones: small capitals and IPA
# letters ("Пᴏддᴇᴧьнᴀя"), Cherokee capitals. Cyrillic targets are used where no Latin letter looks
# alike; Latin ones are folded further inside Cyrillic words by the mixed-script rule.
_CONFUSABLES = {
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ғ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z", "ɑ": "a", "ɡ": "g", "ɩ": "i",
    "ᴧ": "л", "ᴨ": "п", "ɜ": "з", "ʍ": "м", "ᴦ": "г", "ᴫ": "л", "ᴩ": "р", "ᴯ": "в",
    "Ꭺ": "a", "Ᏼ": "b", "Ꮯ": "c", "Ꭰ": "d", "Ꭼ": "e", "Ꮐ": "g", "Ꮋ": "h", "Ꭻ": "j", "Ꮶ": "k",
    "Ꮮ": "l", "Ꮇ": "m", "Ꮲ": "p", "Ꮪ": "s", "Ꭲ": "t", "Ꮩ": "v", "Ꮃ": "w", "Ꮓ": "z", "Ꮻ": "o",
}  # fmt: skip
# Symbols that carry meaning in ads and are therefore neither removed nor treated as separators.
_MEANINGFUL = {"+": "+", "➕": "+", "@": "@", "🐧": "🐧", "✈": "✈", "☎": "☎", "📞": "☎", "📱": "☎"}
_IDEOGRAPHIC_ZERO = "\u3007"


def _is_invisible(ch: str) -> bool:
    cp = ord(ch)
    if 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF:  # variation selectors
        return True
    if 0x16A0 <= cp <= 0x16FF:  # runic letters, used as filler to dodge filters
        return True
    if 0xE000 <= cp <= 0xF8FF:  # private use: renders as nothing useful
        return True
    cat = unicodedata.category(ch)
    # Cf: format characters (U+FEFF, U+200B-U+200F, U+2060-U+2064, bidi controls);
    # Mn/Me: combining marks, used for "zalgo" decoration over ordinary letters.
    return cat in ("Cf", "Mn", "Me", "Cc") and ch not in "\n\t"


@lru_cache(maxsize=16384)
def fold_char(ch: str) -> str:
    """Fold one raw character: NFKC, casefold, invisible and filler characters become ''."""
    if ch in _MEANINGFUL:
        return _MEANINGFUL[ch]
    if ch in _CONFUSABLES:
        return _CONFUSABLES[ch]
    if _is_invisible(ch):
        return ""
    if ch == _IDEOGRAPHIC_ZERO:
        return "0"
    out = unicodedata.normalize("NFKC", ch).casefold()
    if len(out) > 1:
        out = "".join(c for c in out if not _is_invisible(c))
    if "\n" in out or "\r" in out:
        return " "
    return out


def _script(ch: str) -> str:
    cp = ord(ch)
    if ch.isascii():
        return "L" if ch.isalpha() else ""
    if 0x00C0 <= cp <= 0x024F:
        return "L"
    if 0x0400 <= cp <= 0x04FF:
        return "C"
    if 0x0370 <= cp <= 0x03FF:
        return "G"
    return ""


# A Latin letter next to a Cyrillic or Greek one: the mark of a word that mixes scripts.
_SCRIPT_SEAM = re.compile("[a-z\u00c0-\u024f][\u0370-\u04ff]|[\u0370-\u04ff][a-z\u00c0-\u024f]")


def _mostly_cyrillic(word: str) -> bool:
    """Which script a mixed word is written in, judged first by the letters that have no
    look-alike in the other script (they cannot be disguises), then by all letters."""
    plain = {"L": 0, "C": 0, "G": 0}
    total = {"L": 0, "C": 0, "G": 0}
    for c in word:
        sc = _script(c)
        if sc:
            total[sc] += 1
            if c not in _TO_LATIN and c not in _TO_CYRILLIC:
                plain[sc] += 1
    if plain["C"] != plain["L"] + plain["G"]:
        return plain["C"] > plain["L"] + plain["G"]
    return total["C"] > total["L"] + total["G"]


def _fold_mixed_words(text: str) -> str:
    """Fold look-alikes inside words mixing Latin with Cyrillic/Greek, towards the majority."""
    chars: list[str] | None = None
    done = -1
    for seam in _SCRIPT_SEAM.finditer(text):
        if seam.start() < done:
            continue
        start, end = seam.start(), seam.end()
        while start > 0 and text[start - 1].isalpha():
            start -= 1
        while end < len(text) and text[end].isalpha():
            end += 1
        done = end
        table = _TO_CYRILLIC if _mostly_cyrillic(text[start:end]) else _TO_LATIN
        if chars is None:
            chars = list(text)
        for i in range(start, end):
            rep = table.get(chars[i])
            if rep is not None:
                chars[i] = rep
    return text if chars is None else "".join(chars)


_SEP_CLASS = r"[^\w+@🐧✈☎:]"
# Up to three separator characters between two Chinese characters or two digits.
_CJK_GAP = re.compile(
    r"(?<=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])"
    + _SEP_CLASS
    + r"{1,3}(?=[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af])"
)
# Commas and semicolons are left alone: between digits they separate amounts and list items.
_DIGIT_GAP = re.compile(r"(?<=\d)(?:(?![,;，；])" + _SEP_CLASS + r"|_){1,3}(?=\d)")
# Single letters spelled apart: "v x", "w.e.i.x.i.n", "п и ш и".
_SPELLED = re.compile(
    r"(?<![^\W\d_])[^\W\d_](?:(?:" + _SEP_CLASS + r"|_){1,2}[^\W\d_])+(?![^\W\d_])"
)
_SEP_CHAR = re.compile(_SEP_CLASS + r"|_")


@dataclass(frozen=True, slots=True)
class Normalised:
    """Both normalised views of one message and their maps back to the raw text."""

    raw: str
    folded: str
    folded_index: tuple[int, ...]
    text: str
    text_index: tuple[int, ...]

    def raw_span(self, start: int, end: int, *, compact: bool = True) -> str:
        """The raw fragment behind `text[start:end]` (or `folded[start:end]`)."""
        index = self.text_index if compact else self.folded_index
        if start >= end or not index:
            return ""
        return self.raw[index[start] : index[min(end, len(index)) - 1] + 1]


_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u0300-\u036f\u061c\u16a0-\u16ff"
    "\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufe00-\ufe0f\ufeff\ue000-\uf8ff"
    "\U000e0000-\U000e01ef]"
)
_SPECIAL = re.compile("[" + re.escape("".join(_MEANINGFUL) + "".join(_CONFUSABLES)) + "\u3007]")


def _fold(raw: str) -> tuple[str, list[int]]:
    if raw.isascii() and raw.isprintable():
        return raw.lower(), list(range(len(raw)))
    # Fast path for the common case: already NFKC, nothing invisible, nothing to rewrite.
    if (
        unicodedata.is_normalized("NFKC", raw)
        and _INVISIBLE.search(raw) is None
        and _SPECIAL.search(raw) is None
    ):
        folded = raw.casefold()
        if len(folded) == len(raw) and all(
            unicodedata.category(c) not in _INVISIBLE_CATEGORIES for c in _odd_chars(raw)
        ):
            return folded, list(range(len(raw)))
    # Otherwise runs of plain characters are case folded in one go and only the others are
    # folded one by one.
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _PLAIN_RUN.finditer(raw):
        _fold_each(raw, pos, m.start(), out, index)
        run = m.group().casefold()
        if len(run) == m.end() - m.start():
            out.append(run)
            index.extend(range(m.start(), m.end()))
        else:
            _fold_each(raw, m.start(), m.end(), out, index)
        pos = m.end()
    _fold_each(raw, pos, len(raw), out, index)
    return "".join(out), index


# Printable ASCII, basic Greek and Cyrillic, kana and CJK ideographs: NFKC leaves them alone.
_PLAIN_RUN = re.compile(
    "[\u0020-\u007e\u0391-\u03c9\u0410-\u044f\u3041-\u3096\u30a1-\u30fa\u4e00-\u9fff]+"
)


def _fold_each(raw: str, start: int, end: int, out: list[str], index: list[int]) -> None:
    for i in range(start, end):
        f = fold_char(raw[i])
        if f:
            out.append(f)
            index.extend([i] * len(f))


_INVISIBLE_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc"})
_COMMON = re.compile(
    "[\u0020-\u007e\n\t\u00a0-\u02ff\u0370-\u03ff\u0400-\u04ff\u3000-\u303f"
    "\u3040-\u30ff\u4e00-\u9fff\uff01-\uff5e]+"
)


def _odd_chars(raw: str) -> set[str]:
    """Characters outside the common scripts, whose category still has to be looked at."""
    return set(_COMMON.sub("", raw))


_TO_SPACE = {
    ord(c): " "
    for c in "\t\n\r\x0b\x0c\u00a0\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\x1c\x1d\x1e\x1f\x85"
}


_ODD_SPACE = re.compile(r"^\s+|\s+$|\s{2,}|[^\S ]")
# What `_spaces` changes: two whitespace characters in a row, or one other than a plain space.
_SPACE_WORK = re.compile(r"\s\s|[^\S ]")


def _spaces(text: str, index: list[int]) -> tuple[str, list[int]]:
    """Collapse whitespace runs to one space and trim, keeping the map aligned."""
    if _SPACE_WORK.search(text) is None and not text[:1].isspace() and not text[-1:].isspace():
        return text, index  # nothing to collapse, trim or translate (most messages)
    return _collapse_spaces(text, index)


def _collapse_spaces(text: str, index: list[int]) -> tuple[str, list[int]]:
    size = len(text)
    spans = []
    for m in _ODD_SPACE.finditer(text):
        start, end = m.span()
        if start == 0 or end == size:
            spans.append((start, end))
        elif end - start > 1:
            spans.append((start + 1, end))
    text, index = _drop_spans(text, index, spans)
    return text.translate(_TO_SPACE), index


def _drop_spans(text: str, index: list[int], spans: list[tuple[int, int]]) -> tuple[str, list[int]]:
    if not spans:
        return text, index
    parts: list[str] = []
    idx: list[int] = []
    pos = 0
    for start, end in spans:
        parts.append(text[pos:start])
        idx.extend(index[pos:start])
        pos = end
    parts.append(text[pos:])
    idx.extend(index[pos:])
    return "".join(parts), idx


_HAS_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_HAS_DIGIT = re.compile(r"\d")


def _compact(text: str, index: list[int]) -> tuple[str, list[int]]:
    if _HAS_CJK.search(text):
        spans = [m.span() for m in _CJK_GAP.finditer(text)]
        text, index = _drop_spans(text, index, spans)
    if _HAS_DIGIT.search(text):
        spans = [m.span() for m in _DIGIT_GAP.finditer(text)]
        text, index = _drop_spans(text, index, spans)
    spans = []
    for m in _SPELLED.finditer(text):
        base = m.start()
        spans.extend((base + s.start(), base + s.end()) for s in _SEP_CHAR.finditer(m.group()))
    spans.sort()
    return _drop_spans(text, index, spans)


def normalise(raw: str) -> Normalised:
    """Normalise a message for matching; see the module docstring for what each view holds."""
    folded, index = _fold(raw)
    if not folded.isascii():
        folded = _fold_mixed_words(folded)
    folded, index = _spaces(folded, index)
    text, text_index = _compact(folded, index)
    return Normalised(
        raw=raw,
        folded=folded,
        folded_index=tuple(index),
        text=text,
        text_index=tuple(text_index),
    )


_COMMAND = re.compile(r"/[a-z0-9_]{1,32}(?:@[a-z0-9_]{3,64})?(?:\s|$)", re.IGNORECASE)


def is_command(text: str) -> bool:
    """Whether a message is a command to a bot ("/stats", "/warn@groupkeeper_bot spam")."""
    return text.startswith("/") and _COMMAND.match(text) is not None


# what a command's arguments name: an account id or @username, a number, a duration, a page
_PLAIN_ARGUMENT = re.compile(r"@\w{1,64}|#?-?\d+|\d+[smhdw]", re.IGNORECASE)


def command_words(text: str, ours: frozenset[str], bot_username: str = "") -> str | None:
    """The words of a command to this bot that the ad checks should read, or None when `text`
    is no such command. Ids, @usernames, numbers and durations are how people name whom a
    command is about, not contact details: a member's `/whois @friend` or `/ban 1234567890`
    is a mistaken command, not an ad. Other words stay, so an ad behind a command is judged."""
    match = _COMMAND.match(text) if text.startswith("/") else None
    if match is None:
        return None
    name, _, addressed = match.group(0).strip()[1:].partition("@")
    if name.lower() not in ours or (addressed and addressed.lower() != bot_username.lower()):
        return None
    kept = [w for w in text[match.end() :].split() if not _PLAIN_ARGUMENT.fullmatch(w)]
    return " ".join([match.group(0).strip(), *kept])
