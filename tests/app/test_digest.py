"""The digest for many groups, built from the database (SQLite and PostgreSQL): a short text that
fits Telegram's limit, groups needing attention first, the whole list as CSV, and a chart."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from services.alerts import tier_name
from services.digest import LIST_LIMIT, build_digest
from services.digest_media import CSV_HEADERS
from services.i18n import tr
from storage.activity import ActivityRepository, DayCount
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository, ChatRepository, MemberRepository
from storage.models import GroupPeriod

TODAY = date(2026, 11, 23)
GROUPS = 40


@pytest.fixture
async def sessions(db_url):
    engine = create_engine(db_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _alliance_with_many_groups(session):
    alliance = await AllianceRepository(session).get_default([1], timezone="UTC", language="zh-CN")
    days = []
    for n in range(GROUPS):
        gid = -1002000000000 - n
        await ChatRepository(session).upsert(
            gid, title=f"分会 {n} <b>", status="active", alliance_id=alliance.id
        )
        for uid in range(20):
            await MemberRepository(session).record_join(
                gid,
                uid + 1,
                at=datetime(2026, 10, 1, tzinfo=UTC),
                invited_by=None,
                invite_link=None,
            )
        # group n: n % 12 of its 20 members speak every day (0 % .. 55 %)
        days += [
            DayCount(gid, TODAY - timedelta(days=d), uid + 1, messages=3)
            for d in range(1, 8)
            for uid in range(n % 12)
        ]
    await ActivityRepository(session).add_days(days)
    return alliance


async def test_digest_for_many_groups_fits_and_attaches_the_table(sessions):
    async with sessions() as s:
        alliance = await _alliance_with_many_groups(s)
        digest = await build_digest(s, alliance, period="week", today=TODAY, keep=True)
        await s.commit()
    assert all(len(part) <= 4096 for part in digest.texts)
    text = "\n".join(digest.texts)
    assert text.startswith("<b>📊 周报 2026-11-16 – 2026-11-22</b>")
    assert "共 40 个群" in text
    assert "需要关注" in text
    assert "见附件表格" in text
    assert "&lt;b&gt;" in text, "titles are escaped for HTML"
    assert text.count("\n🔴") + text.count("\n🟡") + text.count("\n🟢") <= LIST_LIMIT
    read = csv.DictReader(io.StringIO(digest.csv.decode("utf-8-sig")))
    english = {tr("zh-CN", h): h for h in CSV_HEADERS}  # the headers are in the digest's language
    rows = [{english[k]: v for k, v in row.items()} for row in read]
    assert len(rows) == GROUPS
    tiers = {r["tier"] for r in rows}
    assert tiers == {tier_name("zh-CN", t) for t in ("high", "general", "inactive")}
    first = rows[0]
    assert first["needs_attention"] == "1"
    assert float(first["active_ratio"]) < 0.10
    assert digest.chart is not None
    assert digest.chart[:8] == b"\x89PNG\r\n\x1a\n"
    async with sessions() as s:
        kept = (await s.execute(GroupPeriod.__table__.select())).all()
    assert len(kept) == GROUPS
