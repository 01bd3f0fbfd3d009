"""brokers.desk.modify_order and `ivybt orders modify` on the real PaperBroker (tmp workspace, real SQLite): each
resting type (limit, stop, stop-limit, trailing stop, a bracket leg) is changed in the broker and then behaves
by its new values on the next bars; every refusal leaves the order as it was and names the value."""

from __future__ import annotations

import json
import sqlite3

import pandas as pd
import pytest

from brokers.base import OrderRejected, OrderRequest, OrderStatus
from brokers.desk import modify_order
from brokers.paper.adapter import PaperBroker
from brokers.paper.prices import StaticBars, StaticPrices
from engine.cli import main
from engine.config import Costs
from engine.data import SAMPLE_DIR
from engine.ops.audit_log import AuditLog


def bars(*rows: tuple[float, float, float]) -> pd.DataFrame:
    """Daily bars (open, high, low; close = open) from 2024-01-01."""
    idx = pd.date_range("2024-01-01", periods=len(rows), freq="D")
    o, h, lo = zip(*rows, strict=True)
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": o}, index=idx)


FIRST = (100.0, 100.0, 100.0)  # the bar the orders are placed on


@pytest.fixture
def book():
    """A paper account in the test's workspace holding 10 SPY bought at 100 (no costs), bars under test control."""
    source = StaticBars({"SPY": bars(FIRST)})
    paper = PaperBroker(costs=Costs(), price_source=StaticPrices({"SPY": 100.0}), bar_source=source)
    paper.submit(OrderRequest("SPY", 10, "buy", client_order_id="entry"))
    return paper, source


def got(paper: PaperBroker, cid: str) -> OrderStatus:
    """The broker's own record of the order (it must know it)."""
    o = paper.order(cid)
    assert o is not None, cid
    return o


def unchanged(paper: PaperBroker, cid: str, before) -> None:
    after = got(paper, cid)
    assert (after.status, after.quantity, after.limit_price, after.stop_price, after.trail_percent) == (
        before.status,
        before.quantity,
        before.limit_price,
        before.stop_price,
        before.trail_percent,
    )


def test_limit_order_price_and_quantity_then_refusals(book):
    paper, _ = book
    paper.submit(OrderRequest("SPY", 5, "buy", "limit", limit_price=90.0, client_order_id="lim"))
    oid = got(paper, "lim").id
    after = modify_order(paper, "lim", quantity=7, limit_price=92.5)
    assert (after.id, after.quantity, after.limit_price, after.status) == (oid, 7.0, 92.5, "new")
    assert (got(paper, "lim").quantity, got(paper, "lim").limit_price) == (7.0, 92.5)  # in the broker itself
    events = AuditLog().events(kind="order")
    (msg,) = events["message"].tolist()
    assert "modified: quantity 5.0 -> 7, limit_price 90.0 -> 92.5 (cli)" in msg
    assert events["client_order_id"].tolist() == ["lim"]

    before = got(paper, "lim")
    refusals: list[tuple[dict[str, float], str]] = [
        (dict(stop_price=80.0), r"stop_price 80\.0 given, but a limit order has none"),
        (dict(trail=1.0), r"trail 1\.0 given, but a limit order has none"),
        (dict(limit_price=0.0), r"limit_price 0\.0 must be a number > 0"),
        (dict(limit_price=-3.0), r"limit_price -3\.0 must be a number > 0"),
        (dict(quantity=float("nan")), r"quantity nan must be a number > 0"),
        (dict(), r"nothing to change"),
        (dict(quantity=7, limit_price=92.5), r"nothing to change"),  # the values it already has
    ]
    for kwargs, pattern in refusals:
        with pytest.raises(OrderRejected, match=pattern):
            modify_order(paper, oid, **kwargs)  # type: ignore[arg-type]
        unchanged(paper, "lim", before)
    assert len(AuditLog().events(kind="order")) == 1  # refusals are not recorded as modifications


def test_unknown_final_and_whole_unit_orders_are_refused(book, tmp_path):
    paper, _ = book
    with pytest.raises(OrderRejected, match=r"no order 'nope'"):
        modify_order(paper, "nope", limit_price=1.0)
    with pytest.raises(OrderRejected, match=r"order entry is filled, not modifiable"):
        modify_order(paper, "entry", quantity=3)
    whole = PaperBroker(tmp_path / "whole.db", price_source=StaticPrices({"SPY": 100.0}), fractional=False)
    whole.submit(OrderRequest("SPY", 5, "buy", "limit", limit_price=90.0, client_order_id="w"))
    with pytest.raises(OrderRejected, match=r"quantity 2\.5: paper takes whole units only"):
        modify_order(whole, "w", quantity=2.5)
    assert modify_order(whole, "w", quantity=3).quantity == 3.0


def test_quantity_must_stay_above_what_already_filled(book):
    paper, _ = book
    paper.submit(OrderRequest("SPY", 10, "buy", "limit", limit_price=90.0, client_order_id="part"))
    # the paper broker fills whole orders only: a partial fill (as a venue reports one) written into its table
    with sqlite3.connect(paper.db_path) as db:
        db.execute(
            "UPDATE paper_orders SET filled_quantity = 4, status = 'partially_filled' WHERE client_order_id = 'part'"
        )
    for q in (4, 3):
        with pytest.raises(OrderRejected, match=rf"quantity {q} must be above the 4 already filled"):
            modify_order(paper, "part", quantity=q)
    assert got(paper, "part").quantity == 10
    assert modify_order(paper, "part", quantity=6).quantity == 6.0


def test_stop_moves_and_then_fills_at_the_new_level(book):
    paper, source = book
    paper.submit(OrderRequest("SPY", 10, "sell", type="stop", stop_price=90.0, client_order_id="s"))
    with pytest.raises(OrderRejected, match=r"limit_price 89\.0 given, but a stop order has none"):
        modify_order(paper, "s", limit_price=89.0)
    after = modify_order(paper, "s", stop_price=96.0, quantity=4)
    assert (after.type, after.stop_price, after.quantity, after.limit_price) == ("stop", 96.0, 4.0, None)
    source.bars["SPY"] = bars(FIRST, (97, 98, 95))  # low 95 crosses 96 (the old stop 90 would not fill)
    s = got(paper, "s")
    assert (s.status, s.filled_quantity, s.avg_fill_price) == ("filled", 4.0, 96.0)
    assert [(p.symbol, p.quantity) for p in paper.positions()] == [("SPY", 6.0)]


def test_stop_limit_both_prices(book):
    paper, source = book
    paper.submit(OrderRequest("SPY", 10, "sell", "stop_limit", stop_price=90.0, limit_price=89.0, client_order_id="sl"))
    after = modify_order(paper, "sl", stop_price=97.0, limit_price=96.5)
    assert (after.stop_price, after.limit_price) == (97.0, 96.5)
    with pytest.raises(OrderRejected, match=r"trail 2\.0 given, but a stop_limit order has none"):
        modify_order(paper, "sl", trail=2.0)
    source.bars["SPY"] = bars(FIRST, (98, 99, 96.8))  # stop 97 touched, the bar trades at 96.5 or better: fills
    s = got(paper, "sl")
    assert s.status == "filled" and s.avg_fill_price == pytest.approx(97.0)


def test_trailing_stop_percent_and_price(book):
    paper, source = book
    paper.submit(OrderRequest("SPY", 10, "sell", type="trailing_stop", trail_percent=10.0, client_order_id="tp"))
    with pytest.raises(OrderRejected, match=r"trail 100\.0 is a percent and must be below 100"):
        modify_order(paper, "tp", trail=100.0)
    with pytest.raises(OrderRejected, match=r"stop_price 95\.0 given, but a trailing_stop order has none"):
        modify_order(paper, "tp", stop_price=95.0)
    assert modify_order(paper, "tp", trail=2.0).trail_percent == 2.0
    source.bars["SPY"] = bars(FIRST, (99, 99.5, 97.5))  # trails from 100: 2 % -> 98; low 97.5 hits it (10 % would not)
    t = got(paper, "tp")
    assert t.status == "filled" and t.avg_fill_price == pytest.approx(98.0)

    paper.submit(OrderRequest("SPY", 1, "buy", type="trailing_stop", trail_price=5.0, client_order_id="tc"))
    after = modify_order(paper, "tc", trail=150.0)  # currency: no percent bound
    assert (after.trail_price, after.trail_percent) == (150.0, None)


def test_bracket_legs_keep_their_sides(book):
    paper, source = book
    paper.submit(
        OrderRequest("SPY", 5, "buy", order_class="bracket", take_profit=110.0, stop_loss=95.0, client_order_id="b")
    )
    assert got(paper, "b").status == "filled"  # market entry: the legs rest now
    modify_order(paper, "b/sl", stop_price=97.0)
    assert got(paper, "b/sl").stop_price == 97.0
    before_tp, before_sl = got(paper, "b/tp"), got(paper, "b/sl")
    with pytest.raises(OrderRejected, match=r"take_profit: 110\.0 must be above stop_loss 112\.0"):
        modify_order(paper, "b/sl", stop_price=112.0)
    with pytest.raises(OrderRejected, match=r"take_profit: 96\.0 must be above stop_loss 97\.0"):
        modify_order(paper, "b/tp", limit_price=96.0)
    with pytest.raises(OrderRejected, match=r"limit_price 99\.0 given, but a stop order has none"):
        modify_order(paper, "b/sl", limit_price=99.0)
    unchanged(paper, "b/tp", before_tp)
    unchanged(paper, "b/sl", before_sl)
    assert modify_order(paper, "b/tp", limit_price=105.0).limit_price == 105.0
    source.bars["SPY"] = bars(FIRST, (104, 106, 103))  # high 106 reaches the new take-profit 105 (not the old 110)
    assert (got(paper, "b/tp").status, got(paper, "b/tp").avg_fill_price) == ("filled", 105.0)
    assert got(paper, "b/sl").status == "canceled"


def test_open_bracket_entry_limit_stays_between_its_exits(book):
    paper, _ = book
    paper.submit(
        OrderRequest(
            "SPY", 5, "buy", "limit", limit_price=98.0, order_class="bracket", take_profit=110.0, stop_loss=95.0,
            client_order_id="e",
        )
    )  # fmt: skip
    assert got(paper, "e").status == "new"  # 98 < 100: rests, its legs wait for it
    with pytest.raises(OrderRejected, match=r"limit_price: 94\.0 must lie between stop_loss 95\.0 and take_profit"):
        modify_order(paper, "e", limit_price=94.0)
    assert modify_order(paper, "e", limit_price=97.0).limit_price == 97.0


# ---------------------------------------------------------------------------------------------- the CLI
def sample_close(symbol: str) -> float:
    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def test_cli_orders_modify(capsys):
    paper = PaperBroker()  # the CLI's paper broker: same workspace database, the bundled sample's last closes
    limit = round(sample_close("XLF") * 0.5, 2)
    paper.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=limit, client_order_id="cli-XLF"))

    assert main(["orders", "modify", "cli-XLF", "--limit", str(limit - 1), "--quantity", "8", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)["order"]
    assert (row["client_order_id"], row["limit_price"], row["quantity"], row["status"]) == (
        "cli-XLF",
        pytest.approx(limit - 1),
        8.0,
        "new",
    )
    assert got(paper, "cli-XLF").limit_price == pytest.approx(limit - 1)
    assert main(["orders", "modify", "cli-XLF", "--limit", str(limit)]) == 0
    assert f"{limit:,.2f}" in capsys.readouterr().out

    for argv, needle in (
        (["--stop", "3"], "stop_price 3.0 given, but a limit order has none"),
        (["--limit", "-1"], "limit_price -1.0 must be a number > 0"),
        ([], "nothing to change"),
        (["--limit", "abc"], "invalid float value: 'abc'"),
    ):
        assert main(["orders", "modify", "cli-XLF", *argv, "--broker", "paper"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("ivybt: error:") and needle in err and len(err.splitlines()) == 1
    assert main(["orders", "modify", "nope", "--limit", "1"]) == 2
    assert "no order 'nope'" in capsys.readouterr().err
    assert got(paper, "cli-XLF").limit_price == pytest.approx(limit)
