"""`ivybt alerts test` and `ivybt notifications` in a private workspace, channels against local servers."""

from __future__ import annotations

import json

import pytest

from engine.alerts import Alert, Inbox
from engine.cli import main
from tests.engine.alerts.servers import HttpServer

CHANNEL_ENV = [
    "IVYBT_SMTP_HOST",
    "IVYBT_SMTP_TO",
    "IVYBT_TELEGRAM_TOKEN",
    "IVYBT_TELEGRAM_CHAT_ID",
    "IVYBT_WEBHOOK_URL",
]


@pytest.fixture
def env(home, monkeypatch):
    for name in CHANNEL_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IVYBT_ALERT_RETRIES", "0")
    return monkeypatch


def test_alerts_test_prints_one_line_per_channel(env, capsys):
    with HttpServer("ok") as api, HttpServer("500") as hook:
        env.setenv("IVYBT_TELEGRAM_TOKEN", "42:SECRET")
        env.setenv("IVYBT_TELEGRAM_CHAT_ID", "9")
        env.setenv("IVYBT_TELEGRAM_API", api.base)
        env.setenv("IVYBT_WEBHOOK_URL", f"{hook.base}/hooks/SECRET")
        code = main(["alerts", "test"])
    out = capsys.readouterr().out
    assert code == 1  # the webhook failed
    assert out.splitlines() == [
        "app: delivered",
        "email: not configured",
        "telegram: delivered",
        f"webhook: failed: {hook.base} answered HTTP 500",  # scheme and host only: the path holds the token
    ]
    assert api.posts[0][1]["text"] == "INFO IvyBT test alert\nsent by `ivybt alerts test`"


def test_alerts_test_one_channel(env, capsys):
    assert main(["alerts", "test", "--channel", "email"]) == 0
    assert capsys.readouterr().out == "email: not configured\n"
    assert Inbox().list() == []  # --channel email: the in-app list is not asked


def test_notifications_list_json_and_read(env, capsys):
    box = Inbox()
    first = box.add(Alert("fill", "bought 10 SPY", "", "info"), at=0.0)
    second = box.add(Alert("reject", "AAPL rejected", "no buying power", "warning"), at=60.0)
    assert main(["notifications", "--unread", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["unread"] == 2
    assert [(n["id"], n["event"], n["read"]) for n in listed["notifications"]] == [
        (second, "reject", False),
        (first, "fill", False),
    ]
    assert main(["notifications", "read", str(first)]) == 0
    assert capsys.readouterr().out == f"marked notification {first} read\n"
    assert main(["notifications"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split() == [str(second), "1970-01-01", "00:01:00", "warning", "reject", "*", "AAPL", "rejected"]
    assert lines[3].split() == [str(first), "1970-01-01", "00:00:00", "info", "fill", "bought", "10", "SPY"]
    assert main(["notifications", "read", "--all"]) == 0
    assert capsys.readouterr().out == "marked 1 notification(s) read\n"
    assert box.unread_count() == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["notifications", "read"], "`ivybt notifications read` takes one id or --all"),
        (["notifications", "read", "x7"], "a notification id is a whole number, got 'x7'"),
        (["notifications", "read", "404"], "no notification with id 404"),
        (["notifications", "--all"], "an id or --all goes with `ivybt notifications read`"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(env, capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == f"ivybt: error: {message}\n"
