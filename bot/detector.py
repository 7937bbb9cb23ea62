"""The running ad detector: the current classifier, the cross-group text window, retraining.

The classifier starts from the project's seed corpus plus every labeled message in the database,
and is retrained in a worker thread after admins label messages (/spam, undo), then swapped in
whole: a message is always judged by one complete model, and no restart is needed.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from bot.caches import RecentTexts
from rules.classifier import SpamClassifier, seed_samples
from rules.detect import decide
from rules.facts import DetectPolicy, MessageFacts, SenderFacts, Verdict
from rules.signals import fingerprint
from rules.text import normalise
from storage.db import SessionFactory
from storage.moderation import LabeledMessageRepository

log = logging.getLogger(__name__)


@cache
def _seeded() -> SpamClassifier:
    """The seed-only model is immutable and the same for every Detector: train it once."""
    return SpamClassifier.seeded()


class Detector:
    veteran_messages = DetectPolicy().veteran_messages

    def __init__(self, classifier: SpamClassifier | None = None) -> None:
        self.classifier = classifier if classifier is not None else _seeded()
        self.recent: dict[int, RecentTexts] = {}
        self.trained_on = 0
        self._lock = asyncio.Lock()

    def judge(
        self, facts: MessageFacts, sender: SenderFacts, policy: DetectPolicy, same_text_groups: int
    ) -> Verdict:
        return decide(facts, sender, policy, self.classifier, same_text_groups=same_text_groups)

    def note_text(self, alliance_id: int, chat_id: int, text: str) -> int:
        """How many of the alliance's groups saw this text (or a light variant) lately."""
        window = self.recent.setdefault(alliance_id, RecentTexts())
        return window.note(fingerprint(normalise(text).text), chat_id)

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
