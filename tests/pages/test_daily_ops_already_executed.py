"""AppTest of the Daily Ops page's Execute row (issue 16 item 8, after issue 15 item 5): beside Execute, what it
will send (order count, gross amount, account); once executed, Execute is disabled with the result beside it, and
stays so after a reload and a fresh Generate signals (the same plan, which the audit log knows completed), so
nothing is sent twice."""

from __future__ import annotations

from brokers.paper.adapter import PaperBroker
from tests.pages.page_helpers import assert_clean
from tests.pages.test_daily_ops_page import ops_page, preset  # noqa: F401 - preset is a fixture

# independent: 3 sectors at 1/3 each of 100,000 less the 0.1% cash buffer, sized at the last close with 5 bps
# commission and 2 bps slippage (test_daily_ops_page), so the orders' gross value at the last close is:
GROSS = 100_000 * 0.999 / (1.0005 * 1.0002)


def _markdown(at) -> list[str]:
    return [m.value for m in at.markdown]


def test_execute_says_what_it_sends_then_stays_disabled_with_the_result(preset):  # noqa: F811 - the fixture
    at = ops_page()
    at.run()
    at.button(key="ops_generate").click().run()
    assert_clean(at)
    account = PaperBroker().account().account_id
    assert f"Sends **3 orders, ${GROSS:,.0f}, paper account {account}**" in _markdown(at)
    at.checkbox(key="ops_confirm").check().run()
    at.button(key="ops_execute").click().run()
    assert_clean(at)
    assert at.button(key="ops_execute").disabled
    assert any("COMPLETE; 3/3 filled, 3 sent now" in s.value for s in at.success)
    assert not [c for c in at.checkbox if c.key == "ops_confirm"]  # nothing left to confirm
    assert not [m for m in _markdown(at) if m.startswith("Sends **")]
    assert len(PaperBroker().orders("all")) == 3


def test_after_a_reload_the_executed_plan_keeps_execute_disabled(preset):  # noqa: F811 - the fixture
    first = ops_page()
    first.run()
    first.button(key="ops_generate").click().run()
    first.checkbox(key="ops_confirm").check().run()
    first.button(key="ops_execute").click().run()
    assert_clean(first)
    plan_id = first.session_state["ops_plan"].plan_id

    at = ops_page()  # a reload: a new session, nothing in session state
    at.run()
    at.button(key="ops_generate").click().run()  # the same signal: the same plan id, completed in the audit log
    assert_clean(at)
    assert at.session_state["ops_plan"].plan_id == plan_id
    assert at.button(key="ops_execute").disabled
    assert f"plan {plan_id} executed: COMPLETE; 3/3 orders filled" in [s.value for s in at.success]
    assert not [c for c in at.checkbox if c.key == "ops_confirm"]
    results = next(d.value for d in at.dataframe if "client_order_id" in d.value.columns)  # the Orders tab
    assert len(results) == 3 and set(results["status"]) == {"filled"}
    assert len(PaperBroker().orders("all")) == 3  # nothing sent again
