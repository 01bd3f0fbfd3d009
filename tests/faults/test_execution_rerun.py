"""Rerunning an execution (issue 15 item 5), with real `ivybt` processes on a real workspace database: a completed
plan is "already executed" (exit 0, nothing sent) although fill costs leave small residual sells under the same
ids; two processes executing one plan at once send each order once (the lease, kept alive by its heartbeat, makes
the second wait even when the lease is shorter than the execution); a fill that leaves a residual within the
tolerance (brokers.reconcile.ResidualTolerance) completes, one beyond it does not."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from brokers.reconcile import ResidualTolerance
from tests.brokers.alpaca.alpaca_server import FakeAlpacaServer
from tests.faults.execution_helpers import (
    COSTS,
    child_env,
    finish,
    paper_orders,
    rebalance,
    run,
    save_preset,
    start,
    the_plan,
)

TOLERANCE = ResidualTolerance()  # the defaults: 1 unit and 50 of notional


def test_execution_rerun_of_a_completed_plan_with_residual_sells_is_already_executed(
    workspace: Path, presets: Path
) -> None:
    save_preset(presets, COSTS)
    env = child_env(workspace, presets)
    code, out, err = run(rebalance(), env)
    assert code == 0, err[-2000:]
    first = json.loads(out)["execution"]
    assert (first["status"], first["sent"]) == ("complete", 3)

    code, out, err = run(rebalance(), env)  # the same signal again: the fees lowered the equity ...
    assert code == 0, err[-2000:]
    again = json.loads(out)
    residuals = again["plan"]["orders"]  # ... so the replan asks for small sells under the same ids
    assert [o["side"] for o in residuals] == ["sell"] * 3 and again["plan"]["plan_id"] == first["plan_id"]
    for o in residuals:  # each one worth less than the tolerance (by the numbers of this run)
        assert 0 < o["quantity"] * o["reference_price"] <= TOLERANCE.notional and o["quantity"] <= TOLERANCE.shares
    done = again["execution"]
    assert (done["status"], done["sent"], done["already_executed"], done["errors"]) == ("complete", 0, True, [])
    assert [o["quantity"] for o in done["orders"]] == [o["quantity"] for o in first["orders"]]  # the first plan's

    code, out, err = run(rebalance(json_out=False), env)
    assert code == 0, err[-2000:]
    assert f"plan {first['plan_id']} on paper: already executed, COMPLETE; 3/3 filled, 0 sent now" in out
    assert "mismatch" not in out and "error:" not in out
    assert len(paper_orders(workspace)) == 3 and the_plan(workspace)["status"] == "complete"


def test_execution_two_processes_at_once_send_each_order_once(workspace: Path, presets: Path) -> None:
    save_preset(presets)
    # a 1 s lease and 1.5 s per order: without its heartbeat the lease would lapse in the middle of the execution
    env = child_env(workspace, presets, "slow-submit:1.5", IVYBT_LEASE_S="1")
    procs = [start(rebalance(), env) for _ in range(2)]
    outs = [finish(p) for p in procs]
    assert [code for code, _, _ in outs] == [0, 0], [err[-2000:] for _, _, err in outs]
    runs = sorted((json.loads(out)["execution"] for _, out, _ in outs), key=lambda r: r["sent"])
    assert [(r["sent"], r["already_executed"], r["status"]) for r in runs] == [
        (0, True, "complete"),  # waited for the lease, then found the plan done
        (3, False, "complete"),
    ]
    planned = [o["client_order_id"] for o in the_plan(workspace)["payload"]["orders"]]
    assert sorted(o["client_order_id"] for o in paper_orders(workspace)) == sorted(planned)


def _alpaca(workspace: Path, presets: Path, partial: float) -> tuple[int, dict, dict[str, float]]:
    """Execute "hold3" against the fake Alpaca where XLK market orders fill `partial` of their quantity (the fake
    rounds the filled part down to whole shares); the exit code, the execution and the XLK plan numbers."""
    save_preset(presets)
    prices = {"XLK": 97.0, "XLF": 41.0, "XLE": 57.0}
    with FakeAlpacaServer(cash=100_000.0, prices=prices, lifetime=600.0) as fake:
        fake.partial["XLK"] = partial
        env = child_env(
            workspace,
            presets,
            ALPACA_API_KEY=fake.key,
            ALPACA_SECRET_KEY=fake.secret,
            ALPACA_BASE_URL=fake.url,
            ALPACA_DATA_URL=fake.url,
        )
        code, out, err = run(rebalance("alpaca", timeout="1"), env)
        assert code in (0, 1), err[-2000:]
        assert fake.orders_created == 3
    done = json.loads(out)["execution"]
    (xlk,) = [o for o in done["orders"] if o["symbol"] == "XLK"]
    planned = xlk["quantity"]
    assert planned == pytest.approx(math.floor(100_000 / 3 * 0.999 / 97.0 * 1e6) / 1e6)  # a third, 0.1% buffer
    filled = math.floor(planned * partial)
    assert xlk["filled_quantity"] == filled
    return code, done, {"rest": planned - filled, "price": 97.0}


def test_execution_fill_residual_within_tolerance_is_not_a_mismatch(workspace: Path, presets: Path) -> None:
    code, done, xlk = _alpaca(workspace, presets, partial=1.0)  # only the fraction of a share is left
    assert 0 < xlk["rest"] < 1 and TOLERANCE.allows(xlk["rest"], xlk["price"])  # 0.298969 x 97 = 29.00
    assert code == 0 and done["status"] == "complete" and done["errors"] == []
    recon = {r["symbol"]: r for r in done["reconciliation"]}
    assert recon["XLK"]["residual"] == pytest.approx(xlk["rest"]) and recon["XLK"]["status"] == "ok"


def test_execution_fill_residual_beyond_tolerance_is_still_a_mismatch(workspace: Path, presets: Path) -> None:
    code, done, xlk = _alpaca(workspace, presets, partial=0.99)  # 339 of 343.298969 filled
    assert xlk["rest"] > TOLERANCE.shares and not TOLERANCE.allows(xlk["rest"], xlk["price"])
    assert code == 1 and done["status"] == "partial"
    recon = {r["symbol"]: r for r in done["reconciliation"]}
    assert recon["XLK"]["residual"] == pytest.approx(xlk["rest"]) and recon["XLK"]["status"] == "residual"
    assert {r["status"] for s, r in recon.items() if s != "XLK"} == {"ok"}
