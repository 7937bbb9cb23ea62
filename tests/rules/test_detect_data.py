"""Smoke check of the detector on a sample of the labelled data sets.

Runs only when SPAM_DATA_DIR points at the data folder (see ../shared/data/spam/README.md);
the data is never part of the project. Bounds are loose: the benchmark (`python -m bench.detect`)
measures properly; this test only catches a detector that broke.
"""

import os
import random
from pathlib import Path

import pytest

from rules.classifier import SpamClassifier
from rules.detect import DetectPolicy, MessageFacts, SenderFacts, decide

DATA = os.environ.get("SPAM_DATA_DIR")
pytestmark = pytest.mark.skipif(not DATA, reason="SPAM_DATA_DIR is not set")

SENDER = SenderFacts(messages_seen=20, days_clean=10.0, joined_seconds_ago=30 * 86400.0)


def _sample(name):
    from bench._data import LOADERS

    samples = LOADERS[name](Path(DATA or "."))
    rng = random.Random(7)
    return rng.sample(samples, min(600, len(samples)))


@pytest.fixture(scope="module")
def classifier():
    return SpamClassifier.seeded()


@pytest.mark.parametrize(
    ("name", "max_fpr", "min_recall"),
    [("tg-spam", 0.03, 0.3), ("sms", 0.02, 0.2), ("zh-chat", 0.02, 0.3)],
    ids=["tg-spam", "sms", "zh-chat"],
)
def test_cold_start_smoke(classifier, name, max_fpr, min_recall):
    samples = _sample(name)
    policy = DetectPolicy()
    deleted = [
        (decide(MessageFacts(text=t), SENDER, policy, classifier).action == "delete", y)
        for t, y in samples
    ]
    ads = [d for d, y in deleted if y]
    normal = [d for d, y in deleted if not y]
    assert sum(normal) / len(normal) <= max_fpr
    assert sum(ads) / len(ads) >= min_recall
