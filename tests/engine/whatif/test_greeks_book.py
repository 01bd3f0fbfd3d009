"""The Greeks book against a hand BSM (math.erf): long 2 SPY calls, short 100 SPY shares, long 1 QQQ put.

Per position and in total: delta in shares and dollars, gamma per $1 and dollar gamma per 1 %, theta per calendar
day, vega per vol point, beta-weighted delta = sum(delta_i x price_i x beta_i / benchmark price); betas from the
bundled sample by numpy (cov / var of daily returns); the payoff at expiry = intrinsic x qty x 100 + shares."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from engine.data import SAMPLE_DIR
from engine.whatif import Market, positions_from_records, prepare
from engine.whatif.greeks_book import book_from_data, greeks_book, sector_map
from engine.whatif.payoff import payoff_table

ASOF = dt.date(2026, 6, 9)  # the bundled sample's last bar
EXPIRY = dt.date(2026, 12, 18)
RATE, DIV = 0.04, 0.01
SPY, QQQ = 600.0, 520.0
SPY_VOL, QQQ_VOL = 0.18, 0.22
RECORDS = [
    {"symbol": "SPY261218C00610000", "quantity": 2, "price": 30.0, "implied_vol": SPY_VOL, "underlying_price": SPY},
    {"symbol": "SPY", "quantity": -100, "price": SPY},
    {"symbol": "QQQ261218P00500000", "quantity": 1, "price": 20.0, "implied_vol": QQQ_VOL, "underlying_price": QQQ},
]


def norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def hand_bsm(call: bool, s: float, k: float, t: float, r: float, q: float, v: float) -> dict[str, float]:
    """Hull's BSM with a dividend yield: price, delta, gamma, theta per calendar day, vega per vol point."""
    d1 = (math.log(s / k) + (r - q + v * v / 2) * t) / (v * math.sqrt(t))
    d2 = d1 - v * math.sqrt(t)
    eq, er = math.exp(-q * t), math.exp(-r * t)
    if call:
        price = s * eq * norm_cdf(d1) - k * er * norm_cdf(d2)
        delta = eq * norm_cdf(d1)
        theta = -s * eq * norm_pdf(d1) * v / (2 * math.sqrt(t)) + q * s * eq * norm_cdf(d1) - r * k * er * norm_cdf(d2)
    else:
        price = k * er * norm_cdf(-d2) - s * eq * norm_cdf(-d1)
        delta = -eq * norm_cdf(-d1)
        theta = (
            -s * eq * norm_pdf(d1) * v / (2 * math.sqrt(t)) - q * s * eq * norm_cdf(-d1) + r * k * er * norm_cdf(-d2)
        )
    gamma = eq * norm_pdf(d1) / (s * v * math.sqrt(t))
    vega = s * eq * norm_pdf(d1) * math.sqrt(t) / 100
    return {"price": price, "delta": delta, "gamma": gamma, "theta": theta / 365, "vega": vega}


T = (EXPIRY - ASOF).days / 365
CALL = hand_bsm(True, SPY, 610, T, RATE, DIV, SPY_VOL)
PUT = hand_bsm(False, QQQ, 500, T, RATE, DIV, QQQ_VOL)
MARKET = Market(ASOF, RATE, DIV)


def test_per_position_and_total_greeks_equal_a_hand_bsm() -> None:
    beta_qqq, bench = 1.2, SPY
    book = greeks_book(positions_from_records(RECORDS), MARKET, "SPY", {"QQQ": beta_qqq}, bench)
    call, shares, put = book.rows
    assert (call.kind, shares.kind, put.kind) == ("option", "equity", "option")
    assert call.delta == pytest.approx(2 * 100 * CALL["delta"], rel=1e-9)
    assert call.dollar_delta == pytest.approx(2 * 100 * CALL["delta"] * SPY, rel=1e-9)
    assert call.gamma == pytest.approx(200 * CALL["gamma"], rel=1e-9)
    assert call.dollar_gamma == pytest.approx(200 * CALL["gamma"] * SPY**2 / 100, rel=1e-9)
    assert call.theta == pytest.approx(200 * CALL["theta"], rel=1e-9)
    assert call.vega == pytest.approx(200 * CALL["vega"], rel=1e-9)
    assert call.value == pytest.approx(200 * CALL["price"], rel=1e-9)
    assert (shares.delta, shares.dollar_delta, shares.gamma, shares.theta, shares.vega) == (-100, -60_000, 0, 0, 0)
    assert put.delta == pytest.approx(100 * PUT["delta"], rel=1e-9)
    assert put.theta == pytest.approx(100 * PUT["theta"], rel=1e-9)
    assert put.vega == pytest.approx(100 * PUT["vega"], rel=1e-9)

    dollar = 200 * CALL["delta"] * SPY - 100 * SPY + 100 * PUT["delta"] * QQQ
    beta_weighted = (200 * CALL["delta"] * SPY * 1.0 - 100 * SPY * 1.0 + 100 * PUT["delta"] * QQQ * beta_qqq) / bench
    total = book.totals()
    assert total["dollar_delta"] == pytest.approx(dollar, rel=1e-9)
    assert total["beta_delta"] == pytest.approx(beta_weighted, rel=1e-9)
    assert total["theta"] == pytest.approx(200 * CALL["theta"] + 100 * PUT["theta"], rel=1e-9)
    assert total["vega"] == pytest.approx(200 * CALL["vega"] + 100 * PUT["vega"], rel=1e-9)
    assert total["gamma"] == pytest.approx(200 * CALL["gamma"] + 100 * PUT["gamma"], rel=1e-9)

    by_symbol = {r["symbol"]: r for r in book.by("symbol")}
    assert by_symbol["SPY"]["delta"] == pytest.approx(200 * CALL["delta"] - 100, rel=1e-9)
    assert by_symbol["QQQ"]["vega"] == pytest.approx(100 * PUT["vega"], rel=1e-9)
    (sector,) = book.by("sector")  # SPY and QQQ are both broad index ETFs in the static map
    assert sector["sector"] == sector_map()["SPY"] == sector_map()["QQQ"]
    assert sector["theta"] == pytest.approx(total["theta"])


def test_a_missing_beta_leaves_the_beta_weighted_total_empty_not_partial() -> None:
    book = greeks_book(positions_from_records(RECORDS), MARKET, "SPY", {}, SPY)
    assert book.rows[2].beta_delta is None and book.rows[0].beta_delta == pytest.approx(book.rows[0].delta)
    assert book.totals()["beta_delta"] is None


def test_sectors_cover_the_36_bundled_symbols() -> None:
    import json

    bundled = {m["symbol"] for m in json.loads((SAMPLE_DIR / "manifest.json").read_text())}
    assert set(sector_map()) == bundled
    assert sector_map()["XLK"] == sector_map()["AAPL"] == "Information Technology"


def sample_beta(symbol: str, bench: str, lookback: int = 252) -> float:
    close = pd.concat(
        {s: pd.read_csv(SAMPLE_DIR / f"{s}.csv", index_col="date", parse_dates=True)["close"] for s in (symbol, bench)},
        axis=1,
        sort=True,
    )
    close = close[close[bench].notna()]
    rets = close.pct_change(fill_method=None).iloc[1:].tail(lookback).dropna()
    return float(np.cov(rets[symbol], rets[bench])[0, 1] / np.var(rets[bench], ddof=1))


def test_betas_and_the_benchmark_price_from_the_daily_data() -> None:
    records = [{"symbol": "XLK", "quantity": 10, "price": 250.0}, {"symbol": "XLE", "quantity": -4, "price": 90.0}]
    book = book_from_data(positions_from_records(records), MARKET, "SPY", source=SAMPLE_DIR)
    spy_close = float(pd.read_csv(SAMPLE_DIR / "SPY.csv")["close"].iloc[-1])
    assert book.benchmark_price == pytest.approx(spy_close)
    b_xlk, b_xle = sample_beta("XLK", "SPY"), sample_beta("XLE", "SPY")
    assert [r.beta for r in book.rows] == pytest.approx([b_xlk, b_xle], rel=1e-9)
    expected = (10 * 250.0 * b_xlk - 4 * 90.0 * b_xle) / spy_close
    assert book.totals()["beta_delta"] == pytest.approx(expected, rel=1e-9)
    assert book.warnings == []


def test_a_symbol_without_data_gets_a_warning_not_an_error() -> None:
    records = [{"symbol": "XLK", "quantity": 10, "price": 250.0}, {"symbol": "ZZZZ", "quantity": 1, "price": 10.0}]
    book = book_from_data(positions_from_records(records), MARKET, "SPY", source=SAMPLE_DIR)
    assert book.rows[1].beta is None and book.rows[1].sector == "Unknown"
    assert len(book.warnings) == 1 and "ZZZZ" in book.warnings[0]


def test_payoff_at_expiry_is_intrinsic_times_qty_times_100_plus_shares_and_today_the_model() -> None:
    holdings = prepare(positions_from_records(RECORDS), MARKET)
    table = payoff_table(holdings, MARKET, moves=[-0.2, 0.0, 0.1])
    for move, at_expiry, today in zip(table.moves, table.value_expiry, table.value_today, strict=True):
        spy, qqq = SPY * (1 + move), QQQ * (1 + move)
        assert at_expiry == pytest.approx(2 * 100 * max(spy - 610, 0) - 100 * spy + 100 * max(500 - qqq, 0))
        call, put = hand_bsm(True, spy, 610, T, RATE, DIV, SPY_VOL), hand_bsm(False, qqq, 500, T, RATE, DIV, QQQ_VOL)
        assert today == pytest.approx(200 * call["price"] - 100 * spy + 100 * put["price"], rel=1e-9)
    base = 200 * CALL["price"] - 100 * SPY + 100 * PUT["price"]
    assert table.base_value == pytest.approx(base, rel=1e-9)
    assert table.pnl_expiry[1] == pytest.approx(table.value_expiry[1] - base, rel=1e-9)
