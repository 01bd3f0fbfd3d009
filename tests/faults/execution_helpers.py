"""Real processes and real SQLite files for the execution fault tests: `ivybt rebalance --execute` in a child
process (tests.faults.execution_child, optionally killed at a chosen point), a preset on the bundled sample data,
and plain-sqlite3 reads of the workspace database (the paper broker's orders and positions, the audit log's plans).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from engine.store.presets import Preset

ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = ("XLK", "XLF", "XLE")
COSTS: dict[str, float] = {"commission_bps": 5, "slippage_bps": 2}


def save_preset(folder: Path, costs: dict[str, float] | None = None) -> str:
    """Write the "hold3" preset (buy and hold XLK, XLF, XLE in thirds) into `folder`; its name."""
    folder.mkdir(parents=True, exist_ok=True)
    p = Preset(name="hold3", strategy="buy_and_hold", symbols=SYMBOLS, costs=costs or {})
    (folder / "hold3.json").write_text(json.dumps(p.to_dict()), encoding="utf-8")
    return p.name


def child_env(home: Path, presets: Path, fault: str | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALPACA_", "APCA_", "IVYBT_", "IBKR_"))}
    env.update({"IVYBT_HOME": str(home), "IVYBT_PRESETS": str(presets), **extra})
    if fault:
        env["IVYBT_FAULT"] = fault
    return env


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """`ivybt ARGS` (through tests.faults.execution_child) in a child process."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.faults.execution_child", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 300) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, out, err


def run(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    return finish(start(args, env))


def rebalance(broker: str = "paper", timeout: str = "5", json_out: bool = True) -> list[str]:
    args = ["rebalance", "--preset", "hold3", "--broker", broker, "--execute", "--timeout", timeout]
    return args + (["--json"] if json_out else [])


def run_killed(args: list[str], env: dict[str, str]) -> str:
    """Run `ivybt ARGS` with a kill fault in `env`; assert it died by SIGKILL; its stderr."""
    code, _, err = run(args, env)
    assert code == -signal.SIGKILL, f"expected SIGKILL, got exit {code}: {err[-2000:]}"
    return err


def _rows(home: Path, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
    with closing(sqlite3.connect(home / "ivybt.db")) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, args).fetchall()


def paper_orders(home: Path) -> list[dict[str, Any]]:
    """Every order in the paper broker's table (protective "prot-" orders left out)."""
    rows = _rows(home, "SELECT * FROM paper_orders ORDER BY rowid")
    return [dict(r) for r in rows if not r["client_order_id"].startswith("prot-")]


def paper_positions(home: Path) -> dict[str, float]:
    return {r["symbol"]: r["quantity"] for r in _rows(home, "SELECT symbol, quantity FROM paper_positions")}


def the_plan(home: Path) -> dict[str, Any]:
    """The one plan in the audit log: plan_id, status, lease_owner, lease_until and its payload (dict)."""
    (row,) = _rows(home, "SELECT * FROM plans")
    out = {k: row[k] for k in row.keys() if k != "payload_json"}
    out["payload"] = json.loads(row["payload_json"])
    return out


def order_results(home: Path) -> list[dict[str, Any]]:
    return [dict(r) for r in _rows(home, "SELECT * FROM order_results ORDER BY rowid")]
