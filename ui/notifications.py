"""The notification bell in the sidebar of every page (app.py calls `notification_bell` once, before the
navigation runs): the unread count in the expander's label, the latest notifications (time, level, title,
text), one "Read" button per unread one and "Mark all read". Reads engine.alerts.Inbox (workspace SQLite).

On a session's first run it also hands the alert settings found in Streamlit secrets to
engine.alerts.use_secrets: an `[alerts]` table (keys as the IVYBT_ variables, the prefix may be left out,
e.g. smtp_host, telegram_token) and any top-level IVYBT_* key. A missing secrets file is fine. Secret values are
passed on only: never shown or logged.

Cheap and robust: a workspace database that cannot be read hides the list behind a short caption instead of
breaking the page.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime

import streamlit as st

from engine.alerts import Inbox, use_secrets
from engine.errors import EngineError

SHOWN = 20
SECRETS_DONE = "_ivybt_alert_secrets"
LEVEL_ICONS = {"info": ":material/info:", "warning": ":material/warning:", "error": ":material/error:"}


def alert_secrets() -> dict[str, object]:
    """The alert settings in Streamlit secrets ({} without a secrets file): the `[alerts]` table's keys and the
    top-level IVYBT_* keys (these win)."""
    try:
        if not st.secrets.load_if_toml_exists():
            return {}
        table = st.secrets.get("alerts")
        out: dict[str, object] = dict(table.items()) if isinstance(table, Mapping) else {}
        out.update({k: v for k, v in st.secrets.items() if k.upper().startswith("IVYBT_")})
    except Exception:  # an unreadable secrets file: no alert channels from it (the environment still applies)
        return {}
    return out


def _hand_over_secrets() -> None:
    if st.session_state.get(SECRETS_DONE):
        return
    st.session_state[SECRETS_DONE] = True
    values = alert_secrets()
    if values:
        use_secrets(values)


def _mark(notification_id: int | None) -> None:
    """Button callback: one notification read, or all (None). A row already gone is fine."""
    try:
        if notification_id is None:
            Inbox().mark_all_read()
        else:
            Inbox().mark_read(notification_id)
    except (KeyError, sqlite3.Error, OSError, EngineError):
        pass


def _when(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M UTC")


def notification_bell() -> None:
    """The sidebar bell: ":material/notifications: N" (N unread) with the latest notifications inside."""
    _hand_over_secrets()
    inbox = Inbox()
    try:
        unread = inbox.unread_count()
        latest = inbox.list(limit=SHOWN)
    except (sqlite3.Error, OSError, EngineError):
        with st.sidebar:
            st.caption(":material/notifications_off: notifications unavailable (workspace database)")
        return
    with st.sidebar, st.expander(f":material/notifications: {unread}", expanded=False):
        if not latest:
            st.caption("No notifications.")
            return
        st.button("Mark all read", key="bell_read_all", on_click=_mark, args=(None,), disabled=unread == 0)
        for n in latest:
            icon = LEVEL_ICONS.get(n.level, ":material/notifications:")
            weight = "" if n.read else "**"
            st.markdown(f"{icon} {weight}{n.title}{weight}  \n{_when(n.time)} · {n.level} · {n.event}")
            if n.text:
                st.caption(n.text)
            if not n.read:
                st.button("Read", key=f"bell_read_{n.id}", on_click=_mark, args=(n.id,))
