"""An execution killed with SIGKILL finishes on the rerun (issue 15 item 5): `ivybt rebalance --execute` in a real
child process killed before a submit, between a submit and its record, and after a partial fill; the rerun takes
the lapsed lease within seconds, looks every planned order up at the broker by client_order_id, sends only the
missing ones and ends complete with exit 0, and the broker holds exactly one order per planned id."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.ops.lease import DEFAULT_LEASE_S
from tests.brokers.alpaca.alpaca_server import FakeAlpacaServer
from tests.faults.execution_helpers import (
    child_env,
    order_results,
    paper_orders,
    paper_positions,
    rebalance,
    run,
    run_killed,
    save_preset,
    the_plan,
)


@pytest.fixture
def env(workspace: Path, presets: Path) -> dict[str, str]:
    """A private workspace and the "hold3" preset (with costs); the environment of a child `ivybt`."""
    save_preset(presets, {"commission_bps": 5, "slippage_bps": 2})
    return child_env(workspace, presets)


def _rerun_finishes(home: Path, env: dict[str, str], missing: int) -> dict:
    """Rerun the execution without a fault: exit 0, complete, `missing` orders sent, one broker order per planned id."""
    planned = the_plan(home)["payload"]["orders"]
    code, out, err = run(rebalance(), env)
    assert code == 0, err[-2000:]
    done = json.loads(out)["execution"]
    assert (done["status"], done["sent"], done["already_executed"]) == ("complete", missing, False)
    assert [o["client_order_id"] for o in done["orders"]] == [o["client_order_id"] for o in planned]
    at_broker = paper_orders(home)
    assert sorted(o["client_order_id"] for o in at_broker) == sorted(o["client_order_id"] for o in planned)
    for o in planned:  # each planned order exactly once, as planned, filled
        (row,) = [r for r in at_broker if r["client_order_id"] == o["client_order_id"]]
        assert (row["side"], row["quantity"], row["status"]) == (o["side"], pytest.approx(o["quantity"]), "filled")
    targets = the_plan(home)["payload"]["target_quantities"]
    assert paper_positions(home) == pytest.approx(targets, abs=1e-6)
    assert the_plan(home)["status"] == "complete"
    assert [r["status"] for r in order_results(home)] == ["filled"] * len(planned)
    return done


def test_execution_killed_before_submit_finishes_on_rerun(workspace: Path, env: dict[str, str]) -> None:
    run_killed(rebalance(), {**env, "IVYBT_FAULT": "before-submit:2"})
    plan = the_plan(workspace)
    assert plan["status"] == "executing" and plan["lease_owner"]  # the dead process still "holds" the lease ...
    lapses_in = datetime.fromisoformat(plan["lease_until"]) - datetime.now(UTC)
    assert lapses_in.total_seconds() <= DEFAULT_LEASE_S  # ... for seconds (it was 150 s), not renewed by anyone
    assert len(paper_orders(workspace)) == 1  # the first order went out, the second never reached the broker
    _rerun_finishes(workspace, env, missing=2)


def test_execution_killed_between_submit_and_record_finishes_on_rerun(workspace: Path, env: dict[str, str]) -> None:
    run_killed(rebalance(), {**env, "IVYBT_FAULT": "after-submit:2"})
    second = the_plan(workspace)["payload"]["orders"][1]["client_order_id"]
    assert [o["client_order_id"] for o in paper_orders(workspace)][-1] == second  # at the broker, filled ...
    assert second not in {r["client_order_id"] for r in order_results(workspace)}  # ... and recorded nowhere
    _rerun_finishes(workspace, env, missing=1)
    # the rerun found the second order by its id and recorded its fill (once)
    code, out, _ = run(["audit-log", "--limit", "500", "--json"], env)
    fills = [e["client_order_id"] for e in json.loads(out)["events"] if e["kind"] == "fill"]
    assert code == 0 and sorted(fills) == sorted(o["client_order_id"] for o in paper_orders(workspace))


def _finish_at_the_fake(fake: FakeAlpacaServer, client_order_id: str) -> float:
    """The rest of a partially filled order fills at the fake (the market went on while the process was dead)."""
    with fake.lock:
        (o,) = [o for o in fake.orders if o["client_order_id"] == client_order_id]
        rest = o["qty"] - o["filled"]
        fake.fill(o, rest, fake.prices[o["symbol"]])
        o["filled"], o["status"] = o["qty"], "filled"
        return rest


def test_execution_killed_after_a_partial_fill_finishes_on_rerun(workspace: Path, presets: Path) -> None:
    save_preset(presets)  # no costs: the quantities below are computed by hand
    prices = {"XLK": 100.0, "XLF": 50.0, "XLE": 40.0}
    with FakeAlpacaServer(cash=10_000.0, prices=prices, lifetime=600.0) as fake:
        fake.set_position("XLK", 900, 100.0)  # equity 100,000: the plan sells XLK to pay for the buys
        fake.partial["XLK"] = 0.5
        env = child_env(
            workspace,
            presets,
            ALPACA_API_KEY=fake.key,
            ALPACA_SECRET_KEY=fake.secret,
            ALPACA_BASE_URL=fake.url,
            ALPACA_DATA_URL=fake.url,
        )
        run_killed(rebalance("alpaca"), {**env, "IVYBT_FAULT": "partial-fill"})
        # by hand: a third of 100,000 less the 0.1% buffer = 33,300 per symbol
        plan = the_plan(workspace)["payload"]
        assert [(o["symbol"], o["side"], o["quantity"]) for o in plan["orders"]] == [
            ("XLK", "sell", 567.0),
            ("XLE", "buy", 832.5),
            ("XLF", "buy", 666.0),
        ]
        sell = plan["orders"][0]["client_order_id"]
        (placed,) = fake.orders  # killed while the sell was partly filled, before the buys it pays for
        assert (placed["client_order_id"], placed["status"], placed["filled"]) == (sell, "partially_filled", 283)
        fake.partial.clear()
        assert _finish_at_the_fake(fake, sell) == 284

        code, out, err = run(rebalance("alpaca"), env)
        assert code == 0, err[-2000:]
        done = json.loads(out)["execution"]
        assert (done["status"], done["sent"]) == ("complete", 2)
        ids = [o["client_order_id"] for o in fake.orders]
        assert sorted(ids) == sorted(o["client_order_id"] for o in plan["orders"])  # one order per planned id
        assert fake.orders_created == 3
        held = {s: p["qty"] for s, p in fake.positions.items()}
        assert held == pytest.approx({"XLK": 333.0, "XLF": 666.0, "XLE": 832.5})
