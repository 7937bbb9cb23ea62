"""Welcome texts from a group's template: a safe renderer that knows only the documented
placeholders, and waves of joins combined into one welcome.

Templates are admins' text, so they are never handed to `str.format`: `{name}`, `{title}`,
`{rules}` and `{count}` are the only fields, `{{` and `}}` write a brace, and anything else (a
format spec, a conversion, an attribute, a nested field, a lone brace) is refused with a reason
when the template is set. A rendered welcome never exceeds Telegram's message limit.
"""

from __future__ import annotations

from collections.abc import Sequence

from rules.limits import TEXT_LIMIT, fit

PLACEHOLDERS = ("name", "title", "rules", "count")
MAX_NAMES = 20
MAX_TEMPLATE = 1000  # characters of a template


class TemplateError(ValueError):
    """The template cannot be used: `problem` names why ("too_long", "unclosed", "lone_close",
    "unknown"), `detail` is what was found (for the message shown to the admin)."""

    def __init__(self, problem: str, detail: str = "") -> None:
        super().__init__(f"{problem}: {detail}" if detail else problem)
        self.problem = problem
        self.detail = detail


Piece = tuple[bool, str]  # (is a placeholder, text or placeholder name)


def parse_template(template: str) -> list[Piece]:
    """The template as literal text and placeholders; TemplateError when it is not usable."""
    if len(template) > MAX_TEMPLATE:
        raise TemplateError("too_long", str(len(template)))
    pieces: list[Piece] = []
    text: list[str] = []
    i, n = 0, len(template)
    while i < n:
        char = template[i]
        if char in "{}" and i + 1 < n and template[i + 1] == char:
            text.append(char)
            i += 2
            continue
        if char == "}":
            raise TemplateError("lone_close")
        if char != "{":
            text.append(char)
            i += 1
            continue
        end = template.find("}", i + 1)
        if end < 0:
            raise TemplateError("unclosed")
        field = template[i + 1 : end]
        if field not in PLACEHOLDERS:
            shown = field if len(field) <= 20 else field[:20] + "…"
            raise TemplateError("unknown", "{" + shown + "}")
        if text:
            pieces.append((False, "".join(text)))
            text = []
        pieces.append((True, field))
        i = end + 1
    if text:
        pieces.append((False, "".join(text)))
    return pieces


def check_template(template: str) -> None:
    """Raise TemplateError unless the template can be rendered."""
    parse_template(template)


def join_names(
    names: Sequence[str], *, count: int | None = None, separator: str = ", ", more: str = "+{n}"
) -> str:
    """Names of a wave of `count` joins (all of `names` when not given), shortened past
    MAX_NAMES."""
    total = len(names) if count is None else max(count, len(names))
    shown = [fit(" ".join(name.split()), 64) for name in names[:MAX_NAMES]]
    text = separator.join(shown)
    if total > len(shown):
        text += " " + more.replace("{n}", str(total - len(shown)))
    return text


def render_welcome(
    template: str, *, names: Sequence[str], title: str, rules: str, count: int | None = None
) -> str:
    """The welcome for everyone who joined in one wave (`count` people, of whom `names` are
    known), within Telegram's message limit."""
    total = len(names) if count is None else max(count, len(names))
    values = {
        "name": join_names(names, count=total),
        "title": title,
        "rules": rules,
        "count": str(total),
    }
    text = "".join(
        values[part] if is_field else part for is_field, part in parse_template(template)
    )
    return fit(text.strip(), TEXT_LIMIT)
