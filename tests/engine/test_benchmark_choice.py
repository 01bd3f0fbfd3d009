"""The benchmark of a run is chosen, not the first symbol: SPY by default (loaded untraded when the run does not
hold it), an equal weight of the run's symbols on request or when the data has no SPY; it is named on the
result's benchmark series, and beta, alpha, tracking error and the captures are measured against it.

The old engine benchmarked a QQQ + TLT run against QQQ (its first symbol).
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from engine.config import EQUAL_WEIGHT, BacktestConfig
from engine.data import load_market_data
from engine.data.sources import SAMPLE_DIR
from engine.errors import ConfigError, DataError
from engine.request import BacktestRequest, run_request
from engine.sim.benchmark import benchmark_label

START, END = "2010-01-01", "2016-12-31"
P = 252.0


def _returns(equity: np.ndarray, cash: float) -> np.ndarray:
    return np.diff(np.concatenate(([cash], equity))) / np.concatenate(([cash], equity[:-1]))


def _by_hand(result, bench_equity: np.ndarray) -> dict[str, float]:
    """beta, tracking error and up capture from numpy alone, over the bars where both returns exist."""
    cash = result.config.initial_cash
    r, rb = _returns(result.equity.to_numpy(), cash), _returns(bench_equity, cash)
    cov = np.cov(r, rb, ddof=1)
    up = rb > 0
    n = up.sum()
    capture = (np.prod(1 + r[up]) ** (P / n) - 1) / (np.prod(1 + rb[up]) ** (P / n) - 1)
    return {"beta": cov[0, 1] / cov[1, 1], "tracking_error": np.std(r - rb, ddof=1) * np.sqrt(P), "up_capture": capture}


def _request(**config) -> BacktestRequest:
    return BacktestRequest(
        strategy="sma_cross",
        params={"fast": 20, "slow": 100},
        symbols=("QQQ", "TLT"),
        start=START,
        end=END,
        config=BacktestConfig(**config),
    )


def test_default_benchmark_is_spy_even_when_the_run_does_not_trade_it(home) -> None:
    result = run_request(_request())
    assert benchmark_label(result.benchmark) == "SPY"
    spy = load_market_data(["SPY"], START, END).close["SPY"].reindex(result.equity.index).ffill()
    bench = 100_000.0 * spy.to_numpy() / spy.iloc[0]
    np.testing.assert_allclose(result.benchmark.to_numpy(), bench, rtol=1e-12)
    for name, value in _by_hand(result, bench).items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-9), name
    assert result.benchmark_metrics["beta"] == pytest.approx(1.0, rel=1e-12)  # SPY against itself


def test_equal_weight_benchmark_holds_half_in_each_symbol(home) -> None:
    result = run_request(_request(benchmark="equal_weight"))
    assert benchmark_label(result.benchmark) == "equal weight (QQQ, TLT)"
    close = load_market_data(["QQQ", "TLT"], START, END).close
    bench = 50_000.0 * (close["QQQ"] / close["QQQ"].iloc[0] + close["TLT"] / close["TLT"].iloc[0]).to_numpy()
    np.testing.assert_allclose(result.benchmark.to_numpy(), bench, rtol=1e-12)
    for name, value in _by_hand(result, bench).items():
        assert result.metrics[name] == pytest.approx(value, rel=1e-9), name


def test_a_source_without_spy_falls_back_to_equal_weight_and_a_named_missing_symbol_fails(home, tmp_path) -> None:
    folder = tmp_path / "bars"
    folder.mkdir()
    for symbol in ("QQQ", "TLT"):
        shutil.copy(SAMPLE_DIR / f"{symbol}.csv", folder / f"{symbol}.csv")
    result = run_request(_request().with_changes(data_source=str(folder)))
    assert benchmark_label(result.benchmark) == "equal weight (QQQ, TLT)"
    with pytest.raises(DataError, match="SPY"):
        run_request(_request(benchmark="SPY").with_changes(data_source=str(folder)))


def test_a_traded_benchmark_symbol_is_used_as_chosen(home) -> None:
    result = run_request(_request(benchmark="tlt"))
    assert benchmark_label(result.benchmark) == "TLT"
    assert result.benchmark_metrics["beta"] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    "given, stored",
    [(" spy ", "SPY"), ("EQUAL_WEIGHT", EQUAL_WEIGHT), ("Equal_Weight", EQUAL_WEIGHT), ("", None), (None, None)],
)
def test_benchmark_is_validated_once_in_the_config(given, stored) -> None:
    assert BacktestConfig(benchmark=given).benchmark == stored
    assert BacktestConfig.from_dict({"benchmark": given}).benchmark == stored


def test_a_benchmark_that_is_not_text_is_refused() -> None:
    with pytest.raises(ConfigError, match="benchmark"):
        BacktestConfig.from_dict({"benchmark": 5})


def test_the_optimizer_measures_against_the_same_benchmark_as_a_backtest(home) -> None:
    from engine.research.optimize import OptimizeSpec, run_optimization

    spec = OptimizeSpec(
        strategy="sma_cross",
        symbols=("QQQ", "TLT"),
        start=START,
        end=END,
        ranges={"fast": [10, 20], "slow": [50, 100]},
    )
    table = run_optimization(spec).table
    for _, row in table.iterrows():
        params = {"fast": int(row["fast"]), "slow": int(row["slow"])}
        single = run_request(_request().with_changes(params=params))  # benchmark: SPY, loaded untraded
        for name in ("beta", "alpha", "tracking_error", "information_ratio", "up_capture", "down_capture"):
            assert row[name] == pytest.approx(single.metrics[name], rel=1e-9), (params, name)
