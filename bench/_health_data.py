"""Synthetic alliance for bench.digest: N groups of 500 members with 30 days of activity.

Deterministic (one seeded generator per group, so a group's rows do not depend on the chunk size
or on how many groups come before it) and streamed: `generate` yields the rows of a chunk of
groups at a time, in primary-key order, ready for executemany (SQLite) or COPY (PostgreSQL).

Per group (the figures are means; groups differ, so that tiers differ):
- 500 members, 450 of them only in this group and 50 who are also in another group of the
  alliance (partners); ~3 % have left, one creator, two administrators;
- ~20 % joined within the last 60 days (join events, a third invited by a member), the rest were
  there before the bot (joined_at NULL);
- ~20 % of the members are active within the 30 days, each on a share of the days drawn from
  Beta(0.7, 1) (a few core members, many occasional ones), with a geometric number of messages
  per day around a member's own lognormal mean: ~40 activity rows per group and day;
- one reply edge per three activity rows, authors weighted by their messages;
- a member count per day (chat_day), three moderation log rows, and every tenth group one
  blacklisted invitee;
- role_flags 0 for present members (the first computation writes every member's roles), and
  for those who left the core role they would have had (what departed() reports).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    import numpy as np

TODAY = date(2026, 11, 30)
TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime.combine(TODAY, time(9, 0), TZ).astimezone(UTC)  # when the digest runs
ALLIANCE_ID = 1

MEMBERS = 500
SHARED = 50  # members whose home is another group of the alliance
HOME = MEMBERS - SHARED
HISTORY_DAYS = 60  # joins and leaves spread over these local days, the last one being TODAY
ACTIVITY_DAYS = 30  # activity rows for the last 30 local days
FIRST_ACTIVE = HISTORY_DAYS - ACTIVITY_DAYS  # history-day index of the first activity day
DAY_MIN = 24 * 60
NOW_MIN = (HISTORY_DAYS - 1) * DAY_MIN + 9 * 60  # minutes from ORIGIN to NOW
ORIGIN = datetime.combine(TODAY - timedelta(days=HISTORY_DAYS - 1), time(0), TZ).astimezone(UTC)
USER_BASE = 100_000_000
CHAT_BASE = -1_002_000_000_000  # chat ids ascend with the group number: inserts in key order

# Column order of the rows `generate` yields, per table, in insertion order (parents first).
COLUMNS: dict[str, tuple[str, ...]] = {
    "alliance": ("id", "name", "owner_ids", "timezone", "language", "created_at"),
    "chat": (
        "id",
        "alliance_id",
        "title",
        "type",
        "status",
        "policy",
        "member_count",
        "bot_status",
        "bot_rights",
        "added_by",
        "created_at",
        "updated_at",
    ),
    "tg_user": (
        "id",
        "username",
        "first_name",
        "is_bot",
        "language_code",
        "started_bot",
        "updated_at",
    ),
    "member": (
        "chat_id",
        "user_id",
        "status",
        "first_seen",
        "joined_at",
        "left_at",
        "invited_by",
        "invite_link",
        "messages_seen",
        "last_message_at",
        "roles",
        "role_flags",
    ),
    "activity": (
        "chat_id",
        "day",
        "user_id",
        "messages",
        "replies_received",
        "reactions_received",
    ),
    "activity_reply": ("chat_id", "day", "author_id", "replier_id", "replies"),
    "member_event": ("chat_id", "user_id", "at", "kind", "inviter_id", "invite_link"),
    "chat_day": ("chat_id", "day", "member_count"),
    "moderation_log": ("at", "actor_id", "target_id", "chat_id", "action", "reasons", "details"),
    "blacklist": (
        "alliance_id",
        "user_id",
        "reason",
        "evidence",
        "added_by",
        "source_chat_id",
        "created_at",
    ),
}

STATUS = ("member", "left", "administrator", "creator")
Rows = dict[str, list[tuple[Any, ...]]]


def chat_id(group: int) -> int:
    return CHAT_BASE + group


class Codec:
    """Times and days as the driver wants them: aware datetimes and dates for asyncpg; for the
    sqlite3 module the text SQLAlchemy writes (UTC 'YYYY-MM-DD HH:MM:SS.ffffff', ISO dates).
    Times are whole minutes since ORIGIN, so every value is made once and looked up."""

    def __init__(self, dialect: str) -> None:
        moments = [ORIGIN + timedelta(minutes=m) for m in range(NOW_MIN + 1)]
        days = [TODAY - timedelta(days=HISTORY_DAYS - 1 - d) for d in range(HISTORY_DAYS)]
        if dialect == "sqlite":
            self.ts: list[Any] = [m.strftime("%Y-%m-%d %H:%M:%S.%f") for m in moments]
            self.day: list[Any] = [d.isoformat() for d in days]
        else:
            self.ts, self.day = moments, days

    def times(self, minutes: np.ndarray[Any, Any]) -> list[Any]:
        return [self.ts[m] for m in minutes.tolist()]

    def maybe_times(self, minutes: np.ndarray[Any, Any]) -> list[Any]:
        """-1 stands for NULL."""
        return [self.ts[m] if m >= 0 else None for m in minutes.tolist()]


def alliance_rows(codec: Codec) -> Rows:
    return {
        "alliance": [(ALLIANCE_ID, "bench", "[1]", "Asia/Shanghai", "zh-CN", codec.ts[0])],
    }


def group_rows(group: int, groups: int, seed: int, codec: Codec, barred: set[int]) -> Rows:
    """Every row of one group. `barred` holds the blacklisted accounts so far (the table's key is
    the account, and an account can be in two groups)."""
    import numpy as np  # here, not at the top: the measured child process imports the constants

    rng = np.random.default_rng([seed, group])
    chat = chat_id(group)
    out: Rows = {
        "chat": [
            (
                chat,
                ALLIANCE_ID,
                f"Group {group}",
                "supergroup",
                "active",
                "{}",
                MEMBERS,
                "administrator",
                "{}",
                1,
                codec.ts[0],
                codec.ts[0],
            )
        ],
    }

    # -- members ------------------------------------------------------------------------------
    home = USER_BASE + group * HOME + np.arange(HOME, dtype=np.int64)
    if groups > 1:
        picks = rng.choice((groups - 1) * HOME, SHARED, replace=False, shuffle=False)
        picks = np.where(picks >= group * HOME, picks + HOME, picks)  # skip this group's block
        users = np.sort(np.concatenate([home, USER_BASE + picks.astype(np.int64)]))
    else:
        users = home
    n = len(users)
    status = np.zeros(n, dtype=np.int8)
    status[rng.random(n) < 0.03] = 1
    chiefs = rng.choice(n, 3, replace=False)
    status[chiefs[0]] = 3
    status[chiefs[1:]] = 2
    joiner = rng.random(n) < 0.2
    joined = np.where(joiner, rng.integers(0, NOW_MIN, n), -1)
    low = np.maximum(joined + 1, 0)
    left = np.where(status == 1, low + (rng.random(n) * (NOW_MIN - low)).astype(np.int64), -1)
    join_day = np.where(joiner, joined // DAY_MIN, -1)
    leave_day = np.where(status == 1, left // DAY_MIN, HISTORY_DAYS)
    invited = joiner & (rng.random(n) < 0.35)
    inviter = np.where(invited, users[rng.integers(0, n, n)], 0)
    link = joiner & ~invited & (rng.random(n) < 0.3)

    # -- activity: who, on which days, how many messages ------------------------------------
    share = 0.2 * np.exp(rng.normal(0.0, 0.5) - 0.125)
    n_active = int(np.clip(round(n * share), 5, n - 50))
    active = np.sort(rng.choice(n, n_active, replace=False))
    day_p = rng.beta(0.7, 1.0, n_active)
    mean = np.exp(rng.normal(0.8, 0.9, n_active))
    history_day = FIRST_ACTIVE + np.arange(ACTIVITY_DAYS)
    on = rng.random((n_active, ACTIVITY_DAYS)) < day_p[:, None]
    on &= history_day[None, :] >= join_day[active, None]
    on &= history_day[None, :] <= leave_day[active, None]
    count = rng.geometric(1.0 / (1.0 + mean)[:, None], (n_active, ACTIVITY_DAYS))
    day_i, who = np.nonzero(on.T)  # day-major, members ascending: primary-key order
    messages = count[who, day_i]
    replies = rng.binomial(messages, 0.3)
    reactions = rng.binomial(messages, 0.4)
    act_users = users[active[who]]
    days = [codec.day[d] for d in (FIRST_ACTIVE + day_i).tolist()]
    out["activity"] = list(
        zip(
            [chat] * len(days),
            days,
            act_users.tolist(),
            messages.tolist(),
            replies.tolist(),
            reactions.tolist(),
            strict=True,
        )
    )

    # reply edges: authors weighted by messages, repliers anyone active that day
    edges = len(day_i) // 3
    reply_rows: list[tuple[Any, ...]] = []
    if edges:
        author = rng.choice(len(day_i), edges, p=messages / messages.sum())
        a_day = day_i[author]
        starts = np.searchsorted(day_i, np.arange(ACTIVITY_DAYS))
        per_day = np.bincount(day_i, minlength=ACTIVITY_DAYS)
        replier = starts[a_day] + (rng.random(edges) * per_day[a_day]).astype(np.int64)
        a_who, r_who = who[author], who[replier]
        keep = a_who != r_who
        key = np.unique((a_day[keep] << 20) | (a_who[keep] << 10) | r_who[keep])
        e_day, e_author, e_replier = key >> 20, (key >> 10) & 1023, key & 1023
        e_replies = rng.geometric(0.5, len(key))
        reply_rows = list(
            zip(
                [chat] * len(key),
                [codec.day[d] for d in (FIRST_ACTIVE + e_day).tolist()],
                users[active[e_author]].tolist(),
                users[active[e_replier]].tolist(),
                e_replies.tolist(),
                strict=True,
            )
        )
    out["activity_reply"] = reply_rows

    # -- the member rows, now that last messages are known -----------------------------------
    spoke = on.any(axis=1)
    last_day = ACTIVITY_DAYS - 1 - np.argmax(on[:, ::-1], axis=1)
    last = np.full(n, -1, dtype=np.int64)
    last_at = (FIRST_ACTIVE + last_day) * DAY_MIN + rng.integers(7 * 60, DAY_MIN, n_active)
    last_at = np.maximum(last_at, np.maximum(joined[active], 0) + 1)
    last[active] = np.where(spoke, np.minimum(last_at, NOW_MIN - 1), -1)
    seen = np.zeros(n, dtype=np.int64)
    seen[active] = np.where(on, count, 0).sum(axis=1)
    old = (last < 0) & ~joiner & (rng.random(n) < 0.4)  # spoke before the 30 days only
    last = np.where(old, rng.integers(0, FIRST_ACTIVE * DAY_MIN, n), last)
    seen = np.where(old, rng.integers(1, 60, n), seen)
    first = np.where(joiner, joined, rng.integers(0, 5 * DAY_MIN, n))
    # Roles as last computed: 0 for everyone present (so the first computation writes them
    # all); the members who have left keep the core role they had (departed() reads it).
    flags = np.zeros(n, dtype=np.int64)
    flags[active] = np.where((on.sum(axis=1) >= 16) & (seen[active] >= 10), 1, 0)
    flags = np.where(status == 1, flags, 0)
    link_text = f"https://t.me/+bench{group}"
    out["member"] = list(
        zip(
            [chat] * n,
            users.tolist(),
            [STATUS[s] for s in status.tolist()],
            codec.times(first),
            codec.maybe_times(joined),
            codec.maybe_times(left),
            [u or None for u in inviter.tolist()],
            [link_text if x else None for x in link.tolist()],
            seen.tolist(),
            codec.maybe_times(last),
            ["{}"] * n,
            flags.tolist(),
            strict=True,
        )
    )

    # -- joins and leaves, member counts per day ---------------------------------------------
    events = [
        (
            int(joined[i]),
            int(users[i]),
            "join",
            int(inviter[i]) or None,
            link_text if link[i] else None,
        )
        for i in np.flatnonzero(joiner)
    ] + [(int(left[i]), int(users[i]), "leave", None, None) for i in np.flatnonzero(status == 1)]
    events.sort()
    out["member_event"] = [(chat, u, codec.ts[at], kind, by, lk) for at, u, kind, by, lk in events]
    joins_on = np.bincount(join_day[joiner], minlength=HISTORY_DAYS)
    leaves_on = np.bincount(leave_day[status == 1], minlength=HISTORY_DAYS)
    after = np.cumsum((joins_on - leaves_on)[::-1])[::-1]  # net joins on this day and later
    out["chat_day"] = [
        (chat, codec.day[d], int(MEMBERS - (after[d + 1] if d + 1 < HISTORY_DAYS else 0)))
        for d in range(FIRST_ACTIVE - 1, HISTORY_DAYS)
    ]

    # -- moderation, blacklist, a few thousand named accounts ------------------------------------
    at = np.sort(rng.integers(FIRST_ACTIVE * DAY_MIN, NOW_MIN, 3))
    targets = users[rng.integers(0, n, 3)]
    out["moderation_log"] = [
        (codec.ts[a], None, int(t), chat, action, "ad", "{}")
        for a, t, action in zip(at.tolist(), targets, ("delete", "delete", "ban"), strict=True)
    ]
    out["blacklist"] = []
    candidates = [i for i in np.flatnonzero(invited) if int(users[i]) not in barred]
    if group % 10 == 0 and candidates:
        i = candidates[0]
        barred.add(int(users[i]))
        when = codec.ts[min(int(joined[i]) + 60, NOW_MIN)]
        out["blacklist"].append((ALLIANCE_ID, int(users[i]), "advertising", "{}", 1, chat, when))
    out["tg_user"] = []
    if group < 10:
        out["tg_user"] = [
            (u, f"u{u}" if u % 2 else None, f"User {u}", False, "zh-hans", False, codec.ts[0])
            for u in home.tolist()
        ]
    return out


def generate(groups: int, codec: Codec, *, seed: int = 20261130, chunk: int = 50) -> Iterator[Rows]:
    """The alliance, then its groups `chunk` at a time; every table present in every batch."""
    yield {name: [] for name in COLUMNS} | alliance_rows(codec)
    barred: set[int] = set()
    for first in range(0, groups, chunk):
        batch: Rows = {name: [] for name in COLUMNS}
        for group in range(first, min(first + chunk, groups)):
            for name, rows in group_rows(group, groups, seed, codec, barred).items():
                batch[name].extend(rows)
        yield batch
