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
    assert json.loads(out)["execution"]["sent"] == 0
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
    e = {**env, "ALPACA_API_KEY": alpaca_fake.key, "ALPACA_SECRET_KEY": alpaca_fake.secret,
         "ALPACA_BASE_URL": alpaca_fake.url, "ALPACA_DATA_URL": alpaca_fake.url}
    code, out, err = run(["rebalance", "--preset", "sector_rotation", "--broker", "alpaca", "--execute",
                          "--timeout", "2", "--json"], e)
    assert code == 0, err
    assert json.loads(out)["execution"]["status"] == "complete"
    assert alpaca_fake.orders_created == 3
    assert alpaca_fake.key not in out and alpaca_fake.secret not in out
    code, out, err = run(["broker", "status", "--broker", "alpaca"], {**env, "ALPACA_BASE_URL": alpaca_fake.url})
    assert code == 2 and err.startswith("ivybt: error: alpaca: API keys missing") and len(err.splitlines()) == 1
