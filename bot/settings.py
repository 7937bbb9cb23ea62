"""The deployment's settings: one object, built once at start from the environment and `.env`.

Every key is listed in `.env.example`. A bad value is reported as one line naming the key
(`SettingsError`); the command line turns it into exit code 2. The token is a `SecretStr` and is
never logged or shown in `repr`.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rules.health import TierRules

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/groupkeeper.db"
LANGUAGES = ("zh-CN", "en")
PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming the key."""


class Settings(BaseSettings):
    """Deployment settings. Field names are the environment keys, upper-cased."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    database_url: str = DEFAULT_DATABASE_URL
    owner_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    timezone: str = "Asia/Shanghai"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1:8443"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    # http://, https://, socks5:// or socks5h:// (user:password@ allowed: a secret, like the token)
    telegram_proxy_url: SecretStr | None = None
    unauthorised_groups: Literal["leave", "approve"] = "leave"
    send_rate_per_second: float = Field(default=30.0, gt=0)
    send_rate_per_chat_per_minute: int = Field(default=20, gt=0)
    # weekly tiers by active-member ratio: above HIGH high, below GENERAL inactive, below
    # CRITICAL flagged
    tier_high: float = Field(default=0.40, ge=0, le=1)
    tier_general: float = Field(default=0.20, ge=0, le=1)
    tier_critical: float = Field(default=0.10, ge=0, le=1)

    @field_validator("owner_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, int):
            return [value]
        if not isinstance(value, str):
            return value
        parts = [p.strip() for p in value.replace(";", ",").split(",")]
        ids = []
        for part in filter(None, parts):
            if not part.isdigit() or int(part) == 0:
                raise ValueError(
                    f"OWNER_IDS: {part!r} is not a Telegram user id (numbers, comma-separated, "
                    "e.g. 123456789,987654321; ask @userinfobot for yours)"
                )
            ids.append(int(part))
        return ids

    @field_validator("default_language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        if isinstance(value, str):
            aliases = {"zh": "zh-CN", "zh_cn": "zh-CN", "zh-cn": "zh-CN", "cn": "zh-CN"}
            return aliases.get(value.strip().lower(), value.strip())
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use e.g. Asia/Shanghai)") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        if value.startswith("postgresql://") or value.startswith("postgres://"):
            return "postgresql+asyncpg://" + value.split("://", 1)[1]
        if value.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + value.split(":///", 1)[1]
        if not (
            value.startswith("sqlite+aiosqlite://") or value.startswith("postgresql+asyncpg://")
        ):
            raise ValueError("must be sqlite+aiosqlite:///PATH or postgresql+asyncpg://...")
        return value

    @field_validator(
        "webhook_url", "webhook_secret", "bot_token", "telegram_proxy_url", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(
            ("https://", "http://127.0.0.1", "http://localhost")
        ):
            raise ValueError("must be an https:// URL that Telegram can reach")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 0.0.0.0:8443")
        if host not in ("localhost", ""):
            try:
                ipaddress.ip_address(host.strip("[]"))
            except ValueError as exc:
                raise ValueError(f"{host!r} is not an IP address") from exc
        return value

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            bot_id, sep, rest = value.get_secret_value().partition(":")
            if not sep or not bot_id.isdigit() or len(rest) < 10:
                raise ValueError("does not look like a token from @BotFather (12345:ABC...)")
        return value

    @field_validator("telegram_proxy_url")
    @classmethod
    def _proxy_scheme(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parts = urlsplit(value.get_secret_value())
            if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
                raise ValueError(
                    "TELEGRAM_PROXY_URL: must be http://HOST:PORT or socks5://HOST:PORT "
                    "(user:password@ allowed)"
                )
        return value

    @field_validator("telegram_api_base_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be the Bot API's URL, e.g. https://api.telegram.org/bot")
        return value

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> Settings:
        if self.webhook_url and self.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET: required when WEBHOOK_URL is set")
        if self.webhook_secret is not None:
            secret = self.webhook_secret.get_secret_value()
            allowed = all(c.isalnum() or c in "_-" for c in secret)
            if not (1 <= len(secret) <= 256 and allowed):
                raise ValueError("WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self

    @model_validator(mode="after")
    def _tiers_in_order(self) -> Settings:
        if not self.tier_critical <= self.tier_general <= self.tier_high:
            raise ValueError(
                "TIER_GENERAL: tiers need TIER_CRITICAL <= TIER_GENERAL <= TIER_HIGH, got "
                f"{self.tier_critical}, {self.tier_general}, {self.tier_high}"
            )
        return self

    @property
    def tier_rules(self) -> TierRules:
        return TierRules(
            high=self.tier_high, general=self.tier_general, critical=self.tier_critical
        ).validated()

    @property
    def webhook_host(self) -> str:
        return self.webhook_listen.rpartition(":")[0] or "0.0.0.0"  # noqa: S104

    @property
    def webhook_port(self) -> int:
        return int(self.webhook_listen.rpartition(":")[2])

    @property
    def proxy(self) -> str | None:
        """The proxy URL for both HTTP clients, or None."""
        return self.telegram_proxy_url.get_secret_value() if self.telegram_proxy_url else None

    @property
    def proxy_shown(self) -> str:
        """The proxy as it may be printed: scheme, host and port, never a password."""
        if self.proxy is None:
            return ""
        parts = urlsplit(self.proxy)
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}"

    @property
    def database_shown(self) -> str:
        """DATABASE_URL as it may be printed: without its password."""
        try:
            return make_url(self.database_url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.database_url.split("://", 1)[0] + "://..."

    @property
    def sqlite_path(self) -> Path | None:
        if self.database_url.startswith("sqlite"):
            path = self.database_url.split(":///", 1)[1]
            return None if path in ("", ":memory:") else Path(path)
        return None


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning a validation error into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = "_".join(str(p) for p in first["loc"]).upper() or "SETTINGS"
        message = str(first["msg"]).removeprefix("Value error, ")
        if ":" in message and message.split(":", 1)[0].isupper():
            raise SettingsError(message) from None
        raise SettingsError(f"{key}: {message}") from None
