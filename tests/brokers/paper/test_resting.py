"""Resting stop / stop-limit / trailing / bracket / OCO orders of the paper broker on real SQLite, numbers by hand
from the bars written in each test (no costs unless said: fills at the trigger price)."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from brokers.base import OrderRejected, OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars, StaticPrices
from brokers.paper.schema import COMPONENT, MIGRATIONS
from engine.config import Costs
from engine.store.sqlite import connect, ensure_schema


def frame(*rows: tuple[float, float, float], start: str = "2024-01-01") -> pd.DataFrame:
    """Daily bars (open, high, low); close = open."""
    idx = pd.date_range(start, periods=len(rows), freq="D")
    o, h, lo = zip(*rows, strict=True)
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": o}, index=idx)


FIRST = (100.0, 100.0, 100.0)  # the bar the orders are placed on


@pytest.fixture
def setup(tmp_path):
    bars = StaticBars({"SPY": frame(FIRST)})
    b = PaperBroker(tmp_path / "p.db", costs=Costs(), price_source=StaticPrices({"SPY": 100.0}), bar_source=bars)
    return b, bars


def bought(b: PaperBroker) -> None:
    b.submit(OrderRequest("SPY", 10, "buy", client_order_id="entry"))  # 10 at 100: cash 99,000


def test_stop_rests_then_fills_at_its_level_when_a_later_bar_touches_it(setup):
    b, bars = setup
    bought(b)
    ack = b.submit(OrderRequest("SPY", 10, "sell", type="stop", stop_price=95.0, client_order_id="s"))
    assert ack.status == "new" and b.order("s").stop_price == 95.0
    bars.bars["SPY"] = frame(FIRST, (99, 101, 97))  # low 97 > 95: still resting
    assert b.order("s").status == "new"
    bars.bars["SPY"] = frame(FIRST, (99, 101, 97), (96, 97, 94))  # low 94 <= 95: fills at 95
    s = b.order("s")
    assert (s.status, s.avg_fill_price, s.filled_quantity) == ("filled", 95.0, 10)
    assert b.positions() == [] and b.account().cash == pytest.approx(99_000 + 950)
    assert b.order("s").status == "filled" and len(b.fills("s")) == 1  # walking again fills nothing twice


def test_stop_gapped_through_fills_at_the_open_with_the_market_costs(tmp_path):
    bars = StaticBars({"SPY": frame(FIRST)})
    costs = Costs(slippage_bps=10, commission_bps=0)
    b = PaperBroker(tmp_path / "p.db", costs=costs, price_source=StaticPrices({"SPY": 100.0}), bar_source=bars)
    bought(b)
    b.submit(OrderRequest("SPY", 10, "sell", type="stop", stop_price=95.0, client_order_id="s"))
    bars.bars["SPY"] = frame(FIRST, (90, 92, 89))  # opens at 90 below the stop: 90 less 10 bps = 89.91
    assert b.order("s").avg_fill_price == pytest.approx(89.91)


def test_trailing_stop_follows_the_high_then_triggers(setup):
    b, bars = setup
    bought(b)
    b.submit(OrderRequest("SPY", 10, "sell", type="trailing_stop", trail_percent=10.0, client_order_id="t"))
    # mark 100 -> level 90; bar 2 low 101: no; mark 110 -> level 99; bar 3 low 100: no; mark 112 -> 100.8
    bars.bars["SPY"] = frame(FIRST, (100, 110, 101), (108, 112, 100))
    assert b.order("t").status == "new"
    bars.bars["SPY"] = frame(FIRST, (100, 110, 101), (108, 112, 100), (105, 106, 100))  # low 100 <= 100.8
    t = b.order("t")
    assert t.status == "filled" and t.avg_fill_price == pytest.approx(100.8)


def test_stop_limit_arms_then_fills_as_a_limit(setup):
    b, bars = setup
    bought(b)
    b.submit(OrderRequest("SPY", 10, "sell", type="stop_limit", stop_price=95.0, limit_price=94.0, client_order_id="x"))
    bars.bars["SPY"] = frame(FIRST, (93, 93.8, 92))  # gaps to 93 < limit 94: armed, not filled
    assert b.order("x").status == "new"
    bars.bars["SPY"] = frame(FIRST, (93, 93.8, 92), (93.5, 94.5, 93))  # high 94.5 >= 94: fills at 94
    assert b.order("x").avg_fill_price == 94.0


@pytest.mark.parametrize(
    ("bar", "filled", "canceled", "price"),
    [((99, 101, 94), "b/sl", "b/tp", 95.0), ((101, 111, 100), "b/tp", "b/sl", 110.0)],
)
def test_bracket_one_exit_fills_and_cancels_the_other(setup, bar, filled, canceled, price):
    b, bars = setup
    ack = b.submit(
        OrderRequest("SPY", 10, "buy", order_class="bracket", take_profit=110.0, stop_loss=95.0, client_order_id="b")
    )
    assert ack.status == "filled"
    parent = b.order("b")
    assert len(parent.legs) == 2 and {b.order(c).parent_id for c in ("b/tp", "b/sl")} == {parent.id}
    assert (b.order("b/tp").side, b.order("b/tp").limit_price, b.order("b/sl").stop_price) == ("sell", 110.0, 95.0)
    bars.bars["SPY"] = frame(FIRST, bar)
    assert (b.order(filled).status, b.order(filled).avg_fill_price) == ("filled", price)
    assert b.order(canceled).status == "canceled" and "OCO" in b.order(canceled).reason
    assert b.positions() == []


def test_bracket_legs_wait_for_a_resting_limit_entry_and_cancel_with_it(setup):
    b, bars = setup
    b.submit(
        OrderRequest(
            "SPY",
            10,
            "buy",
            type="limit",
            limit_price=98.0,
            order_class="bracket",
            take_profit=110.0,
            stop_loss=95.0,
            client_order_id="b",
        )
    )
    bars.bars["SPY"] = frame(FIRST, (99, 101, 94))  # would hit the stop, but the entry has not filled
    assert [o.client_order_id for o in b.orders("open")] == ["b", "b/tp", "b/sl"]
    b.cancel("b")
    assert {o.client_order_id: o.status for o in b.orders("all")} == {
        "b": "canceled",
        "b/tp": "canceled",
        "b/sl": "canceled",
    }
    assert b.fills() == []


def test_resubmitted_bracket_places_nothing_new(setup):
    b, _ = setup
    req = OrderRequest("SPY", 10, "buy", order_class="bracket", take_profit=110.0, stop_loss=95.0, client_order_id="b")
    b.submit(req)
    again = b.submit(req)
    assert again.duplicate and len(b.orders("all")) == 3 and len(b.fills()) == 1


def test_oco_limit_gapped_through_fills_at_the_open_and_cancels_the_stop(setup):
    b, bars = setup
    bought(b)
    b.submit(OrderRequest("SPY", 10, "sell", order_class="oco", take_profit=110.0, stop_loss=95.0, client_order_id="o"))
    assert [o.client_order_id for o in b.orders("open")] == ["o", "o/sl"] and b.order("o").type == "limit"
    bars.bars["SPY"] = frame(FIRST, (112, 113, 111))
    assert (b.order("o").status, b.order("o").avg_fill_price) == ("filled", 112.0)
    assert b.order("o/sl").status == "canceled"


def test_replace_moves_a_resting_stop_and_refuses_a_final_order(setup):
    b, bars = setup
    bought(b)
    b.submit(OrderRequest("SPY", 10, "sell", type="stop", stop_price=90.0, client_order_id="s"))
    b.replace("s", stop_price=95.0, quantity=4)
    assert (b.order("s").stop_price, b.order("s").quantity) == (95.0, 4)
    with pytest.raises(OrderRejected, match=r"limit_price"):
        b.replace("s", limit_price=94.0)
    bars.bars["SPY"] = frame(FIRST, (96, 97, 94))
    assert (b.order("s").status, b.order("s").filled_quantity, b.order("s").avg_fill_price) == ("filled", 4, 95.0)
    with pytest.raises(OrderRejected, match=r"'s' is filled"):
        b.replace("s", stop_price=93.0)


def test_replace_trail_and_cancel_each_type(setup):
    b, _ = setup
    bought(b)
    b.submit(OrderRequest("SPY", 1, "sell", type="trailing_stop", trail_price=3.0, client_order_id="t"))
    b.replace("t", trail=2.0)
    assert b.order("t").trail_price == 2.0
    b.submit(OrderRequest("SPY", 1, "sell", type="stop_limit", stop_price=95.0, limit_price=94.0, client_order_id="x"))
    b.replace("x", limit_price=93.0)
    b.submit(OrderRequest("SPY", 1, "sell", order_class="oco", take_profit=110.0, stop_loss=95.0, client_order_id="o"))
    b.replace("o/sl", stop_price=96.0)
    assert (b.order("x").limit_price, b.order("o/sl").stop_price) == (93.0, 96.0)
    for cid in ("t", "x", "o"):
        b.cancel(cid)
    assert [o.client_order_id for o in b.orders("open")] == []
    with pytest.raises(OrderRejected, match=r"'t' is canceled"):
        b.replace("t", trail=1.0)


def test_a_version_1_database_migrates_keeping_its_orders(tmp_path):
    db_file = tmp_path / "p.db"
    db = connect(db_file)
    ensure_schema(db, COMPONENT, MIGRATIONS[:1])
    db.execute("INSERT INTO paper_account VALUES (1, 'PAPER-OLD', 500.0, 1000.0, 'USD', '2024-01-01T00:00:00+00:00')")
    db.execute(
        "INSERT INTO paper_orders (id, client_order_id, symbol, side, quantity, type, limit_price, time_in_force,"
        " status, submitted_at, updated_at) VALUES ('i1', 'old', 'SPY', 'buy', 1, 'limit', 90, 'gtc', 'new',"
        " '2024-01-01T00:00:00+00:00', '2024-01-01T00:00:00+00:00')"
    )
    db.close()
    b = PaperBroker(db_file, price_source=StaticPrices({"SPY": 100.0}), bar_source=StaticBars({}))
    o = b.order("old")
    assert (o.order_class, o.parent_id, o.limit_price, o.status, o.stop_price) == ("simple", "", 90.0, "new", None)
    assert b.account().cash == 500.0
    with sqlite3.connect(db_file) as raw:
        assert raw.execute("SELECT version FROM schema_version WHERE component='paper'").fetchone()[0] == len(
            MIGRATIONS
        )
