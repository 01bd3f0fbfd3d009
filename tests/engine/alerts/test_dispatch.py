"""alert(...): the in-app list always, the configured channels in the background, failures reported in-app,
secrets never in logs or notices; the in-app list on a real SQLite file; settings from the environment."""

from __future__ import annotations

import logging

import pytest

from engine.alerts import Alert, AlertSettings, Inbox, alert, load_settings, use_secrets
from tests.engine.alerts.servers import DeadPort, HttpServer, SmtpServer

TOKEN = "987654:TOP-SECRET-token"


def test_inbox_add_unread_count_and_mark_read_on_a_real_file(tmp_path):
    box = Inbox(tmp_path / "ivybt.db")
    first = box.add(Alert("fill", "bought 10 SPY", "", "info"), at=1000.0)
    second = box.add(Alert("reject", "AAPL rejected", "insufficient buying power", "warning"), at=2000.0)
    assert box.unread_count() == 2
    rows = box.list()
    assert [(r.id, r.time, r.event, r.level, r.read) for r in rows] == [
        (second, 2000.0, "reject", "warning", False),
        (first, 1000.0, "fill", "info", False),
    ]
    box.mark_read(first)
    assert [r.id for r in box.list(unread=True)] == [second]
    assert Inbox(tmp_path / "ivybt.db").unread_count() == 1  # another connection sees the same file
    with pytest.raises(KeyError, match="999"):
        box.mark_read(999)
    assert box.mark_all_read() == 1
    assert box.unread_count() == 0


def test_alert_goes_in_app_and_to_every_configured_channel(tmp_path):
    box = Inbox(tmp_path / "ivybt.db")
    with SmtpServer() as smtp, HttpServer() as api, HttpServer() as hook:
        conf = AlertSettings(
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            smtp_to=("ops@x.test",),
            telegram_token=TOKEN,
            telegram_chat_id="7",
            telegram_api=api.base,
            webhook_url=f"{hook.base}/hooks/abc",
            retries=0,
        )
        outcomes = alert("fill", "bought 10 SPY", "at 500.10", settings=conf, inbox=box).wait(20)
    assert outcomes == {"app": "delivered", "email": "delivered", "telegram": "delivered", "webhook": "delivered"}
    assert len(smtp.messages) == len(api.posts) == len(hook.posts) == 1
    (row,) = box.list()
    assert (row.event, row.level, row.title, row.text) == ("fill", "info", "bought 10 SPY", "at 500.10")


def test_unconfigured_channels_are_skipped_or_reported_when_asked(tmp_path):
    box = Inbox(tmp_path / "ivybt.db")
    assert alert("flatten", "flattened", settings=AlertSettings(), inbox=box).wait(5) == {"app": "delivered"}
    asked = alert("test", "t", channels=["email", "telegram"], settings=AlertSettings(), inbox=box).wait(5)
    assert asked == {"email": "not configured", "telegram": "not configured"}
    assert [r.level for r in box.list()] == ["error"]  # flatten's default level; the test skipped the app


def test_a_dead_channel_does_not_block_the_caller_and_is_reported_in_app(tmp_path):
    box = Inbox(tmp_path / "ivybt.db")
    with DeadPort() as dead:
        conf = AlertSettings(
            telegram_token=TOKEN,
            telegram_chat_id="7",
            telegram_api=f"http://127.0.0.1:{dead.port}",
            timeout=0.5,
            retries=1,
            retry_delay=0.0,
        )
        delivery = alert("kill_switch", "Kill switch ON", settings=conf, inbox=box)
        assert delivery.outcomes == {"app": "delivered", "telegram": "pending"}  # returned before any answer
        assert delivery.wait(30) == {"app": "delivered", "telegram": "failed: timed out"}
    notices = [r for r in box.list() if r.event == "channel_failure"]
    assert [(n.title, n.text) for n in notices] == [
        ("telegram could not deliver: Kill switch ON", "telegram: timed out (after 2 attempts)")
    ]


def test_a_dead_smtp_server_times_out_too(tmp_path):
    box = Inbox(tmp_path / "ivybt.db")
    with DeadPort() as dead:
        conf = AlertSettings(smtp_host="127.0.0.1", smtp_port=dead.port, smtp_to=("a@x.test",), timeout=0.5, retries=0)
        assert alert("risk_stop", "daily loss", settings=conf, inbox=box).wait(30)["email"] == "failed: timed out"


@pytest.mark.parametrize(("mode", "webhook_ok"), [("500", False), ("garbage", True)])
def test_failures_are_logged_without_secrets(tmp_path, caplog, mode, webhook_ok):
    caplog.set_level(logging.WARNING)
    box = Inbox(tmp_path / "ivybt.db")
    with HttpServer(mode) as api:
        conf = AlertSettings(
            telegram_token=TOKEN,
            telegram_chat_id="7",
            telegram_api=api.base,
            webhook_url=f"{api.base}/hooks/{TOKEN}",
            retries=1,
            retry_delay=0.0,
        )
        outcomes = alert("reject", "AAPL rejected", settings=conf, inbox=box).wait(30)
    assert outcomes["telegram"].startswith("failed: ")
    assert (outcomes["webhook"] == "delivered") is webhook_ok  # a webhook only needs a 2xx answer
    assert len(api.posts) == (3 if webhook_ok else 4)  # two attempts for each failing channel
    assert "attempt 2 of 2" in caplog.text
    stored = " ".join(f"{r.title} {r.text}" for r in box.list())
    assert TOKEN not in caplog.text and TOKEN not in stored and TOKEN not in " ".join(outcomes.values())


def test_redact_removes_every_secret():
    conf = AlertSettings(smtp_password="pa55word", telegram_token=TOKEN, webhook_url="https://h.test/x/SECRET")
    text = f"url https://h.test/x/SECRET/bot{TOKEN}/send pw=pa55word"
    assert conf.redact(text) == "url ***/bot***/send pw=***"


def test_settings_from_the_environment_and_handed_over_secrets():
    conf = load_settings(
        {
            "IVYBT_SMTP_HOST": "mail.test",
            "IVYBT_SMTP_USER": "me@x.test",
            "IVYBT_SMTP_TO": "a@x.test, b@x.test",
            "IVYBT_ALERT_TIMEOUT": "2.5",
        }
    )
    assert (conf.smtp_host, conf.smtp_port, conf.smtp_from, conf.smtp_to) == (
        "mail.test",
        587,
        "me@x.test",
        ("a@x.test", "b@x.test"),
    )
    assert conf.smtp_starttls is True and conf.timeout == 2.5
    with pytest.raises(ValueError, match="IVYBT_SMTP_PORT must be a number, got 'abc'"):
        load_settings({"IVYBT_SMTP_PORT": "abc"})
    try:
        use_secrets({"telegram_token": "from-secrets", "TELEGRAM_CHAT_ID": "5"})
        merged = load_settings({"IVYBT_TELEGRAM_CHAT_ID": "6"})
        assert (merged.telegram_token, merged.telegram_chat_id) == ("from-secrets", "6")  # the environment wins
    finally:
        use_secrets({})
