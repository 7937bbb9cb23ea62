"""Welcome texts from a group's template: placeholders filled safely, waves of joins combined."""

from __future__ import annotations

import string
from collections.abc import Sequence

PLACEHOLDERS = ("name", "title", "rules", "count")
MAX_NAMES = 20


class TemplateError(ValueError):
    """The template uses an unknown placeholder or broken braces; the message says which."""


def check_template(template: str) -> None:
    """Raise TemplateError unless every {placeholder} is one of PLACEHOLDERS."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise TemplateError(f"broken braces: {exc}") from exc
    unknown = sorted({f for f in fields if f not in PLACEHOLDERS})
    if unknown:
        raise TemplateError("unknown placeholder: " + ", ".join("{" + f + "}" for f in unknown))


def join_names(names: Sequence[str], *, separator: str = ", ", more: str = "+{n}") -> str:
    """Names of a wave of joins, shortened past MAX_NAMES."""
    shown = list(names[:MAX_NAMES])
    text = separator.join(shown)
    if len(names) > MAX_NAMES:
        text += " " + more.format(n=len(names) - MAX_NAMES)
    return text


def render_welcome(template: str, *, names: Sequence[str], title: str, rules: str) -> str:
    """The welcome for everyone who joined in one wave."""
    check_template(template)
    values = {"name": join_names(names), "title": title, "rules": rules, "count": str(len(names))}
    return template.format(**values).strip()
