"""Per-regime performance (engine/research/regimes.py) and `ivybt regimes`: a hand-computed split of returns,
the regime in force over a bar (the label known at the previous close), and a stored run's table through the
CLI equal to numpy over the run's returns grouped by hand-computed voltrend labels."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from engine.cli import main
from engine.request import BacktestRequest, run_request
from engine.research.regimes import ALL, in_force, performance_by_regime
from engine.store.runs import RunStore
from tests.engine.test_regime_models import hand_voltrend
from tests.engine.test_strategies_common import read_csv


def test_returns_split_by_regime_by_hand() -> None:
    index = pd.bdate_range("2024-01-01", periods=6)
    returns = pd.Series([0.01, -0.02, 0.03, 0.0, 0.05, -0.01], index=index)
    regimes = pd.Series(["a", "a", "b", np.nan, "b", "a"], index=index, dtype=object)
    table = performance_by_regime(returns, regimes, order=("b", "a"), periods_per_year=252.0)
    assert list(table.index) == ["b", "a", ALL]
    a = np.array([0.01, -0.02, -0.01])
    equity = np.cumprod(1 + a)
    row = table.loc["a"]
    assert row["bars"] == 3 and row["share"] == pytest.approx(0.5)
    assert row["total_return"] == pytest.approx(equity[-1] - 1, rel=1e-12)
    assert row["cagr"] == pytest.approx(equity[-1] ** (252 / 3) - 1, rel=1e-9)
    assert row["annual_volatility"] == pytest.approx(np.std(a, ddof=1) * math.sqrt(252), rel=1e-12)
    assert row["sharpe"] == pytest.approx(a.mean() / np.std(a, ddof=1) * math.sqrt(252), rel=1e-12)
    assert row["max_drawdown"] == pytest.approx(equity[-1] / equity[0] - 1, rel=1e-12)
    assert table.loc["b", "total_return"] == pytest.approx(1.03 * 1.05 - 1, rel=1e-12)
    assert table.loc[ALL, "bars"] == 6 and table.loc[ALL, "total_return"] == pytest.approx(
        np.prod(1 + returns.to_numpy()) - 1, rel=1e-12
    )


def test_regime_in_force_is_the_label_known_at_the_previous_close() -> None:
    days = pd.DatetimeIndex(["2024-01-04", "2024-01-05", "2024-01-08"])  # Thu, Fri, Mon
    labels = pd.Series([np.nan, "bull_calm", "bear_calm"], index=days, dtype=object)
    bars = pd.DatetimeIndex(["2024-01-04", "2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08", "2024-01-09"])
    got = in_force(labels, bars).tolist()
    assert got[0] is np.nan or pd.isna(got[0])  # nothing known before the first bar
    assert pd.isna(got[1])  # Thursday's label was undefined
    assert got[2:] == ["bull_calm", "bull_calm", "bull_calm", "bear_calm"]


@pytest.mark.slow
def test_cli_table_of_a_stored_run_equals_numpy_grouping(home, capsys) -> None:
    request = BacktestRequest(strategy="sma_cross", symbols=["SPY"], start="2005-01-01", end="2008-12-31")
    result = run_request(request)
    run_id = RunStore().save(result, request)
    options = ["--sma-length", "50", "--vol-window", "10", "--vol-quantile", "0.7", "--min-history", "100"]
    code = main(["regimes", "--symbol", "SPY", "--run", run_id, *options, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    got = json.loads(out)
    close = read_csv("SPY")["close"].loc[:"2008-12-31"]
    labels = pd.Series(hand_voltrend(close, 50, 10, 0.7, 100), index=close.index, dtype=object)
    previous = labels.shift(1).loc["2005-01-01":]  # the regime in force over each bar of the run
    returns = result.returns
    assert previous.index.equals(returns.index)
    rows = {r["regime"]: r for r in got["by_regime"]}
    assert set(rows) == {"bull_calm", "bull_volatile", "bear_calm", "bear_volatile", ALL}
    for name in ("bull_calm", "bear_volatile"):
        r = returns.to_numpy()[(previous == name).to_numpy()]
        assert rows[name]["bars"] == len(r)
        assert rows[name]["total_return"] == pytest.approx(np.prod(1 + r) - 1, rel=1e-9)
        assert rows[name]["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-9)
    assert got["run"] == run_id and got["current"] == labels.iloc[-1]
    code = main(["regimes", "--symbol", "SPY", "--run", run_id, *options])
    text = capsys.readouterr().out
    assert code == 0 and "Sharpe (annualized)" in text and "Max drawdown (%)" in text and "bear_volatile" in text


def test_cli_refuses_a_bad_model_setting_in_one_line(home, capsys) -> None:
    code = main(["regimes", "--symbol", "SPY", "--vol-quantile", "1.5"])
    err = capsys.readouterr().err
    assert code == 2 and "vol_quantile must be in (0, 1), got 1.5" in err and "Traceback" not in err
