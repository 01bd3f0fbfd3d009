"""Every metric of engine.metrics against an independent implementation.

References used (named again at each check):
- empyrical-reloaded (the quantopian/pyfolio metric library), where its definition matches ours;
- scipy.stats.linregress for beta / alpha (OLS slope and intercept);
- plain-Python loops over lists (the `ref_*` helpers below), written from the definitions in the task,
  for the metrics whose definition differs from empyrical's (drawdown with the running max over the curve
  only, drawdown duration, calendar-year CAGR, CVaR with ties, trade and exposure statistics).
Data: random curves (hypothesis, and seeded numpy) and a real curve, buy-and-hold of SPY's close.
"""

from __future__ import annotations

import math
import statistics

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from engine.data import SAMPLE_DIR
from engine.metrics import backtest_metrics, drawdown, metrics_table, returns_from_equity

DATA = SAMPLE_DIR  # the bundled copy of the real daily CSVs
P = 252.0


pytestmark = pytest.mark.usefixtures("home")  # a private workspace (tests/conftest.py)


# ---------------------------------------------------------------- plain-Python references (from the definitions)


def ref_returns(equity: list[float], initial: float) -> list[float]:
    out, prev = [], initial
    for e in equity:
        out.append(e / prev - 1.0)
        prev = e
    return out


def ref_max_drawdown(equity: list[float]) -> float:
    peak, worst = equity[0], 0.0
    for e in equity:
        peak = max(peak, e)
        worst = min(worst, e / peak - 1.0)
    return worst


def ref_drawdown_duration(equity: list[float]) -> int:
    peak, run, longest = equity[0], 0, 0
    for e in equity:
        if e >= peak:
            peak, run = e, 0
        else:
            run += 1
            longest = max(longest, run)
    return longest


def ref_quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (Hyndman-Fan type 7, numpy's default)."""
    s = sorted(values)
    h = (len(s) - 1) * q
    lo = math.floor(h)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (h - lo) * (s[hi] - s[lo])


def ref_cvar(values: list[float], q: float) -> float:
    var = ref_quantile(values, q)
    tail = [v for v in values if v <= var]
    return sum(tail) / len(tail)


def ref_sortino(r: list[float]) -> float:
    down = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    # documented rule: a downside deviation below 1e-12 x the largest |return| is rounding noise -> NaN
    return statistics.fmean(r) / down * math.sqrt(P) if down > 1e-12 * max(map(abs, r)) else math.nan


def ref_trade_stats(pnl: list[float], ret: list[float]) -> dict[str, float]:
    n = len(pnl)
    if n == 0:
        return dict(n_trades=0.0, win_rate=math.nan, profit_factor=math.nan, expectancy=math.nan, avg_trade=math.nan)
    profit = sum(p for p in pnl if p > 0)
    loss = -sum(p for p in pnl if p < 0)
    pf = profit / loss if loss > 0 else (math.inf if profit > 0 else math.nan)
    return dict(
        n_trades=float(n),
        win_rate=sum(1 for p in pnl if p > 0) / n,
        profit_factor=pf,
        expectancy=sum(pnl) / n,
        avg_trade=sum(ret) / n,
    )


def close(a: float, b: float, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


# ---------------------------------------------------------------- random curves (hypothesis)

bar_returns = st.one_of(st.just(0.0), st.floats(-0.3, 0.3, allow_nan=False, allow_subnormal=False))


@st.composite
def curves(draw):
    n_bars = draw(st.integers(2, 60))
    k = draw(st.integers(1, 4))
    cash = draw(st.floats(1_000.0, 1e7))
    cols = []
    for _ in range(k):
        r = draw(st.lists(bar_returns, min_size=n_bars, max_size=n_bars))
        e, cur = [], cash
        for x in r:
            cur *= 1.0 + x
            e.append(cur)
        cols.append(e)
    return cash, np.array(cols, dtype=np.float64).T


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(curves())
def test_curve_metrics_match_plain_python_loops(data):
    cash, equity = data
    table = metrics_table(equity, initial_cash=cash)
    for j in range(equity.shape[1]):
        e = equity[:, j].tolist()
        r = ref_returns(e, cash)
        row = table.iloc[j]
        std = statistics.stdev(r)
        flat = std <= 1e-12 * max(abs(x) for x in r)
        expected = {
            "final_equity": e[-1],
            "total_return": e[-1] / cash - 1.0,
            "cagr": (e[-1] / cash) ** (P / len(e)) - 1.0,  # no timestamps: years = T / P
            "annual_volatility": std * math.sqrt(P),
            "sharpe": math.nan if flat else statistics.fmean(r) / std * math.sqrt(P),
            "sortino": ref_sortino(r),
            "max_drawdown": ref_max_drawdown(e),
            "max_drawdown_duration": float(ref_drawdown_duration(e)),
            "best_day": max(r),
            "worst_day": min(r),
            "var_95": ref_quantile(r, 0.05),
            "cvar_95": ref_cvar(r, 0.05),
        }
        mdd = expected["max_drawdown"]
        expected["calmar"] = expected["cagr"] / abs(mdd) if mdd < 0 else math.nan
        for name, want in expected.items():
            # sums of many returns lose a few ulps relative to the spread when a curve is almost flat
            assert close(float(row[name]), want, rel=1e-8, abs_=1e-10), (name, j, row[name], want)


@settings(max_examples=100, deadline=None)
@given(curves(), st.integers(0, 2**32 - 1))
def test_trade_and_exposure_metrics_match_plain_python_loops(data, seed):
    cash, equity = data
    n_bars, k = equity.shape
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 4 * k + 1))
    pnl = rng.choice([-50.0, 0.0, 30.0, 125.5, -7.25], size=n) * rng.integers(1, 3, size=n)
    trades = pd.DataFrame({"column": rng.integers(0, k, size=n), "pnl": pnl, "return": rng.normal(0.0, 0.05, size=n)})
    gross = np.where(rng.random((n_bars, k)) < 0.3, 0.0, rng.random((n_bars, k)) * 2)
    turn = np.where(rng.random((n_bars, k)) < 0.7, 0.0, rng.random((n_bars, k)))
    table = metrics_table(equity, initial_cash=cash, trades=trades, gross_exposure=gross, turnover=turn)
    for j in range(k):
        mine = trades[trades["column"] == j]
        want = ref_trade_stats(mine["pnl"].tolist(), mine["return"].tolist())
        g = gross[:, j].tolist()
        want["exposure"] = sum(1 for x in g if x > 0) / len(g)
        want["avg_gross_exposure"] = sum(g) / len(g)
        want["turnover"] = sum(turn[:, j].tolist()) / n_bars * P
        for name, value in want.items():
            assert close(float(table.iloc[j][name]), value), (name, j, table.iloc[j][name], value)


# ---------------------------------------------------------------- random curves (seeded numpy) vs empyrical


def test_seeded_random_curves_match_empyrical_and_scipy():
    rng = np.random.default_rng(7)
    n_bars, k = 1500, 6
    bench = rng.normal(0.0004, 0.011, n_bars)
    loadings = np.linspace(-0.5, 1.5, k)
    r_true = bench[:, None] * loadings + rng.normal(0.0002, 0.008, (n_bars, k))
    cash = np.array([1e5, 5e4, 2e6, 1e3, 3e5, 7e4])
    equity = cash * np.cumprod(1.0 + r_true, axis=0)
    table = metrics_table(equity, initial_cash=cash, benchmark_returns=bench)
    r = returns_from_equity(equity, cash)
    np.testing.assert_allclose(r, r_true, rtol=1e-9, atol=1e-15)
    for j in range(k):
        rj, row = r[:, j], table.iloc[j]
        # empyrical-reloaded: same definitions (ddof=1, sqrt(P), all bars, downside over all bars)
        assert close(row["sharpe"], ep.sharpe_ratio(rj, annualization=P))
        assert close(row["annual_volatility"], ep.annual_volatility(rj, annualization=P))
        assert close(row["sortino"], ep.sortino_ratio(rj, annualization=P))
        assert close(row["cagr"], ep.cagr(rj, annualization=P))  # years = T / P
        # empyrical anchors its running max at the starting value; fed r[1:], its start is e[0], which is
        # exactly our rule (running max over the curve only).
        assert close(row["max_drawdown"], ep.max_drawdown(rj[1:]))
        assert close(row["calmar"], ep.cagr(rj, annualization=P) / abs(ep.max_drawdown(rj[1:])))
        assert close(row["var_95"], ep.value_at_risk(rj, 0.05))
        assert close(row["cvar_95"], ep.conditional_value_at_risk(rj, 0.05))  # continuous data: no ties
        assert close(row["best_day"], float(np.max(rj))) and close(row["worst_day"], float(np.min(rj)))
        assert close(row["beta"], ep.beta(rj, bench))
        # empyrical's alpha compounds: (1 + mean residual) ** P - 1; with annualization=1 it is the
        # per-bar Jensen's alpha, which we annualize arithmetically (x P).
        assert close(row["alpha"], ep.alpha(rj, bench, annualization=1) * P)
        fit = stats.linregress(bench, rj)  # scipy OLS
        assert close(row["beta"], fit.slope) and close(row["alpha"], fit.intercept * P)
    # the loadings we built in come back out of the regression
    np.testing.assert_allclose(table["beta"].to_numpy(), loadings, atol=0.06)


def test_risk_free_rate_matches_empyrical():
    rng = np.random.default_rng(3)
    r_true = rng.normal(0.0005, 0.01, 800)
    bench = rng.normal(0.0003, 0.01, 800)
    equity = 1e5 * np.cumprod(1 + r_true)
    rf_annual = 0.03
    rf_bar = (1 + rf_annual) ** (1 / P) - 1
    m = metrics_table(equity, initial_cash=1e5, benchmark_returns=bench, risk_free=rf_annual).iloc[0]
    r = returns_from_equity(equity, 1e5)
    assert close(m["sharpe"], ep.sharpe_ratio(r, risk_free=rf_bar, annualization=P))
    assert close(m["sortino"], ep.sortino_ratio(r, required_return=rf_bar, annualization=P))
    fit = stats.linregress(bench - rf_bar, r - rf_bar)
    assert close(m["beta"], fit.slope) and close(m["alpha"], fit.intercept * P)


# ---------------------------------------------------------------- a real curve: buy-and-hold SPY


@pytest.fixture(scope="module")
def spy() -> pd.DataFrame:
    return pd.read_csv(DATA / "SPY.csv", index_col="date", parse_dates=True).astype("float64")


def test_spy_buy_and_hold_matches_references(spy):
    close_ = spy["close"]
    equity = 100_000.0 * close_ / close_.iloc[0]
    bench = close_.pct_change()  # NaN on bar 0: dropped for beta/alpha
    m = backtest_metrics(
        equity, initial_cash=100_000.0, benchmark_returns=bench, gross_exposure=pd.Series(1.0, index=equity.index)
    )
    r = (close_ / close_.shift(1)).fillna(1.0).to_numpy() - 1.0  # r[0] = 0: bought at bar 0's close
    e = equity.tolist()
    years = (equity.index[-1] - equity.index[0]).days / 365.25  # hand calc: calendar years
    assert m["final_equity"] == pytest.approx(100_000.0 * close_.iloc[-1] / close_.iloc[0], rel=1e-12)
    assert m["total_return"] == pytest.approx(close_.iloc[-1] / close_.iloc[0] - 1, rel=1e-12)
    assert m["cagr"] == pytest.approx((close_.iloc[-1] / close_.iloc[0]) ** (1 / years) - 1, rel=1e-12)
    assert m["sharpe"] == pytest.approx(ep.sharpe_ratio(r, annualization=P), rel=1e-9)
    assert m["sortino"] == pytest.approx(ep.sortino_ratio(r, annualization=P), rel=1e-9)
    assert m["annual_volatility"] == pytest.approx(ep.annual_volatility(r, annualization=P), rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(ep.max_drawdown(r[1:]), rel=1e-12)
    assert m["max_drawdown"] == pytest.approx(ref_max_drawdown(e), rel=1e-12)
    assert m["max_drawdown_duration"] == ref_drawdown_duration(e)
    assert m["calmar"] == pytest.approx(m["cagr"] / abs(ref_max_drawdown(e)), rel=1e-12)
    assert m["var_95"] == pytest.approx(ep.value_at_risk(r, 0.05), rel=1e-12)
    assert m["cvar_95"] == pytest.approx(ref_cvar(r.tolist(), 0.05), rel=1e-9)
    assert m["best_day"] == pytest.approx(r.max()) and m["worst_day"] == pytest.approx(r.min())
    # against itself: beta 1, alpha 0 (the r[0] = 0 bar has no benchmark return and is dropped)
    assert m["beta"] == pytest.approx(1.0, rel=1e-12)
    assert m["alpha"] == pytest.approx(0.0, abs=1e-12)
    assert m["exposure"] == 1.0 and m["avg_gross_exposure"] == 1.0
    # sanity on the real numbers: the 2008 crash drawdown of SPY was about -55%
    assert -0.57 < m["max_drawdown"] < -0.54


def test_spy_against_qqq_benchmark_drops_bars_before_qqq_listed(spy):
    qqq = pd.read_csv(DATA / "QQQ.csv", index_col="date", parse_dates=True)["close"].astype("float64")
    equity = 100_000.0 * spy["close"] / spy["close"].iloc[0]
    bench = qqq.pct_change()  # on QQQ's own calendar; aligned to SPY's by timestamp
    m = backtest_metrics(equity, initial_cash=100_000.0, benchmark_returns=bench)
    r = equity.pct_change().fillna(equity.iloc[0] / 100_000.0 - 1)
    both = pd.concat([r, bench.reindex(equity.index)], axis=1).dropna()
    assert both.index[0] > pd.Timestamp("1999-03-10")  # the SPY-only years were dropped
    fit = stats.linregress(both.iloc[:, 1], both.iloc[:, 0])  # scipy OLS on the paired bars
    assert m["beta"] == pytest.approx(fit.slope, rel=1e-9)
    assert m["alpha"] == pytest.approx(fit.intercept * P, rel=1e-9)
    assert 0.5 < m["beta"] < 0.9  # SPY moves less than the Nasdaq-100


def test_drawdown_series_matches_loop(spy):
    equity = 100_000.0 * spy["close"] / spy["close"].iloc[0]
    dd = drawdown(equity)
    peak, want = -math.inf, []
    for e in equity.tolist():
        peak = max(peak, e)
        want.append(e / peak - 1.0)
    assert isinstance(dd, pd.Series) and dd.index.equals(equity.index)
    np.testing.assert_allclose(dd.to_numpy(), want, rtol=1e-12, atol=1e-15)
    assert (dd <= 0).all()
