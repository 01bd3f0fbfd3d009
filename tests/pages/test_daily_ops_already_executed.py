"""AppTest of the Daily Ops page executing one plan twice on the paper broker (issue 15 item 5): the second
Execute says "already executed" with the plan's summary, shows no error and sends nothing."""

from __future__ import annotations

from brokers.paper.adapter import PaperBroker
from tests.pages.page_helpers import assert_clean
from tests.pages.test_daily_ops_page import ops_page, preset  # noqa: F401 - preset is a fixture


def _execute(at):
    at.checkbox(key="ops_confirm").check().run()
    at.button(key="ops_execute").click().run()
    assert_clean(at)
    return at


def test_executing_a_completed_plan_again_says_already_executed(preset):  # noqa: F811 - the fixture
    at = ops_page()
    at.run()
    at.button(key="ops_generate").click().run()
    _execute(at)
    assert any("COMPLETE; 3/3 filled, 3 sent now" in s.value for s in at.success)
    assert len(PaperBroker().orders("all")) == 3

    at.button(key="ops_generate").click().run()  # the same signal: its fees left small sells under the same ids
    assert_clean(at)
    assert any("was already executed (complete)" in i.value for i in at.info)
    _execute(at)
    (banner,) = [i.value for i in at.info if "already executed, COMPLETE" in i.value]
    assert "3/3 filled, 0 sent now, 0 error(s)" in banner and banner.endswith("nothing was sent again")
    assert not [w.value for w in at.warning if "PARTIAL" in w.value or "FAILED" in w.value]
    assert len(PaperBroker().orders("all")) == 3
