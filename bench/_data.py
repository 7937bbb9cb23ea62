"""Reading the labelled ad data sets (never shipped; see ../shared/data/spam/README.md).

Each loader returns (text, is_ad) pairs in file order. Empty messages are skipped.
"""

from __future__ import annotations

import os
from pathlib import Path

Sample = tuple[str, bool]

REPO_ROOT = Path(__file__).resolve().parent.parent


def data_dir(explicit: str | None = None) -> Path:
    """--data, else $SPAM_DATA_DIR, else ../shared/data/spam beside the repository."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("SPAM_DATA_DIR")
    if env:
        return Path(env)
    return REPO_ROOT.parent / "shared" / "data" / "spam"


def _lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def load_tg_spam(root: Path) -> list[Sample]:
    base = root / "tg-spam"
    spam = [(t, True) for t in _lines(base / "spam-samples.txt")]
    ham = [(t, False) for t in _lines(base / "ham-samples.txt")]
    return spam + ham


def load_sms(root: Path) -> list[Sample]:
    out: list[Sample] = []
    for line in _lines(root / "sms" / "SMSSpamCollection")[1:]:
        label, _, text = line.partition("\t")
        if text.strip():
            out.append((text, label.strip().lower() == "spam"))
    return out


def load_zh_chat(root: Path) -> list[Sample]:
    out: list[Sample] = []
    for line in _lines(root / "zh-chat" / "train.csv")[1:]:
        label, _, text = line.partition(",")
        if text.strip():
            out.append((text, label.strip() == "1"))
    return out


LOADERS = {"tg-spam": load_tg_spam, "sms": load_sms, "zh-chat": load_zh_chat}


def load_all(root: Path) -> dict[str, list[Sample]]:
    return {name: load(root) for name, load in LOADERS.items()}
