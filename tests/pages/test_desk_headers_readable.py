"""The Desk's tables are headed in words (no snake_case), money to cents, fractions marked (%)."""

from __future__ import annotations

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from tests.pages.page_helpers import assert_clean, column_config, page
from ui.desk_view import MONEY_COLUMNS, PERCENT_COLUMNS, column_label


def test_column_label_reads_as_words() -> None:
    assert column_label("unrealized_pnl") == "Unrealized P&L"
    assert column_label("unrealized_pct") == "Unrealized (%)"
    assert column_label("client_order_id") == "Client order ID"
    assert column_label("target_weight") == "Target weight (%)"


def test_desk_tables_have_readable_headers(workspace) -> None:
    paper = PaperBroker()
    paper.submit(OrderRequest("XLK", 10, "buy"))
    paper.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=1.0, client_order_id="lim-XLF"))
    at = page("home")
    at.run()
    at.switch_page("pages/desk.py").run()
    assert_clean(at)
    tables = {d.value.index.name: d for d in at.dataframe}
    assert {"symbol", "id"} <= set(tables)
    for name, element in tables.items():
        config = column_config(element)
        for col in element.value.columns:
            label = config[col]["label"]
            assert "_" not in label, (name, col, label)
            if col in MONEY_COLUMNS:
                assert config[col]["type_config"]["format"] == "%.2f", col
            if col in PERCENT_COLUMNS:
                assert label.endswith("(%)") and config[col]["type_config"]["format"] == "percent", col
