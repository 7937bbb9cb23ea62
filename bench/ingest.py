"""Benchmark: group text messages through the full running Application vs a bare one.

Both get the same N synthetic group messages as raw JSON, in the same run. The baseline, a bare
python-telegram-bot Application with one trivial handler and the same concurrency, gets them
parsed with Update.de_json on its update queue. The full bot gets them as long polling delivers
them, in batches of 100, and runs its whole path: each batch stored in the inbox and committed
(durable before it is acknowledged), the intake's per-chat workers, parsing, guards, member
bookkeeping, the ad detector, a unit of work per update (committed when it decided something;
SQLite file, WAL), and activity capture: every message counted per member and local day in
memory and written in batches by `services.activity`, with the inbox marks. Reported: updates
per second, p50/p99 latency (arrival to handled), and the ratio full / baseline, which is the
figure to watch.

Activity capture is checked, not assumed: after the run the last batch is written (timed on its
own and reported, with the ratio it would give if it counted against the run) and the stored
counters must add up to the messages sent, every update must be marked handled in the inbox,
and the number of decisions (audit log rows) is reported; the benchmark fails otherwise.

    python -m bench.ingest [--messages 3000] [--groups 10] [--users 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from unittest.mock import patch

from sqlalchemy import func, select
from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    MessageHandler,
    SimpleUpdateProcessor,
    filters,
)

from bench._results import save
from bot import migrate
from bot.app import Deployment, build, running
from bot.settings import Settings
from rules.detect import MessageFacts, message_fingerprint
from sandbox.offline import ME as BOT
from sandbox.offline import ScriptedRequest as OfflineRequest
from storage.groups import AllianceRepository, ChatRepository
from storage.models import Activity, Inbox, Member, ModerationLog

TOKEN = "900000001:BENCHBENCHBENCHBENCHBENCH"
OWNER = 1
# Everyday group chat, combined at random so that texts do not repeat across groups (a repeated
# text in several groups is a spam wave, which the bot rightly acts on).
OPENERS = [
    "大家好",
    "请问",
    "哈哈",
    "收到",
    "Morning",
    "Hey all",
    "Quick question",
    "谢谢",
    "有人知道",
    "Btw",
    "刚看到",
    "同意",
]
TOPICS = [
    "今天的分享会几点开始",
    "周末一起去爬山吗",
    "路由器重启一下就好了",
    "停车场在哪个门",
    "the meetup starts at 8pm",
    "I'll bring the projector",
    "新人报到请多关照",
    "今天打卡跑步五公里",
    "does anyone have the slides",
    "这个问题我也遇到过",
    "晚饭吃什么",
    "the train was late again",
    "下次活动在哪里",
    "photos from last week are great",
]
NAMES = [
    "小王",
    "阿杰",
    "Lily",
    "老张",
    "Mia",
    "小陈",
    "Tom",
    "阿芳",
    "Ken",
    "小李",
    "Ada",
    "老周",
    "Ben",
    "小赵",
    "Ivy",
    "阿明",
    "Leo",
    "小刘",
    "Zoe",
    "老孙",
    "Max",
    "小吴",
    "Eva",
    "阿龙",
    "Sam",
    "小杨",
    "Amy",
    "老黄",
    "Jay",
    "小何",
    "Kim",
    "阿伟",
    "Ray",
    "小林",
    "Joy",
    "老马",
]
TAILS = ["", "？", "！", "😂", " 🙏", " lol", "～", " thanks", " 哈哈", "。"]


def chat_line(rng: random.Random) -> str:
    words = [rng.choice(OPENERS), rng.choice(NAMES), rng.choice(TOPICS), rng.choice(TOPICS)]
    return " ".join(words[: rng.randint(3, 4)]) + rng.choice(TAILS)


def make_updates(n: int, groups: int, users: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    now = int(time.time())
    updates = []
    # text fingerprint (as the detector's wave count sees it) -> the group it was said in
    said_in: dict[str, int] = {}
    for i in range(n):
        user = 10_000 + rng.randrange(users)
        # Members chat in their own group; now and then in another group of the alliance.
        home = user % groups if rng.random() < 0.9 else rng.randrange(groups)
        chat = -1001000000000 - home
        # Redraw a line whose letters were already said in another group: the same text in
        # several groups is a spam wave (tails such as "？" or "😂" do not make a text different).
        for _ in range(1000):
            text = chat_line(rng)
            if said_in.setdefault(message_fingerprint(MessageFacts(text=text)), home) == home:
                break
        else:
            raise SystemExit(
                f"{n} messages: too many for distinct everyday lines in {groups} groups"
            )
        updates.append(
            {
                "update_id": 1_000_000 + i,
                "message": {
                    "message_id": 10 + i,
                    "date": now,
                    "chat": {"id": chat, "type": "supergroup", "title": f"Group {chat}"},
                    "from": {
                        "id": user,
                        "is_bot": False,
                        "first_name": f"User{user}",
                        "username": f"user{user}",
                        "language_code": "zh-hans",
                    },
                    "text": text,
                },
            }
        )
    return updates


AnyApplication = Application[Any, Any, Any, Any, Any, Any]


class TimedProcessor(BaseUpdateProcessor):
    """Wraps another processor and records when each update finished."""

    def __init__(self, inner: BaseUpdateProcessor) -> None:
        super().__init__(inner.max_concurrent_updates)
        self.inner = inner
        self.done: dict[int, float] = {}
        self.all_done = asyncio.Event()
        self.expected = 0

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        await self.inner.do_process_update(update, coroutine)
        if isinstance(update, Update):
            self.done[update.update_id] = time.perf_counter()
            if len(self.done) >= self.expected:
                self.all_done.set()

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()


async def feed(
    app: AnyApplication,
    timed: TimedProcessor,
    raw: list[dict[str, Any]],
) -> dict[str, Any]:
    timed.expected = len(raw)
    started: dict[int, float] = {}
    # Both runs start from the same collector state: a full collection owed by an earlier run
    # (the process holds the warm-up runs and everything the bot imported) would otherwise
    # land in whichever run happens to cross the threshold, a swing of a third of a run.
    gc.collect()
    t0 = time.perf_counter()
    for item in raw:
        started[item["update_id"]] = time.perf_counter()
        await app.update_queue.put(Update.de_json(item, app.bot))
        if app.update_queue.qsize() > 256:
            await asyncio.sleep(0)
    await asyncio.wait_for(timed.all_done.wait(), timeout=600)
    elapsed = time.perf_counter() - t0
    latencies = sorted((timed.done[k] - started[k]) * 1000 for k in started)
    return {
        "updates": len(raw),
        "seconds": round(elapsed, 3),
        "updates_per_second": round(len(raw) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
    }


def _attach(app: AnyApplication) -> TimedProcessor:
    timed = TimedProcessor(app.update_processor)
    app._update_processor = timed  # the benchmark's stopwatch
    return timed


async def run_full(raw: list[dict[str, Any]], groups: int, db: Path) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{db}"
    await migrate.upgrade(url)
    settings = Settings(owner_ids=[OWNER], database_url=url, _env_file=None)
    request = OfflineRequest()
    d = await build(settings, token=TOKEN, request=request, updates_request=request)
    async with running(d, feed=False):
        rt = d.runtime
        async with rt.sessions() as session:
            alliance = (await AllianceRepository(session).list_all())[0]
            for g in range(groups):
                chat_id = -1001000000000 - g
                await ChatRepository(session).upsert(
                    chat_id,
                    title=f"Group {chat_id}",
                    type="supergroup",
                    status="active",
                    alliance_id=alliance.id,
                )
            await session.commit()
        figures: dict[str, Any] = await feed_intake(d, raw)
        figures["activity"] = await check_activity(d, raw)
        return figures


async def feed_intake(d: Deployment, raw: list[dict[str, Any]]) -> dict[str, Any]:
    """As long polling delivers them: batches of 100 stored in the inbox (committed), then
    handled by the intake's workers; latency from the batch's arrival to the update handled."""
    done: dict[int, float] = {}
    process = d.app.process_update

    async def timed(update: object) -> None:
        await process(update)
        if isinstance(update, Update):
            done[update.update_id] = time.perf_counter()

    started: dict[int, float] = {}
    gc.collect()
    with patch.object(d.app, "process_update", timed):  # the benchmark's stopwatch
        t0 = time.perf_counter()
        for at in range(0, len(raw), 100):
            batch = raw[at : at + 100]
            now = time.perf_counter()
            started.update((item["update_id"], now) for item in batch)
            await d.intake.wait_room()
            await d.intake.receive(batch)
        await d.intake.idle(timeout=600)
        elapsed = time.perf_counter() - t0
    latencies = sorted((done[k] - started[k]) * 1000 for k in started)
    return {
        "updates": len(raw),
        "seconds": round(elapsed, 3),
        "updates_per_second": round(len(raw) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1], 2),
    }


async def check_activity(d: Deployment, raw: list[dict[str, Any]]) -> dict[str, Any]:
    """Write the last activity batch (timed) and check that every message was counted and every
    update marked handled in the inbox."""
    activity = d.runtime.activity
    batches_during_run = activity.batches
    t0 = time.perf_counter()
    await activity.stop()  # waits for a batch in progress, then writes the rest
    write_seconds = time.perf_counter() - t0
    async with d.runtime.sessions() as session:
        day_messages = await session.scalar(select(func.coalesce(func.sum(Activity.messages), 0)))
        day_rows = await session.scalar(select(func.count()).select_from(Activity))
        member_messages = await session.scalar(
            select(func.coalesce(func.sum(Member.messages_seen), 0))
        )
        member_rows = await session.scalar(select(func.count()).select_from(Member))
        processed = await session.scalar(
            select(func.count()).select_from(Inbox).where(Inbox.status == "done")
        )
        decisions = {
            action: count
            for action, count in await session.execute(
                select(ModerationLog.action, func.count()).group_by(ModerationLog.action)
            )
        }
    activity.start()  # `running` stops it again on the way out
    sent = len(raw)
    members_sent = len({(u["message"]["chat"]["id"], u["message"]["from"]["id"]) for u in raw})
    if day_messages != sent or member_messages != sent or member_rows != members_sent:
        raise SystemExit(
            f"activity capture lost messages: sent {sent} by {members_sent} members, stored "
            f"{day_messages} (daily counters), {member_messages} in {member_rows} member rows"
        )
    if processed != sent:
        raise SystemExit(f"{processed} of {sent} updates marked handled in the inbox")
    return {
        "capture": "on",
        "messages_sent": sent,
        "messages_counted_daily": day_messages,
        "messages_counted_members": member_messages,
        "activity_rows": day_rows,
        "member_rows": member_rows,
        "handled_in_inbox": processed,
        "batches_during_run": batches_during_run,
        "batches_total": activity.batches,
        "last_batch_seconds": round(write_seconds, 3),
        "decisions": decisions,
    }


async def run_bare(raw: list[dict[str, Any]]) -> dict[str, float]:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .request(OfflineRequest())
        .get_updates_request(OfflineRequest())
        .concurrent_updates(SimpleUpdateProcessor(64))
        .build()
    )

    async def trivial(update: Update, context: Any) -> None:
        return None

    app.add_handler(MessageHandler(filters.ALL, trivial))
    timed = _attach(app)
    async with app:
        await app.start()
        try:
            return await feed(app, timed, raw)
        finally:
            await app.stop()


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--groups", type=int, default=10)
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args(argv)
    raw = make_updates(args.messages, args.groups, args.users)
    # Warm both paths once (imports, model training, first connections) before measuring.
    with tempfile.TemporaryDirectory() as tmp:
        await run_bare(raw[:200])
        await run_full(raw[:200], args.groups, Path(tmp) / "warm.db")
        bare = await run_bare(raw)
        full = await run_full(raw, args.groups, Path(tmp) / "bench.db")
    activity = full.pop("activity")
    with_last_batch = full["updates"] / (full["seconds"] + activity["last_batch_seconds"])
    result = {
        "benchmark": "ingest",
        "bot_id": BOT["id"],
        "baseline_bare_ptb": bare,
        "full_pipeline": full,
        "activity_capture": activity,
        "ratio_throughput": round(full["updates_per_second"] / bare["updates_per_second"], 3),
        "ratio_with_last_activity_batch": round(with_last_batch / bare["updates_per_second"], 3),
    }
    print(f"{'':22}{'updates/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for name, fig in (("bare PTB (baseline)", bare), ("full pipeline", full)):
        print(f"{name:22}{fig['updates_per_second']:>12}{fig['p50_ms']:>10}{fig['p99_ms']:>10}")
    print(
        f"activity capture: on; {activity['messages_counted_daily']} of "
        f"{activity['messages_sent']} messages counted in {activity['activity_rows']} daily rows "
        f"and {activity['member_rows']} member rows; {activity['batches_total']} batches "
        f"({activity['batches_during_run']} during the run, the last took "
        f"{activity['last_batch_seconds']} s after it); decisions: {activity['decisions'] or 0}"
    )
    print(f"ratio full/baseline throughput: {result['ratio_throughput']}")
    print(
        "ratio counting the last activity batch against the run: "
        f"{result['ratio_with_last_activity_batch']}"
    )
    save(args.json, result)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    asyncio.run(main())
