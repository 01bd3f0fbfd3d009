"""The viewer's theme for the figures: Streamlit's own theme type (dark or light), read once per script run.

`st.context.theme.type` is what the browser shows (the viewer's preference, or the Settings menu); it is None
until the browser has told the server (a session's very first run), and then the figure keeps Streamlit's own
chart theme, which follows the page as well.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from engine.figures.style import THEMES, themed


def theme_type() -> str | None:
    """ "dark" or "light" as Streamlit reports it for this session; None when it does not know yet."""
    kind = st.context.theme.type
    return kind if kind in THEMES else None


def plotly_chart(fig: Any, key: str, config: dict[str, Any]) -> None:
    """Draw `fig` in the viewer's theme: our template for dark or light, else Streamlit's chart theme."""
    kind = theme_type()
    if kind is None:
        st.plotly_chart(fig, key=key, config=config)
    else:
        st.plotly_chart(themed(fig, kind), key=key, config=config, theme=None)
