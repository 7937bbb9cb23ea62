"""Every policy a group's admins or an alliance's owners may set from Telegram, by name.

A key has an English name and a Chinese one (both are accepted in either language); its value is
read from the admin's words, then validated by the policy's pydantic model together with the
rest of the policy, and a value the bot cannot use is refused with a one-line reason naming the
key and what it takes. Nothing is written for a refused value. Group keys change the chat's
policy (only the keys set are stored) or its language; alliance keys (owners, in private) the
alliance's time zone, language and who may lift a blacklisting.

`follow_env` makes the .env defaults true after the first start: an alliance's time zone and
language never set by a command follow TIMEZONE and DEFAULT_LANGUAGE; the stored values that
override them are named in the start's log.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import annotated_types
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from rules.limits import echo
from rules.moderation import format_duration
from services.i18n import tr
from services.setting_keys import Change, Key, Refused, alliance_value, show_group_value
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Alliance, Chat
from storage.policy import STRICTNESS, AlliancePolicy, GroupPolicy

MAX_LISTED = 200
LANGUAGE_WORDS = {
    "zh-cn": "zh-CN",
    "zh": "zh-CN",
    "cn": "zh-CN",
    "中文": "zh-CN",
    "简体中文": "zh-CN",
    "en": "en",
    "english": "en",
    "英文": "en",
    "英语": "en",
}
DEFAULT_WORDS = ("default", "默认")
BOOL_WORDS = {
    **dict.fromkeys(("on", "yes", "true", "1", "开", "开启", "是"), True),
    **dict.fromkeys(("off", "no", "false", "0", "关", "关闭", "否"), False),
}
NEVER_WORDS = ("off", "never", "keep", "关", "关闭", "不删除")
_SECONDS = re.compile(r"^(\d{1,7})\s*(s|m|min|h|d|秒|分|分钟|小时|时|天)?$")
_UNITS = {"s": 1, "秒": 1, "m": 60, "min": 60, "分": 60, "分钟": 60}
_UNITS |= {"h": 3600, "小时": 3600, "时": 3600, "d": 86400, "天": 86400}


# --- reading values -------------------------------------------------------------------------


def _bool(lang: str, key: Key, text: str) -> bool:
    value = BOOL_WORDS.get(text.lower())
    if value is None:
        raise Refused(tr(lang, "{key} takes on or off.", key=key.label(lang)))
    return value


def _seconds(lang: str, key: Key, text: str) -> int:
    if text.lower() in NEVER_WORDS:
        return 0
    match = _SECONDS.match(text.lower())
    if match is None:
        raise Refused(
            tr(
                lang,
                "{key} takes seconds or a duration such as 10m, 2h or 1d (0: kept).",
                key=key.label(lang),
            )
        )
    return int(match.group(1)) * _UNITS.get(match.group(2) or "s", 1)


def _number(lang: str, key: Key, text: str) -> float:
    try:
        if text.endswith("%"):
            return float(text[:-1]) / 100
        return float(text)
    except ValueError:
        raise Refused(_range(lang, key)) from None


def _whole(lang: str, key: Key, text: str) -> int:
    if not re.fullmatch(r"-?\d{1,9}", text):
        raise Refused(_range(lang, key))
    return int(text)


def _choice(lang: str, key: Key, text: str) -> str:
    word = text.lower()
    for value, chinese in key.choices:
        if word in (value, chinese):
            return value
    shown = ", ".join(chinese if lang == "zh-CN" else value for value, chinese in key.choices)
    raise Refused(tr(lang, "{key} must be one of: {choices}.", key=key.label(lang), choices=shown))


def _language(lang: str, key: Key, text: str, *, default_allowed: bool) -> str | None:
    if default_allowed and text.lower() in DEFAULT_WORDS:
        return None
    found = LANGUAGE_WORDS.get(text.lower())
    if found is None:
        choices = "zh-CN, en" + (", default" if default_allowed else "")
        raise Refused(
            tr(lang, "{key} must be one of: {choices}.", key=key.label(lang), choices=choices)
        )
    return found


def _listed(current: Sequence[str], words: Sequence[str]) -> list[str]:
    """The list after `words`: "+a -b" change it, anything else replaces it, "-" empties it."""
    cleaned = [w.strip(",，;； ").lower() for w in words]
    cleaned = [w for w in cleaned if w]
    if cleaned in (["-"], ["none"], ["无"]):
        return []
    if cleaned and all(w[0] in "+-" and len(w) > 1 for w in cleaned):
        listed = list(current)
        for word in cleaned:
            term = word[1:]
            if word[0] == "+" and term not in listed:
                listed.append(term)
            elif word[0] == "-" and term in listed:
                listed.remove(term)
        return listed[:MAX_LISTED]
    return list(dict.fromkeys(cleaned))[:MAX_LISTED]


def _term(field: str, word: str) -> str:
    """A listed word as the detector compares it: a site without scheme or path, a username
    without its @."""
    if field == "allowed_domains":
        word = re.sub(r"^[a-z]+://", "", word).split("/", 1)[0].removeprefix("www.")
    return word.lstrip("@")


def _bounds(field: str) -> tuple[float | None, float | None, bool]:
    """A policy field's lowest and highest value, and whether the lowest is excluded."""
    low = high = None
    above = False
    for rule in GroupPolicy.model_fields[field].metadata:
        if isinstance(rule, annotated_types.Ge):
            low = float(rule.ge)  # type: ignore[arg-type]
        elif isinstance(rule, annotated_types.Gt):
            low, above = float(rule.gt), True  # type: ignore[arg-type]
        elif isinstance(rule, annotated_types.Le):
            high = float(rule.le)  # type: ignore[arg-type]
    return low, high, above


def _range(lang: str, key: Key) -> str:
    assert key.field is not None
    low, high, above = _bounds(key.field)
    name = key.label(lang)
    if key.kind == "seconds":
        return tr(
            lang,
            "{key} must be from {low} to {high} (0: kept).",
            key=name,
            low=0,
            high=format_duration(int(high or 0)),
        )
    if key.kind == "int":
        return tr(
            lang,
            "{key} must be a whole number from {low} to {high}.",
            key=name,
            low=int(low or 0),
            high=int(high or 0),
        )
    if above:
        return tr(
            lang,
            "{key} must be above {low} and at most {high}, e.g. 0.9.",
            key=name,
            low=f"{low:g}",
            high=f"{high:g}",
        )
    return tr(
        lang, "{key} must be from {low} to {high}.", key=name, low=f"{low:g}", high=f"{high:g}"
    )


# --- changing values ------------------------------------------------------------------------


def _policy_values(
    lang: str, key: Key, words: Sequence[str], policy: GroupPolicy
) -> dict[str, Any]:
    text = " ".join(words).strip()
    if key.kind == "list":
        assert key.field is not None
        listed = _listed(getattr(policy, key.field), words)
        return {key.field: list(dict.fromkeys(_term(key.field, w) for w in listed))}
    if key.name == "strictness":
        delete, flag = STRICTNESS[_choice(lang, key, text)]
        return {"delete_threshold": delete, "flag_threshold": flag}
    assert key.field is not None
    value: Any
    match key.kind:
        case "bool":
            value = _bool(lang, key, text) != key.invert
        case "seconds":
            value = _seconds(lang, key, text)
        case "int":
            value = _whole(lang, key, text)
        case "float":
            value = _number(lang, key, text)
        case _:
            value = _choice(lang, key, text)
    return {key.field: value}


def _refusal(lang: str, key: Key, error: ValidationError) -> str:
    first = error.errors()[0]
    if not first["loc"] and "flag_threshold" in str(first["msg"]):
        return tr(
            lang,
            "The flag threshold must not be above the delete threshold; change the delete threshold first.",
        )
    if key.field is not None and key.kind in ("int", "float", "seconds"):
        return _range(lang, key)
    return tr(lang, "{key} cannot be set to that.", key=key.label(lang))


def set_group(
    lang: str, chat: Chat, key: Key, words: Sequence[str], alliance_lang: str
) -> tuple[Change, GroupPolicy]:
    """Set a group key on `chat` (a row in the caller's session); Refused when the value cannot
    be used. The shadow key is only validated here: turning it on or off is services.shadow's."""
    policy = GroupPolicy.load(chat.policy)
    before = show_group_value(lang, key, chat, policy, alliance_lang)
    if not words:
        raise Refused(tr(lang, "{key} needs a value.", key=key.label(lang)))
    if key.name == "language":
        chat.language = _language(lang, key, " ".join(words), default_allowed=True)
        return Change(key, before, show_group_value(lang, key, chat, policy, alliance_lang)), policy
    values = _policy_values(lang, key, words, policy)
    try:
        policy = policy.changed(**values)
    except ValidationError as exc:
        raise Refused(_refusal(lang, key, exc)) from None
    if key.name != "shadow":
        chat.policy = policy.stored()
    return Change(key, before, show_group_value(lang, key, chat, policy, alliance_lang)), policy


def set_alliance(lang: str, alliance: Alliance, key: Key, words: Sequence[str]) -> Change:
    """Set an alliance key (the row is in the caller's session); Refused when it cannot be used."""
    before = alliance_value(lang, key, alliance)
    text = " ".join(words).strip()
    if not text:
        raise Refused(tr(lang, "{key} needs a value.", key=key.label(lang)))
    if key.name == "timezone":
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # "Asia" is a folder
            raise Refused(
                tr(
                    lang,
                    "Unknown time zone “{zone}”. Use a name like Asia/Shanghai.",
                    zone=echo(text),
                )
            ) from None
        alliance.timezone = text
    elif key.name == "language":
        found = _language(lang, key, text, default_allowed=False)
        assert found is not None
        alliance.language = found
    else:
        policy = AlliancePolicy.load(alliance.policy)
        value = _choice(lang, key, text)
        alliance.policy = {**policy.stored(), "unblacklist_by": value}
    return Change(key, before, alliance_value(lang, key, alliance))


# --- .env defaults --------------------------------------------------------------------------


async def follow_env(session: AsyncSession, *, timezone: str, language: str) -> list[str]:
    """Give every alliance's time zone and language the .env value unless a command set them.

    A column still holding the .env value last applied was never set by a command: it takes the
    new one. A column holding anything else was set by a command (or, from before the values
    were recorded, cannot be told apart from one) and stays. Returns one log line for each
    stored value that overrides .env, including groups with a language of their own.
    """
    lines: list[str] = []
    wanted = {"timezone": ("TIMEZONE", timezone), "language": ("DEFAULT_LANGUAGE", language)}
    for alliance in await AllianceRepository(session).list_all():
        policy = AlliancePolicy.load(alliance.policy)
        applied = dict(policy.env_defaults)
        for column, (env_key, value) in wanted.items():
            current = getattr(alliance, column)
            if current != value and applied.get(column) == current:
                setattr(alliance, column, value)
            elif current != value:
                lines.append(
                    f"alliance #{alliance.id}: stored {column} {current!r} overrides "
                    f"{env_key}={value!r} (set by an owner's command; /set {column} changes it)"
                )
            applied[column] = value
        if applied != policy.env_defaults:
            policy.env_defaults = applied
            alliance.policy = policy.stored()
    for chat_id, title, own in await ChatRepository(session).list_with_language():
        if own != language:
            lines.append(
                f"group {chat_id} ({title}): stored language {own!r} overrides "
                f"DEFAULT_LANGUAGE={language!r} (/set language default gives it back)"
            )
    await session.flush()
    return lines
