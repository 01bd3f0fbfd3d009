"""The interpreted tier's numpy twins (engine.metrics.fused_numpy, crossover's `_cross_positions_numpy`) give the
compiled kernels' numbers bit for bit: on every bundled symbol's backtest curve and on cases built to break an
order-dependent sum, an off-by-one drawdown duration, a VaR tie or a crossover tie."""

from __future__ import annotations

import numpy as np
import pytest

from engine import jit
from engine.config import BacktestConfig
from engine.data import SAMPLE_DIR, load_market_data
from engine.metrics import fused
from engine.sim import benchmark
from engine.sim.simulate import run_backtest
from engine.strategies import crossover
from engine.strategies.common import TIE_REL
from engine.strategies.registry import create_strategy

pytestmark = pytest.mark.usefixtures("home")

SYMBOLS = sorted(p.stem.upper() for p in SAMPLE_DIR.glob("*.csv"))


def _both_tiers(kernel, *args):
    """(compiled, interpreted) answers of a kernel on the same arguments."""
    twin = jit.interpreted(kernel)
    assert twin is not jit.as_kernel(kernel).py_func  # a numpy twin is registered
    return jit.as_kernel(kernel).compiled()(*args), twin(*args)


def _metrics_both(
    values: np.ndarray, bench: np.ndarray, gross: np.ndarray | None = None, cash: float = 1000.0, own: bool = False
):
    """(compiled, twin) metrics; own: one column given bs None (it takes the benchmark's sums in its own reads)."""
    values = np.ascontiguousarray(values.reshape(len(values), -1), dtype=np.float64)
    k = values.shape[1]
    gross = np.empty((0, 0)) if gross is None else np.ascontiguousarray(gross.reshape(len(values), -1))
    turnover = np.abs(gross) / 10.0 if gross.size else np.empty((0, 0))
    bs_c, bs_t = _both_tiers(fused.bench_stats, bench)
    np.testing.assert_array_equal(bs_t, bs_c)
    rf_bar = 1.02 ** (1 / 252) - 1
    bs = None if own else bs_c
    args = (values, np.full(k, cash), 252.0, rf_bar, len(values) / 252.0, bench, bs, gross, turnover, 0.95)
    return _both_tiers(fused._serial, *args)


def _assert_same(compiled: np.ndarray, twin: np.ndarray, what: str = "") -> None:
    assert twin.shape == compiled.shape
    for slot, name in enumerate(fused.FUSED_NAMES):
        np.testing.assert_array_equal(twin[:, slot], compiled[:, slot], err_msg=f"{what} {name}")  # NaN where NaN


@pytest.fixture(scope="module")
def curves() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every bundled symbol's sma_cross equity and benchmark returns (the compiled run's)."""
    out = {}
    for symbol in SYMBOLS:
        result = run_backtest(load_market_data([symbol]), create_strategy("sma_cross"), BacktestConfig())
        equity = result.equity.to_numpy()
        bench = result.benchmark.to_numpy()
        out[symbol] = (equity, bench / np.r_[BacktestConfig().initial_cash, bench[:-1]] - 1.0)
    assert len(out) == 36
    return out


def test_metrics_twin_equals_compiled_on_every_bundled_symbol(curves) -> None:
    for symbol, (equity, bench) in curves.items():
        gross = (np.arange(len(equity)) % 7 > 2) * 0.9
        _assert_same(*_metrics_both(equity, bench, gross, cash=BacktestConfig().initial_cash), symbol)
        _assert_same(*_metrics_both(equity, np.empty(0), cash=BacktestConfig().initial_cash), f"{symbol} alone")


def test_one_column_taking_the_benchmark_sums_itself_equals_bench_stats_given(curves) -> None:
    """A single column gets bs None and sums the benchmark in its own reads of it (one pass less): the same
    numbers, bit for bit, as with bench_stats computed apart, in both tiers, on every bundled symbol."""
    cash = BacktestConfig().initial_cash
    for symbol, (equity, bench) in curves.items():
        given_c, given_t = _metrics_both(equity, bench, cash=cash)
        own_c, own_t = _metrics_both(equity, bench, cash=cash, own=True)
        _assert_same(given_c, own_c, f"{symbol} compiled")
        _assert_same(given_t, own_t, f"{symbol} twin")
        assert np.isfinite(own_c[0, fused.FUSED_NAMES.index("beta")])  # the benchmark metrics are really there


@pytest.mark.parametrize("n", [1, 2, 3, 250, 2047, 2048, 40_000])
@pytest.mark.parametrize("shape", ["walk", "ties", "flat_start", "deep_drawdown", "nan_bench_head"])
def test_metrics_twin_equals_compiled_on_built_cases(n: int, shape: str) -> None:
    rng = np.random.default_rng(n)
    r = rng.normal(0.0003, 0.012, (n, 3))
    if shape == "ties":
        r = np.round(r, 3)  # repeated returns (VaR inside a run of ties) and repeated equal peaks
    if shape == "flat_start":
        r[: n // 2] = 0.0
    if shape == "deep_drawdown":
        r[n // 3 : n // 3 + max(1, n // 5)] = -0.05
    equity = 1000.0 * np.cumprod(1.0 + r, axis=0)
    bench = rng.normal(0.0, 0.01, n)
    if shape == "nan_bench_head":
        bench[: max(1, n // 4)] = np.nan
    _assert_same(*_metrics_both(equity, bench, rng.uniform(0, 1.2, (n, 3)) * (rng.uniform(size=(n, 3)) > 0.4)))
    given, own = _metrics_both(equity[:, :1], bench)[0], _metrics_both(equity[:, :1], bench, own=True)
    _assert_same(given, own[0], "one column, bs None")  # the benchmark summed in the column's own reads
    _assert_same(*own, "one column, bs None, both tiers")


def test_metrics_twin_survives_equity_at_zero() -> None:
    """A curve that ends wiped out (0 equity on the last bar: return -100 %, drawdown -100 %): the same numbers.
    (A curve that stays at 0 has no return, 0 / 0; the metric table refuses it before any kernel runs.)"""
    for equity in (np.array([1000.0, 500.0, 0.0]), np.array([1000.0, 1200.0, 600.0, 0.0])):
        _assert_same(*_metrics_both(equity, np.full(len(equity), 0.001)))


def _positions_both(fast, slow, allow_short, scale):
    args = (np.ascontiguousarray(fast), np.ascontiguousarray(slow), TIE_REL, allow_short, scale)
    return _both_tiers(crossover.cross_positions, *args)


@pytest.mark.parametrize("allow_short, scale", [(False, 1.0), (True, 1.0), (True, 0.35), (False, 2.5)])
def test_cross_positions_twin_equals_compiled(allow_short: bool, scale: float) -> None:
    rng = np.random.default_rng(11)
    n = 5000
    slow = 100 + np.cumsum(rng.normal(0, 1, n))
    fast = slow + rng.normal(0, 2, n)
    fast[:40], slow[:80] = np.nan, np.nan  # undefined heads
    ties = rng.uniform(size=n) < 0.05
    fast[ties] = slow[ties]  # exact ties: state 0
    near = rng.uniform(size=n) < 0.05
    fast[near] = slow[near] * (1 + TIE_REL / 2)  # inside the tie tolerance: state 0
    compiled, twin = _positions_both(fast, slow, allow_short, scale)
    np.testing.assert_array_equal(twin, compiled)
    assert len(np.unique(compiled)) >= 2  # positions really change


def test_cross_positions_twin_equals_compiled_on_bundled_averages() -> None:
    for symbol in SYMBOLS[::5]:
        close = load_market_data([symbol]).close.to_numpy()[:, 0]
        close = np.ascontiguousarray(close[~np.isnan(close)])
        for fast, slow in ((10, 50), (5, 200)):
            pair = crossover.SmaCross.average(close, fast), crossover.SmaCross.average(close, slow)
            for allow_short in (False, True):
                compiled, twin = _positions_both(*pair, allow_short, 1.0)
                np.testing.assert_array_equal(twin, compiled, err_msg=f"{symbol} {fast}/{slow}")


def test_cross_positions_twin_on_tiny_inputs() -> None:
    for n in (0, 1, 2):
        compiled, twin = _positions_both(np.arange(n, dtype=float), np.ones(n), True, 1.0)
        np.testing.assert_array_equal(twin, compiled)


def test_buy_and_hold_twin_equals_compiled_and_the_formula() -> None:
    """The benchmark's one-pass buy-and-hold curve: compiled and numpy twin equal bit for bit, equal to
    cash * close / first close; a missing close makes it say so (the caller then forward-fills)."""
    close = load_market_data(["SPY"]).close.to_numpy()[:, 0].copy()
    compiled, twin = _both_tiers(benchmark.held_from_first, close, 1000.0)
    np.testing.assert_array_equal(compiled[0], twin[0])
    assert not compiled[1] and not twin[1]  # no close missing
    np.testing.assert_array_equal(compiled[0], 1000.0 * close / close[0])
    gap = close.copy()
    gap[100] = np.nan
    assert _both_tiers(benchmark.held_from_first, gap, 1000.0)[0][1]
    held = benchmark.buy_and_hold_values(gap, 1000.0)  # the forward-filled path
    assert held[100] == held[99] == 1000.0 * close[99] / close[0]
