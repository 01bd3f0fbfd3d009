"""`ivybt signals / rebalance / broker status / audit-log` through the installed console script (entry point
group "ivybt.commands"), on the paper broker and on the real alpaca-py client against FakeAlpacaServer."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IVYBT = Path(sys.executable).with_name("ivybt")


def run(args, env):
    out = subprocess.run([str(IVYBT), *args], capture_output=True, text=True, timeout=180, env=env, cwd=ROOT)
    return out.returncode, out.stdout, out.stderr


@pytest.fixture
def env(tmp_path):
    presets = tmp_path / "presets"
    presets.mkdir()
    shutil.copy(ROOT / "presets" / "sector_rotation.json", presets / "sector_rotation.json")
    e = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "APCA_", "IVYBT_"))}
    return {**e, "IVYBT_HOME": str(tmp_path / "ws"), "IVYBT_PRESETS": str(presets)}


def test_paper_dry_run_then_execute_then_nothing_twice(env):
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "paper", "--json"], env)
    assert code == 0, err
    dry = json.loads(out)
    assert dry["executed"] is False and len(dry["plan"]["orders"]) == 3
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "paper", "--execute", "--json"], env)
    assert code == 0, err
    done = json.loads(out)["execution"]
    assert done["status"] == "complete" and done["sent"] == 3
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "paper", "--execute", "--json"], env)
    again = json.loads(out)["execution"]
    assert code == 0 and again["sent"] == 0 and again["already_executed"] and again["status"] == "complete"
    code, out, _ = run(["broker", "status", "--json"], env)
    st = json.loads(out)
    assert code == 0 and st["connected"] and st["positions"] == 3 and st["live"] is False
    code, out, _ = run(["audit-log", "--limit", "500", "--json"], env)
    kinds = [e["kind"] for e in json.loads(out)["events"]]
    assert kinds.count("fill") == 3 and kinds.count("plan") == 3


def test_kill_switch_blocks_cron_execution(env):
    assert run(["broker", "kill-switch", "on", "--reason", "cli test"], env)[0] == 0
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "paper", "--execute"], env)
    assert code == 1 and "plan BLOCKED: kill_switch: kill switch is ON: cli test" in out
    assert run(["broker", "kill-switch", "off"], env)[1].strip() == "kill switch: off"


def test_alpaca_via_environment_and_one_line_errors(env, alpaca_fake):
    alpaca_fake.prices.update({s: 100.0 for s in ("XLK", "XLF", "XLE", "XLV", "XLY", "XLP", "XLI", "XLU")})
    e = {
        **env,
        "ALPACA_API_KEY": alpaca_fake.key,
        "ALPACA_SECRET_KEY": alpaca_fake.secret,
        "ALPACA_BASE_URL": alpaca_fake.url,
        "ALPACA_DATA_URL": alpaca_fake.url,
    }
    code, out, err = run(
        ["rebalance", "--preset", "sector_rotation", "--broker", "alpaca", "--execute", "--timeout", "2", "--json"], e
    )
    assert code == 0, err
    assert json.loads(out)["execution"]["status"] == "complete"
    assert alpaca_fake.orders_created == 3
    assert alpaca_fake.key not in out and alpaca_fake.secret not in out
    code, out, err = run(["broker", "status", "--broker", "alpaca"], {**env, "ALPACA_BASE_URL": alpaca_fake.url})
    assert code == 2 and err.startswith("ivybt: error: alpaca: API keys missing") and len(err.splitlines()) == 1


def _alpaca_env(env, fake, **extra):
    return {
        **env,
        "ALPACA_API_KEY": fake.key,
        "ALPACA_SECRET_KEY": fake.secret,
        "ALPACA_BASE_URL": fake.url,
        "ALPACA_DATA_URL": fake.url,
        **extra,
    }


def _fresh_preset(env, symbols=("SPY", "QQQ")):
    from engine.store.presets import Preset

    p = Preset(name="fresh", strategy="buy_and_hold", symbols=symbols, start="2020-01-01")
    (Path(env["IVYBT_PRESETS"]) / "fresh.json").write_text(json.dumps(p.to_dict()), encoding="utf-8")
    return p


def test_refresh_downloads_the_latest_bars_before_the_signals(env, alpaca_fake):
    import pandas as pd

    from engine.ops.signals import expected_last_session

    last = expected_last_session()  # the session a cron job after today's close expects
    days = pd.bdate_range(end=last, periods=30)
    for k, sym in enumerate(("SPY", "QQQ")):
        alpaca_fake.bars[sym] = [
            {
                "t": f"{d:%Y-%m-%d}T05:00:00Z",
                "o": 100.0 + k + i,
                "h": 102.0 + k + i,
                "l": 99.0 + k + i,
                "c": 101.0 + k + i,
                "v": 1e6,
                "n": 10,
                "vw": None,
            }
            for i, d in enumerate(days)
        ]
    alpaca_fake.bars_page_size = 1000
    _fresh_preset(env)
    e = _alpaca_env(env, alpaca_fake)
    code, out, err = run(["signals", "--preset", "fresh", "--refresh", "--broker", "alpaca", "--json"], e)
    assert code == 0, err
    sig = json.loads(out)
    assert sig["data_timestamp"][:10] == f"{last:%Y-%m-%d}" and sig["stale"] is False
    assert sig["prices"] == {"SPY": 101.0 + 29, "QQQ": 102.0 + 29}  # the fake's last closes
    assert sig["targets"] == {"SPY": 0.5, "QQQ": 0.5}
    assert alpaca_fake.key not in out + err and alpaca_fake.secret not in out + err
    stored = pd.read_parquet(Path(env["IVYBT_HOME"]) / "data" / "SPY.parquet")
    assert len(stored) == 30 and stored.index[-1] == last and stored["open"].iloc[0] == 100.0
    # the rebalance dry run refreshes too (and says so); the paper broker has no bar source of its own
    code, out, err = run(["rebalance", "--preset", "fresh", "--broker", "alpaca", "--refresh"], e)
    assert code == 0, err
    assert out.splitlines()[0] == f"refreshed 2 symbol(s) from alpaca-bars:default: last bar {last:%Y-%m-%d}"
    code, out, err = run(["signals", "--preset", "fresh", "--refresh", "--broker", "paper"], env)
    assert code == 2 and err.startswith("ivybt: error: --refresh: broker 'paper' has no bar source")
    assert len(err.splitlines()) == 1


def test_yes_live_is_required_for_a_live_account(env, alpaca_fake):
    alpaca_fake.prices.update({s: 100.0 for s in ("XLK", "XLF", "XLE", "XLV", "XLY", "XLP", "XLI", "XLU")})
    ws = Path(env["IVYBT_HOME"])
    ws.mkdir(parents=True, exist_ok=True)
    (ws / "risk_limits.json").write_text('{"allow_stale_data": true}')  # the bundled sample data is old
    e = _alpaca_env(env, alpaca_fake, ALPACA_LIVE="1", IVYBT_ALLOW_LIVE="1")
    args = ["rebalance", "--preset", "sector_rotation", "--broker", "alpaca", "--execute", "--timeout", "2"]
    code, out, err = run(args, e)
    assert code == 2 and alpaca_fake.order_posts == 0
    assert err == "ivybt: error: alpaca account PA3FAKE0001 is LIVE: add --yes-live to execute (nothing was sent)\n"
    code, out, err = run(args + ["--yes-live", "--json"], e)
    assert code == 0, err
    done = json.loads(out)
    assert done["plan"]["is_live"] is True and done["execution"]["status"] == "complete"
    assert alpaca_fake.orders_created == 3 and alpaca_fake.order_posts == 3
    code, out, _ = run(["audit-log", "--json", "--limit", "500"], e)
    refused = [ev for ev in json.loads(out)["events"] if ev["kind"] == "error"]
    assert len(refused) == 1 and "add --yes-live" in refused[0]["message"]


def test_paper_reset_needs_yes_and_starts_a_new_account(env):
    code, out, err = run(["broker", "paper-reset", "--cash", "5000"], env)
    assert code == 2 and "add --yes to confirm" in err and len(err.splitlines()) == 1
    code, out, _ = run(["broker", "status", "--json"], env)
    before = json.loads(out)
    assert before["cash"] == 100_000.0
    assert run(["rebalance", "--preset", "sector_rotation", "--broker", "paper", "--execute"], env)[0] == 0
    code, out, err = run(["broker", "paper-reset", "--cash", "5000", "--yes"], env)
    assert code == 0, err
    after = json.loads(run(["broker", "status", "--json"], env)[1])
    assert (after["cash"], after["equity"], after["positions"]) == (5000.0, 5000.0, 0)
    assert after["account_id"] != before["account_id"] and out.startswith(f"paper account reset: {after['account_id']}")
    # a fresh account: no drawdown against the old 100,000 equity, the plan is sized on 5,000
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "paper", "--json"], env)
    assert code == 0, err
    plan = json.loads(out)["plan"]
    assert plan["approved"] and plan["equity"] == 5000.0 and sum(o["notional"] for o in plan["orders"]) < 5000.0


def test_ib_async_log_lines_are_quiet_in_the_cli(env):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])  # nothing listens here once the socket is closed
    e = {**env, "IBKR_PORT": port}
    code, out, err = run(["broker", "status", "--broker", "ibkr"], e)
    assert code == 1 and err == "" and "NOT connected: BrokerUnavailable" in out
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "ibkr"], e)
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith("ivybt: error: ibkr account: connection to 127.0.0.1:") and "API connection" not in err
