"""Benchmark of the ad detector on each labelled data set, reported separately.

    .venv/bin/python -m bench.detect [--data ../shared/data/spam] [--json out.json]
                                     [--sets zh-chat,sms] [--cold-only]

For every data set:
(a) 5-fold stratified cross-validation (fixed seed): the classifier is trained on four folds plus
    the seed corpus, the full detector (`rules.detect.decide`) judges the fifth. Two readings:
    - nested: inside each training split, an inner 3-fold cross-validation gives out-of-fold
      scores, and the delete threshold is chosen there (the best recall among thresholds that
      meet the precision and FPR targets); that threshold then judges the held-out fold, which
      took no part in choosing it. The chosen thresholds are reported.
    - default: the same held-out scores read at the product's one fixed threshold,
      `DetectPolicy.delete_threshold`.
(b) cold start: rules plus the seed-only classifier, nothing learned from the set, read at the
    default threshold (there is nothing to choose a threshold on);
(c) throughput: one message at a time through `decide` (normalisation included), p50 and p99;
    best of three passes over up to 3,000 messages of the set, with the classifier trained on the
    whole set plus the seed corpus (the largest model the set gives).

Every message is judged as an ordinary member's (SENDER below: not a newcomer, not a veteran, so
the policy's ordinary delete threshold applies); the newcomer threshold's figures are in the JSON.
Per set, the signals are counted (how many ads and normal messages each fired on, and on the
errors at the default threshold): aggregate counts only, never message texts. A length check
guards against a detector that only learned message length.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from bench._data import LOADERS, Sample, data_dir
from bench._results import save
from rules.classifier import SpamClassifier, seed_samples
from rules.detect import DetectPolicy, MessageFacts, SenderFacts, Verdict, decide, thresholds

SEED = 20240611
FOLDS = 5
INNER_FOLDS = 3
SENDER = SenderFacts(messages_seen=20, days_clean=10.0, joined_seconds_ago=30 * 86400.0)
POLICY = DetectPolicy()
THROUGHPUT_SAMPLE = 3000
THROUGHPUT_PASSES = 3
# Thresholds the nested selection may choose from: a coarse grid, so that the choice cannot fit
# single messages of the training split.
GRID = tuple(round(0.5 + 0.01 * i, 2) for i in range(50))


class Targets(TypedDict):
    precision: float
    fpr: float
    cv_recall: dict[str, float]  # by data set, else "default"
    cold_recall: dict[str, float]
    throughput: float
    p99_ms: float


TARGETS: Targets = {
    "precision": 0.99,
    "fpr": 0.005,
    "cv_recall": {"zh-chat": 0.85, "default": 0.90},
    "cold_recall": {"zh-chat": 0.70},
    "throughput": 2000.0,
    "p99_ms": 5.0,
}


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    def meets(self) -> bool:
        pos = self.tp + self.fp
        neg = self.fp + self.tn
        return (
            pos > 0
            and self.tp / pos >= TARGETS["precision"]
            and (self.fp / neg if neg else 0.0) <= TARGETS["fpr"]
        )

    def figures(self) -> dict[str, float | int | None]:
        pos = self.tp + self.fp
        return {
            "precision": self.tp / pos if pos else None,
            "recall": self.tp / (self.tp + self.fn) if self.tp + self.fn else None,
            "fpr": self.fp / (self.fp + self.tn) if self.fp + self.tn else None,
            "tp": self.tp,
            "fp": self.fp,
            "tn": self.tn,
            "fn": self.fn,
        }


def _judge(text: str, classifier: SpamClassifier) -> Verdict:
    return decide(MessageFacts(text=text), SENDER, POLICY, classifier)


def _folds(labels: Sequence[bool], n: int) -> list[list[int]]:
    from sklearn.model_selection import StratifiedKFold

    splitter = StratifiedKFold(n_splits=n, shuffle=True, random_state=SEED)
    return [list(test) for _, test in splitter.split([[0]] * len(labels), list(labels))]


def _counts(scores: Sequence[float], labels: Sequence[bool], threshold: float) -> Counts:
    counts = Counts()
    for s, y in zip(scores, labels, strict=True):
        counts.add(s >= threshold, y)
    return counts


def choose_threshold(scores: Sequence[float], labels: Sequence[bool]) -> tuple[float, bool]:
    """The grid threshold with the best recall among those meeting the precision and FPR
    targets (the higher one on a tie); (the highest grid value, False) when none meets them."""
    best: tuple[int, float] | None = None
    for t in GRID:
        c = _counts(scores, labels, t)
        if c.meets() and (best is None or c.tp >= best[0]):
            best = (c.tp, t)
    if best is None:
        return GRID[-1], False
    return best[1], True


def _auc(values: Sequence[float], labels: Sequence[bool]) -> float:
    pos = [v for v, y in zip(values, labels, strict=True) if y]
    neg = [v for v, y in zip(values, labels, strict=True) if not y]
    ranked = sorted((v, i) for i, v in enumerate(list(pos) + list(neg)))
    ranks = [0.0] * len(ranked)
    i = 0
    while i < len(ranked):
        j = i
        while j + 1 < len(ranked) and ranked[j + 1][0] == ranked[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[ranked[k][1]] = (i + j) / 2 + 1
        i = j + 1
    rank_sum = sum(ranks[: len(pos)])
    return (rank_sum - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def _out_of_fold(samples: list[Sample], seed: list[Sample], n: int) -> list[float]:
    """Scores of every sample from a model that did not see it (trained on the others + seed)."""
    scores = [0.0] * len(samples)
    for test in _folds([y for _, y in samples], n):
        held = set(test)
        model = SpamClassifier.train([s for i, s in enumerate(samples) if i not in held] + seed)
        for i in test:
            scores[i] = _judge(samples[i][0], model).score
    return scores


def cross_validate(
    samples: list[Sample], seed: list[Sample]
) -> tuple[list[Verdict | None], list[float], list[dict[str, object]]]:
    """Outer held-out verdicts, the nested threshold that judges each sample, and per fold the
    chosen threshold with its inner figures."""
    verdicts: list[Verdict | None] = [None] * len(samples)
    chosen = [0.0] * len(samples)
    folds: list[dict[str, object]] = []
    for test in _folds([y for _, y in samples], FOLDS):
        held = set(test)
        train = [s for i, s in enumerate(samples) if i not in held]
        inner = _out_of_fold(train, seed, INNER_FOLDS)
        train_labels = [y for _, y in train]
        threshold, met = choose_threshold(inner, train_labels)
        folds.append(
            {
                "threshold": threshold,
                "targets_met_inside": met,
                "inner": _counts(inner, train_labels, threshold).figures(),
            }
        )
        model = SpamClassifier.train(train + seed)
        for i in test:
            verdicts[i] = _judge(samples[i][0], model)
            chosen[i] = threshold
    return verdicts, chosen, folds


def signal_counts(
    verdicts: Sequence[Verdict], labels: Sequence[bool], threshold: float
) -> dict[str, dict[str, int]]:
    """How many ads / normal messages each signal fired on, and on the errors at `threshold`."""
    out: dict[str, Counter[str]] = {k: Counter() for k in ("ads", "normal", "fp", "fn")}
    for v, y in zip(verdicts, labels, strict=True):
        names = {r.name for r in v.reasons if r.weight >= 0.05}
        out["ads" if y else "normal"].update(names)
        deleted = v.score >= threshold
        if deleted and not y:
            out["fp"].update(names)
        elif y and not deleted:
            out["fn"].update(names)
    return {k: dict(c.most_common()) for k, c in out.items()}


def throughput(samples: list[Sample], model: SpamClassifier) -> dict[str, float]:
    """One message at a time through `decide`; the best of THROUGHPUT_PASSES passes is kept, as
    timeit does, because other processes on a shared machine only ever add time."""
    rng = random.Random(SEED)
    texts = [t for t, _ in samples]
    if len(texts) > THROUGHPUT_SAMPLE:
        texts = rng.sample(texts, THROUGHPUT_SAMPLE)
    for t in texts[:200]:  # warm caches
        decide(MessageFacts(text=t), SENDER, POLICY, model)
    clock = time.perf_counter
    best: tuple[float, list[float]] | None = None
    for _ in range(THROUGHPUT_PASSES):
        timings: list[float] = []
        start = clock()
        for t in texts:
            t0 = clock()
            decide(MessageFacts(text=t, sender_name="Alex"), SENDER, POLICY, model)
            timings.append(clock() - t0)
        total = clock() - start
        if best is None or total < best[0]:
            best = (total, timings)
    assert best is not None
    total, timings = best
    timings.sort()
    return {
        "messages": len(texts),
        "passes": THROUGHPUT_PASSES,
        "per_second": len(texts) / total,
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p99_ms": 1000 * timings[min(len(timings) - 1, math.ceil(0.99 * len(timings)) - 1)],
        "load_average_1m": os.getloadavg()[0],
    }


def length_check(samples: list[Sample], scores: list[float], threshold: float) -> dict[str, object]:
    labels = [y for _, y in samples]
    lengths = [float(len(t)) for t, _ in samples]
    spam_len = sorted(v for v, y in zip(lengths, labels, strict=True) if y)
    ham_len = sorted(v for v, y in zip(lengths, labels, strict=True) if not y)
    low = spam_len[len(spam_len) // 4]
    high = ham_len[(3 * len(ham_len)) // 4]
    if low > high:
        low, high = high, low
    band = [i for i, v in enumerate(lengths) if low <= v <= high]
    band_counts = _counts([scores[i] for i in band], [labels[i] for i in band], threshold)
    return {
        "length_auc": _auc(lengths, labels),
        "detector_auc": _auc(scores, labels),
        "overlap_band_chars": [low, high],
        "overlap_band": {"messages": len(band), **band_counts.figures()},
        "median_chars": {"ads": statistics.median(spam_len), "normal": statistics.median(ham_len)},
    }


def evaluate_set(
    samples: list[Sample], seed: list[Sample], cold_model: SpamClassifier, cold_only: bool
) -> dict[str, object]:
    _, member = thresholds("member", POLICY)
    _, newcomer = thresholds("newcomer", POLICY)
    labels = [y for _, y in samples]
    cold = [_judge(t, cold_model) for t, _ in samples]
    cold_scores = [v.score for v in cold]
    out: dict[str, object] = {
        "messages": len(samples),
        "ads": sum(labels),
        "cold": _counts(cold_scores, labels, member).figures(),
        "cold_newcomer": _counts(cold_scores, labels, newcomer).figures(),
        "cold_signals": signal_counts(cold, labels, member),
    }
    if cold_only:
        return out
    verdicts, chosen, folds = cross_validate(samples, seed)
    assert all(v is not None for v in verdicts)
    held = [v for v in verdicts if v is not None]
    scores = [v.score for v in held]
    nested = Counts()
    for s, t, y in zip(scores, chosen, labels, strict=True):
        nested.add(s >= t, y)
    out.update(
        {
            "cv_nested": nested.figures(),
            "cv_nested_folds": folds,
            "cv": _counts(scores, labels, member).figures(),
            "cv_newcomer": _counts(scores, labels, newcomer).figures(),
            "cv_signals": signal_counts(held, labels, member),
            "length": length_check(samples, scores, member),
            "throughput": throughput(samples, SpamClassifier.train(samples + seed)),
        }
    )
    return out


def run(root: str | None, names: Sequence[str], cold_only: bool = False) -> dict[str, object]:
    base = data_dir(root)
    seed = seed_samples()
    cold_model = SpamClassifier.train(seed)
    _, member_delete = thresholds("member", POLICY)
    _, newcomer_delete = thresholds("newcomer", POLICY)
    sets: dict[str, object] = {}
    for name in names:
        t0 = time.perf_counter()
        result = evaluate_set(LOADERS[name](base), seed, cold_model, cold_only)
        result["seconds"] = time.perf_counter() - t0
        sets[name] = result
        print(f"  {name}: done in {result['seconds']:.0f}s", file=sys.stderr)
    return {
        "data": str(base),
        "sender": {
            "messages_seen": SENDER.messages_seen,
            "days_clean": SENDER.days_clean,
            "joined_seconds_ago": SENDER.joined_seconds_ago,
            "tier": "member",
        },
        "delete_threshold": member_delete,
        "newcomer_delete_threshold": newcomer_delete,
        "targets": TARGETS,
        "sets": sets,
    }


def _fmt(value: object, pct: bool = False) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{100 * value:.2f}%" if pct else f"{value:.3f}"
    return str(value)


def _row(label: str, value: object, target: str, ok: bool | None, pct: bool = False) -> str:
    verdict = "" if ok is None else ("PASS" if ok else "MISS")
    return f"  {label:<34}{_fmt(value, pct):>12}   {target:<12}{verdict}"


def _ge(v: object, t: float) -> bool:
    return isinstance(v, float | int) and v >= t


def _le(v: object, t: float) -> bool:
    return isinstance(v, float | int) and v <= t


def _quality_rows(label: str, f: dict[str, object], recall_target: float | None) -> list[str]:
    p, fpr = TARGETS["precision"], TARGETS["fpr"]
    rec = f"{label} recall"
    return [
        _row(f"{label} precision", f["precision"], f">= {p}", _ge(f["precision"], p)),
        _row(
            rec,
            f["recall"],
            f">= {recall_target}" if recall_target else "-",
            _ge(f["recall"], recall_target) if recall_target else None,
        ),
        _row(f"{label} FPR", f["fpr"], f"<= {100 * fpr:.2f}%", _le(f["fpr"], fpr), pct=True),
    ]


def _signals_line(label: str, sig: dict[str, dict[str, int]]) -> str:
    names = sorted(set(sig["ads"]) | set(sig["normal"]), key=lambda n: -sig["ads"].get(n, 0))
    fired = " ".join(f"{n} {sig['ads'].get(n, 0)}/{sig['normal'].get(n, 0)}" for n in names)
    fp = " ".join(f"{n} {c}" for n, c in sig["fp"].items()) or "-"
    return f"  signals {label} (ads/normal fired): {fired}; on false positives: {fp}"


def justify_default(results: dict[str, object]) -> str:
    """Why one default threshold: what the nested choices were and where the default sits."""
    default = results["delete_threshold"]
    assert isinstance(default, float)
    sets = results["sets"]
    assert isinstance(sets, dict)
    per_set = {
        n: [f["threshold"] for f in r["cv_nested_folds"]] for n, r in sets.items() if "cv" in r
    }
    if not per_set:
        return ""
    lines = [f"\ndelete threshold: one policy default, {default}, for every group and language."]
    for n, ts in per_set.items():
        lines.append(f"  nested choices on {n}: {', '.join(f'{t:.2f}' for t in ts)}")
    highest = max(max(ts) for ts in per_set.values())
    stricter = [n for n, ts in per_set.items() if statistics.median(ts) > default]
    if stricter:
        lines.append(
            f"  the default is below the median nested choice on {', '.join(stricter)}: "
            "expect more false positives there than the target allows."
        )
    else:
        lines.append(
            f"  the default is at or above every set's median nested choice (highest fold "
            f"choice {highest:.2f}): the precision/FPR targets, which the product cannot trade "
            "away, hold on every set at one setting; sets that would allow a lower threshold "
            "give up some recall, shown as the gap between the nested and default readings."
        )
    return "\n".join(lines)


def table(results: dict[str, object]) -> str:
    sets = results["sets"]
    assert isinstance(sets, dict)
    lines = [
        f"sender: {results['sender']}; default delete threshold {results['delete_threshold']} "
        f"(newcomer {results['newcomer_delete_threshold']})"
    ]
    recall_targets = TARGETS["cv_recall"]
    cold_targets = TARGETS["cold_recall"]
    for name, r in sets.items():
        lines.append(f"\n{name}  ({r['messages']} messages, {r['ads']} ads)")
        rec_t = recall_targets.get(name, recall_targets["default"])
        if "cv" in r:
            ts = sorted({f["threshold"] for f in r["cv_nested_folds"]})
            lines.append(
                f"  nested thresholds chosen per fold: {', '.join(f'{t:.2f}' for t in ts)}"
            )
            lines.extend(_quality_rows("cv nested", r["cv_nested"], rec_t))
            lines.extend(_quality_rows(f"cv @{results['delete_threshold']}", r["cv"], rec_t))
        lines.extend(
            _quality_rows(f"cold @{results['delete_threshold']}", r["cold"], cold_targets.get(name))
        )
        if "throughput" in r:
            thr = r["throughput"]
            lines.append(
                _row(
                    "msgs/s one at a time", thr["per_second"], ">= 2000", thr["per_second"] >= 2000
                )
            )
            lines.append(_row("p50 latency ms", thr["p50_ms"], "-", None))
            lines.append(_row("p99 latency ms", thr["p99_ms"], "<= 5", thr["p99_ms"] <= 5.0))
            ln = r["length"]
            band = ln["overlap_band"]
            lines.append(
                f"  length check: AUC length alone {ln['length_auc']:.3f}, "
                f"detector {ln['detector_auc']:.3f}; "
                f"in the overlap band {ln['overlap_band_chars']} chars ({band['messages']} msgs): "
                f"precision {_fmt(band['precision'])}, recall {_fmt(band['recall'])}, "
                f"FPR {_fmt(band['fpr'], True)}"
            )
            cvn = r["cv_newcomer"]
            lines.append(
                f"  at the newcomer threshold: cv P {_fmt(cvn['precision'])} "
                f"R {_fmt(cvn['recall'])} FPR {_fmt(cvn['fpr'], True)}"
            )
            lines.append(_signals_line("cv", r["cv_signals"]))
        coldn = r["cold_newcomer"]
        lines.append(
            f"  cold at the newcomer threshold: P {_fmt(coldn['precision'])} "
            f"R {_fmt(coldn['recall'])} FPR {_fmt(coldn['fpr'], True)}"
        )
        lines.append(_signals_line("cold", r["cold_signals"]))
    lines.append(justify_default(results))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="folder with tg-spam/, sms/, zh-chat/")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--sets", default=",".join(LOADERS), help="comma-separated set names")
    parser.add_argument("--cold-only", action="store_true", help="skip CV and throughput")
    args = parser.parse_args(argv)
    names = [n for n in args.sets.split(",") if n]
    unknown = [n for n in names if n not in LOADERS]
    if unknown:
        parser.error(f"unknown sets: {', '.join(unknown)}")
    results = run(args.data, names, args.cold_only)
    print(table(results))
    save(args.json, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
