"""engine.metrics: hand-worked examples, the WORKLOADS rule-7 reference numbers, column-wise consistency,
edge cases and bad input. (Comparisons with empyrical / scipy / plain loops on random and real curves are in
test_metrics_reference.py.)"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.errors import ConfigError
from engine.metrics import (
    METRIC_NAMES,
    backtest_metrics,
    drawdown,
    metric_columns,
    metrics_table,
    returns_from_equity,
)

DATA = SAMPLE_DIR  # the bundled copy of the real daily CSVs


pytestmark = pytest.mark.usefixtures("home")  # a private workspace (tests/conftest.py)


# ---------------------------------------------------------------- hand-worked examples


def test_rule7_sharpe_and_drawdown_on_a_hand_built_curve():
    # Hand-worked: initial 100,000; e = 95,000, 98,000, 88,200, 97,020, 80,000.
    # r = -0.05, 98/95 - 1, -0.1, 0.1, 80,000/97,020 - 1.
    # Rule 7: the running max is over the curve (95k, 98k, 98k, 98k, 98k), NOT the 100k of initial cash,
    # so max DD = 80/98 - 1 = -0.18367... (it would be -0.2 if initial cash counted).
    e = [95_000.0, 98_000.0, 88_200.0, 97_020.0, 80_000.0]
    r = [-0.05, 98 / 95 - 1, -0.1, 0.1, 80_000 / 97_020 - 1]
    mean = sum(r) / 5
    std = math.sqrt(sum((x - mean) ** 2 for x in r) / 4)  # ddof = 1
    m = backtest_metrics(pd.Series(e), initial_cash=100_000.0)
    assert m["sharpe"] == pytest.approx(mean / std * math.sqrt(252), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(80 / 98 - 1, rel=1e-12)
    assert m["max_drawdown_duration"] == 3  # bars 2, 3, 4 below the 98k peak
    assert m["total_return"] == pytest.approx(-0.2, rel=1e-12)
    assert m["final_equity"] == 80_000.0
    assert m["best_day"] == pytest.approx(0.1) and m["worst_day"] == pytest.approx(80_000 / 97_020 - 1)
    # no timestamps: years = 5 bars / 252
    assert m["cagr"] == pytest.approx(0.8 ** (252 / 5) - 1, rel=1e-12)
    assert m["calmar"] == pytest.approx(m["cagr"] / (1 - 80 / 98), rel=1e-12)
    # VaR 5% of 5 returns: position 0.2 between the two lowest, -0.17543 and -0.1
    lo, nxt = 80_000 / 97_020 - 1, -0.1
    assert m["var_95"] == pytest.approx(lo + 0.2 * (nxt - lo), rel=1e-12)
    assert m["cvar_95"] == pytest.approx(lo, rel=1e-12)  # only the worst bar is at/below VaR
    # sortino: downside = sqrt((0.05^2 + 0.1^2 + lo^2) / 5)
    down = math.sqrt((0.05**2 + 0.1**2 + lo**2) / 5)
    assert m["sortino"] == pytest.approx(mean / down * math.sqrt(252), rel=1e-12)
    assert m["annual_volatility"] == pytest.approx(std * math.sqrt(252), rel=1e-12)


def test_returns_and_drawdown_helpers_by_hand():
    eq = np.array([[110.0, 100.0], [99.0, 100.0], [121.0, 50.0]])
    r = returns_from_equity(eq, np.array([100.0, 100.0]))
    np.testing.assert_allclose(r, [[0.1, 0.0], [-0.1, 0.0], [121 / 99 - 1, -0.5]], rtol=1e-15)
    np.testing.assert_allclose(returns_from_equity(eq[:, 0], 100.0), [0.1, -0.1, 121 / 99 - 1], rtol=1e-15)
    np.testing.assert_allclose(drawdown(eq), [[0.0, 0.0], [-0.1, 0.0], [0.0, -0.5]], rtol=1e-15)
    frame = pd.DataFrame(eq, columns=["a", "b"], index=pd.date_range("2024-01-01", periods=3))
    dd = drawdown(frame)
    assert isinstance(dd, pd.DataFrame) and list(dd.columns) == ["a", "b"] and dd.index.equals(frame.index)


def test_cvar_counts_every_return_tied_with_var():
    # hand-worked: 41 bars, one -10% bar, 40 flat bars. VaR position (41 - 1) x 0.05 = 2 -> the third
    # lowest return = 0, so every bar is "at or below VaR": CVaR = -0.1 / 41 (not the mean of 3 lowest).
    e = [100.0] * 20 + [90.0] * 21
    m = backtest_metrics(pd.Series(e), initial_cash=100.0)
    assert m["var_95"] == 0.0
    assert m["cvar_95"] == pytest.approx(-0.1 / 41, rel=1e-12)


def test_drawdown_duration_counts_an_unrecovered_drawdown_at_the_end():
    # hand-worked: a 2-bar dip that recovers, then a 4-bar dip still open at the last bar -> 4
    e = [100, 90, 95, 100, 101, 99, 98, 97, 100.5]
    assert backtest_metrics(pd.Series(e, dtype=float), initial_cash=100.0)["max_drawdown_duration"] == 4
    # equal to the previous peak counts as recovered: [100, 90, 100, 90] -> 1
    assert backtest_metrics(pd.Series([100.0, 90, 100, 90]), initial_cash=100.0)["max_drawdown_duration"] == 1


def test_cagr_uses_calendar_years_of_a_datetime_index():
    # hand-worked: 100k -> 121k over exactly 730.5 days = 2 years of 365.25 days -> 10% a year
    idx = pd.DatetimeIndex(
        ["2020-01-01 00:00", "2020-06-01", "2021-12-31 12:00"]
    )  # 2020 is a leap year: 366 + 364.5 days
    m = backtest_metrics(pd.Series([100_000.0, 90_000.0, 121_000.0], index=idx), initial_cash=100_000.0)
    assert m["cagr"] == pytest.approx(0.1, rel=1e-12)
    # the same numbers without timestamps: years = 3 bars / 252
    m2 = backtest_metrics(pd.Series([100_000.0, 90_000.0, 121_000.0]), initial_cash=100_000.0)
    assert m2["cagr"] == pytest.approx(1.21 ** (252 / 3) - 1, rel=1e-12)
    # an explicit index overrides (metrics_table)
    t = metrics_table(np.array([100_000.0, 90_000.0, 121_000.0]), initial_cash=100_000.0, index=idx)
    assert t.loc[0, "cagr"] == pytest.approx(0.1, rel=1e-12)


def test_trade_metrics_by_hand():
    # column 0: +100, -50, +30 -> win 2/3, PF 130/50, expectancy 80/3; column 1: no trades;
    # column 2: only winners -> PF inf; column 3: only losers -> PF 0, win rate 0
    trades = pd.DataFrame(
        {
            "column": [0, 0, 0, 2, 2, 3],
            "pnl": [100.0, -50.0, 30.0, 5.0, 7.0, -1.0],
            "return": [0.1, -0.05, 0.03, 0.01, 0.02, -0.001],
        }
    )
    eq = np.full((3, 4), 1000.0)
    t = metrics_table(eq, initial_cash=1000.0, trades=trades)
    assert t["n_trades"].tolist() == [3.0, 0.0, 2.0, 1.0]
    assert t.loc[0, "win_rate"] == pytest.approx(2 / 3)
    assert t.loc[0, "profit_factor"] == pytest.approx(130 / 50)
    assert t.loc[0, "expectancy"] == pytest.approx(80 / 3)
    assert t.loc[0, "avg_trade"] == pytest.approx(0.08 / 3)
    assert np.isnan(t.loc[1, ["win_rate", "profit_factor", "expectancy", "avg_trade"]].astype(float)).all()
    assert t.loc[2, "profit_factor"] == math.inf and t.loc[2, "win_rate"] == 1.0
    assert t.loc[3, "profit_factor"] == 0.0 and t.loc[3, "win_rate"] == 0.0
    # only break-even trades: no profit, no loss -> PF undefined
    even = pd.DataFrame({"pnl": [0.0, 0.0], "return": [0.0, 0.0]})
    assert math.isnan(backtest_metrics(pd.Series([1.0, 1.0]), initial_cash=1.0, trades=even)["profit_factor"])


def test_exposure_and_turnover_by_hand():
    gross = np.array([0.0, 1.0, 1.5, 0.0])
    turn = np.array([0.0, 1.0, 0.5, 1.5])
    m = backtest_metrics(
        pd.Series([100.0] * 4), initial_cash=100.0, gross_exposure=pd.Series(gross), turnover=pd.Series(turn)
    )
    assert m["exposure"] == 0.5  # 2 of 4 bars hold a position
    assert m["avg_gross_exposure"] == pytest.approx(2.5 / 4)
    assert m["turnover"] == pytest.approx(3.0 / 4 * 252)  # mean per-bar turnover x 252


def test_beta_alpha_by_hand():
    # r = 2 * rb + 0.001 exactly -> beta 2, alpha 0.001 x 252; the NaN benchmark bar is dropped
    rb = np.array([np.nan, 0.01, -0.02, 0.015, 0.0])
    r = np.array([0.5, 0.021, -0.039, 0.031, 0.001])  # bar 0 (r = 0.5) would wreck the fit if kept
    eq = 100.0 * np.cumprod(1 + r)
    m = metrics_table(eq, initial_cash=100.0, benchmark_returns=rb).iloc[0]
    assert m["beta"] == pytest.approx(2.0, rel=1e-9)
    assert m["alpha"] == pytest.approx(0.001 * 252, rel=1e-6)
    # a constant benchmark has no variance: beta and alpha undefined
    flat = metrics_table(eq, initial_cash=100.0, benchmark_returns=np.zeros(5)).iloc[0]
    assert math.isnan(flat["beta"]) and math.isnan(flat["alpha"])


# ---------------------------------------------------------------- WORKLOADS reference results (rule 7)


def _w1_equity(df: pd.DataFrame, fee: float, f: int = 10, s: int = 50) -> tuple[np.ndarray, int]:
    """Plain bar-by-bar loop of WORKLOADS rules 1-6 (test-only oracle)."""
    c, o = df["close"].to_numpy(), df["open"].to_numpy()
    fast = pd.Series(c).rolling(f).mean().to_numpy()
    slow = pd.Series(c).rolling(s).mean().to_numpy()
    cash, q, last, entries, pending, eq = 100_000.0, 0.0, 0, 0, None, []
    for t in range(len(c)):
        if pending == "buy":
            q, cash, entries = cash / (o[t] * (1 + fee)), 0.0, entries + 1
        elif pending == "sell":
            cash, q = q * o[t] * (1 - fee), 0.0
        pending = None
        if math.isnan(slow[t]) or abs(fast[t] - slow[t]) <= 1e-9 * abs(slow[t]):
            state = 0
        else:
            state = 1 if fast[t] > slow[t] else -1
        if state == 1 and last == -1 and q == 0:
            pending = "buy"
        elif state == -1 and last == 1 and q > 0:
            pending = "sell"
        if state:
            last = state
        eq.append(cash + q * c[t])
    return np.array(eq), entries


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    return pd.read_csv(DATA / "SPY.csv", index_col="date", parse_dates=True).astype("float64")


@pytest.mark.parametrize(
    "fee, final, total_pct, mdd_pct, sharpe",
    [
        (0.0, 839_252.60, 739.2526, -28.5814, 0.6091),  # W1
        (0.001, 682_329.15, 582.3292, -29.4939, 0.5555),  # W2
    ],
)
def test_workloads_w1_w2_reference_metrics(spy, fee, final, total_pct, mdd_pct, sharpe):
    eq, entries = _w1_equity(spy, fee)
    assert entries == 104
    m = backtest_metrics(pd.Series(eq, index=spy.index), initial_cash=100_000.0)
    assert m["final_equity"] == pytest.approx(final, abs=0.005)
    assert 100 * m["total_return"] == pytest.approx(total_pct, abs=5e-5)
    assert 100 * m["max_drawdown"] == pytest.approx(mdd_pct, abs=5e-5)
    assert m["sharpe"] == pytest.approx(sharpe, abs=5e-5)


def test_workloads_w3_grid_in_one_column_wise_call(spy):
    grid = [(f, s) for f in range(5, 55, 5) for s in range(20, 220, 20) if f < s]
    assert len(grid) == 90
    eq = np.column_stack([_w1_equity(spy, 0.0, f, s)[0] for f, s in grid])
    t = metrics_table(
        pd.DataFrame(eq, index=spy.index, columns=pd.MultiIndex.from_tuples(grid)), initial_cash=100_000.0
    )
    assert t.index.tolist() == grid  # rows labelled by the (fast, slow) columns
    assert t["total_return"].idxmax() == (45, 200)
    assert 100 * t["total_return"].max() == pytest.approx(2258.85, abs=0.005)
    assert t["sharpe"].idxmax() == (10, 200)
    assert t["sharpe"].max() == pytest.approx(0.8142, abs=5e-5)


# ---------------------------------------------------------------- column-wise == one call per column


def test_columns_equal_single_calls():
    rng = np.random.default_rng(11)
    n_bars, k = 300, 5
    idx = pd.bdate_range("2015-01-01", periods=n_bars)
    eq = np.cumprod(1 + rng.normal(0.0003, 0.012, (n_bars, k)), axis=0) * np.array([1e5, 2e5, 5e4, 1e6, 1e3])
    cash = np.array([1e5, 2e5, 5e4, 1e6, 1e3])
    bench = pd.Series(rng.normal(0.0002, 0.01, n_bars), index=idx)
    bench.iloc[:10] = np.nan
    trades = pd.DataFrame(
        {"column": rng.integers(0, k, 40), "pnl": rng.normal(0, 100, 40), "return": rng.normal(0, 0.02, 40)}
    )
    trades = trades[trades["column"] != 3]  # column 3 without trades
    gross = rng.random((n_bars, k)) * (rng.random((n_bars, k)) > 0.4)
    turn = rng.random((n_bars, k)) * (rng.random((n_bars, k)) > 0.9)
    frame = pd.DataFrame(eq, index=idx, columns=list("abcde"))
    table = metrics_table(
        frame, initial_cash=cash, benchmark_returns=bench, trades=trades, gross_exposure=gross, turnover=turn
    )
    assert list(table.index) == list("abcde") and list(table.columns) == list(METRIC_NAMES)
    assert (table.dtypes == np.float64).all()
    for j, name in enumerate(frame.columns):
        single = backtest_metrics(
            frame[name],
            initial_cash=float(cash[j]),
            benchmark_returns=bench,
            trades=trades[trades["column"] == j].drop(columns="column"),
            gross_exposure=pd.Series(gross[:, j]),
            turnover=pd.Series(turn[:, j]),
        )
        np.testing.assert_allclose(
            table.loc[name].to_numpy(dtype=float), [single[m] for m in METRIC_NAMES], rtol=1e-12, atol=1e-15
        )
    assert table.loc["d", "n_trades"] == 0 and math.isnan(table.loc["d", "win_rate"])


# ---------------------------------------------------------------- edge cases


def test_flat_curve_is_nan_where_undefined():
    m = backtest_metrics(pd.Series([1e5] * 50), initial_cash=1e5)
    assert m["total_return"] == 0 and m["cagr"] == 0 and m["annual_volatility"] == 0
    assert m["max_drawdown"] == 0 and m["max_drawdown_duration"] == 0
    assert m["var_95"] == 0 and m["cvar_95"] == 0 and m["best_day"] == 0
    for name in ("sharpe", "sortino", "calmar"):
        assert math.isnan(m[name]), name
    # inputs not given -> NaN
    for name in ("n_trades", "win_rate", "exposure", "turnover", "beta", "alpha"):
        assert math.isnan(m[name]), name


def test_one_bar_and_zero_bars_do_not_crash():
    one = backtest_metrics(
        pd.Series([110.0], index=pd.DatetimeIndex(["2024-01-02"])),
        initial_cash=100.0,
        benchmark_returns=pd.Series([0.01], index=pd.DatetimeIndex(["2024-01-02"])),
        trades=pd.DataFrame({"pnl": [10.0], "return": [0.1]}),
    )
    assert one["total_return"] == pytest.approx(0.1) and one["max_drawdown"] == 0
    assert one["n_trades"] == 1 and one["best_day"] == pytest.approx(0.1)
    for name in ("sharpe", "annual_volatility", "cagr", "beta", "alpha"):  # cagr: 0 calendar days
        assert math.isnan(one[name]), name
    assert math.isnan(one["sortino"])  # no downside bar
    one_plain = backtest_metrics(pd.Series([110.0]), initial_cash=100.0)
    assert one_plain["cagr"] == pytest.approx(1.1**252 - 1)  # years = 1/252
    empty = metrics_table(
        np.empty((0, 3)),
        initial_cash=100.0,
        trades=pd.DataFrame(
            {
                "column": pd.Series([], dtype=int),
                "pnl": pd.Series([], dtype=float),
                "return": pd.Series([], dtype=float),
            }
        ),
        gross_exposure=np.empty((0, 3)),
    )
    assert empty.shape == (3, len(METRIC_NAMES))
    assert empty["n_trades"].tolist() == [0.0, 0.0, 0.0]
    assert empty.drop(columns="n_trades").isna().all().all()
    no_cols = metrics_table(np.empty((10, 0)), initial_cash=100.0)
    assert no_cols.shape == (0, len(METRIC_NAMES))


def test_blown_up_account():
    m = backtest_metrics(pd.Series([50.0, 0.0]), initial_cash=100.0)
    assert m["total_return"] == -1.0 and m["cagr"] == -1.0 and m["max_drawdown"] == -1.0


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(equity=np.array([[1.0, 2.0], [np.nan, 2.0]])), r"equity: nan at row 1.*column 0"),
        (dict(equity=np.ones((2, 2, 2))), r"equity: expected a \(bars, columns\)"),
        (dict(equity=np.array([["a"], ["b"]])), r"equity: not numeric"),
        (dict(initial_cash=np.array([1.0, 2.0, 3.0])), r"initial_cash: expected a number or 2 values"),
        (dict(initial_cash=np.array([1.0, -5.0])), r"initial_cash: -5.0 \(column 1\) must be a positive"),
        (dict(periods_per_year=0), r"periods_per_year: 0 must be a positive"),
        (dict(risk_free=float("nan")), r"risk_free: nan"),
        (dict(index=pd.RangeIndex(5)), r"index: 5 timestamps for 3 equity bars"),
        (dict(benchmark_returns=np.zeros(4)), r"benchmark_returns: 4 values for 3 equity bars"),
        (dict(gross_exposure=np.zeros((3, 3))), r"gross_exposure: expected shape \(3, 2\)"),
        (dict(turnover=np.array([[0.0, 0.0], [np.inf, 0.0], [0.0, 0.0]])), r"turnover: inf at row 1, column 0"),
        (dict(trades=pd.DataFrame({"pnl": [1.0], "return": [0.1]})), r"trades: missing column 'column'"),
        (dict(trades=pd.DataFrame({"column": [0], "return": [0.1]})), r"trades: missing column 'pnl'"),
        (
            dict(trades=pd.DataFrame({"column": [0, 2], "pnl": [1.0, 1.0], "return": [0.1, 0.1]})),
            r"trades: row 1 has column=2.*0\.\.1",
        ),
        (
            dict(trades=pd.DataFrame({"column": [0, 1], "pnl": [1.0, np.nan], "return": [0.1, 0.1]})),
            r"trades: row 1 has pnl=nan",
        ),
        (dict(trades=[1, 2]), r"trades: expected a DataFrame"),
    ],
)
def test_bad_input_raises_config_error_naming_the_field(kwargs, message):
    args = dict(equity=np.array([[100.0, 100.0], [101.0, 99.0], [102.0, 98.0]]), initial_cash=100.0)
    args.update(kwargs)
    equity = args.pop("equity")
    with pytest.raises(ConfigError, match=message):
        metrics_table(equity, **args)


def test_nan_equity_error_names_the_timestamp():
    idx = pd.date_range("2024-01-01", periods=3)
    with pytest.raises(ConfigError, match=r"row 2 \(2024-01-03 00:00:00\)"):
        backtest_metrics(pd.Series([1.0, 2.0, np.nan], index=idx), initial_cash=1.0)


NOT_ANNUALIZED = [
    "final_equity",
    "max_drawdown",
    "max_drawdown_duration",
    "win_rate",
    "profit_factor",
    "expectancy",
    "avg_trade",
    "n_trades",
    "exposure",
    "avg_gross_exposure",
    "total_return",
    "value_at_risk",
    "conditional_value_at_risk",
]
ANNUAL = ["cagr", "annual_volatility", "sharpe", "sortino", "calmar", "annual_turnover"]
PER_BAR = ["best_day", "worst_day"]


def test_every_metric_docstring_states_its_annualization() -> None:
    from engine.metrics import activity, curve

    docs = {
        name: (getattr(curve, name, None) or getattr(activity, name)).__doc__ or ""
        for name in NOT_ANNUALIZED + ANNUAL + PER_BAR
    }
    assert [n for n in NOT_ANNUALIZED if "not annualized" not in docs[n].lower()] == []
    assert [n for n in ANNUAL if "annual" not in docs[n].lower()] == []
    assert [n for n in PER_BAR if "per bar" not in docs[n].lower()] == []


def test_single_column_trade_sums_equal_the_bincount_path_bit_for_bit() -> None:
    """One backtest sums its trades directly; a grid column gets np.bincount's sums: the same numbers to the
    last bit (a single run and a grid cell of the same parameters must agree exactly)."""
    from engine.metrics import activity

    rng = np.random.default_rng(7)
    pnl = rng.normal(0.0, 1_000.0, 997) * rng.random(997) ** 3
    pnl[::50] = 0.0  # neither a win nor a loss
    ret = pnl / 10_000.0
    one = activity.trade_sums(np.zeros(len(pnl), dtype=np.int64), pnl, ret, 1)
    two = activity.trade_sums(np.zeros(len(pnl), dtype=np.int64), pnl, ret, 2)  # column 1 stays empty
    for field in ("count", "wins", "gross_profit", "gross_loss", "pnl", "returns"):
        assert getattr(one, field).tolist() == getattr(two, field)[:1].tolist(), field
    empty = activity.trade_sums(np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0), 1)
    assert (empty.count[0], empty.pnl[0], empty.gross_loss[0]) == (0.0, 0.0, 0.0)


def test_exposure_sums_give_the_exposure_metrics_of_the_per_bar_arrays() -> None:
    """A simulator that sums gross exposure and turnover as it goes (the single-series path) hands metric_columns
    the sums: the same exposure, average gross exposure and turnover as the per-bar arrays (sums taken here in
    time order, by hand); giving both, or sums of the wrong shape, is one clear error."""
    rng = np.random.default_rng(5)
    n, k = 500, 2
    equity = 1000.0 * np.cumprod(1.0 + rng.normal(0, 0.01, (n, k)), axis=0)
    gross = rng.uniform(0, 1.2, (n, k)) * (rng.uniform(size=(n, k)) > 0.4)
    turnover = rng.uniform(0, 0.2, (n, k))
    sums = np.array(
        [[float((gross[:, c] > 0).sum()), math.fsum(gross[:, c]), math.fsum(turnover[:, c])] for c in range(k)]
    )
    _, from_arrays = metric_columns(equity, initial_cash=1000.0, gross_exposure=gross, turnover=turnover)
    _, from_sums = metric_columns(equity, initial_cash=1000.0, exposure_sums=sums)
    for name in ("exposure", "avg_gross_exposure", "turnover"):
        np.testing.assert_allclose(from_sums[name], from_arrays[name], rtol=1e-12, err_msg=name)
    assert from_sums["exposure"][0] == (gross[:, 0] > 0).mean()
    with pytest.raises(ConfigError, match="either the sums or gross_exposure"):
        metric_columns(equity, initial_cash=1000.0, gross_exposure=gross, exposure_sums=sums)
    with pytest.raises(ConfigError, match=r"exposure_sums: expected shape \(2, 3\)"):
        metric_columns(equity, initial_cash=1000.0, exposure_sums=sums[:1])
