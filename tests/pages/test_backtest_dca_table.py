"""A DCA run on the Backtest page shows what dollar-cost averagers read, per symbol: the average cost (money
spent on buys including commission / units bought, computed here from the run's own fills) and the money
invested, with the registry's labels."""

from __future__ import annotations

import pytest

from engine.config import BacktestConfig, Costs
from engine.metrics import registry
from engine.request import BacktestRequest, run_request
from engine.store.runs import RunStore
from tests.pages.page_helpers import assert_clean, page


def test_a_dca_run_shows_average_cost_and_money_invested(workspace) -> None:
    request = BacktestRequest(
        strategy="dca",
        params={"frequency": "monthly", "tranches": 12},
        symbols=("SPY", "TLT"),
        start="2018-01-01",
        end="2020-12-31",
        config=BacktestConfig(costs=Costs(commission_bps=5.0)),
    )
    result = run_request(request)
    run_id = RunStore().save(result, request)
    buys = result.fills[result.fills["quantity"] > 0]
    spent = (buys["quantity"] * buys["price"] + buys["commission"]).groupby(buys["symbol"]).sum()
    units = buys.groupby("symbol")["quantity"].sum()

    at = page("backtest")
    at.query_params["run"] = run_id
    at.run()
    assert_clean(at)
    assert any("Dollar-cost averaging" in m.value for m in at.markdown)
    (table,) = [d.value for d in at.dataframe if "average_cost" in d.value.columns]
    for symbol in ("SPY", "TLT"):
        assert table.loc[symbol, "average_cost"] == pytest.approx(spent[symbol] / units[symbol], rel=1e-12)
        assert table.loc[symbol, "invested"] == pytest.approx(spent[symbol], rel=1e-12)
    assert registry.is_metric("average_cost") and registry.is_metric("money_weighted_return")
