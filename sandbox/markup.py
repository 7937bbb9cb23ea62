"""Message text as Telegram stores it: entities with UTF-16 offsets.

`detect_entities` marks what a Telegram client marks in typed text (bot commands, @mentions,
links, `[label](url)` as a text link). `parse_html` turns a `parse_mode=HTML` text into plain text
plus entities and refuses what Telegram refuses, with its error texts.
"""

from __future__ import annotations

import html
import re
from typing import Any

_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_TOKEN = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)((?:\s+[^<>]*)?)\s*>|&(#?[A-Za-z0-9]+);")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_DETECT = (
    ("url", re.compile(r"(?:https?://|(?<![\w.])t\.me/)[^\s<>\"]+")),
    ("mention", re.compile(r"(?<![\w@/])@[A-Za-z][A-Za-z0-9_]{3,31}\b")),
    ("bot_command", re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d_]\w*")),
)
_TEXT_LINK = re.compile(r"\[([^\[\]]+)\]\((https?://[^\s()]+)\)")


class EntityError(ValueError):
    """A text Telegram refuses to parse; the message is Telegram's description."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def detect_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """The text a client would send for typed `text`, and the entities it marks."""
    entities: list[dict[str, Any]] = []
    plain, pos = "", 0
    for match in _TEXT_LINK.finditer(text):
        plain += text[pos : match.start()]
        entities.append(
            {
                "type": "text_link",
                "offset": utf16_len(plain),
                "length": utf16_len(match.group(1)),
                "url": match.group(2),
            }
        )
        plain += match.group(1)
        pos = match.end()
    plain += text[pos:]
    taken = [(e["offset"], e["offset"] + e["length"]) for e in entities]
    for kind, pattern in _DETECT:
        for match in pattern.finditer(plain):
            start = utf16_len(plain[: match.start()])
            end = start + utf16_len(match.group().rstrip(".,;:!?)"))
            if any(a < end and start < b for a, b in taken):
                continue
            taken.append((start, end))
            entities.append({"type": kind, "offset": start, "length": end - start})
    return plain, sorted(entities, key=lambda e: e["offset"])


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of an HTML-formatted text; EntityError when Telegram would fail."""
    out: list[str] = []
    length = 0
    stack: list[tuple[str, int, dict[str, Any]]] = []
    entities: list[dict[str, Any]] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        length += _plain(text[pos : match.start()], out, text, pos)
        pos = match.end()
        closing, tag, attrs, ref = match.group(1), match.group(2), match.group(3), match.group(4)
        offset = len(text[: match.start()].encode())
        if ref is not None:
            char = html.unescape(f"&{ref};")
            if char == f"&{ref};":
                raise EntityError(
                    f"Bad Request: can't parse entities: Unsupported entity at byte offset {offset}"
                )
            out.append(char)
            length += utf16_len(char)
            continue
        name = tag.lower()
        if name not in _TAGS:
            raise EntityError(
                f'Bad Request: can\'t parse entities: Unsupported start tag "{name}" '
                f"at byte offset {offset}"
            )
        if not closing:
            extra: dict[str, Any] = {}
            if name == "a":
                href = _HREF.search(attrs or "")
                url = next((g for g in href.groups() if g is not None), "") if href else ""
                extra["url"] = html.unescape(url)
                if extra["url"].startswith("tg://user?id="):
                    extra = {"user": {"id": int(extra["url"].split("=", 1)[1] or 0)}}
            stack.append((name, length, extra))
            continue
        if not stack or stack[-1][0] != name:
            raise EntityError(
                f"Bad Request: can't parse entities: Can't find end tag corresponding to start "
                f'tag "{stack[-1][0] if stack else name}"'
            )
        opened, start, extra = stack.pop()
        kind = "text_mention" if "user" in extra else _TAGS[opened]
        if length > start:
            entities.append({"type": kind, "offset": start, "length": length - start, **extra})
    length += _plain(text[pos:], out, text, pos)
    if stack:
        raise EntityError(
            f"Bad Request: can't parse entities: Can't find end tag corresponding to start "
            f'tag "{stack[-1][0]}"'
        )
    return "".join(out), sorted(entities, key=lambda e: e["offset"])


def _plain(chunk: str, out: list[str], text: str, at: int) -> int:
    index = chunk.find("<")
    if index >= 0:
        offset = len(text[: at + index].encode())
        raise EntityError(
            f"Bad Request: can't parse entities: Unexpected end of name token at byte offset "
            f"{offset}"
        )
    out.append(chunk)
    return utf16_len(chunk)
