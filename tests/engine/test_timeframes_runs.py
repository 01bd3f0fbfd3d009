"""Intraday data end to end: loaded by symbol like daily bars, annualized by the data's real bar frequency, and
backtested at a chosen timeframe (request, CLI), checked against pandas and hand calculations."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.config import BacktestConfig
from engine.data import available_symbols, get_source, load_market_data
from engine.data.cache import cache_path
from engine.data.frequency import infer_periods_per_year
from engine.data.loader import symbol_timeframe, timeframe_choices
from engine.data.sources import INTRADAY_DIR
from engine.data.timeframes import session_for
from engine.data.update import symbols_to_update
from engine.errors import ConfigError
from engine.request import BacktestRequest, run_request
from engine.research.sensitivity import fill_sensitivity

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def _csv(name: str) -> pd.DataFrame:
    frame = pd.read_csv(INTRADAY_DIR / f"{name}.csv", parse_dates=["timestamp"], index_col="timestamp")
    frame.index = frame.index.as_unit("ns").rename("date")
    return frame.astype("float64")


def test_intraday_symbols_load_by_symbol_through_the_cache(home: Path) -> None:
    assert {"BTC-PERP", "EURUSD", "SPY"} <= set(available_symbols())
    for name in ("BTC-PERP", "EURUSD"):
        raw = _csv(name)
        data = load_market_data([name])
        assert isinstance(data.index, pd.DatetimeIndex) and data.index.tz is None  # naive UTC, as in the file
        pd.testing.assert_index_equal(data.index, raw.index, check_names=False, check_freq=False)
        for field in AGG:
            np.testing.assert_array_equal(data.field(field)[name].to_numpy(), raw[field].to_numpy())
        assert cache_path(get_source(), name).is_file()  # the workspace's Parquet cache holds it
        again = load_market_data([name])  # served from the cache
        np.testing.assert_array_equal(again.close[name].to_numpy(), raw["close"].to_numpy())


def test_intraday_manifest_pins_the_bundled_files(home: Path) -> None:
    entries = json.loads((INTRADAY_DIR / "manifest.json").read_text())
    assert sorted(e["file"] for e in entries) == sorted(p.name for p in INTRADAY_DIR.glob("*.csv"))
    for e in entries:
        path = INTRADAY_DIR / e["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == e["sha256"]
        raw = _csv(e["symbol"])
        assert (len(raw), str(raw.index[0]), str(raw.index[-1])) == (e["rows"], e["first"], e["last"])
        assert symbol_timeframe(e["symbol"]).text == e["timeframe"] and session_for(e["symbol"]) == e["session"]


def test_native_timeframes_and_the_choices_offered(home: Path) -> None:
    assert symbol_timeframe("BTC-PERP").text == "1min" and symbol_timeframe("EURUSD").text == "1h"
    assert symbol_timeframe("SPY") is None
    assert timeframe_choices(["SPY", "QQQ"]) == []
    assert timeframe_choices(["BTC-PERP"]) == ["5min", "15min", "30min", "1h", "4h", "1d"]
    assert timeframe_choices(["BTC-PERP", "EURUSD"]) == ["1h", "4h", "1d"]
    assert timeframe_choices(["EURUSD", "NOPE"]) == ["4h", "1d"]


def test_load_at_a_timeframe_resamples_then_selects_by_open_time(home: Path) -> None:
    raw = _csv("BTC-PERP")
    data = load_market_data(["BTC-PERP"], start="2022-01-03", end="2022-01-04", timeframe="1h")
    hours = raw.loc["2022-01-03":"2022-01-04"].resample("1h").agg(AGG)  # whole hours inside the data: no partials
    pd.testing.assert_index_equal(data.index, hours.index, check_names=False, check_freq=False)
    np.testing.assert_array_equal(data.high["BTC-PERP"].to_numpy(), hours["high"].to_numpy())
    np.testing.assert_allclose(data.volume["BTC-PERP"].to_numpy(), hours["volume"].to_numpy(), rtol=1e-12)
    with pytest.raises(ConfigError, match="SPY: timeframe '1h': finer than the data's 1d bars"):
        load_market_data(["SPY"], timeframe="1h")


def test_periods_per_year_inferred_from_the_bars() -> None:
    btc, fx = _csv("BTC-PERP").index, _csv("EURUSD").index
    assert infer_periods_per_year(btc) == 525_600.0  # every minute of a 365-day year
    span_days = (fx[-1] + pd.Timedelta(hours=1) - fx[0]) / pd.Timedelta(days=1)
    assert infer_periods_per_year(fx) == round(5000 / (span_days / 365)) == 6201  # about 24 x 5 x 52 = 6240
    assert infer_periods_per_year(load_market_data(["SPY"]).index) == 252.0
    assert infer_periods_per_year(load_market_data(["BTC-USD"]).index) == 252.0  # daily stays 252, 7-day calendar too


def _rule_sharpe(equity: np.ndarray, cash: float, periods: float) -> float:
    r = equity / np.concatenate(([cash], equity[:-1])) - 1
    return float(r.mean() / r.std(ddof=1) * np.sqrt(periods))


def test_intraday_run_annualizes_by_its_real_bar_frequency(home: Path) -> None:
    result = run_request(BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), timeframe="5min"))
    idx = result.equity.index
    span_days = (idx[-1] + pd.Timedelta(minutes=5) - idx[0]) / pd.Timedelta(days=1)
    periods = round(len(idx) / (span_days / 365))
    assert periods == 105_120  # 288 five-minute bars a day x 365
    assert result.config.periods_per_year == periods
    sharpe = _rule_sharpe(result.equity.to_numpy(), 100_000.0, periods)
    assert result.metrics["sharpe"] == pytest.approx(sharpe, rel=1e-12)
    equity = result.equity.to_numpy()
    r = equity / np.concatenate(([100_000.0], equity[:-1])) - 1
    assert result.metrics["annual_volatility"] == pytest.approx(r.std(ddof=1) * np.sqrt(periods), rel=1e-12)
    assert result.benchmark is not None and "SPY" not in str(result.benchmark.name)  # daily SPY is no benchmark


def test_a_periods_per_year_set_by_the_user_is_kept(home: Path) -> None:
    config = BacktestConfig(periods_per_year=1000.0)
    result = run_request(BacktestRequest(strategy="sma_cross", symbols=("EURUSD",), config=config))
    assert result.config.periods_per_year == 1000.0
    assert result.metrics["sharpe"] == pytest.approx(_rule_sharpe(result.equity.to_numpy(), 1e5, 1000.0), rel=1e-12)


def test_daily_runs_keep_252_and_the_w1_reference(home: Path) -> None:
    """WORKLOADS W1 (SPY 10/50, fee 0) through run_request: the shared reference numbers, Sharpe on 252."""
    result = run_request(BacktestRequest(strategy="sma_cross", symbols=("SPY",)))
    assert result.config.periods_per_year == 252.0
    assert result.equity.iloc[-1] == pytest.approx(839_252.60, abs=0.01)
    assert result.metrics["sharpe"] == pytest.approx(0.6091, abs=1e-4)
    assert result.metrics["sharpe"] == pytest.approx(_rule_sharpe(result.equity.to_numpy(), 1e5, 252), rel=1e-12)


def _w1_rules(frame: pd.DataFrame, fast: int = 10, slow: int = 50, cash: float = 100_000.0) -> tuple[pd.Series, int]:
    """WORKLOADS rules 1-6 in plain pandas: SMA state, cross at close t, all-in fill at open t+1, long only."""
    f, s = frame["close"].rolling(fast).mean(), frame["close"].rolling(slow).mean()
    state = np.where((f - s).abs() <= 1e-9 * s.abs(), 0, np.sign(f - s))
    state[np.isnan(f.to_numpy()) | np.isnan(s.to_numpy())] = 0
    opens, closes = frame["open"].to_numpy(), frame["close"].to_numpy()
    qty, money, last, entries, pending = 0.0, cash, 0, 0, None
    equity = np.empty(len(frame))
    for t in range(len(frame)):
        if pending == "buy":
            qty, money, entries = money / opens[t], 0.0, entries + 1
        elif pending == "sell":
            money, qty = qty * opens[t], 0.0
        pending = None
        equity[t] = money + qty * closes[t]
        if state[t] != 0:
            if state[t] == 1 and last == -1 and qty == 0:
                pending = "buy"
            elif state[t] == -1 and last == 1 and qty > 0:
                pending = "sell"
            last = state[t]
    return pd.Series(equity, index=frame.index), entries


def test_sma_cross_on_btc_5min_equals_an_independent_pandas_backtest(home: Path) -> None:
    raw = _csv("BTC-PERP")
    bins = raw.resample("5min").agg(AGG)
    bins = bins[
        (bins.index >= raw.index[0]) & (bins.index + pd.Timedelta(minutes=5) <= raw.index[-1] + pd.Timedelta(minutes=1))
    ]
    expected, entries = _w1_rules(bins)
    result = run_request(BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), timeframe="5min"))
    pd.testing.assert_index_equal(result.equity.index, expected.index, check_names=False, check_freq=False)
    np.testing.assert_allclose(result.equity.to_numpy(), expected.to_numpy(), rtol=1e-9)
    assert len(result.trades) == entries > 50


def test_request_timeframe_field() -> None:
    daily = BacktestRequest(strategy="sma_cross", symbols=("SPY",))
    assert daily.timeframe is None and "timeframe" not in daily.to_dict()  # stored requests and their hashes as before
    req = BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), timeframe="60min")
    assert req.timeframe == "1h" and BacktestRequest.from_dict(req.to_dict()) == req
    assert BacktestRequest(strategy="sma_cross", symbols=("SPY",), timeframe="native").timeframe is None
    with pytest.raises(ConfigError, match="timeframe '7min'"):
        BacktestRequest(strategy="sma_cross", symbols=("SPY",), timeframe="7min")


def test_cli_backtest_timeframe(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["backtest", "--strategy", "sma_cross", "--symbols", "BTC-PERP", "--timeframe", "5min", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["request"]["timeframe"] == "5min"
    direct = run_request(BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), timeframe="5min"))
    assert out["metrics"]["sharpe"] == pytest.approx(direct.metrics["sharpe"], rel=1e-12)
    assert out["metrics"]["n_trades"] == direct.metrics["n_trades"]
    assert main(["backtest", "--strategy", "sma_cross", "--symbols", "BTC-PERP", "--timeframe", "7min"]) != 0
    assert "timeframe '7min'" in capsys.readouterr().err


def test_data_update_without_symbols_leaves_the_intraday_fixtures_alone(home: Path) -> None:
    """`ivybt data update` (no symbols) fetches daily bars: a daily EURUSD must not shadow the bundled hourly one."""
    chosen = symbols_to_update(None)
    assert "SPY" in chosen and "BTC-PERP" not in chosen and "EURUSD" not in chosen
    assert len(chosen) == 36
    assert symbols_to_update(["eurusd"]) == ["EURUSD"]  # asked for by name: as asked


def test_fill_sensitivity_runs_at_the_requests_timeframe(home: Path) -> None:
    request = BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), timeframe="15min")
    direct = run_request(request)
    row = fill_sensitivity(request).loc["next_open"]
    assert row["total_return"] == pytest.approx(direct.metrics["total_return"], rel=1e-12)
    assert row["sharpe"] == pytest.approx(direct.metrics["sharpe"], rel=1e-12)  # annualized by 35,040 bars too
