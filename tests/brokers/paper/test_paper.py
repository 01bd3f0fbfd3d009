"""PaperBroker against a real SQLite file: fills with costs by hand, persistence, idempotency, two processes."""

from __future__ import annotations

import multiprocessing as mp
import sqlite3

import pytest

from brokers.base import InsufficientFunds, OrderRejected, OrderRequest, PriceUnavailable
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticPrices
from engine.config import Costs

COSTS = Costs(commission_bps=10, min_commission=1.0, slippage_bps=5)


def make(path, prices, **kw):
    return PaperBroker(
        path,
        initial_cash=kw.pop("initial_cash", 100_000.0),
        costs=kw.pop("costs", COSTS),
        price_source=StaticPrices(prices),
        **kw,
    )


def test_market_fills_with_slippage_and_commission_by_hand(tmp_path):
    db = tmp_path / "paper.db"
    b = make(db, {"SPY": 100.0})
    ack = b.submit(OrderRequest("SPY", 10, "buy", client_order_id="p1-SPY"))
    assert ack.status == "filled" and ack.quantity == 10 and not ack.duplicate
    # buy: price 100 moved up 5 bps = 100.05; commission 10 bps of 1000.50 = 1.0005 (> min 1.00)
    (fill,) = b.fills()
    assert fill.price == pytest.approx(100.05, rel=1e-12)
    assert fill.commission == pytest.approx(1.0005, rel=1e-12)
    cash1 = 100_000 - 10 * 100.05 - 1.0005  # 98998.4995
    acct = b.account()
    assert acct.cash == pytest.approx(98_998.4995, rel=1e-12) == cash1
    assert acct.equity == pytest.approx(cash1 + 10 * 100.0, rel=1e-12)
    assert acct.buying_power == pytest.approx(cash1) and acct.is_live is False

    # sell 4 at 110: price moved down 5 bps = 109.945; commission 10 bps of 439.78 = 0.43978 -> minimum 1.00
    b.price_source = StaticPrices({"SPY": 110.0})
    b.submit(OrderRequest("SPY", 4, "sell", client_order_id="p2-SPY"))
    fill2 = b.fills("p2-SPY")[0]
    assert fill2.price == pytest.approx(109.945, rel=1e-12) and fill2.commission == 1.0
    cash2 = cash1 + 4 * 109.945 - 1.0
    (pos,) = b.positions()
    assert (pos.symbol, pos.quantity) == ("SPY", 6)
    assert pos.avg_price == pytest.approx(100.05)  # reducing keeps the average cost
    assert pos.market_value == pytest.approx(660.0)
    assert b.account().cash == pytest.approx(cash2, rel=1e-12)
    assert b.account().equity == pytest.approx(cash2 + 6 * 110.0, rel=1e-12)

    # a fractional add at 90: avg = (6*100.05 + 1.5*90.045) / 7.5
    b.price_source = StaticPrices({"SPY": 90.0})
    b.submit(OrderRequest("SPY", 1.5, "buy"))
    (pos,) = b.positions()
    assert pos.quantity == pytest.approx(7.5)
    assert pos.avg_price == pytest.approx((6 * 100.05 + 1.5 * 90.045) / 7.5, rel=1e-12)
    statuses = b.orders("closed")
    assert [o.status for o in statuses] == ["filled"] * 3 and b.orders("open") == []
    assert statuses[0].filled_quantity == 10 and statuses[0].avg_fill_price == pytest.approx(100.05)


def test_same_client_order_id_fills_once(tmp_path):
    b = make(tmp_path / "p.db", {"AAPL": 200.0})
    first = b.submit(OrderRequest("AAPL", 5, "buy", client_order_id="plan7-AAPL"))
    again = b.submit(OrderRequest("AAPL", 5, "buy", client_order_id="plan7-AAPL"))
    assert again == first and again.duplicate and not first.duplicate
    assert len(b.fills()) == 1
    assert b.account().cash == pytest.approx(100_000 - 5 * 200.1 - 1.0005)  # 10 bps of 1000.5 = 1.0005
    assert b.order("plan7-AAPL").status == "filled" and b.order("nope") is None


def test_state_survives_a_new_instance(tmp_path):
    db = tmp_path / "p.db"
    b = make(db, {"QQQ": 400.0, "TLT": 90.0})
    b.submit(OrderRequest("QQQ", 2, "buy", client_order_id="a"))
    b.submit(OrderRequest("TLT", 10, "buy", client_order_id="b"))
    cash = b.account().cash
    del b
    b2 = make(db, {"QQQ": 400.0, "TLT": 90.0}, initial_cash=5.0)  # initial_cash only applies to a new account
    assert b2.account().cash == pytest.approx(cash)
    assert {p.symbol: p.quantity for p in b2.positions()} == {"QQQ": 2, "TLT": 10}
    assert b2.submit(OrderRequest("QQQ", 2, "buy", client_order_id="a")).duplicate
    assert len(b2.fills()) == 2
    tables = {r[0] for r in sqlite3.connect(db).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    # its own tables, plus the one SQLite helper's migration bookkeeping (engine.store.sqlite)
    expected = {
        "paper_account",
        "paper_positions",
        "paper_orders",
        "paper_fills",
        "paper_option_vols",
        "paper_financing",
    }
    assert tables == expected | {"schema_version"}
    b2.reset(50_000)
    assert b2.account().cash == 50_000 and b2.positions() == [] and b2.orders("all") == []


def test_insufficient_funds_records_nothing(tmp_path):
    b = make(tmp_path / "p.db", {"SPY": 100.0}, initial_cash=1000.0)
    with pytest.raises(InsufficientFunds, match=r"buy 10 SPY at 100.05 needs 1,001.50 .* cash is 1,000.00"):
        b.submit(OrderRequest("SPY", 10, "buy", client_order_id="big"))
    assert b.orders("all") == [] and b.account().cash == 1000.0
    # 9 units: 900.45 + max(0.90045, 1.0) = 901.45 fits
    assert b.submit(OrderRequest("SPY", 9, "buy", client_order_id="big")).status == "filled"
    assert b.account().cash == pytest.approx(1000 - 900.45 - 1.0)


def test_no_shorting_no_fractions_no_price(tmp_path):
    b = make(tmp_path / "p.db", {"SPY": 100.0}, fractional=False)
    with pytest.raises(OrderRejected, match="sell 1 SPY exceeds the position 0"):
        b.submit(OrderRequest("SPY", 1, "sell"))
    with pytest.raises(OrderRejected, match="fractional quantity 1.5"):
        b.submit(OrderRequest("SPY", 1.5, "buy"))
    with pytest.raises(PriceUnavailable, match="XYZ"):
        b.submit(OrderRequest("XYZ", 1, "buy"))
    short = make(tmp_path / "s.db", {"SPY": 100.0}, allow_short=True, costs=Costs())
    short.submit(OrderRequest("SPY", 3, "sell"))
    (pos,) = short.positions()
    assert pos.quantity == -3 and pos.market_value == -300.0
    assert short.account().cash == 100_300.0 and short.account().equity == 100_000.0


def test_limit_orders_rest_then_fill_or_cancel(tmp_path):
    b = make(tmp_path / "p.db", {"SPY": 100.0}, costs=Costs())
    rest = b.submit(OrderRequest("SPY", 1, "buy", type="limit", limit_price=95.0, client_order_id="l1"))
    assert rest.status == "new"
    other = b.submit(OrderRequest("SPY", 1, "buy", type="limit", limit_price=90.0, client_order_id="l2"))
    assert [o.client_order_id for o in b.orders("open")] == ["l1", "l2"]
    now = b.submit(OrderRequest("SPY", 1, "buy", type="limit", limit_price=101.0, client_order_id="l3"))
    assert now.status == "filled" and b.fills("l3")[0].price == 100.0
    b.price_source = StaticPrices({"SPY": 94.0})
    changed = b.match_open_orders()
    assert [(o.client_order_id, o.status, o.avg_fill_price) for o in changed] == [("l1", "filled", 94.0)]
    b.cancel(other.id)
    assert b.order("l2").status == "canceled" and b.orders("open") == []
    with pytest.raises(OrderRejected, match="not cancelable"):
        b.cancel("l1")


def _submit_worker(db_path: str, ids: list[str], barrier, out) -> None:
    b = PaperBroker(db_path, costs=COSTS, price_source=StaticPrices({"SPY": 100.0}))
    barrier.wait(timeout=20)
    acks = [b.submit(OrderRequest("SPY", 1, "buy", client_order_id=i)) for i in ids]
    out.put([(a.client_order_id, a.id, a.duplicate) for a in acks])


def test_two_processes_same_client_order_ids_fill_once(tmp_path):
    db = str(tmp_path / "race.db")
    PaperBroker(db, costs=COSTS, price_source=StaticPrices({"SPY": 100.0}))  # create schema + account
    ids = [f"plan-{k}-SPY" for k in range(15)]
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_submit_worker, args=(db, ids, barrier, out)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    # both processes got the same broker order id for each client id; exactly one of them was "first"
    for k in range(len(ids)):
        a, b = results[0][k], results[1][k]
        assert a[0] == b[0] == ids[k] and a[1] == b[1]
        assert (a[2], b[2]) in {(False, True), (True, False)}
    con = sqlite3.connect(db)
    assert con.execute("SELECT COUNT(*) FROM paper_fills").fetchone()[0] == len(ids)
    assert con.execute("SELECT COUNT(*) FROM paper_orders").fetchone()[0] == len(ids)
    (cash,) = con.execute("SELECT cash FROM paper_account").fetchone()
    # each unit: 100.05 + max(0.10005, 1.00) commission
    assert cash == pytest.approx(100_000 - len(ids) * (100.05 + 1.0), rel=1e-12)


def test_default_price_source_is_the_engine_data_last_close(tmp_path):
    import csv

    from engine.data import SAMPLE_DIR

    with open(SAMPLE_DIR / "SPY.csv") as f:  # the bundled file read directly, not through the loader
        last_close = float(list(csv.DictReader(f))[-1]["close"])
    b = PaperBroker(tmp_path / "p.db", costs=Costs())  # default price source: engine.data bundled sample
    assert b.latest_prices(["SPY"]) == {"SPY": pytest.approx(last_close, rel=1e-12)}
    b.submit(OrderRequest("SPY", 1, "buy", client_order_id="d1"))
    assert b.fills()[0].price == pytest.approx(last_close, rel=1e-12)
    with pytest.raises(PriceUnavailable, match="NOSUCHSYM"):
        b.latest_prices(["NOSUCHSYM"])
