"""The live loop honours the account-level risk rules (issue 17 item 5), as a real `ivybt live --replay` process
against the paper broker (real SQLite): after the session's N-th losing round trip in a row the next entry is
refused, the kill switch goes on with the count as its reason and a "risk_stop" alert; a drawdown past its limit
refuses entries without stopping. The round trips are worked out here from the paper broker's fills."""

from __future__ import annotations

import json

import pytest

from brokers.paper.adapter import PaperBroker
from engine.alerts.inbox import Inbox
from engine.ops.audit_log import AuditLog
from engine.ops.risk import LIMITS_FILE, kill_switch_reason
from engine.store.workspace import workspace_dir
from tests.brokers.live.helpers import IVYBT, PRESET, backtest_decisions, run, write_preset

pytestmark = pytest.mark.slow
SESSION = "smaev@paper:replay"
# a window whose round trips, filled at the deciding close as a replay fills, hold a loss (Feb 2020)
HISTORY, START, END = "2019-09-03", "2019-10-01", "2020-06-30"
NO_LIMITS = {"daily_loss_limit": None, "max_drawdown": None, "max_consecutive_losses": None}


def write_limits(**values: object) -> None:
    folder = workspace_dir()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / LIMITS_FILE).write_text(json.dumps({**NO_LIMITS, **values}), encoding="utf-8")


def pnl_by_hand(orders: list) -> list[float]:
    """Each buy-then-sell pair's profit: (sell price - buy price) x quantity (the strategy is long only)."""
    filled = [o for o in orders if o.filled_quantity > 0]
    return [
        (sell.avg_fill_price - buy.avg_fill_price) * sell.filled_quantity
        for buy, sell in zip(filled[::2], filled[1::2], strict=False)
    ]


def replay() -> tuple[int, str, str]:
    return run([str(IVYBT), "live", "--preset", PRESET, "--broker", "paper", "--replay", f"{START}..{END}", "--json"])


def decisions() -> list[str]:
    return backtest_decisions("paper", START, END, HISTORY)


def session_refusals() -> list[str]:
    events = AuditLog().events(limit=5000)
    return [m for m in events["message"] if m.startswith(f"live {SESSION}") and "not sent" in m]


def test_a_losing_round_trip_stops_the_loop_at_the_next_entry(presets):
    write_preset(presets, start=HISTORY)
    write_limits(max_consecutive_losses=1)
    code, _, err = replay()
    assert code == 0, err

    decided = decisions()
    orders = PaperBroker().orders("all")
    pnl = pnl_by_hand(orders)
    first_loss = next(i for i, p in enumerate(pnl) if p < 0)  # the window must hold a losing trade
    sent = [o.client_order_id for o in orders]
    # everything up to that trade's exit went out, the entry after it did not, nor anything later
    assert sent == decided[: 2 * first_loss + 2]
    assert len(decided) > len(sent)
    reason = kill_switch_reason()
    assert reason is not None and "1 consecutive losing trades (limit 1)" in reason
    refused = session_refusals()
    assert refused and decided[2 * first_loss + 2] in refused[-1]  # the oldest refusal is that entry
    alerts = [n for n in Inbox().list(limit=50) if n.event == "risk_stop"]
    assert len(alerts) == 1 and "1 consecutive losing trades" in alerts[0].title


def test_without_limits_every_decision_is_sent(presets):
    write_preset(presets, start=HISTORY)
    write_limits()
    code, _, err = replay()
    assert code == 0, err
    assert [o.client_order_id for o in PaperBroker().orders("all")] == decisions()
    assert kill_switch_reason() is None


def test_a_drawdown_past_the_limit_refuses_entries_but_does_not_stop(presets):
    write_preset(presets, start=HISTORY)
    write_limits(max_drawdown=1e-6)  # any dip below the recorded peak
    code, _, err = replay()
    assert code == 0, err
    decided = decisions()
    orders = PaperBroker().orders("all")
    assert kill_switch_reason() is None
    refused = session_refusals()
    assert refused and all("drawdown limit tripped" in m for m in refused)
    # only entries are refused: every sell the loop decided while it held a position went out
    assert all(o.side == "buy" for o in orders[::2]) and all(o.side == "sell" for o in orders[1::2])
    assert len(orders) < len(decided)
