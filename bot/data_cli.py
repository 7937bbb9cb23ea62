"""Command-line data tools: labeled messages for the detector, and the blacklist's import/export.

- `spam train FILE` stores labeled messages; the running bot retrains from them on its own.
- `spam evaluate FILE` measures the detector (the seed corpus plus all stored labeled messages)
  on FILE: precision, recall, F1, false-positive rate and messages per second; the last line is
  a JSON object with those figures.
- `blacklist export [FILE]` and `blacklist import FILE` in CSV or JSON (by the file's extension).
  Imported entries are owner's entries: banned in every group of the alliance through the
  outbox (which the running bot drains), with an audit row each, shadow mode respected.
  With several alliances, `--alliance ID` says which; nothing is guessed.
FILE is JSON Lines (`{"text": ..., "label": "spam"|"ham"}`) or CSV with a `label,text` header.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.units import nothing_after, run_unit
from rules.classifier import SpamClassifier, seed_samples
from rules.decision import Person
from rules.detect import decide
from rules.facts import DetectPolicy, MessageFacts, SenderFacts
from rules.moderation import Offence
from services.activity import ActivityBuffer
from services.authority import Authority
from services.detector import Detector
from services.moderation import blacklist
from services.runtime import Alliances, Options, Runtime
from services.state import StateCache
from services.telegram import TelegramUnavailable
from storage.admins import AdminEntry, AdminRepository
from storage.db import create_engine, create_session_factory
from storage.groups import AllianceRepository, ChatRepository
from storage.models import utcnow
from storage.moderation import BlacklistRepository, LabeledMessageRepository

BLACKLIST_FIELDS = ("user_id", "reason", "added_by", "source_chat_id", "created_at", "evidence")


class DataError(ValueError):
    """The input file is unusable; the message says where and why."""


def must_exist(path: Path) -> None:
    """Refuse a missing input file before anything else is touched (the database included)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file" if not path.exists() else f"{path}: not a file")


def read_labeled(path: Path) -> list[tuple[str, str]]:
    """(text, label) pairs from JSON Lines or a CSV with a label,text header."""
    must_exist(path)
    raw = path.read_text(encoding="utf-8-sig")
    samples: list[tuple[str, str]] = []
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(raw))
        if reader.fieldnames is None or not {"label", "text"} <= set(reader.fieldnames):
            raise DataError(f"{path}: the CSV needs a header with label and text columns")
        rows = [(n + 2, row.get("text"), row.get("label")) for n, row in enumerate(reader)]
    else:
        rows = []
        for n, line in enumerate(raw.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not JSON ({exc.msg})") from None
            if not isinstance(item, dict):
                raise DataError(f"{path}:{n}: expected an object with text and label")
            rows.append((n, item.get("text"), item.get("label")))
    for line_no, text, label in rows:
        label = str(label or "").strip().lower()
        if label not in ("spam", "ham"):
            raise DataError(f"{path}:{line_no}: label must be spam or ham, not {label!r}")
        if not isinstance(text, str) or not text.strip():
            raise DataError(f"{path}:{line_no}: empty text")
        samples.append((text, label))
    if not samples:
        raise DataError(f"{path}: no labeled messages")
    return samples


async def spam_train(url: str, path: Path) -> int:
    samples = read_labeled(path)
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            repo = LabeledMessageRepository(session)
            await repo.add_many(samples, source="import", at=utcnow())
            total = await repo.count()
            await session.commit()
    finally:
        await engine.dispose()
    spam = sum(1 for _, label in samples if label == "spam")
    print(
        f"stored {len(samples)} labeled messages ({spam} spam, {len(samples) - spam} ham); "
        f"{total} in all. The running bot retrains within minutes."
    )
    return 0


def evaluate(classifier: SpamClassifier, samples: list[tuple[str, str]]) -> dict[str, float]:
    """Figures of the detector on `samples`, each judged as a newcomer's message."""
    policy = DetectPolicy()
    sender = SenderFacts(messages_seen=0, joined_seconds_ago=3600.0)
    tp = fp = tn = fn = 0
    started = time.perf_counter()
    for text, label in samples:
        verdict = decide(MessageFacts(text=text), sender, policy, classifier)
        flagged = verdict.action == "delete"
        if label == "spam":
            tp, fn = tp + flagged, fn + (not flagged)
        else:
            fp, tn = fp + flagged, tn + (not flagged)
    elapsed = time.perf_counter() - started
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "messages": len(samples),
        "spam": tp + fn,
        "ham": fp + tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "false_positive_rate": round(fp / (fp + tn), 4) if fp + tn else 0.0,
        "messages_per_second": round(len(samples) / elapsed, 1) if elapsed else 0.0,
    }


async def spam_evaluate(url: str | None, path: Path) -> int:
    """Measure the detector on `path`; with no database (`url` None), the seed corpus alone."""
    samples = read_labeled(path)
    labeled: list[tuple[str, bool]] = []
    if url is None:
        print("no database yet: the detector as it starts, from its seed corpus only")
    else:
        engine = create_engine(url)
        try:
            async with create_session_factory(engine)() as session:
                labeled = await LabeledMessageRepository(session).all()
        finally:
            await engine.dispose()
    classifier = (
        SpamClassifier.train(seed_samples() + labeled) if labeled else SpamClassifier.seeded()
    )
    figures = evaluate(classifier, samples)
    print(f"messages {figures['messages']} ({figures['spam']} spam, {figures['ham']} ham)")
    for key in ("precision", "recall", "f1", "false_positive_rate", "messages_per_second"):
        print(f"{key.replace('_', ' ')}: {figures[key]}")
    print(json.dumps(figures))
    return 0


async def blacklist_export(url: str, target: str | None, *, alliance: int | None) -> int:
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            alliance_id = await choose_alliance(session, alliance)
            entries = await BlacklistRepository(session).list_active(alliance_id)
    finally:
        await engine.dispose()
    rows = [
        {
            "user_id": e.user_id,
            "reason": e.reason,
            "added_by": e.added_by,
            "source_chat_id": e.source_chat_id,
            "created_at": e.created_at.isoformat(),
            "evidence": e.evidence,
        }
        for e in entries
    ]
    as_json = target is not None and target.lower().endswith(".json")
    out = io.StringIO()
    if as_json:
        json.dump(rows, out, ensure_ascii=False, indent=1)
    else:
        writer = csv.DictWriter(out, fieldnames=BLACKLIST_FIELDS)
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "evidence": json.dumps(row["evidence"], ensure_ascii=False)})
    if target is None or target == "-":
        sys.stdout.write(out.getvalue())
    else:
        await asyncio.to_thread(Path(target).write_text, out.getvalue(), encoding="utf-8")
        print(f"exported {len(rows)} entries to {target}", file=sys.stderr)
    return 0


def read_blacklist(path: Path) -> list[dict[str, Any]]:
    must_exist(path)
    raw = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".json":
        try:
            items = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
        if not isinstance(items, list):
            raise DataError(f"{path}: expected a list of entries")
    else:
        items = list(csv.DictReader(io.StringIO(raw)))
    entries = []
    for n, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise DataError(f"{path}: entry {n} is not an object")
        try:
            user_id = int(item["user_id"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{path}: entry {n} has no valid user_id") from None
        evidence = item.get("evidence") or {}
        if isinstance(evidence, str):
            try:
                evidence = json.loads(evidence) if evidence.strip() else {}
            except json.JSONDecodeError:
                evidence = {"text": evidence}
        added_by = str(item.get("added_by") or "")
        entries.append(
            {
                "user_id": user_id,
                "reason": str(item.get("reason") or "imported"),
                "added_by": int(added_by) if added_by.lstrip("-").isdigit() else None,
                "evidence": evidence if isinstance(evidence, dict) else {"value": evidence},
            }
        )
    return entries


async def blacklist_import(settings: Settings, path: Path, *, alliance: int | None) -> int:
    """Blacklist every account of the file in all the alliance's groups, as an owner's list:
    the same workflow as /blacklist (bans queued everywhere, an audit row each, shadow mode
    respected), carried out by the running bot's executor."""
    entries = read_blacklist(path)
    async with headless(settings) as rt:
        async with rt.sessions() as session:
            alliance_id = await choose_alliance(session, alliance)
        added, skipped = 0, []
        async with rt.sessions() as session:
            staff = await AdminRepository(session).listed_in(alliance_id)
        protected = staff | rt.alliances.owners_of(alliance_id) | {rt.options.bot_id}
        for entry in entries:
            if entry["user_id"] in protected:
                skipped.append(entry["user_id"])  # an owner, an admin of our groups, the bot
                continue
            offence = Offence(
                Person(entry["user_id"], ""),
                None,
                reason=entry["reason"],
                detail=entry["reason"],
                extra={"imported": entry["evidence"]},
            )
            work = partial(
                blacklist,
                rt=rt,
                alliance_id=alliance_id,
                offence=offence,
                actor=entry["added_by"],
                added_as="import",
                strike=False,
            )
            outcome = await run_unit(rt, nothing_after, work)
            added += int(outcome.applied.new_entry)
        async with rt.sessions() as session:
            groups = len(await ChatRepository(session).list_active(alliance_id))
    already = len(entries) - added - len(skipped)
    print(
        f"imported {added} new entries ({already} already listed) into alliance "
        f"#{alliance_id}; bans queued in {groups} groups"
    )
    if skipped:
        listed = ", ".join(map(str, skipped))
        print(f"not imported, being owners or admins of our groups or the bot: {listed}")
    return 0


async def choose_alliance(session: AsyncSession, wanted: int | None) -> int:
    """The alliance a command acts on: the one named, or the only one; never a guess."""
    alliances = await AllianceRepository(session).list_all()
    if not alliances:
        raise DataError("no alliance yet: start the bot once so it creates its alliance")
    ids = [a.id for a in alliances]
    if wanted is not None:
        if wanted not in ids:
            raise DataError(f"no alliance {wanted}; there are {', '.join(map(str, ids))}")
        return wanted
    if len(ids) > 1:
        listed = ", ".join(f"{a.id} ({a.name})" for a in alliances)
        raise DataError(f"there are several alliances ({listed}): say which with --alliance ID")
    return ids[0]


class _NoTelegram:
    """The command line reads nothing from Telegram: stored admin lists stand in."""

    async def administrators(self, chat_id: int) -> dict[int, AdminEntry]:
        raise TelegramUnavailable("the command line does not talk to Telegram")

    async def member_count(self, chat_id: int) -> int:
        raise TelegramUnavailable("the command line does not talk to Telegram")


@asynccontextmanager
async def headless(settings: Settings) -> AsyncIterator[Runtime]:
    """The runtime services for the command line: the database, no Telegram."""
    engine = create_engine(settings.database_url)
    sessions = create_session_factory(engine)
    async with sessions() as session:
        alliances = await AllianceRepository(session).list_all()
    token = settings.bot_token.get_secret_value() if settings.bot_token else "0:"
    reads = _NoTelegram()
    runtime = Runtime(
        options=Options(
            bot_id=int(token.split(":", 1)[0] or 0),
            default_language=settings.default_language,
            tier_rules=settings.tier_rules,
        ),
        sessions=sessions,
        alliances=Alliances(alliances),
        state=StateCache.empty(),
        authority=Authority(reads),
        activity=ActivityBuffer(sessions),
        detector=Detector(),
        telegram=reads,
    )
    try:
        yield runtime
    finally:
        await engine.dispose()
