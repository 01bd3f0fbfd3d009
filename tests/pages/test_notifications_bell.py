"""AppTest of the sidebar notification bell (ui/notifications.py, on every page through app.py): the unread
count in its label, per-item and "Mark all read" buttons, and the alert settings handed over from secrets."""

from __future__ import annotations

import pytest

from engine.alerts import Alert, Inbox, load_settings, use_secrets
from tests.pages.page_helpers import assert_clean, page

BELL = ":material/notifications:"


def bell_label(at) -> str:
    labels = [e.label for e in at.sidebar.expander]
    (label,) = [x for x in labels if x.startswith(BELL)]
    return label


def reload():
    """The page in a new session, as a browser reload. AppTest's later runs of one session go straight to the page
    it finished on (its legacy pages/ runner), skipping app.py and so the bell; a session's first run starts at
    app.py."""
    fresh = page("home")
    fresh.run()
    return fresh


def test_bell_counts_unread_and_marks_them_read(workspace):
    inbox = Inbox()
    first = inbox.add(Alert("kill_switch", "Kill switch on", "flatten", "warning"), at=1_700_000_000)
    inbox.add(Alert("fills", "2 fills", "XLK buy 10", "info"), at=1_700_000_060)
    at = page("home")
    at.run()
    assert_clean(at)
    assert bell_label(at) == f"{BELL} 2"
    assert any("Kill switch on" in m.value for m in at.sidebar.markdown)

    at.button(key=f"bell_read_{first}").click()
    at.run()
    assert_clean(at)
    assert inbox.unread_count() == 1
    at = reload()
    assert bell_label(at) == f"{BELL} 1"

    at.button(key="bell_read_all").click()
    at.run()
    assert_clean(at)
    assert inbox.unread_count() == 0
    at = reload()
    assert bell_label(at) == f"{BELL} 0" and at.button(key="bell_read_all").disabled


def test_bell_on_an_empty_workspace(workspace):
    at = page("home")
    at.run()
    assert_clean(at)
    assert bell_label(at) == f"{BELL} 0"


@pytest.fixture
def no_handed_secrets():
    yield
    use_secrets({})  # the hand-over is process-wide: leave none behind for other tests


def test_alert_settings_come_from_secrets_and_are_not_shown(workspace, no_handed_secrets, monkeypatch):
    for name in ("IVYBT_SMTP_HOST", "IVYBT_TELEGRAM_TOKEN", "IVYBT_TELEGRAM_CHAT_ID"):
        monkeypatch.delenv(name, raising=False)
    token = "123456:secret-telegram-token"
    at = page("home")
    at.secrets["alerts"] = {"telegram_token": token, "telegram_chat_id": "42"}
    at.secrets["IVYBT_SMTP_HOST"] = "smtp.example.org"
    at.run()
    assert_clean(at)
    settings = load_settings()
    assert settings.telegram_token == token and settings.telegram_chat_id == "42"
    assert settings.smtp_host == "smtp.example.org"
    shown = [m.value for m in at.markdown] + [c.value for c in at.caption]
    assert not any(token in text for text in shown)
