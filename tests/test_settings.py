import os
import subprocess
import sys

import pytest

from bot.settings import SettingsError, load_settings

TOKEN = "123456789:AAExampleExampleExampleExample"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.upper() in {
            "BOT_TOKEN",
            "DATABASE_URL",
            "OWNER_IDS",
            "DEFAULT_LANGUAGE",
            "TIMEZONE",
            "WEBHOOK_URL",
            "WEBHOOK_SECRET",
            "WEBHOOK_LISTEN",
            "LOG_LEVEL",
            "TELEGRAM_API_BASE_URL",
            "TIER_HIGH",
            "TIER_GENERAL",
            "TIER_CRITICAL",
        }:
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_settings_defaults():
    settings = load_settings()
    assert settings.bot_token is None
    assert settings.database_url == "sqlite+aiosqlite:///data/groupkeeper.db"
    assert settings.default_language == "zh-CN"
    assert settings.owner_ids == []


def test_settings_from_env(monkeypatch):
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("OWNER_IDS", "42, 7000000000")
    monkeypatch.setenv("DEFAULT_LANGUAGE", "en")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1/db")
    settings = load_settings()
    assert settings.owner_ids == [42, 7000000000]
    assert settings.database_url == "postgresql+asyncpg://u@127.0.0.1/db"
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())


def test_settings_from_dotenv(tmp_path):
    (tmp_path / ".env").write_text("OWNER_IDS=5\nTIMEZONE=Europe/Berlin\n")
    settings = load_settings()
    assert settings.owner_ids == [5]
    assert settings.timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("OWNER_IDS", "42,abc", "OWNER_IDS"),
        ("DEFAULT_LANGUAGE", "fr", "DEFAULT_LANGUAGE"),
        ("TIMEZONE", "Mars/Olympus", "TIMEZONE: unknown time zone"),
        ("BOT_TOKEN", "nonsense", "BOT_TOKEN: does not look like a token"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL"),
        ("WEBHOOK_LISTEN", "0.0.0.0", "WEBHOOK_LISTEN: must be HOST:PORT"),
        ("LOG_LEVEL", "LOUD", "LOG_LEVEL"),
        ("TIER_HIGH", "1.5", "TIER_HIGH"),
        ("TIER_GENERAL", "0.5", "TIER_GENERAL: tiers need"),
    ],
    ids=[
        "owner-ids",
        "language",
        "timezone",
        "token",
        "database",
        "listen",
        "log-level",
        "tier-range",
        "tier-order",
    ],
)
def test_settings_bad_value_names_key(monkeypatch, key, value, expected):
    monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert str(info.value).startswith(expected)
    assert "\n" not in str(info.value)


def test_settings_webhook_needs_secret(monkeypatch):
    monkeypatch.setenv("WEBHOOK_URL", "https://example.org/hook")
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        load_settings()


def test_cli_bad_setting_exits_2_without_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN",)}
    env["TIMEZONE"] = "Nowhere/Never"
    env["BOT_TOKEN"] = TOKEN + "x"
    env["OWNER_IDS"] = "x"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "db", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "configuration error:" in proc.stderr
    assert TOKEN not in proc.stderr + proc.stdout


def test_settings_tiers_become_the_rules(monkeypatch):
    monkeypatch.setenv("TIER_HIGH", "0.5")
    monkeypatch.setenv("TIER_GENERAL", "0.25")
    rules = load_settings().tier_rules
    assert (rules.high, rules.general, rules.critical) == (0.5, 0.25, 0.10)
