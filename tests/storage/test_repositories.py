"""Repositories on SQLite and PostgreSQL: each test gets its own migrated database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from rules.actions import Batch, BatchEntry, DeleteMessage, SendMessage
from storage.activity import ActivityRepository, DayCount, MemberCount, SeenUser
from storage.db import create_engine, create_session_factory, has_written
from storage.groups import (
    CHAT_KEYED,
    AllianceRepository,
    ChatRepository,
    MemberRepository,
    UserRepository,
)
from storage.inbox import InboxRepository, Received
from storage.models import Activity, BlacklistEntry, ModerationLog, Warning
from storage.moderation import (
    BlacklistRepository,
    LabeledMessageRepository,
    StrikeRepository,
    WarningRepository,
)
from storage.outbox import CodecError, OutboxRepository, PostedMessageRepository, decode
from storage.policy import GroupPolicy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
BIG = 7_123_456_789  # ids beyond 32 bits
GROUP = -1001234567890


@pytest.fixture
async def sessions(db_url):
    engine = create_engine(db_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _alliance_with_groups(session, *group_ids):
    alliance = await AllianceRepository(session).get_default([BIG], timezone="UTC", language="en")
    for gid in group_ids:
        await ChatRepository(session).upsert(
            gid, title=f"g{gid}", status="active", alliance_id=alliance.id
        )
    return alliance


async def test_repositories_alliance_and_chats_roundtrip(sessions):
    async with sessions() as s:
        alliance = await _alliance_with_groups(s, GROUP, GROUP - 1)
        await ChatRepository(s).upsert(
            GROUP - 2, title="gone", status="left", alliance_id=alliance.id
        )
        await s.commit()
    async with sessions() as s:
        again = await AllianceRepository(s).get_default([BIG], timezone="UTC", language="en")
        assert again.id == alliance.id
        assert again.owner_ids == [BIG]
        active = await ChatRepository(s).list_active(alliance.id)
        assert [c.id for c in active] == [GROUP - 1, GROUP]
        assert (await ChatRepository(s).get(GROUP)).created_at.tzinfo is not None


async def test_repositories_inbox_stores_once_claims_once_and_prunes(sessions):
    big = 2**40
    async with sessions() as s:
        repo = InboxRepository(s)
        first = [Received(big, GROUP, {"update_id": big}), Received(7, None, {"update_id": 7})]
        assert await repo.add_new(first, at=NOW - timedelta(days=2)) == {big, 7}
        assert await repo.add_new([Received(big, GROUP, {"update_id": big})], at=NOW) == set()
        nul = Received(8, GROUP, {"update_id": 8, "message": {"text": "a\x00b"}})
        assert await repo.add_new([nul], at=NOW) == {8}  # PostgreSQL's JSON holds no NUL
        assert [r.update_id for r in await repo.pending(limit=10)] == [7, 8, big]
        assert await repo.claim(big, at=NOW)
        assert not await repo.claim(big, at=NOW)
        assert await repo.claim(99, at=NOW)  # read from elsewhere (a stream): recorded here
        assert not await repo.claim(99, at=NOW)
        assert await repo.status_of(99) == "done"
        await repo.finish_many([7], at=NOW)
        await repo.record_failure(8, "boom")
        await repo.quarantine(8, "boom again", at=NOW)
        assert await repo.pending(limit=10) == []
        assert await repo.quarantined(since=NOW - timedelta(hours=1), chat_ids=[GROUP]) == 1
        assert await repo.status_of(big) == "done"
        assert await repo.status_of(8) == "quarantined"
        assert await repo.prune(done_before=NOW - timedelta(days=1), quarantined_before=NOW) == 2
        assert await repo.status_of(big) is None
        assert await repo.status_of(8) == "quarantined"
        await s.commit()


async def test_repositories_member_join_is_recorded_once(sessions):
    async with sessions() as s:
        await _alliance_with_groups(s, GROUP)
        members = MemberRepository(s)
        assert await members.record_join(GROUP, BIG, at=NOW, invited_by=BIG + 1, invite_link=None)
        # the second report of the same join (service message after chat_member) is not new
        assert not await members.record_join(
            GROUP, BIG, at=NOW + timedelta(seconds=1), invited_by=None, invite_link="club-link"
        )
        row = await members.get(GROUP, BIG)
        assert row.invited_by == BIG + 1
        assert row.invite_link == "club-link"
        await members.record_leave(GROUP, BIG, at=NOW, status="left")
        assert await members.record_join(
            GROUP, BIG, at=NOW + timedelta(minutes=5), invited_by=None, invite_link=None
        )
        await s.commit()


async def test_repositories_chat_migration_keeps_data(sessions):
    async with sessions() as s:
        await _alliance_with_groups(s, -5001)
        await ChatRepository(s).upsert(-5001, rules_text="be kind", type="group")
        await MemberRepository(s).record_join(-5001, BIG, at=NOW, invited_by=None, invite_link=None)
        s.add(ModerationLog(chat_id=-5001, action="warn", reasons="x"))
        await OutboxRepository(s).add(SendMessage(chat_id=-5001, text="hi"))
        alliance = (await AllianceRepository(s).list_all())[0]
        await WarningRepository(s).add(
            alliance_id=alliance.id,
            chat_id=-5001,
            user_id=BIG,
            actor_id=None,
            reason="ads",
            evidence={},
            at=NOW,
            expires_at=NOW + timedelta(days=1),
        )
        await BlacklistRepository(s).add(
            alliance_id=alliance.id,
            user_id=BIG + 1,
            reason="ads",
            evidence={},
            added_by=None,
            source_chat_id=-5001,
            at=NOW,
        )
        await ActivityRepository(s).add_days([DayCount(-5001, NOW.date(), BIG, messages=3)])
        await s.commit()
    async with sessions() as s:
        new = await ChatRepository(s).migrate(-5001, GROUP, CHAT_KEYED)
        await OutboxRepository(s).retarget(-5001, GROUP)
        await s.commit()
    async with sessions() as s:
        new = await ChatRepository(s).get(GROUP)
        old = await ChatRepository(s).get(-5001)
        assert new.rules_text == "be kind"
        assert new.type == "supergroup"
        assert new.status == "active"
        assert old.status == "migrated"
        assert old.migrated_to == GROUP
        assert await MemberRepository(s).get(GROUP, BIG) is not None
        rows = await OutboxRepository(s).unfinished()
        assert [r.chat_id for r in rows] == [GROUP]
        warning = await s.scalar(select(Warning))
        entry = await s.scalar(select(BlacklistEntry))
        activity = await s.scalar(select(Activity))
        assert (warning.chat_id, entry.source_chat_id, activity.chat_id) == (GROUP, GROUP, GROUP)


async def test_repositories_outbox_lifecycle(sessions):
    async with sessions() as s:
        outbox = OutboxRepository(s)
        first = await outbox.add(SendMessage(chat_id=GROUP, text="a"), not_before=NOW)
        second = await outbox.add(DeleteMessage(chat_id=GROUP, message_id=5), not_before=NOW)
        later = await outbox.add(SendMessage(chat_id=GROUP, text="b"), after=first.id)
        assert [(r.id, r.lane, r.after_id) for r in await outbox.unfinished()] == [
            (first.id, "message", None),
            (second.id, "delete", None),
            (later.id, "message", first.id),
        ]
        (claimed,) = await outbox.claim([first.id])
        assert claimed.attempts == 1
        assert decode(
            claimed.kind, claimed.chat_id, claimed.priority, claimed.payload
        ) == SendMessage(chat_id=GROUP, text="a")
        await outbox.reschedule([first.id], not_before=NOW + timedelta(seconds=30), error="429")
        await outbox.reschedule([second.id], not_before=NOW, error="not taken: left pending")
        await outbox.mark_done([second.id], {"message_id": 9}, at=NOW)
        await outbox.mark_failed([later.id], "Forbidden: bot was kicked", at=NOW)
        assert await outbox.claim([second.id]) == []  # finished rows are never handed out again
        await s.commit()
        assert await outbox.count_by_status() == {"pending": 1, "done": 1, "failed": 1}
        assert await outbox.statuses([first.id, later.id]) == {
            first.id: "pending",
            later.id: "failed",
        }


def test_outbox_codec_refuses_unknown_kinds_and_malformed_payloads():
    with pytest.raises(CodecError):
        decode("launch_rockets", GROUP, 1, {})
    with pytest.raises(CodecError):
        decode("send_message", GROUP, 1, {"text": 5, "reply_to": "x"})


async def test_repositories_gathering_message_changes_only_while_waiting(sessions):
    async with sessions() as s:
        outbox = OutboxRepository(s)
        one = Batch("welcome", (BatchEntry(1, "Ann"),))
        row = await outbox.add(
            SendMessage(chat_id=GROUP, text="hi Ann", batch=one),
            not_before=NOW + timedelta(seconds=3),
        )
        found = await outbox.latest_coalescing(GROUP, "welcome")
        assert found.id == row.id
        assert found.coalesce_key == "welcome"
        both = SendMessage(
            chat_id=GROUP, text="hi Ann, Bob", batch=one.merged(BatchEntry(2, "Bob"))
        )
        assert await outbox.replace_waiting(row.id, both, NOW + timedelta(seconds=3))
        await outbox.claim([row.id])
        assert not await outbox.replace_waiting(row.id, both, NOW)  # taken: too late to change
        assert await PostedMessageRepository(s).replace(GROUP, "welcome", 10, at=NOW) is None
        assert await PostedMessageRepository(s).replace(GROUP, "welcome", 11, at=NOW) == 10
        await s.commit()


async def test_repositories_warnings_expire_and_revoke(sessions):
    async with sessions() as s:
        alliance = await _alliance_with_groups(s, GROUP)
        warnings = WarningRepository(s)
        for days_ago in (40, 2, 1):
            at = NOW - timedelta(days=days_ago)
            await warnings.add(
                alliance_id=alliance.id,
                chat_id=GROUP,
                user_id=BIG,
                actor_id=None,
                reason="ad",
                evidence={},
                at=at,
                expires_at=at + timedelta(days=30),
            )
        assert await warnings.count_active(alliance.id, BIG, now=NOW) == 2
        latest = await warnings.revoke_latest(alliance.id, BIG, by=1, now=NOW)
        assert latest.created_at == NOW - timedelta(days=1)
        assert await warnings.count_active(alliance.id, BIG, now=NOW) == 1
        assert await warnings.revoke_all(alliance.id, BIG, by=1, now=NOW) == 2  # expired too
        await s.commit()


async def test_repositories_blacklist_add_revoke_report(sessions):
    async with sessions() as s:
        alliance = await _alliance_with_groups(s, GROUP)
        repo = BlacklistRepository(s)
        _, new = await repo.add(
            alliance_id=alliance.id,
            user_id=BIG,
            reason="ads",
            evidence={"text": "加V"},
            added_by=None,
            source_chat_id=GROUP,
            at=NOW,
        )
        assert new
        assert (
            await repo.add(
                alliance_id=alliance.id,
                user_id=BIG,
                reason="again",
                evidence={},
                added_by=1,
                source_chat_id=GROUP,
                at=NOW,
            )
        )[1] is False
        assert [e.user_id for e in await repo.take_unreported(alliance.id, at=NOW)] == [BIG]
        assert await repo.take_unreported(alliance.id, at=NOW) == []
        assert await repo.count_active(alliance.id) == 1
        assert (await repo.revoke(alliance.id, BIG, by=1, at=NOW)).revoked_by == 1
        assert await repo.get_active(alliance.id, BIG) is None
        _, new = await repo.add(
            alliance_id=alliance.id,
            user_id=BIG,
            reason="back",
            evidence={},
            added_by=1,
            source_chat_id=None,
            at=NOW,
        )
        assert new
        await s.commit()


async def test_repositories_inviter_strikes_once_per_invitee(sessions):
    async with sessions() as s:
        alliance = await _alliance_with_groups(s, GROUP)
        members = MemberRepository(s)
        for invitee in (BIG + 1, BIG + 2):
            await members.record_join(GROUP, invitee, at=NOW, invited_by=BIG, invite_link=None)
        strikes = StrikeRepository(s)
        assert (await strikes.inviter_of([GROUP], BIG + 1)).invited_by == BIG
        assert (
            await strikes.add(
                inviter_id=BIG, invitee_id=BIG + 1, chat_id=GROUP, alliance_id=alliance.id, at=NOW
            )
            == 1
        )
        assert (
            await strikes.add(
                inviter_id=BIG, invitee_id=BIG + 1, chat_id=GROUP, alliance_id=alliance.id, at=NOW
            )
            == 1
        )
        assert (
            await strikes.add(
                inviter_id=BIG, invitee_id=BIG + 2, chat_id=GROUP, alliance_id=alliance.id, at=NOW
            )
            == 2
        )
        assert len(await strikes.invitees([GROUP], BIG)) == 2
        await s.commit()


async def test_repositories_activity_batches_add_up(sessions):
    async with sessions() as s:
        await _alliance_with_groups(s, GROUP)
        repo = ActivityRepository(s)
        await repo.add_member_counts([MemberCount(GROUP, BIG, 3, NOW)])
        await repo.add_member_counts([MemberCount(GROUP, BIG, 2, NOW + timedelta(minutes=1))])
        await repo.upsert_users([SeenUser(BIG, "Ann", None, "AnnX", False, "zh-hans")])
        await repo.upsert_users([SeenUser(BIG, "Ann B", None, "annx", False, "zh-hans")])
        await repo.set_titles({GROUP: "New title"})
        await s.commit()
    async with sessions() as s:
        member = await MemberRepository(s).get(GROUP, BIG)
        assert member.messages_seen == 5
        assert member.last_message_at == NOW + timedelta(minutes=1)
        user = await UserRepository(s).find_by_username("@AnnX")
        assert user.id == BIG
        assert user.first_name == "Ann B"
        assert (await ChatRepository(s).get(GROUP)).title == "New title"


async def test_repositories_labeled_messages(sessions):
    async with sessions() as s:
        repo = LabeledMessageRepository(s)
        await repo.add("加微信 兼职", "spam", source="admin", chat_id=GROUP, at=NOW)
        await repo.add_many([("hello", "ham")], source="import", at=NOW)
        with pytest.raises(ValueError, match="label must be spam or ham"):
            await repo.add("x", "maybe", source="admin", chat_id=None, at=NOW)
        assert sorted(await repo.all()) == [("hello", False), ("加微信 兼职", True)]
        assert await repo.count() == 2


async def test_repositories_write_detection(sessions):
    async with sessions() as s:
        await ChatRepository(s).get(GROUP)
        assert not has_written(s)
        await InboxRepository(s).claim(1, at=NOW)
        assert has_written(s)


def test_policy_bad_values_fall_back_per_key():
    policy = GroupPolicy.load({"warn_limit": 0, "shadow_mode": True, "unknown": 1})
    assert policy.warn_limit == 2
    assert policy.shadow_mode is True
    assert GroupPolicy.load(None).warn_limit == 2
