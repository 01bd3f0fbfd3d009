"""The Backtest page lists a user strategy and draws its parameter form without running its file (issue 15,
item 2): a file that deletes a canary when imported leaves it in place."""

from __future__ import annotations

from pathlib import Path

from tests.faults.user_code_helpers import CANARY, write_strategies
from tests.pages.page_helpers import assert_clean, page


def test_user_strategy_import_side_effect_not_run_by_backtest_page(workspace: Path, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    canary.write_text("alive")
    write_strategies(workspace, f"\nCANARY_FILE = {str(canary)!r}\n", CANARY)
    at = page("backtest")
    at.run()
    assert_clean(at)
    assert "canary - deletes the canary file when imported" in at.selectbox(key="bt_strategy").options
    at.selectbox(key="bt_strategy").set_value("canary").run()
    assert_clean(at)
    assert at.number_input(key="bt_p_canary_window").value == 20
    assert at.number_input(key="bt_p_canary_scale").value == 0.5
    assert canary.exists()
