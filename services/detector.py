"""The running ad detector: the current classifier, the cross-group text window, retraining.

The window counts, per alliance and text fingerprint, the distinct groups and accounts that
posted it in the last ten minutes; small talk (greetings, thanks, "收到") is never counted.
The classifier starts from the project's seed corpus plus every labeled message in the database,
and is retrained in a worker thread after admins label messages (/spam, undo), then swapped in
whole: a message is always judged by one complete model, and no restart is needed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from functools import cache

from rules.classifier import SpamClassifier, seed_samples
from rules.detect import decide, normalised_body, without_allowed
from rules.facts import DetectPolicy, MessageFacts, SenderFacts, Verdict
from rules.patterns import is_small_talk
from rules.signals import fingerprint
from storage.db import SessionFactory
from storage.moderation import LabeledMessageRepository

log = logging.getLogger(__name__)


@cache
def _seeded() -> SpamClassifier:
    """The seed-only model is immutable and the same for every Detector: train it once."""
    return SpamClassifier.seeded()


class WaveWindow:
    """Which groups and accounts posted the same text fingerprint lately."""

    def __init__(self, window: float = 600.0, limit: int = 50_000) -> None:
        self.window = window
        self.limit = limit
        self._seen: dict[str, deque[tuple[float, int, int]]] = {}

    def note(
        self, key: str, chat_id: int, sender_id: int, now: float | None = None
    ) -> tuple[int, int]:
        """Record the text; return (distinct groups, distinct senders) in the window."""
        now = time.monotonic() if now is None else now
        entries = self._seen.setdefault(key, deque())
        while entries and entries[0][0] < now - self.window:
            entries.popleft()
        entries.append((now, chat_id, sender_id))
        if len(self._seen) > self.limit:
            self._prune(now)
        return len({e[1] for e in entries}), len({e[2] for e in entries})

    def count(self, key: str) -> tuple[int, int]:
        """(distinct groups, distinct senders) of the text as last noted."""
        entries = self._seen.get(key, ())
        return len({e[1] for e in entries}), len({e[2] for e in entries})

    def _prune(self, now: float) -> None:
        for key in [k for k, d in self._seen.items() if not d or d[-1][0] < now - self.window]:
            del self._seen[key]
        if len(self._seen) > self.limit:
            self._seen.clear()


class Detector:
    veteran_messages = DetectPolicy().veteran_messages
    # Shorter texts ("hi", "ok") repeat across groups for innocent reasons: not counted as waves.
    wave_min_length = 12

    def __init__(self, classifier: SpamClassifier | None = None) -> None:
        self.classifier = classifier if classifier is not None else _seeded()
        self.recent: dict[int, WaveWindow] = {}
        self.trained_on = 0
        self._lock = asyncio.Lock()

    def assess(
        self,
        facts: MessageFacts,
        sender: SenderFacts,
        policy: DetectPolicy,
        *,
        alliance_id: int,
        chat_id: int,
        sender_id: int = 0,
        noted: bool = False,
    ) -> Verdict:
        """Judge a message: count it in the alliance's window of recent texts (how many of the
        owner's groups, and how many accounts, posted the same text lately, or a light variant
        of it) and decide. The text is normalised once, for both. `noted`: the message was
        counted already (it is judged again with more facts about its sender)."""
        facts = without_allowed(facts, policy.allowed_terms)
        body = normalised_body(facts)
        groups = senders = 0
        if len(facts.text or facts.caption) >= self.wave_min_length and not is_small_talk(body):
            window = self.recent.get(alliance_id)
            if window is None:
                window = self.recent[alliance_id] = WaveWindow()
            key = fingerprint(body.text)
            if noted:
                groups, senders = window.count(key)
            else:
                groups, senders = window.note(key, chat_id, sender_id)
        return decide(
            facts,
            sender,
            policy,
            self.classifier,
            same_text_groups=groups,
            same_text_senders=senders,
            body=body,
        )

    async def retrain_if_changed(self, sessions: SessionFactory) -> None:
        """Pick up labeled messages added from outside (e.g. `python -m bot spam train`)."""
        async with sessions() as session:
            count = await LabeledMessageRepository(session).count()
        if count != self.trained_on:
            await self.retrain(sessions)

    async def retrain(self, sessions: SessionFactory) -> int:
        """Retrain on the seed corpus plus all labeled messages; returns the labeled count."""
        async with self._lock:
            async with sessions() as session:
                samples = await LabeledMessageRepository(session).all()
            if not samples:
                return 0
            corpus = seed_samples() + samples
            self.classifier = await asyncio.to_thread(SpamClassifier.train, corpus)
            self.trained_on = len(samples)
            log.info("detector retrained with %d labeled messages", len(samples))
            return len(samples)
