"""Each channel against a real local server: SMTP (aiosmtpd), a fake Telegram Bot API, a webhook receiver."""

from __future__ import annotations

import email
from email import policy

import pytest

from engine.alerts import Alert, AlertSettings
from engine.alerts.channels import ChannelError, telegram, webhook
from engine.alerts.channels import email as email_channel
from tests.engine.alerts.servers import HttpServer, SmtpServer

TOKEN = "123456:SECRET-bot-TOKEN"
ALERT = Alert("kill_switch", "Kill switch ON", "turned on by cli\nreason: drawdown", "error")


def test_email_reaches_a_real_smtp_server_with_subject_body_and_recipients():
    with SmtpServer() as server:
        conf = AlertSettings(
            smtp_host="127.0.0.1", smtp_port=server.port, smtp_from="bot@ivybt.test", smtp_to=("a@x.test", "b@y.test")
        )
        email_channel.send(ALERT, conf)
    ((mail_from, rcpts, raw),) = server.messages
    assert mail_from == "bot@ivybt.test"
    assert rcpts == ["a@x.test", "b@y.test"]
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg["Subject"] == "[IvyBT] ERROR Kill switch ON"
    assert msg.get_content().replace("\r\n", "\n") == "turned on by cli\nreason: drawdown\n\nevent: kill_switch\n"


def test_telegram_posts_chat_id_and_text_to_the_bot_path():
    with HttpServer("ok") as api:
        telegram.send(ALERT, AlertSettings(telegram_token=TOKEN, telegram_chat_id="-10042", telegram_api=api.base))
    ((path, body),) = api.posts
    assert path == f"/bot{TOKEN}/sendMessage"
    assert body == {"chat_id": "-10042", "text": "ERROR Kill switch ON\nturned on by cli\nreason: drawdown"}


@pytest.mark.parametrize(
    ("mode", "expected"), [("500", "HTTP 500: Internal Server Error"), ("garbage", "answer is not JSON")]
)
def test_telegram_api_errors_are_channel_errors(mode, expected):
    with HttpServer(mode) as api:
        conf = AlertSettings(telegram_token=TOKEN, telegram_chat_id="1", telegram_api=api.base)
        with pytest.raises(ChannelError) as info:
            telegram.send(ALERT, conf)
    assert expected in str(info.value)
    assert TOKEN not in str(info.value)


def test_webhook_posts_slack_and_discord_fields():
    with HttpServer("ok") as hook:
        webhook.send(ALERT, AlertSettings(webhook_url=f"{hook.base}/hooks/T0KEN"))
    ((path, body),) = hook.posts
    assert path == "/hooks/T0KEN"
    assert body["text"] == body["content"] == "*ERROR Kill switch ON*\nturned on by cli\nreason: drawdown"
