"""Data page (symbol table, preview, import with per-file errors, delete), Home, and the placeholder pages."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data import available_symbols, load_market_data
from tests.pages.page_helpers import assert_clean, chart_traces, errors, page

GOOD = (
    b"date,open,high,low,close,volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,12,10,11,1200\n"
    b"2024-01-04,11,11.5,10.2,10.8,900\n"
)


def test_data_page_lists_every_symbol_and_previews(workspace) -> None:
    at = page("data")
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert sorted(table["symbol"]) == sorted(available_symbols())
    spy = table.set_index("symbol").loc["SPY"]
    bars = load_market_data(["SPY"])
    assert spy["bars"] == len(bars) and spy["source"] == "bundled"
    assert pd.Timestamp(spy["first"]) == bars.index[0] and pd.Timestamp(spy["last"]) == bars.index[-1]
    at.selectbox(key="data_preview_symbol").set_value("GLD").run()
    (chart,) = at.get("plotly_chart")
    traces = chart_traces(chart)
    assert [t["type"] for t in traces] == ["candlestick", "bar"]
    gld = load_market_data(["GLD"])
    assert np.allclose(traces[0]["close"], gld.close["GLD"].to_numpy())
    assert "Alpaca keys are not configured" in " ".join(i.value for i in at.info)


def test_data_page_import_errors_per_file_then_delete(workspace) -> None:
    at = page("data")
    at.run()
    at.file_uploader(key="data_upload").set_value(
        [
            ("NEWCO.csv", GOOD, "text/csv"),
            (
                "BADROWS.csv",
                b"date,open,high,low,close,volume\n2024-01-02,10,11,9,10,1\n2024-01-02,10,11,9,10,1\n",
                "text/csv",
            ),
            ("NOCOLS.csv", b"when,price\n2024-01-02,10\n", "text/csv"),
        ]
    ).run()
    at.button(key="data_upload_go").click().run()
    assert not at.exception
    # the page reruns after a successful import: the new symbol is in the table as a workspace symbol
    table = at.dataframe[0].value.set_index("symbol")
    assert table.loc["NEWCO", "source"] == "workspace" and table.loc["NEWCO", "bars"] == 3
    assert "BADROWS" not in table.index and "NOCOLS" not in table.index
    msgs = errors(at)
    assert [m.split(":")[0] for m in msgs] == ["BADROWS.csv", "NOCOLS.csv"], msgs
    assert "2024-01-02" in msgs[0]  # names the duplicated date
    assert any(s.value.startswith("NEWCO.csv: imported as NEWCO (3 bars") for s in at.success)

    again = page("data")
    again.run()
    again.file_uploader(key="data_upload").set_value(
        [("BADROWS.csv", b"date,open,high,low,close,volume\n2024-01-02,10,11,9,x,1\n", "text/csv")]
    ).run()
    again.button(key="data_upload_go").click().run()
    msgs = errors(again)
    assert len(msgs) == 1 and msgs[0].startswith("BADROWS.csv: line 2: column 'close'"), msgs
    assert "Traceback" not in msgs[0]

    again.selectbox(key="data_delete_symbol").set_value("NEWCO")
    assert again.button(key="data_delete_go").disabled
    again.checkbox(key="data_delete_confirm").check().run()
    again.button(key="data_delete_go").click().run()
    assert_clean(again)
    assert "NEWCO" not in list(again.dataframe[0].value["symbol"])
    assert "NEWCO" not in available_symbols()


def test_home_shows_data_runs_and_broker(workspace) -> None:
    at = page("home")
    at.run()
    assert_clean(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Symbols"] == str(len(available_symbols()))
    assert metrics["Broker"] == "paper (PAPER)"
    assert "No runs yet." in [i.value for i in at.info]
    assert "Quick start" in at.markdown[0].value


def test_app_starts_on_home_and_every_page_is_reachable(workspace) -> None:
    from streamlit.testing.v1 import AppTest

    from tests.pages.page_helpers import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert_clean(at)
    assert at.title[0].value == "IvyBT"
    for name, title in [
        ("backtest", "Backtest"),
        ("runs", "Runs"),
        ("data", "Data"),
        ("optimize", "Optimize"),
        ("scheduler", "Scheduler"),
        ("daily_ops", "Daily Ops"),
    ]:
        at.switch_page(f"pages/{name}.py").run()
        assert not at.exception, (name, [e.value for e in at.exception])
        assert at.title[0].value == title


@pytest.mark.parametrize("live", ["0", "1"])
def test_home_broker_mode_from_environment(workspace, monkeypatch, live) -> None:
    monkeypatch.setenv("IVYBT_BROKER", "alpaca")
    monkeypatch.setenv("IVYBT_LIVE", live)
    at = page("home")
    at.run()
    assert {m.label: m.value for m in at.metric}["Broker"] == ("alpaca (LIVE)" if live == "1" else "alpaca (PAPER)")
    assert bool(at.warning) == (live == "1")


def test_data_page_fetches_bars_from_alpaca(workspace, monkeypatch) -> None:
    from tests.brokers.alpaca.alpaca_server import FakeAlpacaServer

    days = pd.bdate_range("2024-03-01", periods=5)
    bars = [
        {
            "t": f"{d:%Y-%m-%d}T14:30:00Z",
            "o": 10.0 + i,
            "h": 11.0 + i,
            "l": 9.0 + i,
            "c": 10.5 + i,
            "v": 1000 + i,
            "n": 10,
            "vw": 10.2 + i,
        }
        for i, d in enumerate(days)
    ]
    with FakeAlpacaServer(bars={"ACME": bars}) as fake:
        monkeypatch.setenv("ALPACA_API_KEY", fake.key)
        monkeypatch.setenv("ALPACA_SECRET_KEY", fake.secret)
        monkeypatch.setenv("ALPACA_DATA_URL", fake.url)
        at = page("data")
        at.run()
        at.text_input(key="data_alpaca_symbols").set_value("acme")
        at.date_input(key="data_alpaca_start").set_value(pd.Timestamp("2024-01-01").date())
        at.run()
        at.button(key="data_alpaca_go").click().run()
    assert_clean(at)
    assert any(s.value.startswith("ACME: 5 bars, 2024-03-01 .. 2024-03-07") for s in at.success), [
        s.value for s in at.success
    ]
    table = at.dataframe[0].value.set_index("symbol")  # the page reran: the table lists the new symbol
    assert table.loc["ACME", "source"] == "workspace" and table.loc["ACME", "bars"] == 5
    got = load_market_data(["ACME"])
    assert list(got.index) == list(days)
    assert list(got.close["ACME"]) == [10.5, 11.5, 12.5, 13.5, 14.5]
    assert list(got.volume["ACME"]) == [1000, 1001, 1002, 1003, 1004]


def test_data_page_imports_a_folder_by_path(workspace, tmp_path) -> None:
    folder = tmp_path / "bars"
    folder.mkdir()
    (folder / "PATHCO.csv").write_bytes(GOOD)
    (folder / "BAD.csv").write_bytes(b"when,price\n2024-01-02,10\n")
    (folder / "WORSE.csv").write_bytes(b"date,open,high,low,close,volume\n2024-01-02,10,11,9,x,1\n")
    at = page("data")
    at.run()
    at.text_input(key="data_folder").set_value(str(folder)).run()
    at.button(key="data_folder_go").click().run()
    assert not at.exception
    # the page reran after the import: the new symbol is in the table and in the delete list at once
    table = at.dataframe[0].value.set_index("symbol")
    assert table.loc["PATHCO", "source"] == "workspace" and table.loc["PATHCO", "bars"] == 3
    assert "PATHCO" in at.selectbox(key="data_delete_symbol").options
    assert any(s.value.startswith(f"{folder / 'PATHCO.csv'}: imported as PATHCO (3 bars") for s in at.success)
    msgs = sorted(errors(at))
    assert len(msgs) == 2, msgs
    for msg, name in zip(msgs, ("BAD.csv", "WORSE.csv")):
        path = str(folder / name)
        assert msg.startswith(f"{path}: ") and msg.count(path) == 1, msg  # the file is named once
    assert "missing column" in msgs[0]

    at.run()  # the messages were a one-off flash: a later rerun does not repeat them
    assert not at.error and not at.success


def test_data_page_path_import_only_errors_shows_them_once(workspace, tmp_path) -> None:
    bad = tmp_path / "ONLYBAD.csv"
    bad.write_bytes(b"when,price\n2024-01-02,10\n")
    at = page("data")
    at.run()
    at.text_input(key="data_folder").set_value(str(bad)).run()
    at.button(key="data_folder_go").click().run()
    assert not at.exception
    msgs = errors(at)
    assert len(msgs) == 1 and msgs[0].count(str(bad)) == 1, msgs
    assert "ONLYBAD" not in list(at.dataframe[0].value["symbol"])


def test_home_lists_recent_runs(workspace) -> None:
    from engine.request import BacktestRequest, run_request
    from engine.store.runs import RunStore
    from tests.pages.page_helpers import column_config

    store = RunStore()
    ids = []
    for fast in (10, 20):
        request = BacktestRequest(
            strategy="sma_cross",
            params={"fast": fast, "slow": 50},
            symbols=("SPY",),
            start="2018-01-01",
            end="2019-12-31",
        )
        ids.append(store.save(run_request(request), request))
    at = page("home")
    at.run()
    assert_clean(at)
    assert "No runs yet." not in [i.value for i in at.info]
    runs = next(d for d in at.dataframe if "id" in d.value.columns)
    table = runs.value
    assert list(table["id"]) == ids[::-1]  # newest first
    listed = store.list().set_index("id")
    for row in table.itertuples():
        assert row.total_return == pytest.approx(listed.loc[row.id, "total_return"])
    assert str(table["created_at"].dtype).startswith("datetime64")
    assert column_config(runs)["created_at"]["type_config"]["format"] == "YYYY-MM-DD HH:mm"
    sources = next(d for d in at.dataframe if d.value.index.name == "source")
    assert column_config(sources)["first"]["type_config"]["format"] == "YYYY-MM-DD"
