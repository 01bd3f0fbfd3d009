"""The bar-walking trigger rule on hand-made bars (prices worked out by hand in each comment)."""

from __future__ import annotations

import pandas as pd
import pytest

from brokers.base import OrderRejected, OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from brokers.paper.triggers import Hit, Watch, walk


def bars(*rows):
    idx = pd.date_range("2024-01-01", periods=len(rows), freq="D")
    return pd.DataFrame(rows, index=idx, columns=["open", "high", "low"])


def test_trailing_stop_follows_the_high_of_previous_bars_only():
    w = Watch(side="sell", trail_percent=10.0, extreme=100.0)
    # bar 1: level 90 (from 100), low 105 -> no fill; the mark moves to 120 after the bar
    # bar 2: level 120 * 0.9 = 108, low 107 -> fill at 108 (a same-bar mark would have stopped on bar 1)
    hit = walk(w, bars((101, 120, 105), (115, 116, 107)))
    assert hit == Hit(pd.Timestamp("2024-01-02"), 108.0, "stop")
    moved = walk(w, bars((101, 120, 105)))
    assert isinstance(moved, Watch) and moved.extreme == 120.0


def test_buy_trailing_stop_by_price_follows_the_low():
    w = Watch(side="buy", trail_price=5.0, extreme=100.0)
    # bar 1: level 105, high 103 -> no; mark -> 90. bar 2: level 95, high 96 -> fill at 95
    assert walk(w, bars((99, 103, 90), (92, 96, 91))) == Hit(pd.Timestamp("2024-01-02"), 95.0, "stop")


def test_gaps_fill_at_the_open_and_stop_wins_within_a_bar():
    oco = Watch(side="sell", stop=95.0, limit=110.0)
    assert walk(oco, bars((100, 104, 96), (93, 99, 90))) == Hit(pd.Timestamp("2024-01-02"), 93.0, "stop")  # gap
    assert walk(oco, bars((112, 115, 111))) == Hit(pd.Timestamp("2024-01-01"), 112.0, "limit")  # opens through
    assert walk(oco, bars((105, 111, 100))) == Hit(pd.Timestamp("2024-01-01"), 110.0, "limit")
    assert walk(oco, bars((100, 111, 94))) == Hit(pd.Timestamp("2024-01-01"), 95.0, "stop")  # both touched
    assert walk(oco, bars((93, 99, 90)), check_first_open=False) == Hit(pd.Timestamp("2024-01-01"), 95.0, "stop")


def test_stop_limit_arms_then_rests_as_a_limit():
    w = Watch(side="sell", stop=95.0, limit=94.0, stop_limit=True)
    # bar 1 gaps to 93 < limit 94: triggered, not filled. bar 2: high 94.5 >= 94 -> fill at 94
    armed = walk(w, bars((93, 93.8, 92)))
    assert isinstance(armed, Watch) and armed.triggered
    assert walk(w, bars((93, 93.8, 92), (93.5, 94.5, 93))) == Hit(pd.Timestamp("2024-01-02"), 94.0, "limit")
    # touched intrabar at 95 >= 94: fills at the stop
    assert walk(w, bars((97, 98, 94.5))) == Hit(pd.Timestamp("2024-01-01"), 95.0, "stop")


def test_paper_broker_refuses_a_stop_limit_bracket_leg_naming_it(tmp_path):
    b = PaperBroker(tmp_path / "p.db", price_source=StaticPrices({"SPY": 100.0}))
    br = OrderRequest(
        "SPY", 1, "buy", order_class="bracket", take_profit=110.0, stop_loss=95.0, stop_loss_limit=94.0,
        client_order_id="p-br",
    )  # fmt: skip
    with pytest.raises(OrderRejected, match=r"stop_loss_limit 94.0"):
        b.submit(br)
    assert b.orders("all") == [] and b.order("p-br") is None
