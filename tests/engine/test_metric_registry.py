"""The metric registry: every metric defined once, with one implementation, equal on the single-backtest path and
the grid path for every built-in strategy, and the benchmark metrics checked against empyrical or a hand formula."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig, Costs
from engine.data import load_market_data
from engine.errors import ConfigError
from engine.metrics import backtest_metrics, curve, registry
from engine.metrics.activity import trade_sums
from engine.metrics.fused import FUSED_NAMES
from engine.metrics.registry import KEYS, METRICS, Inputs, format_value, metric
from engine.sim.grid import run_grid
from engine.sim.simulate import run_backtest
from engine.strategies.registry import get_strategy, list_strategies

ROOT = Path(__file__).resolve().parents[2]
P = 252.0


# --- the registry itself ---------------------------------------------------------------------------------------


def test_every_metric_has_an_implementation_whose_docstring_states_its_annualization() -> None:
    assert len(set(KEYS)) == len(METRICS)
    for m in METRICS:
        assert callable(m.function), m.key
        doc = (m.function.__doc__ or "").lower()
        assert "annual" in doc or "per bar" in doc, f"{m.key}: {m.function.__name__} does not state annualization"
        assert m.annualized == ("not annualized" not in m.annualization), m.key
        assert m.label and m.unit and m.fmt in ("percent", "ratio", "currency", "count", "bars"), m.key


def test_fused_kernel_slots_are_registered_metrics() -> None:
    assert [k for k in FUSED_NAMES if k not in KEYS] == []
    assert len(set(FUSED_NAMES)) == len(FUSED_NAMES)


def test_unknown_metric_names_it_and_the_known_keys() -> None:
    with pytest.raises(ConfigError, match=r"unknown metric 'sharp'; expected one of \['final_equity', .*'sharpe'"):
        metric("sharp")


def test_format_value_by_unit() -> None:
    assert format_value("total_return", 0.12345) == "12.35%"
    assert format_value("sharpe", 1.23456) == "1.235"
    assert format_value("sharpe", 1.23456, ratio_digits=4) == "1.2346"
    assert format_value("final_equity", 1234567.891) == "1,234,567.89"
    assert format_value("n_trades", 12.0) == "12"
    assert format_value("max_drawdown_duration", 1234.0) == "1,234"
    assert format_value("profit_factor", math.inf) == "inf"
    assert format_value("cagr", math.nan) == "n/a" and format_value("cagr", None, missing="-") == "-"
    assert format_value("not_a_metric", 0.5) == "0.500"  # a derived number: shown as a ratio


def test_objectives_carry_their_direction() -> None:
    directions = dict(registry.objectives())
    assert directions["sharpe"] is True and directions["max_drawdown"] is True  # -10% is better than -30%
    assert not metric("annual_volatility").higher_is_better and not metric("down_capture").higher_is_better


# --- the new benchmark metrics against independent calculations -----------------------------------------------


@pytest.fixture(scope="module")
def paired() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    r = rng.normal(0.0006, 0.012, (750, 3))
    rb = rng.normal(0.0003, 0.01, 750)
    r[:, 1] = 1.3 * rb + rng.normal(0.0, 0.004, 750)  # a high-beta curve
    return r, rb


def test_information_ratio_and_tracking_error(paired) -> None:
    r, rb = paired
    inputs = _inputs_from_returns(r, rb)
    ir = metric("information_ratio").compute(inputs)
    te = metric("tracking_error").compute(inputs)
    for j in range(r.shape[1]):
        active = [r[t, j] - rb[t] for t in range(len(rb))]
        mean = sum(active) / len(active)
        sd = math.sqrt(sum((a - mean) ** 2 for a in active) / (len(active) - 1))
        assert te[j] == pytest.approx(sd * math.sqrt(P), rel=1e-12)
        assert ir[j] == pytest.approx(mean / sd * math.sqrt(P), rel=1e-10)
        assert ir[j] == pytest.approx(empyrical.excess_sharpe(r[:, j], rb) * math.sqrt(P), rel=1e-10)


def test_up_and_down_capture_match_empyrical(paired) -> None:
    r, rb = paired
    inputs = _inputs_from_returns(r, rb)
    up, down = metric("up_capture").compute(inputs), metric("down_capture").compute(inputs)
    for j in range(r.shape[1]):
        assert up[j] == pytest.approx(empyrical.up_capture(r[:, j], rb, period="daily"), rel=1e-10)
        assert down[j] == pytest.approx(empyrical.down_capture(r[:, j], rb, period="daily"), rel=1e-10)
    # by hand on 4 bars: benchmark up on bars 0 and 2, down on 1 and 3
    rs, bs = np.array([[0.02], [-0.01], [0.03], [0.0]]), np.array([0.01, -0.02, 0.02, -0.01])
    hand = _inputs_from_returns(rs, bs)
    up_hand = ((1.02 * 1.03) ** (P / 2) - 1) / ((1.01 * 1.02) ** (P / 2) - 1)
    down_hand = ((0.99 * 1.0) ** (P / 2) - 1) / ((0.98 * 0.99) ** (P / 2) - 1)
    assert metric("up_capture").compute(hand)[0] == pytest.approx(up_hand, rel=1e-12)
    assert metric("down_capture").compute(hand)[0] == pytest.approx(down_hand, rel=1e-12)


def test_new_metrics_drop_bars_without_a_benchmark_and_are_undefined_against_itself() -> None:
    rng = np.random.default_rng(3)
    rb = rng.normal(0.0, 0.01, 300)
    r = rng.normal(0.0005, 0.01, (300, 1))
    gap = rb.copy()
    gap[:40] = np.nan
    with_gap = _inputs_from_returns(r, gap)
    without = _inputs_from_returns(r[40:], rb[40:])
    for key in ("tracking_error", "information_ratio", "up_capture", "down_capture"):
        assert metric(key).compute(with_gap)[0] == pytest.approx(metric(key).compute(without)[0], rel=1e-12), key
    bench_equity = 1000.0 * np.cumprod(1 + rb)[:, None]  # the benchmark's own curve against its returns
    own = Inputs(
        bench_equity,
        np.array([1000.0]),
        P,
        300 / P,
        benchmark_returns=curve.returns_from_equity(bench_equity, 1000.0)[:, 0],
    )
    assert metric("tracking_error").compute(own)[0] == 0.0
    assert np.isnan(metric("information_ratio").compute(own)[0])
    assert metric("up_capture").compute(own)[0] == pytest.approx(1.0, rel=1e-12)


def test_beta_alpha_and_calmar_against_empyrical(paired) -> None:
    r, rb = paired
    r = r.copy()
    r[0, 1] = abs(r[0, 1])
    cash = 1000.0
    equity = cash * np.cumprod(1 + r, axis=0)
    table = backtest_metrics(pd.Series(equity[:, 1]), initial_cash=cash, benchmark_returns=rb)
    eb, ea = empyrical.beta(r[:, 1], rb), empyrical.alpha(r[:, 1], rb, annualization=P)
    assert table["beta"] == pytest.approx(eb, rel=1e-10)
    # empyrical compounds the per-bar alpha, (1 + a) ** P - 1; ours annualizes arithmetically, a x P
    assert (1 + table["alpha"] / P) ** P - 1 == pytest.approx(ea, rel=1e-9)
    # Calmar: empyrical's drawdown also counts from the starting value and its years are bars / P; on an integer
    # index ours are too, and a first bar above the start makes the two drawdowns the same
    assert table["calmar"] == pytest.approx(empyrical.calmar_ratio(r[:, 1], annualization=P), rel=1e-10)


def _inputs_from_returns(r: np.ndarray, rb: np.ndarray) -> Inputs:
    equity = 1000.0 * np.cumprod(1 + r, axis=0)
    return Inputs(equity, np.full(r.shape[1], 1000.0), P, len(r) / P, benchmark_returns=rb)


# --- one arithmetic: every metric equal on both paths for every built-in strategy ------------------------------


@pytest.fixture(scope="module")
def sample() -> object:
    return load_market_data(["SPY", "TLT", "GLD"], start="2012-01-01")


@pytest.mark.parametrize("name", sorted(list_strategies()))
def test_every_metric_equal_on_the_pure_fused_and_grid_paths(name: str, sample) -> None:
    """For each built-in strategy: the single backtest's metrics (compiled pass + trade sums) equal the
    registry's pure functions over the backtest's own outputs, and the grid column of the same parameters
    equals the single backtest, for every registered metric, to 1e-9 relative."""
    cls = get_strategy(name)
    config = BacktestConfig(costs=Costs(commission_bps=5, slippage_bps=2))
    single = run_backtest(sample, cls({}), config)
    pure = _pure_metrics(single, sample, config)
    grid = run_grid(sample, cls, [{}], config, workers=1).metrics.iloc[0]
    assert list(single.metrics) == list(KEYS)
    for key in KEYS:
        got = single.metrics[key]
        for other, path in ((pure[key], "pure"), (float(grid[key]), "grid")):
            assert (np.isnan(got) and np.isnan(other)) or got == pytest.approx(other, rel=1e-9, abs=1e-12), (
                f"{name} {key} ({path})"
            )


def _pure_metrics(result, data, config: BacktestConfig) -> dict[str, float]:
    """Every metric from the registry's pure functions, with gross exposure and turnover rebuilt from the
    positions and fills (sum |units x last close| / |equity|, sum |fill qty x price| / |equity| per bar)."""
    equity = result.equity.to_numpy()
    close = data.field("close").ffill().to_numpy()
    positions = result.positions.to_numpy()
    gross = np.abs(np.where(positions != 0.0, positions * close, 0.0)).sum(axis=1) / np.abs(equity)
    traded = np.zeros(len(equity))
    fills = result.fills
    bar = data.index.get_indexer(pd.DatetimeIndex(fills["time"]))
    np.add.at(traded, bar, np.abs(fills["quantity"].to_numpy() * fills["price"].to_numpy()))
    bench = result.benchmark.to_numpy()
    bench_returns = curve.returns_from_equity(bench, config.initial_cash)
    trades = result.trades
    sums = trade_sums(np.zeros(len(trades), dtype=np.int64), trades["pnl"].to_numpy(), trades["return"].to_numpy(), 1)
    cash = np.array([config.initial_cash])
    years = curve.years_spanned(len(equity), config.periods_per_year, data.index)
    inputs = Inputs(
        equity[:, None],
        cash,
        config.periods_per_year,
        years,
        benchmark_returns=bench_returns,
        trades=sums,
        gross_exposure=gross[:, None],
        turnover=(traded / np.abs(equity))[:, None],
    )
    return {m.key: float(m.compute(inputs)[0]) for m in METRICS}


# --- no metric defined outside the registry ----------------------------------------------------------------------

SCANNED = ("engine", "ui", "pages", "brokers")
#: The compiled kernel's output slots: its own layout, held to the registry by the tests above.
EXEMPT = {"engine/metrics/registry.py", "engine/metrics/fused.py"}


def _metric_literals(path: Path) -> list[str]:
    names = set(KEYS) | {m.label for m in METRICS}
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [k for k in node.keys if k is not None]
        else:
            continue
        strings = [e.value for e in items if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        hits = {v for v in strings if v in names}
        # 3+ metric names making up at least half the literal: a list of metrics (a table of check thresholds
        # that names a few metrics among other checks is not)
        if len(hits) >= 3 and 2 * len(hits) >= len(strings):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {sorted(hits)}")
    return found


def test_no_list_of_metrics_outside_the_registry() -> None:
    """A tuple/list/set/dict literal made of 3+ registered metrics (keys or labels) is a second metric list:
    it belongs in engine/metrics/registry.py (a named selection there) or should be derived from it."""
    files = [p for d in SCANNED for p in sorted((ROOT / d).rglob("*.py"))]
    found = [hit for p in files if str(p.relative_to(ROOT)) not in EXEMPT for hit in _metric_literals(p)]
    assert found == []
