"""The per-update path: a session only when one is needed, caches dropped by what was written,
handled updates remembered across a restart (the inbox), one chat's updates in order."""

import time

from sqlalchemy import event, func, select, update

from bot.app import build, running
from bot.intake import order_key
from bot.settings import Settings
from sandbox.offline import ScriptedRequest
from services.state import StateCache
from services.uow import UnitOfWork
from storage.db import Written, create_engine, create_session_factory, written
from storage.groups import AllianceRepository, ChatRepository
from storage.inbox import InboxRepository, Received
from storage.models import Activity, Chat, Member, ModerationLog, utcnow

TOKEN = "900:SCRIPTEDSCRIPTEDSCRIPTED"
GROUP = -1001000000001
OTHER = -1001000000002


def group_message(update_id, user_id, text, chat_id=GROUP, message_id=None):
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id or update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"},
            "from": {"id": user_id, "is_bot": False, "first_name": f"U{user_id}"},
            "text": text,
        },
    }


async def _start(d):
    async with d.runtime.sessions() as session:
        alliance = (await AllianceRepository(session).list_all())[0]
        for chat_id in (GROUP, OTHER):
            await ChatRepository(session).upsert(
                chat_id,
                title=f"Group {chat_id}",
                type="supergroup",
                status="active",
                alliance_id=alliance.id,
            )
        await session.commit()


async def _feed(d, raw_updates):
    await d.intake.receive(raw_updates)
    await d.intake.idle()


async def _app(db_url):
    settings = Settings(_env_file=None, database_url=db_url, owner_ids=[1])
    request = ScriptedRequest()
    return await build(settings, token=TOKEN, request=request, updates_request=request)


def _count_checkouts(d):
    seen = []
    event.listen(d.engine.sync_engine, "checkout", lambda *a: seen.append(1))
    return seen


async def test_plain_messages_answered_from_caches_open_no_session(app_db_url):
    d = await _app(app_db_url)
    async with running(d, feed=False):
        await _start(d)
        await _feed(d, [group_message(1, 501, "hello everyone, good morning")])
        raws = [group_message(2 + i, 501 + i % 3, f"morning chat line {i} here") for i in range(20)]
        items = [Received(r["update_id"], order_key(r), r) for r in raws]
        async with d.runtime.sessions() as session:
            await InboxRepository(session).add_new(items, at=utcnow())
            await session.commit()
        checkouts = _count_checkouts(d)
        d.intake.accept(items)
        await d.intake.idle()
        assert checkouts == []  # handled from the caches: no connection taken at all
        await d.runtime.activity.flush()
        async with d.runtime.sessions() as session:
            counted = await session.scalar(select(func.sum(Activity.messages)))
            pending = await InboxRepository(session).count_pending()
        assert counted == 21
        assert pending == 0  # marked done with the activity batch


async def test_redelivered_plain_message_is_ignored_also_after_restart(app_db_url):
    d = await _app(app_db_url)
    first = group_message(10, 601, "just a normal message here")
    async with running(d, feed=False):
        await _start(d)
        await _feed(d, [first, first])  # Telegram redelivers
    d = await _app(app_db_url)
    async with running(d, feed=False):
        await _feed(d, [first, group_message(11, 601, "and another normal message")])
        await d.runtime.activity.flush()
        async with d.runtime.sessions() as session:
            counted = await session.scalar(
                select(Member.messages_seen).where(Member.chat_id == GROUP, Member.user_id == 601)
            )
        assert counted == 2


async def test_one_chats_updates_are_processed_in_order(app_db_url):
    d = await _app(app_db_url)
    seen: list[int] = []
    async with running(d, feed=False):
        await _start(d)
        detector = d.runtime.detector
        assess = detector.assess

        def noting(facts, *args, **kwargs):
            seen.append(int(facts.text.split()[-1]))
            return assess(facts, *args, **kwargs)

        detector.assess = noting
        await _feed(
            d,
            [
                # short texts: no wave count, so nothing is decided on the way
                group_message(100 + i, 700 + i % 5, f"n {i}", GROUP if i % 2 else OTHER)
                for i in range(60)
            ],
        )
    odd = [n for n in seen if n % 2]
    even = [n for n in seen if not n % 2]
    assert odd == sorted(odd)
    assert even == sorted(even)
    assert len(seen) == 60


async def test_a_decision_is_committed_with_its_update_and_keeps_the_chat_cached(app_db_url):
    d = await _app(app_db_url)
    async with running(d, feed=False):
        await _start(d)
        state = d.runtime.state
        wave = "大家好，欢迎来我的群玩，很热闹的，快来看看"
        await _feed(d, [group_message(200, 801, wave)])
        await _feed(d, [group_message(199, 803, "a first word in the other group", OTHER)])
        cached = state.chats.get(GROUP), state.chats.get(OTHER)
        assert None not in cached
        await _feed(d, [group_message(201, 802, wave, chat_id=OTHER)])  # the same text again
        async with d.runtime.sessions() as session:
            flagged = await session.scalar(
                select(func.count())
                .select_from(ModerationLog)
                .where(ModerationLog.target_id == 802)
            )
            done = await InboxRepository(session).status_of(201)
        assert flagged == 1
        assert done == "done"  # claimed with the decision
        # An audit row and the inbox mark do not touch what the caches hold.
        assert (state.chats.get(GROUP), state.chats.get(OTHER)) == cached


async def _state_with_member(db_url):
    engine = create_engine(db_url)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        await ChatRepository(session).upsert(GROUP, title="g", type="supergroup", status="active")
        session.add(
            Member(chat_id=GROUP, user_id=5, status="member", first_seen=utcnow(), messages_seen=3)
        )
        await session.commit()
    return engine, sessions, StateCache.empty()


async def test_a_written_membership_is_read_again_and_keeps_the_counts_made_since(db_url):
    engine, sessions, state = await _state_with_member(db_url)
    try:
        uow = UnitOfWork(sessions)
        view = await state.member(uow, GROUP, 5)
        assert view is not None
        assert view.messages_seen == 3
        state.count_message(GROUP, 5, utcnow())
        state.count_message(GROUP, 5, utcnow())
        await uow.session.close()

        uow = UnitOfWork(sessions)
        row = await uow.session.get(Member, (GROUP, 5))
        row.status = "restricted"
        await uow.session.commit()
        state.forget_written(written(uow.session))
        await uow.session.close()

        uow = UnitOfWork(sessions)
        view = await state.member(uow, GROUP, 5)
        assert view is not None
        assert view.status == "restricted"
        assert view.messages_seen == 5
        await uow.session.close()
    finally:
        await engine.dispose()


async def test_writes_drop_only_what_they_touched(db_url):
    engine, sessions, state = await _state_with_member(db_url)
    try:
        uow = UnitOfWork(sessions)
        chat, _ = await state.chat(uow, GROUP)
        assert chat is not None
        assert state.chats.get(GROUP) is not None
        assert not await state.is_blacklisted(uow, 1, 5)
        await uow.session.close()

        uow = UnitOfWork(sessions)
        uow.session.add(
            ModerationLog(at=utcnow(), chat_id=GROUP, action="flag", reasons="", details={})
        )
        await uow.session.commit()
        state.forget_written(written(uow.session))
        await uow.session.close()
        assert state.chats.get(GROUP) is not None
        assert state.blacklists.get(1) is not None

        uow = UnitOfWork(sessions)
        (await uow.session.get(Chat, GROUP)).title = "renamed"
        await uow.session.commit()
        state.forget_written(written(uow.session))
        await uow.session.close()
        assert state.chats.get(GROUP) is None
        assert state.blacklists.get(1) is not None

        uow = UnitOfWork(sessions)
        await uow.session.execute(update(Chat).values(title="again"))  # rows not known
        await uow.session.commit()
        assert written(uow.session).tables == {"chat"}
        await uow.session.close()
    finally:
        await engine.dispose()


async def test_a_load_that_raced_a_drop_is_not_kept(db_url):
    engine, sessions, state = await _state_with_member(db_url)
    try:
        uow = UnitOfWork(sessions)
        session = uow.session
        get = session.get

        async def slow_get(*args, **kwargs):
            row = await get(*args, **kwargs)
            state.forget_written(written_chat)  # a commit lands while the load reads
            return row

        written_chat = Written(rows={("chat", (GROUP,))})
        session.get = slow_get
        chat, _ = await state.chat(uow, GROUP)
        assert chat is not None  # the caller gets what it read ...
        assert state.chats.get(GROUP) is None  # ... but it is not kept for others
        await session.close()
    finally:
        await engine.dispose()


async def test_unit_of_work_without_a_session_ends_reads_and_has_none(db_url):
    engine = create_engine(db_url)
    try:
        uow = UnitOfWork(create_session_factory(engine))
        await uow.end_reads()
        assert uow.opened is None
        assert uow.session is uow.opened
        await uow.session.close()
    finally:
        await engine.dispose()


async def test_a_veterans_active_warnings_are_read_once_per_alliance(db_url):
    from datetime import timedelta

    from storage.models import Alliance, Warning

    engine = create_engine(db_url)
    sessions = create_session_factory(engine)
    try:
        async with sessions() as session:
            alliance = Alliance(name="a", owner_ids=[1])
            session.add(alliance)
            await session.flush()
            now = utcnow()
            session.add_all(
                [
                    Warning(
                        alliance_id=alliance.id,
                        chat_id=GROUP,
                        user_id=7,
                        expires_at=now + timedelta(days=1),
                    ),
                    Warning(
                        alliance_id=alliance.id,
                        chat_id=GROUP,
                        user_id=8,
                        expires_at=now - timedelta(days=1),
                    ),
                ]
            )
            await session.commit()
            alliance_id = alliance.id
        state = StateCache.empty()
        uow = UnitOfWork(sessions)
        assert await state.has_warnings(uow, alliance_id, 7, now)
        assert not await state.has_warnings(uow, alliance_id, 8, now)  # expired
        await uow.session.close()
        assert not await state.has_warnings(UnitOfWork(_no_sessions), alliance_id, 9, now)
    finally:
        await engine.dispose()


def _no_sessions():
    raise AssertionError("a session was opened")


async def test_a_new_blacklist_entry_is_read_alone_not_the_whole_list(db_url):
    from storage.models import BlacklistEntry

    engine, sessions, state = await _state_with_member(db_url)
    try:
        async with sessions() as session:
            alliance = await AllianceRepository(session).get_default(
                [1], timezone="UTC", language="en"
            )
            session.add_all(
                BlacklistEntry(alliance_id=alliance.id, user_id=u, reason="x", created_at=utcnow())
                for u in (7, 8)
            )
            await session.commit()
            alliance_id = alliance.id
        uow = UnitOfWork(sessions)
        assert await state.is_blacklisted(uow, alliance_id, 7)
        await uow.session.close()

        uow = UnitOfWork(sessions)
        uow.session.add(
            BlacklistEntry(alliance_id=alliance_id, user_id=9, reason="y", created_at=utcnow())
        )
        await uow.session.commit()
        state.forget_written(written(uow.session))
        await uow.session.close()

        statements: list[str] = []
        event.listen(
            engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        uow = UnitOfWork(sessions)
        assert await state.is_blacklisted(uow, alliance_id, 9)
        assert await state.is_blacklisted(uow, alliance_id, 8)
        await uow.session.close()
        assert len(statements) == 1  # the one new entry, by its key
        assert "WHERE blacklist.alliance_id = " in statements[0]
        assert "blacklist.user_id = " in statements[0]
    finally:
        await engine.dispose()
