"""`run_backtest`: strategy weights -> simulated portfolio, trades and metrics (DESIGN §3).

A thin pandas wrapper over the compiled kernel in `engine.sim.kernels`: it prepares aligned float arrays, calls
the kernel once, and wraps the outputs (equity, cash, positions, weights, fills, trades, metrics, benchmark).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from engine import jit
from engine import metrics as metrics_mod
from engine.config import BacktestConfig
from engine.data.market import MarketData
from engine.errors import ConfigError, StrategyError
from engine.metrics.registry import metric
from engine.sim import single
from engine.sim.benchmark import SERIES_PREFIX, benchmark_curve, benchmark_name, buy_and_hold_values, resolve_benchmark
from engine.sim.costs import borrow_bps_of, margin_rate_of, rate_per_period
from engine.sim.kernels import FILL_MODES, REASONS, simulate_kernel
from engine.sim.memory import retain_freed_memory
from engine.sim.overlays import KernelOutputs, TradingStop, stop_after_losses
from engine.sim.result import FILL_COLUMNS, FINANCING_COLUMNS, BacktestResult, Deferred
from engine.sim.sizing import sized_weights
from engine.sim.trades import trade_records, trades_frame
from engine.strategies.base import Strategy
from engine.strategies.boundary import call_strategy
from engine.strategies.events import EventStrategy

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
    return _finite(np.ascontiguousarray(frame.to_numpy(dtype="float64")), what)


def _finite(arr: np.ndarray, what: str) -> np.ndarray:
    """`arr`, or StrategyError if it holds +-inf (NaN is allowed: no opinion)."""
    if np.isinf(arr).any():
        raise StrategyError(f"{what} contains infinite values")
    return arr


def strategy_weights(strategy: Strategy, data: MarketData) -> np.ndarray:
    """The strategy's target weights as a C-contiguous float64 (bars, symbols) array aligned with `data`:
    its `weight_values` fast path when it has one, else `target_weights` aligned to the data."""
    what = f"{strategy.name} weights"
    values = call_strategy(strategy, "weight_values", data)
    if values is None:
        return _aligned(call_strategy(strategy, "target_weights", data), data, what)
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.shape != data.close.shape:
        raise StrategyError(f"{what}: weight_values returned shape {arr.shape}, expected {data.close.shape}")
    return _finite(arr, what)


def stop_arrays(strategy: Strategy, data: MarketData, config: BacktestConfig) -> tuple[list[np.ndarray], bool]:
    """(stop_loss, take_profit, trailing_stop) distances per bar and symbol for the kernel, and whether any
    stop is on: the strategy's own `stop_fractions` where it gives them, else the config's fixed fractions.
    With every stop off the arrays are (1, N) NaN placeholders (the kernel never reads them). Read-only, as
    every kernel input (engine.jit.readonly)."""
    shape = data.close.shape
    custom = call_strategy(strategy, "stop_fractions", data) or {}
    unknown = set(custom) - set(STOP_KEYS)
    if unknown:
        raise StrategyError(f"{strategy.name}: unknown stop kind(s) {sorted(unknown)}; expected {STOP_KEYS}")
    if not custom and all(getattr(config.risk, key) is None for key in STOP_KEYS):
        off = jit.readonly(np.full((1, shape[1]), np.nan))
        return [off, off, off], False
    arrays, used = [], False
    for key in STOP_KEYS:
        if key in custom:
            arr = _aligned(custom[key], data, f"{strategy.name} {key}")
            used = used or bool(np.isfinite(arr).any())
        else:
            value = getattr(config.risk, key)
            arr = np.full(shape, np.nan if value is None else float(value))
            used = used or value is not None
        arrays.append(jit.readonly(arr))
    return arrays, used


def kernel_settings(config: BacktestConfig) -> tuple[float, float, float, float, int, bool, float, float, float, float]:
    """The simulate kernel's scalar arguments from a config, in its order: initial cash, commission and slippage
    as fractions, minimum commission, fill mode, fractional units, drift threshold, per-bar cash growth, maximum
    leverage and maximum position (inf = none). One place for both the single backtest and the grid."""
    costs, risk = config.costs, config.risk
    return (
        float(config.initial_cash),
        costs.commission_bps / 1e4,
        float(costs.min_commission),
        costs.slippage_bps / 1e4,
        FILL_MODES[config.fill],
        bool(config.fractional),
        float(config.drift_threshold),
        (1.0 + config.cash_rate) ** (1.0 / config.periods_per_year),
        float(risk.max_leverage),
        float(risk.max_position) if risk.max_position is not None else np.inf,
    )


def financing_settings(config: BacktestConfig, symbols: list[str]) -> tuple[float, np.ndarray]:
    """The simulate kernel's financing arguments: the per-bar growth factor of negative cash (the margin rate, or
    the cash rate when none is set) and each symbol's per-bar borrow fee rate (read-only (N,) array), every annual
    rate made per-bar by engine.sim.costs.rate_per_period with config.periods_per_year."""
    fin, ppy = config.financing, config.periods_per_year
    margin_growth = (1.0 + margin_rate_of(config.cash_rate, fin)) ** (1.0 / ppy)  # as the cash growth factor
    borrow = [rate_per_period(borrow_bps_of(s, fin) / 1e4, ppy) if borrow_bps_of(s, fin) else 0.0 for s in symbols]
    return margin_growth, jit.readonly(np.asarray(borrow, dtype=np.float64).reshape(len(symbols)))


def financing_on(config: BacktestConfig) -> bool:
    """Whether a run charges or earns anything between bars (then its metrics carry FINANCING_COLUMNS' totals)."""
    fin = config.financing
    return bool(config.cash_rate or fin.margin_rate or fin.borrow_bps or any(fin.borrow_bps_by_symbol.values()))


def run_backtest(
    data: MarketData,
    strategy: Strategy,
    config: BacktestConfig | None = None,
    *,
    benchmark_close: pd.Series | None = None,
) -> BacktestResult:
    """Simulate `strategy` on `data` under `config`.

    The benchmark is `config.benchmark` from `data` (a symbol, or an equal weight of the symbols; None = SPY
    when loaded, else equal weight: engine.sim.benchmark); a benchmark that is not traded is passed as
    `benchmark_close` (its closes, aligned to `data.index` here; held over missing bars).

    Weights decided at the close of bar t fill at the open of t+1 (default), the close of t+1, or (optimistic,
    for comparison only) the close of t. Equity is marked at every close. See engine.sim.kernels for the order of
    events inside a bar.
    """
    retain_freed_memory()  # engine.sim.memory: the next run reuses this one's pages
    config = config or BacktestConfig()
    if len(data) < 2:
        raise ConfigError(f"a backtest needs at least 2 bars; the data has {len(data)}")
    weights = strategy_weights(strategy, data)
    (sl, tp, ts), use_stops = stop_arrays(strategy, data, config)
    arrays = data.to_arrays()
    ro = jit.readonly
    rebal = ro(rebalance_mask(data.index, config.rebalance))
    weights = sized_weights(data, config, weights, (sl, ts), rebal)  # the sizing overlay (off: as is)
    kernel = jit.kernel(simulate_kernel, data.close.size)
    prices = (arrays["open"], arrays["high"], arrays["low"], arrays["close"])
    settings = kernel_settings(config)
    fin = financing_settings(config, data.symbols)
    if single.eligible(len(data.symbols), config, use_stops, rebal, settings, fin):  # one plain series
        fast, exposure = single.run_single(arrays["open"], arrays["close"], weights, settings)
        return wrap_result(data, strategy, config, benchmark_close, arrays["close"], *fast, exposure_sums=exposure)
    outputs = kernel(*prices, ro(weights), rebal, sl, tp, ts, *settings, use_stops, *fin)
    stopped = None
    if config.max_consecutive_losses is not None:

        def rerun(w: np.ndarray, r: np.ndarray) -> KernelOutputs:
            return kernel(*prices, ro(w), ro(r), sl, tp, ts, *settings, use_stops, *fin)

        outputs, stopped = loss_stop(rerun, outputs, weights, rebal, data, config)
    return wrap_result(data, strategy, config, benchmark_close, arrays["close"], *outputs, stopped=stopped)


def loss_stop(
    rerun: Callable[[np.ndarray, np.ndarray], KernelOutputs],
    outputs: KernelOutputs,
    weights: np.ndarray,
    rebal: np.ndarray,
    data: MarketData,
    config: BacktestConfig,
) -> tuple[KernelOutputs, TradingStop | None]:
    """The kernel `outputs` of one portfolio with `config.max_consecutive_losses` applied
    (`engine.sim.overlays.stop_after_losses`; rerun(weights, rebalance) runs the same kernel again), and where
    trading stopped. Called only when the limit is set: a backtest or grid without it never gets here."""
    limit = config.max_consecutive_losses
    if limit is None:
        return outputs, None
    index = data.index
    trades = trades_frame(trade_records(outputs[7], outputs[6], len(index)), index, data.symbols)
    close = data.close.to_numpy(dtype="float64")
    return stop_after_losses(rerun, outputs, trades, weights, rebal, close, index, data.symbols, limit, config.fill)


def wrap_result(
    data: MarketData,
    strategy: Strategy | EventStrategy,
    config: BacktestConfig,
    benchmark_close: pd.Series | None,
    close: np.ndarray,
    equity: np.ndarray,
    cash: np.ndarray | Deferred,
    positions: np.ndarray | Deferred,
    weights: np.ndarray | Deferred,
    turnover: np.ndarray | None,
    gross: np.ndarray | None,
    last_close: np.ndarray,
    fills: np.ndarray,
    financing: np.ndarray | Deferred,
    *,
    stopped: TradingStop | None = None,
    exposure_sums: np.ndarray | None = None,
) -> BacktestResult:
    """The `BacktestResult` of a simulation's outputs (the kernel's, or an event run's in the same layout): metrics
    now; every pandas view (trades, fills, positions, benchmark, ...) on first access. cash, positions, weights
    and financing may be `Deferred` arrays (engine.sim.single builds them from its fill log when first read), and
    turnover and gross None where the simulator kept their `exposure_sums` (metric_columns) instead."""
    index, symbols = data.index, data.symbols
    records = trade_records(fills, last_close, len(index))
    if benchmark_close is not None:
        bench_symbol = str(benchmark_close.name or config.benchmark or "benchmark")
        bench_values = buy_and_hold_values(
            benchmark_close.reindex(index).to_numpy(dtype="float64"), config.initial_cash
        )
    else:
        choice = resolve_benchmark(config.benchmark, symbols)
        bench_symbol = benchmark_name(choice, symbols)
        bench_values = benchmark_curve(data, choice, config.initial_cash, close)
    bench_returns = np.empty_like(bench_values)
    bench_returns[0] = bench_values[0] / config.initial_cash - 1.0
    np.divide(bench_values[1:], bench_values[:-1], out=bench_returns[1:])
    bench_returns[1:] -= 1.0
    trade_pnl = {"pnl": records[:, 7], "return": records[:, 7] / records[:, 8]}
    _, columns = metrics_mod.metric_columns(
        equity,
        initial_cash=config.initial_cash,
        periods_per_year=config.periods_per_year,
        index=index,
        benchmark_returns=bench_returns,
        trades=trade_pnl,
        gross_exposure=gross,
        turnover=turnover,
        exposure_sums=exposure_sums,
    )
    metrics = {name: float(v[0]) for name, v in columns.items()}
    if financing_on(config):  # each financing line's total, its own metric (engine.metrics.registry)
        financing = _now(financing)
        totals = {name: metric(name).function(financing[:, i : i + 1]) for i, name in enumerate(FINANCING_COLUMNS)}
        metrics.update({name: float(v[0]) for name, v in totals.items()})

    def benchmark_metrics() -> dict[str, float]:
        _, cols = metrics_mod.metric_columns(
            bench_values,
            initial_cash=config.initial_cash,
            periods_per_year=config.periods_per_year,
            index=index,
            benchmark_returns=bench_returns,
        )
        return {name: float(v[0]) for name, v in cols.items()}

    def fills_frame() -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": index[fills[:, 0].astype(np.int64)],
                "symbol": np.array(symbols, dtype=object)[fills[:, 1].astype(np.int64)],
                "quantity": fills[:, 2],
                "price": fills[:, 3],
                "commission": fills[:, 4],
                "reason": np.array(REASONS, dtype=object)[fills[:, 5].astype(np.int64)],
            },
            columns=list(FILL_COLUMNS),
        )

    def returns() -> pd.Series:
        prev = np.concatenate(([config.initial_cash], equity[:-1]))
        return pd.Series(equity / prev - 1.0, index=index, name="returns")

    return BacktestResult(
        config=config,
        strategy=strategy.name,
        params=strategy.params_dict(),
        symbols=symbols,
        equity=pd.Series(equity, index=index, name="equity", copy=False),  # the simulator's own array: no copy
        returns=Deferred(returns),
        cash=Deferred(lambda: pd.Series(_now(cash), index=index, name="cash")),
        weights=Deferred(lambda: pd.DataFrame(_now(weights), index=index, columns=symbols)),
        positions=Deferred(lambda: pd.DataFrame(_now(positions), index=index, columns=symbols)),
        trades=Deferred(lambda: trades_frame(records, index, symbols)),
        fills=Deferred(fills_frame),
        metrics=metrics,
        benchmark=Deferred(lambda: pd.Series(bench_values, index=index, name=f"{SERIES_PREFIX}{bench_symbol}")),
        benchmark_metrics=Deferred(benchmark_metrics),
        stopped=stopped,
        financing=Deferred(lambda: pd.DataFrame(_now(financing), index=index, columns=list(FINANCING_COLUMNS))),
    )


def _now(value: np.ndarray | Deferred) -> np.ndarray:
    """An output array, computed now if it was handed over as a `Deferred`."""
    return value.make() if isinstance(value, Deferred) else value


def benchmark_values(data: MarketData, symbol: str, initial_cash: float, close: np.ndarray | None = None) -> np.ndarray:
    """Buy-and-hold equity of `symbol` (or EQUAL_WEIGHT of the data's symbols) as an array: initial cash until
    its first close, then cash x close / first close (held over bars without a close). `close`: the data's
    (bars, symbols) closes if at hand."""
    return benchmark_curve(data, symbol, initial_cash, close)


def benchmark_equity(data: MarketData, symbol: str, initial_cash: float) -> pd.Series:
    """`benchmark_values` as a Series on the data's index."""
    return pd.Series(benchmark_values(data, symbol, initial_cash), index=data.index, name=f"benchmark {symbol}")
