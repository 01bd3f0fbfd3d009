"""Alpaca protocol faults as the user meets them (issue 15 item 6): `ivybt positions --broker alpaca` in a real
child process (its own workspace SQLite) against FakeAlpacaServer exits 2 with one line naming the fault, and an
execution whose submits are answered 5xx / garbage / nothing places each order exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from brokers.alpaca.adapter import AlpacaBroker
from brokers.execution import execute_plan
from brokers.planning import plan_rebalance
from tests.brokers.alpaca.alpaca_server import FakeAlpacaServer
from tests.brokers.flat_signal import signal
from tests.faults.db_helpers import one_error_line, run_ivybt

ACCOUNT = ("GET", "/v2/account")
ORDERS = ("POST", "/v2/orders")


@pytest.fixture
def fake() -> Iterator[FakeAlpacaServer]:
    with FakeAlpacaServer(lifetime=300.0) as server:
        yield server


def positions(fake: FakeAlpacaServer, home: Path) -> str:
    env = {
        "ALPACA_API_KEY": fake.key,
        "ALPACA_SECRET_KEY": fake.secret,
        "ALPACA_BASE_URL": fake.url,
        "ALPACA_DATA_URL": fake.url,
        "IVYBT_ALPACA_TIMEOUT": "1",
    }
    proc = run_ivybt("positions", "--broker", "alpaca", home=home, env=env)
    assert proc.returncode == 2 and proc.stdout == "", (proc.returncode, proc.stdout, proc.stderr)
    return one_error_line(proc)


def test_alpaca_cli_positions_server_never_answers_one_line_naming_the_timeout(fake, tmp_path):
    fake.hang[ACCOUNT] = 100
    line = positions(fake, tmp_path / "ws")
    assert line == (
        "ivybt: error: alpaca: no answer from GET /v2/account within 1 s (account; timeout: IVYBT_ALPACA_TIMEOUT)"
    )


def test_alpaca_cli_positions_5xx_on_account_one_line_naming_the_status(fake, tmp_path):
    fake.fail_before[ACCOUNT] = [503] * 100
    assert positions(fake, tmp_path / "ws") == "ivybt: error: alpaca account: service unavailable (HTTP 503)"


def test_alpaca_cli_positions_malformed_json_one_line_not_no_answer(fake, tmp_path):
    fake.garbage[ACCOUNT] = 100
    line = positions(fake, tmp_path / "ws")
    assert line.startswith("ivybt: error: alpaca: malformed answer from GET /v2/account: ")


def test_alpaca_cli_positions_429_one_line_naming_retry_after(fake, tmp_path):
    fake.throttle(100, retry_after=1)
    line = positions(fake, tmp_path / "ws")
    assert line == "ivybt: error: alpaca: rate limited (429) on GET /v2/account (account); retry after 1 s"


@pytest.mark.parametrize("fault", ["5xx", "garbage", "hang"])
def test_alpaca_execution_5xx_malformed_or_silent_submit_places_each_order_once(fake, workspace, fault):
    b = AlpacaBroker(fake.key, fake.secret, base_url=fake.url, data_url=fake.url, timeout=1)
    plan = plan_rebalance(signal(), b)
    assert len(plan.orders) == 3
    if fault == "5xx":
        fake.fail_after[ORDERS] = [500]  # the first order is made, its answer is an HTTP 500
    else:
        getattr(fake, fault)[ORDERS] = 1  # the first order is made; its answer is cut in half / never comes
    rep = execute_plan(plan, b, timeout=5.0, poll_interval=0.05, backoff=0.05)
    assert rep.status == "complete" and rep.sent == 3 and not rep.errors, rep.errors
    assert fake.orders_created == 3 and fake.requests.count(ORDERS) == 3
    assert sorted(o["client_order_id"] for o in fake.orders) == sorted(o.client_order_id for o in plan.orders)
