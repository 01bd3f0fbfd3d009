"""run_request: loads data, builds the strategy, runs; an untraded benchmark is loaded on its own."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.data import SAMPLE_DIR
from engine.errors import ConfigError, DataError
from engine.request import BacktestRequest, run_request


def test_untraded_benchmark_is_buy_and_hold_of_its_own_closes(home):
    req = BacktestRequest(
        "sma_cross",
        {"fast": 10, "slow": 50},
        ["QQQ"],
        start="2015-01-01",
        end="2020-12-31",
        config=BacktestConfig(benchmark="SPY"),
    )
    result = run_request(req)
    assert result.symbols == ["QQQ"] and list(result.positions.columns) == ["QQQ"]
    spy = pd.read_csv(SAMPLE_DIR / "SPY.csv", index_col="date", parse_dates=True)["close"]
    spy = spy.loc["2015-01-01":"2020-12-31"]
    expected = 100_000 * spy / spy.iloc[0]
    np.testing.assert_allclose(
        result.benchmark.to_numpy(), expected.reindex(result.equity.index).to_numpy(), rtol=1e-12
    )
    assert result.benchmark_metrics["total_return"] == pytest.approx(spy.iloc[-1] / spy.iloc[0] - 1, rel=1e-12)


def test_request_checks_its_fields():
    with pytest.raises(DataError, match="no symbols"):
        BacktestRequest("sma_cross", symbols=[])
    with pytest.raises(DataError, match="after end"):
        BacktestRequest("sma_cross", symbols=["SPY"], start="2020-01-01", end="2019-01-01")
    with pytest.raises(ConfigError, match="unknown field"):
        BacktestRequest.from_dict({"strategy": "sma_cross", "symbols": ["SPY"], "colour": "red"})


def test_result_pickles_with_every_field(home):
    result = run_request(BacktestRequest("sma_cross", {"fast": 10, "slow": 50}, ["SPY", "TLT"], start="2015-01-01"))
    back = pickle.loads(pickle.dumps(result))
    pd.testing.assert_frame_equal(back.trades, result.trades)
    pd.testing.assert_frame_equal(back.positions, result.positions)
    pd.testing.assert_series_equal(back.benchmark, result.benchmark)
    pd.testing.assert_series_equal(pd.Series(back.metrics), pd.Series(result.metrics))
    pd.testing.assert_series_equal(pd.Series(back.benchmark_metrics), pd.Series(result.benchmark_metrics))
