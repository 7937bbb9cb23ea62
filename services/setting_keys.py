"""The settings admins and owners may change from Telegram, by name, and how their values read.

Each key has an English and a Chinese name (both accepted in either language) and a line saying
what it does; `shown` renders a value the way an admin may type it back. Reading and checking
typed values is `services.settings`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rules.limits import echo
from rules.moderation import format_duration
from services.i18n import N_, tr
from storage.models import Alliance, Chat
from storage.policy import AlliancePolicy, GroupPolicy

Kind = Literal["bool", "int", "seconds", "float", "choice", "list", "language", "zone"]


@dataclass(frozen=True)
class Key:
    """A setting as admins name it, and where it lives."""

    name: str  # English, as typed: /set warn_limit 3
    alias: str  # Chinese, as typed: /set 警告上限 3
    kind: Kind
    about: str  # what it does, marked for translation
    field: str | None = None  # the policy's field (None: a column or a preset)
    invert: bool = False  # on means the field is False
    choices: tuple[tuple[str, str], ...] = ()  # (value, its Chinese word)

    def label(self, lang: str) -> str:
        return self.alias if lang == "zh-CN" else self.name


GROUP_KEYS = (
    Key("welcome", "欢迎", "bool", N_("welcome newcomers"), "welcome_enabled"),
    Key(
        "welcome_delete",
        "欢迎删除",
        "seconds",
        N_("the welcome is deleted after this long (0: kept)"),
        "welcome_delete_after",
    ),
    Key(
        "rules_button",
        "规则按钮",
        "bool",
        N_("the rules behind a button under the welcome instead of in it"),
        "rules_in_welcome",
        invert=True,
    ),
    Key("warn_limit", "警告上限", "int", N_("warnings before the blacklist"), "warn_limit"),
    Key("warn_days", "警告天数", "int", N_("days a warning counts"), "warn_expiry_days"),
    Key(
        "warning_delete",
        "警告删除",
        "seconds",
        N_("a warning is deleted after this long (0: kept)"),
        "warning_delete_after",
    ),
    Key(
        "strictness",
        "严格度",
        "choice",
        N_("how readily messages are taken for ads"),
        choices=(("strict", "严格"), ("normal", "正常"), ("lenient", "宽松")),
    ),
    Key(
        "delete_threshold",
        "删除阈值",
        "float",
        N_("ad score from which a message is deleted"),
        "delete_threshold",
    ),
    Key(
        "flag_threshold",
        "标记阈值",
        "float",
        N_("ad score from which a message is logged for review"),
        "flag_threshold",
    ),
    Key(
        "allowed_domains",
        "允许域名",
        "list",
        N_("web sites whose links are never ads"),
        "allowed_domains",
    ),
    Key(
        "allowed_mentions",
        "允许提及",
        "list",
        N_("@usernames never taken for ads"),
        "allowed_mentions",
    ),
    Key(
        "inviter_limit",
        "邀请上限",
        "int",
        N_("blacklisted invitees before the inviter's consequence"),
        "inviter_strike_limit",
    ),
    Key(
        "inviter_policy",
        "邀请处理",
        "choice",
        N_("what happens to such an inviter"),
        "inviter_policy",
        choices=(("report", "报告"), ("restrict", "限制"), ("blacklist", "拉黑")),
    ),
    Key("language", "语言", "language", N_("the group's language")),
    Key("shadow", "影子模式", "bool", N_("decide and log, but act on nothing"), "shadow_mode"),
)
ALLIANCE_KEYS = (
    Key("timezone", "时区", "zone", N_("time zone of schedules and reports")),
    Key("language", "语言", "language", N_("language of owner messages and of new groups")),
    Key(
        "unblacklist_by",
        "解除权限",
        "choice",
        N_("who besides the owners may lift an admin's or automatic blacklisting"),
        "unblacklist_by",
        choices=(
            ("source_admins", "本群管理员"),
            ("any_admin", "任一管理员"),
            ("owners", "仅机器人管理员"),
        ),
    ),
)


class Refused(Exception):
    """A value the bot cannot use; the message is one line for the admin."""


@dataclass(frozen=True)
class Change:
    key: Key
    before: str
    after: str

    def line(self, lang: str) -> str:
        if self.before == self.after:
            return tr(lang, "{key} is already {value}.", key=self.key.label(lang), value=self.after)
        return f"{self.key.label(lang)}: {self.before} → {self.after}"


def find_key(keys: Sequence[Key], word: str) -> Key | None:
    word = word.strip().lower().replace("-", "_")
    return next((k for k in keys if word in (k.name, k.alias)), None)


def unknown_key(lang: str, word: str, keys: Sequence[Key]) -> str:
    names = ", ".join(k.label(lang) for k in keys)
    return tr(lang, "I have no setting “{key}”. The settings: {keys}", key=echo(word), keys=names)


# --- showing values -------------------------------------------------------------------------


def language_name(lang: str, code: str) -> str:
    return {"zh-CN": "简体中文", "en": "English"}.get(code, code)


def shown(lang: str, key: Key, value: Any) -> str:
    """A value as admins read it (and may type it back)."""
    if key.kind == "bool":
        return tr(lang, "on") if bool(value) != key.invert else tr(lang, "off")
    if key.kind == "seconds":
        return format_duration(int(value)) if value else tr(lang, "kept")
    if key.kind == "float":
        return f"{float(value):.2f}"
    if key.kind == "list":
        return ", ".join(value) if value else "—"
    if key.kind == "choice":
        chinese = dict(key.choices).get(str(value))
        if value is None:
            return tr(lang, "custom")
        return chinese if lang == "zh-CN" and chinese else str(value)
    if key.kind == "language":
        return language_name(lang, str(value))
    return str(value)


def group_value(key: Key, chat: Chat, policy: GroupPolicy) -> Any:
    if key.name == "language":
        return chat.language
    if key.name == "strictness":
        return policy.strictness
    assert key.field is not None
    return getattr(policy, key.field)


def show_group_value(
    lang: str, key: Key, chat: Chat, policy: GroupPolicy, alliance_lang: str
) -> str:
    value = group_value(key, chat, policy)
    if key.name == "language" and value is None:
        return tr(lang, "{language} (the alliance's)", language=language_name(lang, alliance_lang))
    return shown(lang, key, value)


def alliance_value(lang: str, key: Key, alliance: Alliance) -> str:
    if key.name == "timezone":
        return alliance.timezone
    if key.name == "language":
        return language_name(lang, alliance.language)
    return shown(lang, key, AlliancePolicy.load(alliance.policy).unblacklist_by)
