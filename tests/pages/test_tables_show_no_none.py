"""No table cell reads "None": missing values in the Desk, Data and Home tables show as a dash (the tables'
placeholder), and text cells holding str(None) are emptied first (ui.tables)."""

from __future__ import annotations

import pandas as pd

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from tests.pages.page_helpers import assert_clean, page
from ui.tables import BLANK, blank_text

SAYS_NOTHING = {"None", "nan", "NaN", "NaT", "<NA>"}


def none_cells(element) -> list[str]:
    """The cells of an st.dataframe that the browser shows as "None" or "nan": missing values drawn without a
    placeholder (Streamlit then writes "None") and text cells that say it themselves."""
    df = element.value
    found = []
    placeholder = element.proto.placeholder
    for col in df.columns:
        for row, value in df[col].items():
            missing = value is None or (not isinstance(value, str) and pd.isna(value))
            if missing and placeholder in ("", "None"):
                found.append(f"{row}/{col}: missing, no placeholder")
            elif isinstance(value, str) and value in SAYS_NOTHING:
                found.append(f"{row}/{col}: {value!r}")
    return found


def _all_tables_clean(at) -> None:
    assert at.dataframe, "no table drawn"
    for element in at.dataframe:
        assert none_cells(element) == [], element.value.head()
        assert element.proto.placeholder == BLANK


def test_desk_tables_show_missing_prices_as_a_dash(workspace) -> None:
    paper = PaperBroker()
    paper.submit(OrderRequest("XLK", 10, "buy"))
    paper.submit(OrderRequest("XLF", 5, "buy", "limit", limit_price=1.0, client_order_id="lim-XLF"))
    at = page("home")
    at.run()
    at.switch_page("pages/desk.py").run()
    assert_clean(at)
    orders = next(d for d in at.dataframe if d.value.index.name == "id")
    assert orders.value["stop_price"].isna().all()  # a limit order has no stop price: the cell is missing
    _all_tables_clean(at)


def test_data_and_home_tables_show_no_none(workspace) -> None:
    for name in ("data", "home"):
        at = page(name)
        at.run()
        assert_clean(at)
        _all_tables_clean(at)


def test_backtest_and_runs_tables_show_no_none(workspace) -> None:
    from engine.request import BacktestRequest, run_request
    from engine.store.runs import RunStore

    request = BacktestRequest(
        strategy="buy_and_hold", params={}, symbols=("SPY",), start="2019-01-01", end="2020-12-31"
    )
    run_id = RunStore().save(run_request(request), request)
    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    metrics = next(d for d in at.dataframe if d.value.index.name == "metric")
    assert metrics.value.isna().any().any()  # the benchmark has no trade metrics: missing cells are drawn
    _all_tables_clean(at)
    at = page("runs")
    at.run()
    assert_clean(at)
    _all_tables_clean(at)


def test_blank_text_empties_cells_that_say_none() -> None:
    frame = pd.DataFrame({"a": ["x", "None", None, "nan"], "b": [1.0, 2.0, float("nan"), 4.0]})
    out = blank_text(frame)
    assert out["a"].iloc[0] == "x" and out["a"].iloc[1:].isna().all()
    assert out["b"].tolist()[:2] == [1.0, 2.0] and pd.isna(out["b"].iloc[2])
    assert list(frame["a"].fillna("missing")) == ["x", "None", "missing", "nan"]  # the caller's frame is left alone
