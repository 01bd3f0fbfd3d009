"""The brokers' bar sources as `update_symbols` sources (registered by brokers.data_sources; the engine never
imports brokers): an Alpaca update against the fake Alpaca server merges exactly its bars into the workspace."""

from __future__ import annotations

import pandas as pd
import pytest

import brokers.data_sources  # noqa: F401  (registers alpaca / ibkr)
from engine.data import WorkspaceSource, import_files
from engine.data.update import update_symbols
from engine.data.update_sources import update_source_names
from engine.errors import DataError
from tests.brokers.alpaca.test_bars import alpaca_bar
from tests.brokers.bars_sample import ROWS, expected


def test_broker_sources_are_registered() -> None:
    assert update_source_names() == ["stooq", "alpaca", "ibkr"]


def test_alpaca_update_appends_its_new_bars(alpaca_fake, home, monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", alpaca_fake.key)
    monkeypatch.setenv("ALPACA_SECRET_KEY", alpaca_fake.secret)
    monkeypatch.setenv("ALPACA_DATA_URL", alpaca_fake.url)
    stored = tmp_path / "ACME.csv"
    stored.write_text("date,open,high,low,close,volume\n" + "\n".join(",".join(map(str, r)) for r in ROWS[:3]) + "\n")
    assert import_files([stored]).ok
    alpaca_fake.bars["ACME"] = [alpaca_bar(*r) for r in ROWS]
    (r,) = update_symbols(["ACME"], "alpaca")
    assert (r.action, r.added, r.source) == ("appended", 2, "alpaca")
    assert "split- and dividend-adjusted" in r.message
    pd.testing.assert_frame_equal(WorkspaceSource().load("ACME"), expected(), check_freq=False)


def test_alpaca_without_keys_is_one_error(home, no_broker_env) -> None:
    with pytest.raises(DataError, match=r"^alpaca: cannot download bars: .*keys missing"):
        update_symbols(["SPY"], "alpaca")
