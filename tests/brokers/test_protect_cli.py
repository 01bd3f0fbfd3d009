"""`ivybt protect check / repair` in process (engine.cli.main with the "ivybt.commands" entry point) on the real
paper broker in a temp workspace (prices: the bundled sample's last close), with its exit codes."""

from __future__ import annotations

import json

import pytest

from brokers.base import OrderRequest
from brokers.paper.adapter import PaperBroker
from brokers.protect import PREFIX
from engine.cli import main
from engine.ops.audit_log import AuditLog
from engine.store.presets import Preset, save_preset

SL, TP = 0.05, 0.10


@pytest.fixture
def preset(presets):
    save_preset(
        Preset(
            name="guarded", strategy="buy_and_hold", symbols=("SPY", "QQQ"), risk={"stop_loss": SL, "take_profit": TP}
        )
    )
    return "guarded"


def ivybt(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def status(broker: PaperBroker, cid: str) -> str:
    """The state of the order with this client_order_id (it must exist)."""
    st = broker.order(cid)
    assert st is not None, cid
    return st.status


def open_protective(broker: PaperBroker):
    return [o for o in broker.orders("open") if o.client_order_id.startswith(PREFIX) and not o.parent_id]


def test_check_then_dry_run_then_repair_then_orphan(preset, capsys):
    paper = PaperBroker()
    paper.submit(OrderRequest("SPY", 10, "buy", client_order_id="by-hand"))
    code, out, _ = ivybt(capsys, "protect", "check", "--preset", preset, "--json")
    rep = json.loads(out)
    assert code == 1 and not rep["ok"]
    assert [(r["symbol"], r["status"], r["action"]) for r in rep["rows"]] == [("SPY", "missing", "place")]

    n = len(paper.orders("all"))
    code, out, _ = ivybt(capsys, "protect", "repair", "--preset", preset)
    assert code == 1 and "dry run: nothing sent" in out and len(paper.orders("all")) == n

    code, out, _ = ivybt(capsys, "protect", "repair", "--preset", preset, "--yes", "--json")
    done = json.loads(out)
    assert code == 0 and done["after"]["ok"] and [s["action"] for s in done["steps"]] == ["place"]
    (oco,) = open_protective(paper)
    avg = paper.positions()[0].avg_price
    leg = next(o for o in paper.orders("open") if o.parent_id == oco.id)
    assert (oco.order_class, oco.side, oco.quantity) == ("oco", "sell", 10)
    assert oco.limit_price == round(avg * (1 + TP), 2) and leg.stop_price == round(avg * (1 - SL), 2)
    assert ivybt(capsys, "protect", "check", "--preset", preset)[0] == 0

    paper.submit(OrderRequest("SPY", 10, "sell", client_order_id="closed-by-hand"))
    code, out, _ = ivybt(capsys, "protect", "check", "--preset", preset)
    assert code == 1 and "orphan" in out
    assert ivybt(capsys, "protect", "repair", "--preset", preset, "--yes")[0] == 0
    assert open_protective(paper) == [] and status(paper, oco.client_order_id) == "canceled"
    assert status(paper, oco.client_order_id + "/sl") == "canceled"

    events = AuditLog().events(limit=200, kind="reconcile")
    assert sum(m.startswith("protect check guarded") for m in events["message"]) == 3


def test_bad_input_exits_2(preset, capsys):
    code, _, err = ivybt(capsys, "protect", "check", "--preset", "no_such_preset")
    assert code == 2 and err.startswith("ivybt: error:") and len(err.splitlines()) == 1
    assert ivybt(capsys, "protect", "check")[0] == 2  # --preset is required
    assert ivybt(capsys, "protect", "repair", "--preset", preset, "--broker", "nope")[0] == 2


def test_a_flat_account_is_protected(preset, capsys):
    code, out, _ = ivybt(capsys, "protect", "check", "--preset", preset)
    assert code == 0 and "every position is protected" in out
