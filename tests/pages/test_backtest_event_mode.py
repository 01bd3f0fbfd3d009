"""Event mode on the Backtest page (issue 17 item 6): an event strategy forces event mode and its run shows the
order log the engine records, a weights strategy can run in event mode with latency and a volume cap, the price
chart draws the pending stop and limit levels of the log, and a stored event run reopens with its orders.

The old page listed weights strategies only (no event strategy, no Mode control, no execution fields) and had no
Orders tab."""

from __future__ import annotations

import datetime as dt
import io
import math

import numpy as np
import pandas as pd
import pytest

from engine.config import BacktestConfig
from engine.request import BacktestRequest, run_request
from engine.sim.event.settings import Execution
from engine.store.runs import RunStore
from engine.strategies.registry import EVENT_BUILTINS
from tests.pages.page_helpers import Downloads, assert_clean, chart_traces, metric_rows, page

START, END = dt.date(2018, 1, 1), dt.date(2019, 12, 31)
PRICES = ("limit_price", "stop_price", "fill_price")


def _keys(elements) -> list[str]:
    return [e.key for e in elements]


def _same_orders(shown: pd.DataFrame, expected: pd.DataFrame) -> None:
    """The table shows the engine's order log row for row: times, events, ids, symbols, sides, types, prices;
    quantities where the log knows them (non-zero), filled quantities on fills."""
    expected = expected.reset_index(drop=True)
    assert len(shown) == len(expected) > 0
    assert list(pd.to_datetime(shown["time"])) == list(pd.to_datetime(expected["time"]))
    for col in ("event", "order_id", "client_order_id", "symbol", "side", "type"):
        assert [str(v) for v in shown[col]] == [str(v) for v in expected[col]], col
    for col in PRICES:
        np.testing.assert_array_equal(shown[col].to_numpy(float), expected[col].to_numpy(float), err_msg=col)
    sized = expected["quantity"].to_numpy(float) != 0
    np.testing.assert_array_equal(shown["quantity"].to_numpy(float)[sized], expected["quantity"].to_numpy(float)[sized])
    assert shown["quantity"][~sized].isna().all()
    fills = expected["event"].isin(["filled", "partially_filled"]).to_numpy()
    np.testing.assert_array_equal(
        shown["fill_quantity"].to_numpy(float)[fills], expected["fill_quantity"].to_numpy(float)[fills]
    )


def _open_tab(at, name: str):
    at.session_state["bt_tabs"] = name
    at.run()
    assert_clean(at)
    return at


def _orders_table(at) -> pd.DataFrame:
    (table,) = [d for d in at.dataframe if "order_id" in d.value.columns]
    return table.value


@pytest.mark.slow
def test_event_strategy_forces_event_mode_and_shows_the_engines_orders(workspace, monkeypatch) -> None:
    downloads = Downloads(monkeypatch)
    at = page("backtest")
    at.run()
    assert_clean(at)
    assert "bt_mode" in _keys(at.radio) and "bt_latency_bars" not in _keys(at.number_input)  # vectorized: no fields
    options = at.selectbox(key="bt_strategy").options  # labels: name - description, event strategies marked
    marked = [o.split(" - ")[0] for o in options if o.endswith("[event strategy]")]
    assert marked == list(EVENT_BUILTINS) and "sma_cross" not in marked

    at.selectbox(key="bt_strategy").set_value("ema_trend_event").run()
    assert_clean(at)
    forced = at.radio(key="bt_mode_forced")
    assert forced.value == "event" and forced.disabled and "bt_mode" not in _keys(at.radio)
    assert any("event strategy" in c.value and "event mode only" in c.value for c in at.caption)
    assert "bt_latency_bars" in _keys(at.number_input) and "bt_participation" in _keys(at.number_input)
    assert "bt_latency_seconds" not in _keys(at.number_input)  # daily symbols: no latency in seconds
    assert "bt_p_ema_trend_event_length" in _keys(at.number_input)  # its params from its Params class
    at.multiselect(key="bt_symbols").set_value(["SPY"])
    at.date_input(key="bt_start").set_value(START)
    at.date_input(key="bt_end").set_value(END)
    at.number_input(key="bt_latency_bars").set_value(1)
    at.button(key="bt_run").click().run()
    assert_clean(at)

    request = BacktestRequest(
        strategy="ema_trend_event",
        symbols=("SPY",),
        start=str(START),
        end=str(END),
        execution=Execution(latency_bars=1),
    )
    expected = run_request(request)
    stored = RunStore().latest()
    assert stored.request.is_event and stored.request.mode is None
    assert stored.request.execution == Execution(latency_bars=1)
    assert any("event mode (latency 1 bar)" in c.value for c in at.caption)
    shown = metric_rows(at)
    for name, value in expected.metrics.items():
        got = shown.loc[name, "Strategy"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-12), name

    _open_tab(at, "Orders")
    _same_orders(_orders_table(at), expected.orders)
    assert {"placed", "filled", "canceled"} <= set(expected.orders["event"])

    at.multiselect(key="bt_order_events").set_value(["filled"]).run()
    assert_clean(at)
    filled = expected.orders[expected.orders["event"] == "filled"]
    _same_orders(_orders_table(at), filled)
    (csv_button,) = at.get("download_button")
    got = pd.read_csv(io.BytesIO(downloads.content(csv_button)), parse_dates=["time"])
    assert list(got.columns) == list(expected.orders.columns)
    assert list(got["order_id"]) == list(filled["order_id"]) and list(got["time"]) == list(filled["time"])
    np.testing.assert_array_equal(got["fill_price"].to_numpy(float), filled["fill_price"].to_numpy(float))

    # the price chart: each stop order of the log rests at its stop price from the bar it was placed to the bar it
    # was filled or canceled
    _open_tab(at, "Prices & trades")
    (price,) = [chart_traces(c) for c in at.get("plotly_chart")]
    names = [t.get("name") for t in price]
    assert {"pending stop", "pending limit", "pending trailing stop"} <= set(names)
    stops = next(t for t in price if t.get("name") == "pending stop")
    xs = [pd.Timestamp(x) for x in stops["x"] if x is not None]
    ys = [y for y in stops["y"] if y is not None and not (isinstance(y, float) and math.isnan(y))]
    log = expected.orders
    stop_ids = log.loc[(log["type"] == "stop") & (log["event"] == "placed"), "order_id"]
    segments = []
    for oid in stop_ids:
        mine = log[log["order_id"] == oid]
        placed = mine[mine["event"] == "placed"].iloc[0]
        ended = mine[mine["event"].isin(["filled", "canceled", "expired"])]
        end = ended["time"].iloc[0] if len(ended) else log["time"].max()
        segments.append((placed["time"], end, placed["stop_price"]))
    assert len(segments) > 3
    assert xs == [x for s in segments for x in (s[0], s[1])]
    assert ys == [y for s in segments for y in (s[2], s[2])]


@pytest.mark.slow
def test_weights_strategy_in_event_mode_gives_run_requests_metrics(workspace) -> None:
    at = page("backtest")
    at.run()
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    assert at.radio(key="bt_mode").value == "vectorized" and not at.radio(key="bt_mode").disabled
    assert "bt_latency_bars" not in _keys(at.number_input)
    at.radio(key="bt_mode").set_value("event").run()
    assert_clean(at)
    at.multiselect(key="bt_symbols").set_value(["SPY", "QQQ"])
    at.date_input(key="bt_start").set_value(START)
    at.date_input(key="bt_end").set_value(END)
    at.number_input(key="bt_cash").set_value(1e8)  # large enough for a 0.1 % volume cap to bind
    at.number_input(key="bt_latency_bars").set_value(1)
    at.number_input(key="bt_participation").set_value(0.1)
    at.button(key="bt_run").click().run()
    assert_clean(at)

    request = BacktestRequest(
        strategy="sma_cross",
        symbols=("SPY", "QQQ"),
        start=str(START),
        end=str(END),
        config=BacktestConfig(initial_cash=1e8),
        mode="event",
        execution=Execution(latency_bars=1, participation=0.001),
    )
    expected = run_request(request)
    vectorized = run_request(request.with_changes(mode=None, execution=None))
    assert expected.metrics["total_return"] != pytest.approx(vectorized.metrics["total_return"], rel=1e-3)
    stored = RunStore().latest()
    assert stored.request.mode == "event" and stored.request.execution == request.execution
    assert any("event mode (latency 1 bar, at most 0.1 % of a bar's volume)" in c.value for c in at.caption)
    shown = metric_rows(at)
    for name, value in expected.metrics.items():
        got = shown.loc[name, "Strategy"]
        assert (math.isnan(value) and math.isnan(got)) or got == pytest.approx(value, rel=1e-12), name
    _open_tab(at, "Orders")
    _same_orders(_orders_table(at), expected.orders)


def test_stored_event_run_reopens_with_its_orders(workspace) -> None:
    request = BacktestRequest(strategy="gap_and_go", symbols=("BTC-PERP",), start="2022-01-03", end="2022-01-12")
    result = run_request(request)
    run_id = RunStore().save(result, request)
    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    assert any(f"Run `{run_id}`" in c.value and "event mode" in c.value for c in at.caption)
    _open_tab(at, "Orders")
    _same_orders(_orders_table(at), result.orders)
    table = next(d for d in at.dataframe if "order_id" in d.value.columns)
    assert table.proto.placeholder == "–"  # blank cells (no limit price on a stop) show a dash
    for tab in ("Drawdown", "Prices & trades", "Calendar", "Rolling", "Exposure", "Contribution", "Trades", "Export"):
        _open_tab(at, tab)  # every other tab draws an event run too (an event strategy has no plot_series)


def test_a_vectorized_run_has_no_orders_tab(workspace) -> None:
    request = BacktestRequest(strategy="sma_cross", symbols=("SPY",), start="2018-01-01", end="2019-12-31")
    run_id = RunStore().save(run_request(request), request)
    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    assert any("vectorized" in c.value for c in at.caption)
    at.session_state["bt_tabs"] = "Orders"  # not a tab of this run: the page stays on its tabs
    at.run()
    assert_clean(at)
    assert not [d for d in at.dataframe if "order_id" in d.value.columns]


def test_the_form_keeps_a_requests_mode_and_execution() -> None:
    from ui.backtest_form import build_request, fill_state

    execution = Execution(latency_bars=2, latency_seconds=90.0, participation=0.25)
    request = BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",), mode="event", execution=execution)
    state: dict = {}
    fill_state(state, request, ["BTC-PERP"])
    assert state["bt_mode"] == "event" and state["bt_participation"] == 25.0
    intraday = build_request(state, {}, timeframes=("5min", "1h"))
    assert intraday.mode == "event" and intraday.execution == execution
    daily = build_request(state, {})  # no intraday choices: no latency in seconds (the form does not show it)
    assert daily.execution == Execution(latency_bars=2, participation=0.25)
    state["bt_mode"] = "vectorized"  # back to vectorized: neither mode nor execution in the request
    assert build_request(state, {}).to_dict() == BacktestRequest(strategy="sma_cross", symbols=("BTC-PERP",)).to_dict()
    event_strategy = BacktestRequest(strategy="grid_bot", symbols=("BTC-PERP",))  # event by itself: mode stays None
    fill_state(state, event_strategy, ["BTC-PERP"])
    rebuilt = build_request(state, {})
    assert rebuilt.mode is None and rebuilt.execution is None and rebuilt.is_event
