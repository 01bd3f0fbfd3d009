"""momentum_rotation, inverse_vol and buy_and_hold: ranks, volatilities and listings worked out by hand from the
CSVs at chosen rebalance dates (including a weekend date where only the crypto symbol has a bar)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.errors import StrategyError
from engine.strategies.allocation import BuyAndHold, InverseVol
from engine.strategies.rotation import MomentumRotation
from tests.engine.test_strategies_common import market, read_csv

SECTORS = ("XLE", "XLF", "XLI", "XLK", "XLP", "XLU", "XLV", "XLY")


def first_bars_of_months(index: pd.Index) -> list[pd.Timestamp]:
    out = []
    for i in range(1, len(index)):
        if (index[i].year, index[i].month) != (index[i - 1].year, index[i - 1].month):
            out.append(index[i])
    return out


def last_own_position(symbol: str, when: pd.Timestamp) -> tuple[np.ndarray, int]:
    c = read_csv(symbol)["close"]
    return c.to_numpy(), int((c.index <= when).sum()) - 1


@pytest.mark.parametrize(("lookback", "skip", "top_n"), [(126, 0, 3), (252, 21, 2)])
def test_momentum_rotation_ranks_by_hand(lookback: int, skip: int, top_n: int) -> None:
    data = market(*SECTORS)
    w = MomentumRotation({"lookback": lookback, "skip": skip, "top_n": top_n}).target_weights(data)
    rebalances = first_bars_of_months(data.index)
    for when in (pd.Timestamp("2008-10-01"), pd.Timestamp("2020-04-01"), pd.Timestamp("2023-07-03")):
        assert when in rebalances
        moms = {}
        for sym in SECTORS:
            c, p = last_own_position(sym, when)
            moms[sym] = c[p - skip] / c[p - skip - lookback] - 1.0
        best = sorted(SECTORS, key=lambda s: -moms[s])[:top_n]
        expected = pd.Series({s: (1.0 / top_n if s in best else 0.0) for s in SECTORS})
        nxt = rebalances[rebalances.index(when) + 1]
        held = w.loc[when : nxt - pd.Timedelta(days=1)]
        for _, row in held.iterrows():  # held unchanged until the next rebalance
            np.testing.assert_allclose(
                row[list(SECTORS)].to_numpy(), expected[list(SECTORS)].to_numpy(), rtol=0, atol=0
            )
        before = w.loc[:when].iloc[-2]  # the bar before still carries the previous month's choice
        assert before.sum() == pytest.approx(1.0)


def test_momentum_rotation_warm_up_listing_and_gaps() -> None:
    data = market("SPY", "TLT", "BTC-USD")
    w = MomentumRotation({"lookback": 63, "top_n": 1}).target_weights(data)
    rebalances = first_bars_of_months(data.index)
    # TLT lists 2002-07-30: before that only SPY can be ranked -> SPY; no position before SPY has 63 returns
    first_defined = read_csv("SPY").index[63]
    first_reb = next(d for d in rebalances if d >= first_defined)
    assert (w.loc[: first_reb - pd.Timedelta(days=1)] == 0).all().all()
    assert w.loc[first_reb].tolist() == [1.0, 0.0, 0.0]
    # 2020-02-01 is a Saturday: only BTC-USD trades; stocks are ranked on their Friday 2020-01-31 close
    when = pd.Timestamp("2020-02-01")
    assert when in rebalances and np.isnan(data.close.loc[when, "SPY"])
    moms = {}
    for sym in ("SPY", "TLT", "BTC-USD"):
        c, p = last_own_position(sym, when)
        moms[sym] = c[p] / c[p - 63] - 1.0
    best = max(moms, key=moms.get)
    assert w.loc[when].tolist() == [1.0 if s == best else 0.0 for s in ("SPY", "TLT", "BTC-USD")]
    assert (w.sum(axis=1) <= 1.0 + 1e-12).all()


def test_momentum_rotation_needs_two_symbols() -> None:
    with pytest.raises(StrategyError, match=r"momentum_rotation needs at least 2 symbols, got 1: \['SPY'\]"):
        MomentumRotation().target_weights(market("SPY"))


def test_inverse_vol_by_hand_on_a_weekend_rebalance() -> None:
    data = market("SPY", "TLT", "GLD", "BTC-USD")
    lookback = 63
    w = InverseVol({"lookback": lookback}).target_weights(data)
    rebalances = first_bars_of_months(data.index)
    for when in (pd.Timestamp("2020-02-01"), pd.Timestamp("2022-06-01")):
        assert when in rebalances
        inv = {}
        for sym in data.symbols:
            c, p = last_own_position(sym, when)
            rets = c[p - lookback + 1 : p + 1] / c[p - lookback : p] - 1.0
            inv[sym] = 1.0 / np.std(rets, ddof=1)
        total = sum(inv.values())
        expected = [inv[s] / total for s in data.symbols]
        np.testing.assert_allclose(w.loc[when].to_numpy(), expected, rtol=1e-9)
        nxt = rebalances[rebalances.index(when) + 1]
        block = w.loc[when : nxt - pd.Timedelta(days=1)]
        assert (block.nunique() == 1).all()
    assert np.allclose(w[w.sum(axis=1) > 0].sum(axis=1), 1.0, atol=1e-12)
    # BTC-USD (listed 2014-09-17) enters at the first rebalance after its 63rd return
    btc_ready = read_csv("BTC-USD").index[lookback]
    btc_first = next(d for d in rebalances if d >= btc_ready)
    assert w["BTC-USD"].loc[: btc_first - pd.Timedelta(days=1)].eq(0).all() and w.loc[btc_first, "BTC-USD"] > 0


def test_buy_and_hold_listing_and_renormalize() -> None:
    data = market("SPY", "BTC-USD")
    btc_first = read_csv("BTC-USD").index[0]
    w = BuyAndHold().target_weights(data)
    assert (w["SPY"] == 0.5).all()
    assert (w.loc[w.index < btc_first, "BTC-USD"] == 0).all() and (w.loc[btc_first:, "BTC-USD"] == 0.5).all()
    r = BuyAndHold({"renormalize": True}).target_weights(data)
    assert (r.loc[r.index < btc_first, "SPY"] == 1.0).all()
    assert (r.loc[btc_first:] == 0.5).all().all()
