"""engine.ops.plan_summary: the line beside Daily Ops' Execute (order count, gross amount, account) and how an
execution of a plan ended, read back from the audit log (issue 16 item 8)."""

from __future__ import annotations

from engine.ops.audit_log import AuditLog
from engine.ops.plan_summary import plan_outcome, plan_summary
from engine.ops.rebalance import build_plan

HAND = dict(
    preset="demo",
    data_timestamp="2024-03-08",
    equity=10_000.0,
    cash=8_000.0,
    cash_buffer=0.0,
    fractional=False,
    targets={"A": 0.5, "B": 0.3, "C": 0.0},
    prices={"A": 100.0, "B": 33.0, "C": 10.0},
    positions={"A": 10.0, "C": 20.0},
)


def test_summary_of_a_hand_worked_plan() -> None:
    # A: 0.5 x 10,000 / 100 = 50 held 10 -> buy 40 ($4,000); B: 0.3 x 10,000 / 33 = 90.9 -> buy 90 ($2,970);
    # C: sell the 20 held ($200). Gross: 4,000 + 2,970 + 200 = 7,170
    plan = build_plan(**HAND, broker="paper", account_id="PAPER-1")
    summary = plan_summary(plan)
    assert (summary.orders, summary.buys, summary.sells, summary.gross) == (3, 2, 1, 7_170.0)
    assert summary.text() == "3 orders (1 sell, 2 buys), $7,170, paper account PAPER-1"


def test_account_labels_and_currency() -> None:
    live = build_plan(**HAND, broker="alpaca", account_id="PA3X", is_live=True)
    assert plan_summary(live).text().endswith(", $7,170, LIVE alpaca account PA3X")
    paper = build_plan(**HAND, broker="ibkr", account_id="DU1")
    assert plan_summary(paper, currency="EUR").text().endswith(", 7,170 EUR, ibkr paper account DU1")
    one = build_plan(**{**HAND, "targets": {"A": 0.5}, "positions": {"A": 10.0}}, broker="paper", account_id="P")
    assert plan_summary(one).text() == "1 order, $4,000, paper account P"


def test_outcome_comes_from_the_audit_log(home) -> None:
    plan = build_plan(**HAND, broker="paper", account_id="PAPER-1")
    log = AuditLog()
    assert plan_outcome(plan.plan_id, log) is None  # never stored
    log.record_plan(plan.plan_id, "demo", "paper", "PAPER-1", plan.data_timestamp, True, plan.to_dict())
    assert plan_outcome(plan.plan_id, log) is None  # planned, not executing yet
    log.set_plan_status(plan.plan_id, "partial")
    outcome = plan_outcome(plan.plan_id, log)
    assert outcome is not None and not outcome.executed
    log.set_plan_status(plan.plan_id, "complete")
    outcome = plan_outcome(plan.plan_id, log)
    assert outcome is not None and outcome.executed
    assert outcome.text() == f"plan {plan.plan_id} executed: COMPLETE; 0/0 orders filled"
