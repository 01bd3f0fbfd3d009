"""The Backtest page's charts: the equity chart spans the page (the old page put it in a 3/5 column beside the
metrics table), and the Prices & trades tab draws the strategy's own lines and the trades."""

from __future__ import annotations

import datetime as dt

from tests.pages.page_helpers import assert_clean, chart_traces, page


def _ancestors_of_charts(node, path=()) -> list[tuple[str, ...]]:
    """The block types above every st.plotly_chart of the page, outermost first."""
    found = []
    for child in getattr(node, "children", {}).values():
        kind = getattr(child, "type", type(child).__name__)
        if kind == "plotly_chart":
            found.append(path)
        found += _ancestors_of_charts(child, (*path, kind))
    return found


def _run(at):
    at.selectbox(key="bt_strategy").set_value("sma_cross").run()
    at.multiselect(key="bt_symbols").set_value(["SPY"])
    at.date_input(key="bt_start").set_value(dt.date(2014, 1, 1))
    at.date_input(key="bt_end").set_value(dt.date(2019, 12, 31))
    at.number_input(key="bt_p_sma_cross_fast").set_value(20)
    at.number_input(key="bt_p_sma_cross_slow").set_value(100)
    return at.button(key="bt_run").click().run()


def test_equity_chart_is_full_width_and_price_tab_draws_the_strategy_lines(workspace) -> None:
    at = page("backtest")
    at.run()
    _run(at)
    assert_clean(at)
    charts = at.get("plotly_chart")
    assert len(charts) == 1 and [t["name"] for t in chart_traces(charts[0])][0] == "Strategy"
    (path,) = _ancestors_of_charts(at.main)
    assert "column" not in path, path  # not squeezed into a column beside the metrics table

    at.session_state["bt_tabs"] = "Prices & trades"
    at.run()
    assert_clean(at)
    names = [t["name"] for t in chart_traces(at.get("plotly_chart")[0])]
    assert names[:3] == ["SPY", "SMA 20", "SMA 100"] and "Entry" in names and "Exit" in names
