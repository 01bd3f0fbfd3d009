"""The look-ahead audit of event strategies (engine.research.event_audit): every built-in passes; a strategy whose
indicator reads the next bar fails at the first order that the leak changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.data import load_market_data
from engine.research.event_audit import audit_event_lookahead
from engine.strategies.events import EventStrategy
from engine.strategies.registry import EVENT_BUILTINS


class Peeks(EventStrategy):
    """Buys when tomorrow's close is higher (`shift(-1)`: the leak), sells otherwise."""

    name = "peeks"

    @dataclass(frozen=True)
    class Params:
        pass

    def on_start(self, ctx: Any) -> None:
        self.tomorrow = ctx.indicator(lambda bars: bars["close"].shift(-1))

    def on_bar(self, bar: Any, ctx: Any) -> None:
        up = self.tomorrow[0] > bar.close
        if up and ctx.position() == 0:
            ctx.order_target_percent(1.0)
        elif not up and ctx.position() > 0:
            ctx.order_target_percent(0.0)


def test_a_strategy_reading_the_next_bar_fails(home: Path) -> None:
    data = load_market_data(["SPY"], start="2020-01-01", end="2020-12-31")
    report = audit_event_lookahead(Peeks, data, n_checks=10)
    assert not report.passed
    assert report.output is not None and report.output.startswith("orders.")
    assert report.truncated_at is not None and report.first_mismatch is not None
    assert report.first_mismatch <= report.truncated_at


@pytest.mark.parametrize("name", sorted(EVENT_BUILTINS))
def test_every_event_builtin_passes(home: Path, name: str) -> None:
    intraday = name in ("gap_and_go", "grid_bot")
    symbols = ["BTC-PERP"] if intraday else ["SPY"]
    span = ("2022-01-03", "2022-01-06") if intraday else ("2015-01-01", "2020-12-31")
    data = load_market_data(symbols, *span)
    report = audit_event_lookahead(lambda: EVENT_BUILTINS[name](), data, n_checks=8)
    assert report.passed, report.summary()


def test_cli_audit_of_an_event_strategy(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "donchian_event", "--symbols", "QQQ", "--checks", "5"]) == 0
    assert "donchian_event: PASSED" in capsys.readouterr().out
