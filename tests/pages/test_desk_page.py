"""AppTest of the Desk page on the paper broker (workspace in tmp_path): account cards, positions with P&L,
cancel one open order, then flatten behind the typed confirmation."""

from __future__ import annotations

import pandas as pd
import pytest

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from engine.data import SAMPLE_DIR
from engine.ops.risk import kill_switch_reason
from tests.pages.page_helpers import assert_clean, frame, page


def last_close(symbol: str) -> float:
    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def desk_page():
    at = page("home")
    at.run()
    return at.switch_page("pages/desk.py")


def test_positions_cancel_and_flatten_on_paper(workspace):
    paper = PaperBroker()  # no costs: fills at the sample's last close
    paper.submit(OrderRequest("XLK", 10, "buy"))
    limit = round(last_close("XLF") * 0.5, 2)
    paper.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=limit, client_order_id="lim-XLF"))
    at = desk_page()
    at.run()
    assert_clean(at)
    assert at.title[0].value == "Desk"
    xlk = last_close("XLK")
    equity = 100_000.0  # bought at the last close, still marked at it: no P&L yet
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Equity (USD)"] == f"{equity:,.2f}" and metrics["Cash (USD)"] == f"{equity - 10 * xlk:,.2f}"
    pos = frame(at, "symbol")
    assert list(pos.index) == ["XLK"]
    assert pos.loc["XLK", "market_value"] == pytest.approx(10 * xlk)
    assert pos.loc["XLK", "unrealized_pnl"] == pytest.approx(0.0)
    assert pos.loc["XLK", "weight"] == pytest.approx(10 * xlk / equity)
    orders = frame(at, "id")
    assert orders["client_order_id"].tolist() == ["lim-XLF"] and orders["limit_price"].tolist() == [limit]

    (oid,) = orders.index
    at.button(key=f"desk_cancel_{oid}").click().run()
    assert_clean(at)
    assert paper.order("lim-XLF").status == "canceled"
    assert any("No open orders" in i.value for i in at.info)

    assert at.button(key="desk_flatten").disabled
    at.text_input(key="desk_flatten_confirm").input("flatten").run()
    assert at.button(key="desk_flatten").disabled  # the word must be typed exactly
    at.text_input(key="desk_flatten_confirm").input("FLATTEN").run()
    at.button(key="desk_flatten").click().run()
    assert not at.exception and not at.error
    assert any("FLAT" in s.value for s in at.success)
    assert paper.positions() == [] and kill_switch_reason() == "flatten"
