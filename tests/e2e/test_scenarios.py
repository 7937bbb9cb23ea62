"""The shipped sandbox scenarios run end to end from the command line and pass."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["two_groups.txt", "ad_wave.txt", "health_week.txt"])
def test_scenario_passes(name, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", str(REPO / "scenarios" / name)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "0 failure(s)" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_scenario_failing_expectation_exits_non_zero(tmp_path):
    script = tmp_path / "bad.txt"
    script.write_text(
        "owner olga\ngroup g1 Club owner olga\nolga adds bot to g1\n"
        'expect bot said in g1 "no such words"\n',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 1
    assert "FAIL line 4" in proc.stdout


def test_make_run_without_token_starts_the_sandbox(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("BOT_TOKEN", "DATABASE_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        input="alice@g1: hello\nquit\n",
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "BOT_TOKEN is not set: starting the local sandbox" in proc.stdout
    assert "alice: hello" in proc.stdout
