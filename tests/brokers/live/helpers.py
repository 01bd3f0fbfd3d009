"""Helpers of the live-loop tests: an event preset in the test's presets folder, `ivybt live` as a real process,
the decisions of an event backtest of the same strategy on the same bars, the paper broker's orders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from brokers.live.session import live_tag
from engine.data import load_market_data
from engine.sim.event.run import run_event_backtest
from engine.strategies.registry import create_event_strategy

ROOT = Path(__file__).resolve().parents[3]
IVYBT = Path(sys.executable).with_name("ivybt")
PRESET = "smaev"
PARAMS = {"fast": 5, "slow": 20, "weight": 0.5}
DATA_START, REPLAY_START, REPLAY_END = "2019-01-01", "2019-03-01", "2019-08-31"
REPLAY = f"{REPLAY_START}..{REPLAY_END}"


def write_preset(
    folder: Path,
    name: str = PRESET,
    params: dict | None = None,
    symbols: tuple = ("SPY",),
    strategy: str = "sma_cross_event",
    start: str = DATA_START,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    body = {
        "schema_version": 1,
        "name": name,
        "strategy": strategy,
        "params": PARAMS if params is None else params,
        "symbols": list(symbols),
        "start": start,
    }
    (folder / f"{name}.json").write_text(json.dumps(body), encoding="utf-8")


def env(**extra: str) -> dict[str, str]:
    """The test's environment (its workspace and presets: tests/conftest.py) plus `extra`."""
    return {**os.environ, **extra}


def live_args(broker: str = "paper", *more: str) -> list[str]:
    return [str(IVYBT), "live", "--preset", PRESET, "--broker", broker, "--replay", REPLAY, *more]


def run(args: list[str], extra: dict[str, str] | None = None, timeout: float = 300) -> tuple[int, str, str]:
    out = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env(**(extra or {})), cwd=ROOT)
    return out.returncode, out.stdout, out.stderr


def backtest_decisions(
    broker: str, start: str = REPLAY_START, end: str = REPLAY_END, data_start: str = DATA_START
) -> list[str]:
    """Client order ids the event backtest places from `start` to `end` (the same strategy, tag and bars from
    `data_start`, the preset's start; the history before `start` is its warm-up: it must place nothing there, or
    the runs could not agree)."""
    data = load_market_data(["SPY"], start=data_start, end=end)
    result = run_event_backtest(data, create_event_strategy("sma_cross_event", PARAMS), tag=live_tag(PRESET, broker))
    placed = result.orders[result.orders["event"] == "placed"]
    assert (placed["time"] >= start).all(), "the backtest traded in the warm-up: pick another window"
    return placed["client_order_id"].tolist()


def wait_until(check: Callable[[], bool], timeout: float = 120.0, poll: float = 0.05) -> None:
    """Poll `check` until true; AssertionError after `timeout` (a wait, never a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout} s: {check}")
        time.sleep(poll)
