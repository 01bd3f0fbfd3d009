"""`run_backtest`: strategy weights -> simulated portfolio, trades and metrics (DESIGN §3).

A thin pandas wrapper over the compiled kernel in `engine.kernels`: it prepares aligned float arrays, calls
the kernel once, and wraps the outputs (equity, cash, positions, weights, fills, trades, metrics, benchmark).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from engine import metrics as metrics_mod
from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import ConfigError, StrategyError
from engine.kernels import FILL_MODES, REASONS, simulate_kernel
from engine.result import FILL_COLUMNS, BacktestResult
from engine.strategies.base import Strategy
from engine.trades import trades_frame

STOP_KEYS = ("stop_loss", "take_profit", "trailing_stop")


def rebalance_mask(index: pd.Index, schedule: str) -> np.ndarray:
    """True at each bar whose decision is a scheduled rebalance: the first bar of each new period.

    "on_change" -> all False; "daily" -> all True; "weekly"/"monthly" (DatetimeIndex only) -> the first bar
    of each week/month after the first: whether bar t ends its period would need bar t+1 (look-ahead), so the
    rebalance is decided at the first close of the new period and filled at the next bar.
    """
    n = len(index)
    if schedule == "on_change":
        return np.zeros(n, dtype=bool)
    if schedule == "daily":
        return np.ones(n, dtype=bool)
    if not isinstance(index, pd.DatetimeIndex):
        raise ConfigError(f"rebalance {schedule!r} needs timestamps; this data has a {type(index).__name__}")
    freq = {"weekly": "W", "monthly": "M"}[schedule]
    periods = index.to_period(freq).asi8
    mask = np.zeros(n, dtype=bool)
    mask[1:] = periods[1:] != periods[:-1]
    return mask


def _aligned(frame: pd.DataFrame, data: MarketData, what: str) -> np.ndarray:
    if not isinstance(frame, pd.DataFrame):
        raise StrategyError(f"{what} must be a DataFrame, got {type(frame).__name__}")
    if frame.shape != data.close.shape or not frame.index.equals(data.index) or list(frame.columns) != data.symbols:
        try:
            frame = frame.reindex(index=data.index, columns=data.close.columns)
        except (ValueError, TypeError) as e:
            raise StrategyError(f"{what} cannot be aligned with the data: {e}") from None
    arr = np.ascontiguousarray(frame.to_numpy(dtype="float64"))
    if np.isinf(arr).any():
        raise StrategyError(f"{what} contains infinite values")
    return arr


def _stop_arrays(strategy: Strategy, data: MarketData, config: BacktestConfig) -> tuple[list[np.ndarray], bool]:
    shape = data.close.shape
    custom = strategy.stop_fractions(data) or {}
    unknown = set(custom) - set(STOP_KEYS)
    if unknown:
        raise StrategyError(f"{strategy.name}: unknown stop kind(s) {sorted(unknown)}; expected {STOP_KEYS}")
    arrays, used = [], False
    for key in STOP_KEYS:
        if key in custom:
            arr = _aligned(custom[key], data, f"{strategy.name} {key}")
            used = used or bool(np.isfinite(arr).any())
        else:
            value = getattr(config.risk, key)
            arr = np.full(shape, np.nan if value is None else float(value))
            used = used or value is not None
        arrays.append(arr)
    return arrays, used


def run_backtest(data: MarketData, strategy: Strategy, config: BacktestConfig | None = None) -> BacktestResult:
    """Simulate `strategy` on `data` under `config`.

    Weights decided at the close of bar t fill at the open of t+1 (default), the close of t+1, or (optimistic,
    for comparison only) the close of t. Equity is marked at every close. See engine.kernels for the order of
    events inside a bar.
    """
    config = config or BacktestConfig()
    if len(data) < 2:
        raise ConfigError(f"a backtest needs at least 2 bars; the data has {len(data)}")
    weights = _aligned(strategy.target_weights(data), data, f"{strategy.name} weights")
    (sl, tp, ts), use_stops = _stop_arrays(strategy, data, config)
    arrays = data.to_arrays()
    costs, risk = config.costs, config.risk
    growth = (1.0 + config.cash_rate) ** (1.0 / config.periods_per_year)
    equity, cash, positions, sim_weights, turnover, fills = simulate_kernel(
        arrays["open"], arrays["high"], arrays["low"], arrays["close"], weights,
        rebalance_mask(data.index, config.rebalance), sl, tp, ts,
        float(config.initial_cash), costs.commission_bps / 1e4, float(costs.min_commission),
        costs.slippage_bps / 1e4, FILL_MODES[config.fill], bool(config.fractional), float(config.drift_threshold),
        growth, float(risk.max_leverage), float(risk.max_position) if risk.max_position is not None else np.inf,
        use_stops,
    )
    return _wrap(data, strategy, config, arrays["close"], equity, cash, positions, sim_weights, turnover, fills)


def _wrap(data: MarketData, strategy: Strategy, config: BacktestConfig, close: np.ndarray, equity: np.ndarray,
          cash: np.ndarray, positions: np.ndarray, weights: np.ndarray, turnover: np.ndarray,
          fills: np.ndarray) -> BacktestResult:
    index, symbols = data.index, data.symbols
    marks = pd.DataFrame(close, index=index, columns=symbols).ffill().to_numpy()
    last_close = marks[-1]
    scale = np.divide(1.0, np.abs(equity), out=np.zeros_like(equity), where=equity != 0)  # a blown-up account
    gross = np.nansum(np.abs(positions * marks), axis=1) * scale
    equity_s = pd.Series(equity, index=index, name="equity")
    prev = np.concatenate(([config.initial_cash], equity[:-1]))
    returns_s = pd.Series(equity / prev - 1.0, index=index, name="returns")
    trades = trades_frame(fills, index, symbols, last_close)
    bench_symbol = config.benchmark or symbols[0]
    benchmark = benchmark_equity(data, bench_symbol, config.initial_cash)
    bench_returns = benchmark.pct_change().fillna(benchmark.iloc[0] / config.initial_cash - 1.0)
    metrics = metrics_mod.backtest_metrics(
        equity_s, initial_cash=config.initial_cash, periods_per_year=config.periods_per_year,
        benchmark_returns=bench_returns, trades=trades,
        gross_exposure=pd.Series(gross, index=index), turnover=pd.Series(turnover * scale, index=index),
    )
    bench_metrics = metrics_mod.backtest_metrics(
        benchmark, initial_cash=config.initial_cash, periods_per_year=config.periods_per_year,
        benchmark_returns=bench_returns,
    )
    fills_df = pd.DataFrame({
        "time": index[fills[:, 0].astype(np.int64)],
        "symbol": np.array(symbols, dtype=object)[fills[:, 1].astype(np.int64)],
        "quantity": fills[:, 2], "price": fills[:, 3], "commission": fills[:, 4],
        "reason": np.array(REASONS, dtype=object)[fills[:, 5].astype(np.int64)],
    }, columns=list(FILL_COLUMNS))
    return BacktestResult(
        config=config, strategy=strategy.name, params=strategy.params_dict(), symbols=symbols,
        equity=equity_s, returns=returns_s, cash=pd.Series(cash, index=index, name="cash"),
        weights=pd.DataFrame(weights, index=index, columns=symbols),
        positions=pd.DataFrame(positions, index=index, columns=symbols),
        trades=trades, fills=fills_df, metrics=metrics, benchmark=benchmark, benchmark_metrics=bench_metrics,
    )


def benchmark_equity(data: MarketData, symbol: str, initial_cash: float) -> pd.Series:
    """Buy-and-hold equity of `symbol`: initial cash until its first close, then cash x close / first close."""
    if symbol not in data.close.columns:
        raise ConfigError(f"benchmark {symbol!r} is not among the loaded symbols {data.symbols}")
    close = data.close[symbol].ffill()
    first = close.first_valid_index()
    base = close.loc[first]
    return (initial_cash * close / base).fillna(initial_cash).rename(f"benchmark {symbol}")
