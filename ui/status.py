"""What the app is connected to: broker mode and whether Alpaca keys are configured (never the keys).

Key names follow alpaca-py's conventions: APCA_API_KEY_ID / APCA_API_SECRET_KEY (ALPACA_API_KEY /
ALPACA_SECRET_KEY are accepted too). IVYBT_BROKER picks the broker ("paper" by default); IVYBT_LIVE=1 is
required before any adapter may use a live account.
"""

from __future__ import annotations

import os

KEY_NAMES = (("APCA_API_KEY_ID", "APCA_API_SECRET_KEY"), ("ALPACA_API_KEY", "ALPACA_SECRET_KEY"))


def alpaca_keys_present() -> bool:
    """True when an Alpaca key id and secret are both set in the environment."""
    return any(os.environ.get(k) and os.environ.get(s) for k, s in KEY_NAMES)


def broker_mode() -> tuple[str, str]:
    """(broker name, "paper" or "live"): paper unless IVYBT_LIVE is set to 1/true/yes."""
    broker = os.environ.get("IVYBT_BROKER", "paper").strip().lower() or "paper"
    live = os.environ.get("IVYBT_LIVE", "").strip().lower() in ("1", "true", "yes")
    return broker, "live" if live and broker != "paper" else "paper"
