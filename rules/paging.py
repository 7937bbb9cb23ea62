"""Split a long message into parts Telegram accepts, breaking where a reader expects a break.

Parts break between paragraphs (blank lines) where they can, else between lines; only a line
longer than the limit on its own is cut inside, at the limit. Lines may carry simple HTML that
opens and closes on the same line, so breaking only between lines keeps every part valid.
"""

from __future__ import annotations

import re

TELEGRAM_LIMIT = 4096
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n)+")


def _pieces(text: str, limit: int) -> list[tuple[str, str]]:
    """(separator before it, piece) in text order; every piece fits the limit on its own."""
    pieces: list[tuple[str, str]] = []
    for paragraph in _BLANK_LINES.split(text):
        if not paragraph.strip():
            continue
        if len(paragraph) <= limit:
            pieces.append(("\n\n", paragraph))
            continue
        sep = "\n\n"
        for line in paragraph.split("\n"):
            if len(line) <= limit:
                pieces.append((sep, line))
            else:
                cuts = [line[i : i + limit] for i in range(0, len(line), limit)]
                # The cut chunks of one line rejoin with nothing between them.
                pieces.append((sep, cuts[0]))
                pieces.extend(("", cut) for cut in cuts[1:])
            sep = "\n"
    return pieces


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Parts of at most `limit` characters (len()), none blank, in order; [] for a blank text.

    Packing is greedy: each piece joins the current part while the part still fits.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if not text.strip():
        return []
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for sep, piece in _pieces(text, limit):
        joined = current + sep + piece if current else piece
        if len(joined) <= limit:
            current = joined
            continue
        if current.strip():
            parts.append(current)
        current = piece
    if current.strip():
        parts.append(current)
    return parts
