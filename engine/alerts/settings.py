"""Alert channel settings, read only from the environment or a mapping the app hands over (Streamlit secrets).

Variables (a channel is on when its required ones are set):
  email:    IVYBT_SMTP_HOST (required), IVYBT_SMTP_PORT (587), IVYBT_SMTP_USER, IVYBT_SMTP_PASSWORD,
            IVYBT_SMTP_FROM (default the user, else ivybt@localhost), IVYBT_SMTP_TO (required, comma separated),
            IVYBT_SMTP_STARTTLS (1/0, default 1 when a user is set), IVYBT_SMTP_SSL (1: SMTPS, port 465)
  telegram: IVYBT_TELEGRAM_TOKEN, IVYBT_TELEGRAM_CHAT_ID (both required), IVYBT_TELEGRAM_API
            (default https://api.telegram.org)
  webhook:  IVYBT_WEBHOOK_URL
  all:      IVYBT_ALERT_TIMEOUT (seconds per attempt, 5), IVYBT_ALERT_RETRIES (more attempts, 2),
            IVYBT_ALERT_RETRY_DELAY (seconds before the first retry, doubled each time, 2)

Secrets (password, token, webhook URL) live only in memory: never stored, logged or shown; `redact` takes
them out of any text (an exception message can carry a URL with the token in it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

PREFIX = "IVYBT_"
_override: dict[str, str] = {}


def use_secrets(values: Mapping[str, object]) -> None:
    """Settings handed over by the app (e.g. st.secrets): keys as the variables above (the IVYBT_ prefix may
    be left out); the environment wins. Kept in this process's memory only."""
    _override.clear()
    for key, value in values.items():
        if isinstance(value, str | int | float | bool):
            name = key.upper() if key.upper().startswith(PREFIX) else PREFIX + key.upper()
            _override[name] = str(value)


@dataclass(frozen=True)
class AlertSettings:
    """Every channel's settings. timeout: seconds per attempt; retries: attempts after the first;
    retry_delay: seconds before the first retry (doubled for each next one)."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = field(default="", repr=False)
    smtp_from: str = "ivybt@localhost"
    smtp_to: tuple[str, ...] = ()
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    telegram_token: str = field(default="", repr=False)
    telegram_chat_id: str = ""
    telegram_api: str = "https://api.telegram.org"
    webhook_url: str = field(default="", repr=False)
    timeout: float = 5.0
    retries: int = 2
    retry_delay: float = 2.0

    @property
    def secrets(self) -> tuple[str, ...]:
        """The values that must never show up anywhere (longest first, so a token inside a URL goes whole)."""
        values = [self.smtp_password, self.telegram_token, self.webhook_url]
        return tuple(sorted((v for v in values if len(v) >= 4), key=len, reverse=True))

    def redact(self, text: str) -> str:
        """`text` with every secret replaced by ***."""
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


def load_settings(env: Mapping[str, str] | None = None) -> AlertSettings:
    """Settings from `env` (default: the environment over what `use_secrets` handed over).

    Raises ValueError naming the variable and its (non-secret) value when a number or flag does not parse."""
    values = {**_override, **(dict(env) if env is not None else dict(os.environ))}

    def get(name: str, default: str = "") -> str:
        return (values.get(PREFIX + name) or default).strip()

    user = get("SMTP_USER")
    ssl = _flag("SMTP_SSL", get("SMTP_SSL", "0"))
    return AlertSettings(
        smtp_host=get("SMTP_HOST"),
        smtp_port=int(_number("SMTP_PORT", get("SMTP_PORT", "465" if ssl else "587"))),
        smtp_user=user,
        smtp_password=values.get(PREFIX + "SMTP_PASSWORD", ""),
        smtp_from=get("SMTP_FROM") or (user if "@" in user else "ivybt@localhost"),
        smtp_to=tuple(a.strip() for a in get("SMTP_TO").split(",") if a.strip()),
        smtp_starttls=_flag("SMTP_STARTTLS", get("SMTP_STARTTLS", "1" if user and not ssl else "0")),
        smtp_ssl=ssl,
        telegram_token=get("TELEGRAM_TOKEN"),
        telegram_chat_id=get("TELEGRAM_CHAT_ID"),
        telegram_api=get("TELEGRAM_API", "https://api.telegram.org").rstrip("/"),
        webhook_url=get("WEBHOOK_URL"),
        timeout=_number("ALERT_TIMEOUT", get("ALERT_TIMEOUT", "5")),
        retries=int(_number("ALERT_RETRIES", get("ALERT_RETRIES", "2"))),
        retry_delay=_number("ALERT_RETRY_DELAY", get("ALERT_RETRY_DELAY", "2")),
    )


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{PREFIX}{name} must be a number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"{PREFIX}{name} must be >= 0, got {text!r}")
    return value


def _flag(name: str, text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"{PREFIX}{name} must be 1 or 0, got {text!r}")
