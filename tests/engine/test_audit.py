"""The look-ahead audit: every built-in passes on real data; deliberately leaky strategies fail at the right bar."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.data.market import MarketData
from engine.errors import StrategyError
from engine.research.audit import audit_lookahead
from engine.sim.simulate import run_backtest
from engine.strategies.base import Strategy, param
from engine.strategies.boundary import call_strategy
from engine.strategies.registry import BUILTINS
from tests.engine.test_strategies_common import market, read_csv

VARIANTS = {
    "sma_cross": [{}, {"allow_short": True, "fast": 20, "slow": 100}],
    "ema_cross": [{}, {"allow_short": True}],
    "macd": [{}, {"allow_short": True}],
    "donchian_breakout": [{}, {"system": 55, "allow_short": True}],
    "momentum_rotation": [{}, {"skip": 21, "top_n": 1}],
    "buy_and_hold": [{}, {"renormalize": True}],
}


@pytest.fixture(scope="module")
def data() -> MarketData:
    return market("SPY", "BTC-USD", "TLT")  # two calendars, and symbols listed at different dates


@pytest.mark.parametrize(
    ("name", "params"), [(n, p) for n in BUILTINS for p in VARIANTS.get(n, [{}])], ids=lambda v: str(v)
)
def test_every_builtin_passes(name: str, params: dict, data: MarketData) -> None:
    report = audit_lookahead(BUILTINS[name](params), data, n_checks=40)
    assert report.passed, report.summary()
    assert report.first_mismatch is None and report.symbol is None
    assert report.checked_points >= 40
    # spread over the history and including the last bars
    assert min(report.points) == 1 and max(report.points) == len(data) - 1 and len(data) - 3 in report.points
    assert report.strategy == name and report.params == BUILTINS[name](params).params_dict()


class PeekNextReturn(Strategy):
    """Leaky: the weight at t is the return from t to t+1 (needs close[t+1])."""

    name = "peek_next_return"

    @dataclass(frozen=True)
    class Params:
        start: str = param("1900-01-01", doc="leak only from this date on")

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        close = data.close
        future = close.shift(-1) / close - 1.0
        honest = close.pct_change()
        leak = pd.Series(data.index >= pd.Timestamp(self.params.start), index=data.index)
        return future.where(leak, honest, axis=0)


def test_shift_minus_one_leak_fails_at_the_first_checked_bar() -> None:
    data = market("SPY")
    c = read_csv("SPY")["close"].to_numpy()
    report = audit_lookahead(PeekNextReturn(), data, min_bars=300)
    assert not report.passed
    # the shortest truncation (300 bars) already disagrees on its last bar, index 299
    assert report.first_mismatch == data.index[299]
    assert report.symbol == "SPY" and report.output == "weights"
    assert report.full_value == pytest.approx(c[300] / c[299] - 1.0, rel=1e-12)
    assert np.isnan(report.truncated_value)
    assert report.truncated_at == data.index[299]
    assert "FAILED" in report.summary() and str(data.index[299]) in report.summary()


def test_leak_starting_mid_history_is_located_exactly() -> None:
    data = market("SPY", "TLT")
    report = audit_lookahead(PeekNextReturn({"start": "2010-01-01"}), data, n_checks=40)
    assert not report.passed
    first_2010 = read_csv("SPY").index[read_csv("SPY").index >= "2010-01-01"][0]
    assert first_2010 == pd.Timestamp("2010-01-04")
    assert report.first_mismatch == first_2010  # found by bisection between two checkpoints
    c = read_csv("SPY")["close"]
    i = c.index.get_loc(first_2010)
    assert report.symbol == "SPY"
    assert report.full_value == pytest.approx(c.iloc[i + 1] / c.iloc[i] - 1.0, rel=1e-12)


class WholeSampleScale(Strategy):
    """Leaky: scales by the maximum close of the whole sample (future information at every bar)."""

    name = "whole_sample_scale"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return data.close / data.close.max()


def test_whole_sample_statistic_fails_at_the_first_bar() -> None:
    data = market("GLD")
    c = read_csv("GLD")["close"].to_numpy()
    report = audit_lookahead(WholeSampleScale(), data)
    assert not report.passed
    assert report.first_mismatch == data.index[0]
    assert report.full_value == pytest.approx(c[0] / c.max(), rel=1e-12)
    assert report.truncated_value == pytest.approx(1.0)  # head(1): the first close is its own maximum


class LeakyStops(Strategy):
    """Honest weights, leaky stop distances (uses tomorrow's range)."""

    name = "leaky_stops"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return data.close.notna().astype(float)

    def stop_fractions(self, data: MarketData) -> dict[str, pd.DataFrame]:
        return {"stop_loss": (data.high.shift(-1) - data.low.shift(-1)) / data.close}


def test_leaky_stop_fractions_fail() -> None:
    data = market("SPY")
    report = audit_lookahead(LeakyStops(), data, min_bars=50)
    assert not report.passed
    assert report.output == "stop_loss" and report.first_mismatch == data.index[49]


class WrongShape(Strategy):
    name = "wrong_shape"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        return data.close.iloc[1:]


def test_unusable_output_is_a_strategy_error() -> None:
    with pytest.raises(
        StrategyError, match=r"'wrong_shape' returned weights of shape \(8396, 1\), expected \(8397, 1\)"
    ):
        audit_lookahead(WrongShape(), market("SPY"))
    with pytest.raises(StrategyError, match="min_bars must be >= 1"):
        audit_lookahead(BUILTINS["sma_cross"](), market("SPY"), min_bars=0)


class FailsOnShortHistory(Strategy):
    """Works on the full history, raises IndexError on fewer than 100 bars (a user bug the audit meets)."""

    name = "fails_on_short_history"

    @dataclass(frozen=True)
    class Params:
        pass

    def target_weights(self, data: MarketData) -> pd.DataFrame:
        anchor = data.close.iloc[99]  # IndexError on fewer than 100 bars
        return (data.close > anchor).astype(float)


def test_exception_in_user_strategy_code_is_a_strategy_error_with_file_and_line() -> None:
    data = market("SPY")
    line = FailsOnShortHistory.target_weights.__code__.co_firstlineno + 1
    with pytest.raises(StrategyError) as info:
        audit_lookahead(FailsOnShortHistory(), data, n_checks=3)
    msg = str(info.value)
    assert msg.startswith(f"strategy 'fails_on_short_history' failed on the first 1 bars (up to {data.index[0]}): ")
    assert msg.endswith(
        f"strategy 'fails_on_short_history' ({Path(__file__).resolve()}, line {line}) failed in "
        f"target_weights: IndexError: {info.value.__cause__.__cause__}"
    )
    assert isinstance(info.value.__cause__.__cause__, IndexError)  # the original error, chained with `from`
    with pytest.raises(StrategyError, match=rf"test_audit.py, line {line}\) failed in target_weights: IndexError"):
        run_backtest(data.head(50), FailsOnShortHistory())


def test_exception_in_builtin_strategy_code_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    """A built-in strategy failing is an engine bug: it propagates unchanged (not dressed up as user error)."""
    cls = BUILTINS["sma_cross"]

    def broken(self, data):
        raise KeyError("boom")

    monkeypatch.setattr(cls, "target_weights", broken)
    with pytest.raises(KeyError, match="boom"):
        run_backtest(market("SPY"), cls())
    with pytest.raises(KeyError, match="boom"):
        audit_lookahead(cls(), market("SPY"))
    monkeypatch.setattr(cls, "target_weights", lambda self, data: (_ for _ in ()).throw(StrategyError("on purpose")))
    with pytest.raises(StrategyError, match="^on purpose$"):
        call_strategy(cls(), "target_weights", market("SPY"))
