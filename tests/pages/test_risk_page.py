"""AppTest of the Risk page: Greeks of a seeded paper account (stocks, betas by numpy from the sample; an option,
its vol solved back to the broker's own and its Greeks by hand BSM) and of a
pasted positions JSON with options (a hand BSM, math.erf), the heatmaps' and payoff's figure data, the What-if tab
(custom shocks and a preset) against a hand repricing, and the empty state (an info box, no error)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from engine.data import SAMPLE_DIR
from tests.engine.whatif.test_greeks_book import CALL, PUT, QQQ, RATE, RECORDS, SPY, T, hand_bsm, sample_beta
from tests.pages.page_helpers import assert_clean, chart_traces, frame, page

ASOF = dt.date(2026, 6, 9)


def last_close(symbol: str) -> float:
    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def risk_page():
    at = page("home")
    at.run()
    at = at.switch_page("pages/risk.py")
    at.run()
    return at


def charts(at) -> dict[str, list[dict]]:
    """Plotly charts by their key's suffix (risk_heat_symbol, risk_payoff, risk_grid)."""
    out = {}
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        out[spec["layout"]["title"]["text"]] = chart_traces(chart)
    return out


def test_greeks_of_a_paper_account_with_betas_from_the_daily_data(workspace) -> None:
    PaperBroker().submit(OrderRequest("XLK", 10, "buy"))  # no costs: fills at the sample's last close
    PaperBroker().submit(OrderRequest("XLE", 5, "buy"))
    at = risk_page()
    at.date_input(key="risk_asof").set_value(ASOF).run()
    assert_clean(at)
    table = frame(at, "Position")
    assert sorted(table.index[:-1]) == ["XLE", "XLK"] and table.index[-1] == "Total"
    xlk, xle, spy = last_close("XLK"), last_close("XLE"), last_close("SPY")
    b_xlk, b_xle = sample_beta("XLK", "SPY"), sample_beta("XLE", "SPY")
    assert table.loc["XLK", "Delta (shares)"] == 10
    assert table.loc["XLK", "Dollar delta ($)"] == pytest.approx(10 * xlk)
    assert table.loc["Total", "Theta ($/day)"] == 0 and table.loc["Total", "Vega ($/vol pt)"] == 0
    expected = (10 * xlk * b_xlk + 5 * xle * b_xle) / spy
    assert table.loc["Total", "Beta-weighted delta (SPY shares)"] == pytest.approx(expected, rel=1e-9)
    heat = charts(at)["Exposure by sector"][0]
    dollars = {name: row[0] for name, row in zip(heat["y"], heat["customdata"], strict=True)}
    assert dollars == pytest.approx({"Information Technology": 10 * xlk, "Energy": 5 * xle})


def test_pasted_options_book_greeks_payoff_and_whatif_equal_a_hand_bsm(workspace) -> None:
    at = risk_page()
    at.radio(key="risk_source").set_value("Positions JSON").run()
    at.text_area(key="risk_pasted").input(json.dumps(RECORDS))
    at.date_input(key="risk_asof").set_value(ASOF)
    at.number_input(key="risk_rate").set_value(RATE * 100)
    at.number_input(key="risk_dividend").set_value(1.0).run()
    assert_clean(at)
    table = frame(at, "Position")
    call_symbol = "SPY   261218C00610000"
    assert list(table.index) == [call_symbol, "SPY", "QQQ   261218P00500000", "Total"]
    assert table.loc[call_symbol, "Delta (shares)"] == pytest.approx(200 * CALL["delta"], rel=1e-9)
    assert table.loc["Total", "Theta ($/day)"] == pytest.approx(200 * CALL["theta"] + 100 * PUT["theta"], rel=1e-9)
    assert table.loc["Total", "Vega ($/vol pt)"] == pytest.approx(200 * CALL["vega"] + 100 * PUT["vega"], rel=1e-9)
    dollar = 200 * CALL["delta"] * SPY - 100 * SPY + 100 * PUT["delta"] * QQQ
    assert table.loc["Total", "Dollar delta ($)"] == pytest.approx(dollar, rel=1e-9)

    figures = charts(at)
    expiry, today = figures["Payoff (P&L vs today)"][:2]
    base = 200 * CALL["price"] - 100 * SPY + 100 * PUT["price"]
    i = list(expiry["x"]).index(-20.0)  # two underlyings: x = the move in %
    spy, qqq = SPY * 0.8, QQQ * 0.8
    assert expiry["y"][i] == pytest.approx(200 * max(spy - 610, 0) - 100 * spy + 100 * max(500 - qqq, 0) - base)
    hand_today = 200 * hand_bsm(True, spy, 610, T, RATE, 0.01, 0.18)["price"] - 100 * spy
    hand_today += 100 * hand_bsm(False, qqq, 500, T, RATE, 0.01, 0.22)["price"]
    assert today["y"][i] == pytest.approx(hand_today - base, rel=1e-9)

    # What-if: the custom form's default shocks (prices -10 %, vols +5 points, no days)
    pnl = frame(at, "Symbol")
    spy, qqq = SPY * 0.9, QQQ * 0.9
    shocked = 200 * hand_bsm(True, spy, 610, T, RATE, 0.01, 0.23)["price"] - 100 * spy
    shocked += 100 * hand_bsm(False, qqq, 500, T, RATE, 0.01, 0.27)["price"]
    assert pnl.loc["Total", "P&L ($)"] == pytest.approx(shocked - base, rel=1e-9)
    assert pnl.loc["SPY", "P&L ($)"] == pytest.approx(100 * SPY * 0.1)
    (grid,) = charts(at)["Total P&L: price x vol, 0 days on"]
    row, col = list(grid["y"]).index("-10 %"), list(grid["x"]).index("+5 pts")
    assert grid["z"][row][col] == pytest.approx(shocked - base, rel=1e-9)

    at.selectbox(key="risk_scenario").select("gap-down-10").run()
    assert_clean(at)
    spy, qqq = SPY * 0.9, QQQ * 0.9
    gap = 200 * hand_bsm(True, spy, 610, T, RATE, 0.01, 0.18)["price"] - 100 * spy
    gap += 100 * hand_bsm(False, qqq, 500, T, RATE, 0.01, 0.22)["price"]
    assert frame(at, "Symbol").loc["Total", "P&L ($)"] == pytest.approx(gap - base, rel=1e-9)
    assert any(m.label == "Total P&L (gap-down-10)" for m in at.metric)


def test_no_positions_is_an_info_box_not_an_error(workspace) -> None:
    at = risk_page()
    assert_clean(at)
    assert any("No positions in the paper account" in i.value for i in at.info)
    at.radio(key="risk_source").set_value("Positions JSON").run()
    assert_clean(at)
    assert any("paste a positions JSON" in i.value for i in at.info)


def test_a_bad_positions_json_is_one_error_naming_the_record(workspace) -> None:
    at = risk_page()
    at.radio(key="risk_source").set_value("Positions JSON").run()
    at.text_area(key="risk_pasted").input('[{"symbol": "SPY", "quantity": 1}]').run()
    assert not at.exception
    (error,) = [e.value for e in at.error]
    assert error.startswith("Cannot read the positions: position 1: missing") and "price" in error


def test_a_paper_option_position_gets_the_brokers_vol_back_and_a_hand_bsm_delta(workspace) -> None:
    paper = PaperBroker()  # prices options by BSM on the last bar (2026-06-09), rate 0.04, its own vol per underlying
    paper.submit(OrderRequest("SPY261218C00750000", 2, "buy"))
    vol, _how = paper.option_vol("SPY")
    at = risk_page()
    at.date_input(key="risk_asof").set_value(ASOF)
    at.number_input(key="risk_rate").set_value(4.0).run()
    assert_clean(at)
    table = frame(at, "Position")
    symbol = "SPY   261218C00750000"
    assert list(table.index) == [symbol, "Total"]
    spy = last_close("SPY")
    t = (dt.date(2026, 12, 18) - ASOF).days / 365
    hand = hand_bsm(True, spy, 750, t, 0.04, 0.0, vol)
    assert table.loc[symbol, "Implied vol"] == pytest.approx(vol, rel=1e-6)  # solved from the broker's premium
    assert table.loc[symbol, "Delta (shares)"] == pytest.approx(200 * hand["delta"], rel=1e-6)
    assert table.loc[symbol, "Theta ($/day)"] == pytest.approx(200 * hand["theta"], rel=1e-6)
    assert table.loc[symbol, "Value ($)"] == pytest.approx(200 * hand["price"], rel=1e-6)


def test_whatif_beta_and_single_symbol_shocks_and_saving_the_scenario(workspace) -> None:
    records = [{"symbol": "XLK", "quantity": 10, "price": 200.0}, {"symbol": "XLE", "quantity": -5, "price": 90.0}]
    at = risk_page()
    at.radio(key="risk_source").set_value("Positions JSON").run()
    at.text_area(key="risk_pasted").input(json.dumps(records))
    at.date_input(key="risk_asof").set_value(ASOF).run()
    at.number_input(key="risk_price").set_value(0.0)
    at.number_input(key="risk_vol").set_value(0.0)
    at.number_input(key="risk_beta").set_value(-20.0).run()
    assert_clean(at)
    b_xlk, b_xle = sample_beta("XLK", "SPY"), sample_beta("XLE", "SPY")
    pnl = frame(at, "Symbol")
    assert pnl.loc["XLK", "P&L ($)"] == pytest.approx(10 * 200 * b_xlk * -0.2, rel=1e-9)
    assert pnl.loc["Total", "P&L ($)"] == pytest.approx(10 * 200 * b_xlk * -0.2 - 5 * 90 * b_xle * -0.2, rel=1e-9)

    at.text_input(key="risk_symbol_moves").input("xlk=-15").run()  # a single symbol's move wins over its beta
    assert frame(at, "Symbol").loc["XLK", "P&L ($)"] == pytest.approx(10 * 200 * -0.15)

    at.text_input(key="risk_save_name").input("my-crash")
    at.button(key="risk_save").click().run()
    assert_clean(at)
    saved = json.loads((workspace / "scenarios" / "my-crash.json").read_text())
    assert saved["symbol_shocks"] == {"XLK": -0.15} and saved["beta_shock"]["move"] == pytest.approx(-0.2)
    assert "my-crash (saved)" in at.selectbox(key="risk_scenario").options
    assert any("Saved my-crash.json" in m.value for m in at.success)

    at.text_input(key="risk_symbol_moves").input("XLK=abc").run()
    assert [e.value for e in at.error] == [
        "What-if: single-symbol move 'XLK=abc': expected SYMBOL=PERCENT, e.g. XLK=-15"
    ]
