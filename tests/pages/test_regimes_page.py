"""AppTest of the Regimes page: SPY's close under bands whose stretches equal hand-computed voltrend labels, a
stored run's per-regime table equal to numpy over its returns grouped by the regime in force, and an unknown
symbol reported in one error box."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.engine.test_regime_models import hand_voltrend
from tests.engine.test_strategies_common import read_csv
from tests.pages.page_helpers import assert_clean, chart_traces, errors, frame, page


def regimes_page():
    at = page("home")
    at.run()
    at = at.switch_page("pages/regimes.py")
    at.run()
    return at


def stretches(labels: list) -> list[str]:
    """The label of each stretch of equal defined labels, in order."""
    out, previous = [], None
    for label in labels:
        if label is not None and label != previous:
            out.append(label)
        previous = label
    return out


@pytest.fixture(scope="module")
def spy_labels() -> tuple[pd.Series, list]:
    close = read_csv("SPY")["close"]
    return close, hand_voltrend(close, 200, 21, 0.8, 252)


@pytest.mark.slow
def test_chart_bands_follow_hand_regimes(home, spy_labels) -> None:
    close, labels = spy_labels
    at = regimes_page()
    assert_clean(at)
    (chart,) = at.get("plotly_chart")
    traces = chart_traces(chart)
    np.testing.assert_allclose(np.asarray(traces[0]["y"], dtype=float), close.to_numpy(), rtol=1e-12)
    shapes = json.loads(chart.proto.spec)["layout"]["shapes"]
    colours = {"bull_calm": "#16a34a", "bull_volatile": "#84cc16", "bear_calm": "#f59e0b", "bear_volatile": "#dc2626"}
    assert [s["fillcolor"] for s in shapes] == [colours[x] for x in stretches(labels)]
    assert pd.Timestamp(shapes[0]["x0"]) == close.index[labels.index(next(x for x in labels if x))]
    assert [t["name"] for t in traces[1:]] == ["bull_calm", "bull_volatile", "bear_calm", "bear_volatile"]
    counts = pd.Series(labels).value_counts()
    caption = " ".join(c.value for c in at.caption)
    assert f"bear_volatile: {counts['bear_volatile']:,} bars" in caption
    assert f"now: **{labels[-1]}**" in " ".join(m.value for m in at.markdown)


@pytest.mark.slow
def test_run_table_equals_numpy_grouping(home, spy_labels) -> None:
    close, labels = spy_labels
    request = BacktestRequest(strategy="sma_cross", symbols=["SPY"], start="2010-01-01", end="2015-12-31")
    result = run_request(request)
    run_id = RunStore().save(result, request)
    at = regimes_page()
    at.selectbox(key="rg_run").set_value(run_id).run()
    assert_clean(at)
    table = frame(at, "regime")
    previous = pd.Series(labels, index=close.index, dtype=object).shift(1).loc["2010-01-01":"2015-12-31"]
    returns = result.returns.to_numpy()
    for name in ("bull_calm", "bear_volatile"):
        r = returns[(previous == name).to_numpy()]
        assert table.loc[name, "bars"] == len(r)
        assert table.loc[name, "total_return"] == pytest.approx(np.prod(1 + r) - 1, rel=1e-9)
    assert table.loc["all bars", "bars"] == len(returns)


def test_unknown_symbol_is_one_error_box(home) -> None:
    at = regimes_page()
    at.text_input(key="rg_symbol").set_value("NOPE").run()
    assert not at.exception
    assert len(errors(at)) == 1 and "NOPE" in errors(at)[0]
