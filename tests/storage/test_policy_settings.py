"""The group policy as /set writes it, and the .env defaults at start, on SQLite and PostgreSQL:
only the keys set are stored, a value the model refuses is never written, and an alliance's time
zone and language follow .env until a command sets them."""

import pytest
from pydantic import ValidationError
from sqlalchemy import update

from services.settings import follow_env
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Alliance, Chat
from storage.policy import GroupPolicy

OWNER = 7_123_456_789
GROUP = -1001234567890


@pytest.fixture
async def sessions(db_url):
    engine = create_engine(db_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _start(sessions, *, timezone: str, language: str) -> list[str]:
    """What a start does: the default alliance, then the .env defaults."""
    async with sessions() as s:
        await AllianceRepository(s).get_default([OWNER], timezone=timezone, language=language)
        lines = await follow_env(s, timezone=timezone, language=language)
        await s.commit()
    return lines


async def _alliance(sessions) -> Alliance:
    async with sessions() as s:
        return (await AllianceRepository(s).list_all())[0]


async def test_policy_stores_only_what_was_set(sessions):
    async with sessions() as s:
        alliance = await AllianceRepository(s).get_default([OWNER], timezone="UTC", language="en")
        chat = await ChatRepository(s).upsert(
            GROUP, title="g", status="active", alliance_id=alliance.id
        )
        chat.policy = GroupPolicy.load(chat.policy).changed(warn_limit=3).stored()
        await s.commit()
    async with sessions() as s:
        row = await s.get(Chat, GROUP)
        assert row.policy == {"warn_limit": 3}
        policy = GroupPolicy.load(row.policy)
        assert (policy.warn_limit, policy.warn_expiry_days, policy.strictness) == (3, 30, "normal")
        with pytest.raises(ValidationError):
            policy.changed(warn_limit=0)
        with pytest.raises(ValidationError):
            policy.changed(flag_threshold=0.95)
        assert policy.changed(delete_threshold=0.8, flag_threshold=0.5).strictness == "strict"


async def test_env_defaults_follow_what_no_command_set(sessions):
    assert await _start(sessions, timezone="Asia/Shanghai", language="zh-CN") == []
    assert await _start(sessions, timezone="Europe/London", language="en") == []
    alliance = await _alliance(sessions)
    assert (alliance.timezone, alliance.language) == ("Europe/London", "en")
    assert alliance.policy["env_defaults"] == {"timezone": "Europe/London", "language": "en"}


async def test_env_defaults_a_command_set_overrides_and_is_logged(sessions):
    await _start(sessions, timezone="Asia/Shanghai", language="zh-CN")
    async with sessions() as s:
        alliance = (await AllianceRepository(s).list_all())[0]
        alliance.timezone = "Asia/Tokyo"  # as /set timezone or /schedule timezone do
        await ChatRepository(s).upsert(
            GROUP, title="Club 1", status="active", alliance_id=alliance.id, language="en"
        )
        await s.commit()
    lines = await _start(sessions, timezone="UTC", language="en")
    alliance = await _alliance(sessions)
    assert (alliance.timezone, alliance.language) == ("Asia/Tokyo", "en")
    assert lines == [
        f"alliance #{alliance.id}: stored timezone 'Asia/Tokyo' overrides TIMEZONE='UTC' "
        "(set by an owner's command; /set timezone changes it)"
    ]
    lines = await _start(sessions, timezone="UTC", language="zh-CN")
    assert lines[-1] == (
        f"group {GROUP} (Club 1): stored language 'en' overrides DEFAULT_LANGUAGE='zh-CN' "
        "(/set language default gives it back)"
    )
    assert (await _alliance(sessions)).timezone == "Asia/Tokyo"


async def test_env_defaults_an_alliance_from_before_keeps_what_differs(sessions):
    async with sessions() as s:
        await AllianceRepository(s).get_default([OWNER], timezone="Asia/Tokyo", language="en")
        await s.execute(update(Alliance).values(policy={}))  # nothing recorded yet
        await s.commit()
    lines = await _start(sessions, timezone="Asia/Shanghai", language="en")
    assert len(lines) == 1
    assert "stored timezone 'Asia/Tokyo' overrides TIMEZONE='Asia/Shanghai'" in lines[0]
    assert (await _alliance(sessions)).timezone == "Asia/Tokyo"
