"""AppTest of the Daily Ops page: generate signals and execute on the paper broker (workspace in tmp_path)."""
from __future__ import annotations

import shutil

import pandas as pd
import pytest

from brokers.paper import PaperBroker
from engine.audit_log import AuditLog
from engine.data import SAMPLE_DIR
from engine.risk import set_kill_switch
from tests.pages.page_helpers import ROOT, assert_clean, errors, frame, page


@pytest.fixture
def preset(workspace, tmp_path):
    folder = tmp_path / "presets"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "presets" / "sector_rotation.json", folder / "sector_rotation.json")
    return "sector_rotation"


def last_close(symbol: str) -> float:
    return float(pd.read_csv(SAMPLE_DIR / f"{symbol}.csv")["close"].iloc[-1])


def test_generate_signals_and_execute_on_paper(preset):
    at = page("daily_ops")
    at.run()
    assert_clean(at)
    assert [b.label for b in at.button if b.key == "ops_execute"] == []
    at.button(key="ops_generate").click().run()
    assert_clean(at)
    targets = frame(at, "symbol")
    held = targets[targets["target"] > 0]
    assert len(held) == 3 and held["target"].tolist() == pytest.approx([1 / 3] * 3)
    checks = frame(at, "check")
    assert checks.loc["kill_switch", "status"] == "🟢 pass" and checks.loc["data_fresh", "status"] == "🟠 warn"

    # Execute stays disabled until the confirmation box is ticked
    assert at.button(key="ops_execute").disabled
    at.checkbox(key="ops_confirm").check().run()
    at.button(key="ops_execute").click().run()
    assert_clean(at)
    results = next(d.value for d in at.dataframe if "client_order_id" in d.value.columns)
    assert sorted(results.index) == sorted(held.index)
    assert set(results["status"]) == {"🟢 filled"}

    # independent: 100,000 x 1/3 x 0.999 / (close x 1.0005 x 1.0002) (5 bps commission, 2 bps slippage)
    pos = {p.symbol: p.quantity for p in PaperBroker().positions()}
    for sym in held.index:
        expected = 100_000 / 3 * 0.999 / (last_close(sym) * 1.0005 * 1.0002)
        assert pos[sym] == pytest.approx(expected, abs=2e-6)
        assert results.loc[sym, "avg_fill_price"] == pytest.approx(last_close(sym) * 1.0002)
    assert results["slippage_bps"].tolist() == pytest.approx([2.0] * 3)
    kinds = set(AuditLog().events()["kind"])
    assert {"signal", "plan", "order", "ack", "fill", "reconcile"} <= kinds
    assert len(at.get("plotly_chart")) == 1


def test_kill_switch_blocks_the_plan(preset):
    set_kill_switch(True, "testing the stop")
    at = page("daily_ops")
    at.run()
    at.button(key="ops_generate").click().run()
    assert not at.exception
    assert any("Blocked: kill_switch: kill switch is ON: testing the stop" in e for e in errors(at))
    assert [b for b in at.button if b.key == "ops_execute"] == []


def test_without_presets_the_page_says_what_to_do(workspace):
    at = page("daily_ops")
    at.run()
    assert_clean(at)
    assert any("No presets yet" in i.value for i in at.info)
