"""bench/digest's report: the table, growth between sizes, the linear baseline, peak memory."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

# the timed parts of one computation, in order
PARTS = ("counts_week", "counts_prev", "counts_month", "metrics", "trend", "other", "roles")


def growth(results: list[dict[str, Any]], kind: str, run: str) -> list[dict[str, Any]]:
    mine = sorted((r for r in results if r["database"] == kind), key=lambda r: r["groups"])
    out = []
    for small, big in pairwise(mine):
        a, b = small[run]["seconds"], big[run]["seconds"]
        out.append(
            {
                "database": kind,
                "run": run,
                "from": small["groups"],
                "to": big["groups"],
                "size_ratio": big["groups"] / small["groups"],
                "time_ratio": {
                    part: round(b[part] / a[part], 1) if a[part] else None
                    for part in (*PARTS, "total")
                },
            }
        )
    return out


def linear_baseline(results: list[dict[str, Any]], kind: str, run: str) -> list[dict[str, Any]]:
    mine = sorted((r for r in results if r["database"] == kind), key=lambda r: r["groups"])
    if not mine:
        return []
    base = mine[0]
    per_group = base[run]["seconds"]["total"] / base["groups"]
    return [
        {
            "database": kind,
            "run": run,
            "groups": r["groups"],
            "linear_seconds": round(per_group * r["groups"], 3),
            "measured_seconds": r[run]["seconds"]["total"],
            "measured_over_linear": round(
                r[run]["seconds"]["total"] / (per_group * r["groups"]), 2
            ),
        }
        for r in mine
    ]


def print_report(result: dict[str, Any]) -> None:
    runs = result["runs"]
    print()
    print("rows loaded (not timed):")
    for r in runs:
        rows = ", ".join(f"{t} {n:,}" for t, n in r["rows"].items() if n)
        print(
            f"  {r['database']:10} {r['groups']:>6,} groups: {rows};"
            f" load {r['load_seconds']} s, {r['database_mb']:,} MB"
        )
    head = (
        f"{'database':10} {'run':5} {'groups':>6} {'activity':>10} "
        + " ".join(f"{p.replace('counts_', 'cnt '):>9}" for p in PARTS)
        + f" {'total s':>8} {'us/group':>9} {'peak MB':>8} {'stmts':>5} {'py rows':>8}"
    )
    print()
    print("seconds per part of the digest computation:")
    print(head)
    for r in runs:
        for run in ("first", "again"):
            s = r[run]["seconds"]
            print(
                f"{r['database']:10} {run:5} {r['groups']:>6,} {r['rows']['activity']:>10,} "
                + " ".join(f"{s[p]:>9.3f}" for p in PARTS)
                + f" {s['total']:>8.2f} {s['total'] / r['groups'] * 1e6:>9,.0f}"
                f" {r['peak_rss_mb']:>8} {r[run]['statements']:>5}"
                f" {r[run]['rows_to_python']:>8,}"
            )
    print()
    print("growth, time(bigger) / time(smaller) (linear = the size ratio):")
    for g in result["growth"]:
        ratios = "  ".join(
            f"{p.replace('counts_', 'cnt ')} {v}" for p, v in g["time_ratio"].items()
        )
        print(
            f"  {g['database']:10} {g['run']:5} {g['from']:>6,} -> {g['to']:>6,}"
            f" (x{g['size_ratio']:.0f}): {ratios}"
        )
    print()
    print("against the linear baseline (smallest size's time per group x groups):")
    for b in result["linear_baseline"]:
        print(
            f"  {b['database']:10} {b['run']:5} {b['groups']:>6,}: linear {b['linear_seconds']}"
            f" s, measured {b['measured_seconds']} s, ratio {b['measured_over_linear']}"
        )
    print()
    print("peak RSS of the computing process (target < 300 MB at 10,000 groups):")
    for r in runs:
        print(
            f"  {r['database']:10} {r['groups']:>6,}: peak {r['peak_rss_mb']} MB, baseline"
            f" {r['baseline_rss_mb']} MB, computation adds"
            f" {round(r['peak_rss_mb'] - r['baseline_rss_mb'], 1)} MB"
        )
    for r in runs:
        if r["groups"] == max(x["groups"] for x in runs if x["database"] == r["database"]):
            print(f"\nslowest statements, {r['database']} {r['groups']:,} groups, run 'again':")
            for s in r["again"]["slowest_statements"]:
                print(f"  {s['seconds']:8.3f} s  {s['rows']:>6} rows  {s['sql'][:110]}")
