"""The running ad detector: the current classifier, the cross-group text window, retraining.

The classifier starts from the project's seed corpus plus every labeled message in the database,
and is retrained in a worker thread after admins label messages (/spam, undo), then swapped in
whole: a message is always judged by one complete model, and no restart is needed.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache

from rules.classifier import SpamClassifier, seed_samples
from rules.detect import decide, normalised_body, without_allowed
from rules.facts import DetectPolicy, MessageFacts, SenderFacts, Verdict
from rules.signals import fingerprint
from services.caches import RecentTexts
from storage.db import SessionFactory
from storage.moderation import LabeledMessageRepository

log = logging.getLogger(__name__)


@cache
def _seeded() -> SpamClassifier:
    """The seed-only model is immutable and the same for every Detector: train it once."""
    return SpamClassifier.seeded()


class Detector:
    veteran_messages = DetectPolicy().veteran_messages
    # Shorter texts ("hi", "ok") repeat across groups for innocent reasons: not counted as waves.
    wave_min_length = 12

    def __init__(self, classifier: SpamClassifier | None = None) -> None:
        self.classifier = classifier if classifier is not None else _seeded()
        self.recent: dict[int, RecentTexts] = {}
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
    ) -> Verdict:
        """Judge a message: count it in the alliance's window of recent texts (how many of the
        owner's groups saw the same text lately, or a light variant of it) and decide. The text
        is normalised once, for both."""
        facts = without_allowed(facts, policy.allowed_terms)
        body = normalised_body(facts)
        same_text = 0
        if len(facts.text or facts.caption) >= self.wave_min_length:
            window = self.recent.get(alliance_id)
            if window is None:
                window = self.recent[alliance_id] = RecentTexts()
            same_text = window.note(fingerprint(body.text), chat_id)
        return decide(facts, sender, policy, self.classifier, same_text_groups=same_text, body=body)

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
